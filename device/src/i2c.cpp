#include "uml/device/i2c.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "uml/device/error.hpp"

namespace uml::device {

namespace {

// include/uapi/linux/virtio_i2c.h
constexpr std::uint32_t kFlagFailNext = 1U << 0;
constexpr std::uint32_t kFlagRead = 1U << 1;
constexpr std::uint8_t kStatusOk = 0;
constexpr std::uint8_t kStatusError = 1;
constexpr std::size_t kOutHeader = 8;

void log_line(const std::string& line) {
  std::fprintf(stderr, "i2c model: %s\n", line.c_str());
}

std::string hex(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%02x", value);
  return text;
}

}  // namespace

std::optional<std::uint64_t> parse_number(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

void I2cAdapter::add_client(std::uint16_t address, std::shared_ptr<I2cClient> client) {
  if (address < 0x03 || address > 0x77)
    throw ModelError("I2C address " + hex(address) + " is reserved (clients use 0x03 to 0x77)");
  if (!clients_.emplace(address, std::move(client)).second)
    throw ModelError("I2C address " + hex(address) + " has a client already");
}

void I2cAdapter::queue_kicked(Backend& backend, unsigned queue) {
  Virtqueue& requests = backend.queue(queue);
  bool returned = false;
  while (std::optional<Chain> chain = requests.pop(backend.memory())) {
    std::size_t written = 0;
    const std::uint8_t status = handle(*chain, written);
    (void)status;
    requests.push(*chain, static_cast<std::uint32_t>(written));
    returned = true;
  }
  if (returned)
    requests.notify();
}

std::uint8_t I2cAdapter::handle(const Chain& chain, std::size_t& written) {
  // An I2C message is at most 65535 bytes (struct i2c_msg's len): more is not a request
  // the model should allocate for.
  const std::size_t answer_size = chain.writable_size();
  if (chain.readable_size() > kOutHeader + 65535 || answer_size > 65535 + 1)
    throw ProtocolError("virtio-i2c request larger than any I2C message");
  const std::vector<std::byte> request = chain.gather();
  if (request.size() < kOutHeader || answer_size == 0)
    throw ProtocolError("virtio-i2c request without its headers");
  std::uint16_t wire_address;
  std::uint32_t flags;
  std::memcpy(&wire_address, request.data(), 2);
  std::memcpy(&flags, request.data() + 4, 4);
  const std::uint16_t address = wire_address >> 1;  // 7-bit address, shifted on the wire
  const bool is_read = flags & kFlagRead;
  const std::span<const std::byte> write_data = std::span(request).subspan(kOutHeader);
  std::vector<std::byte> answer(answer_size, std::byte{0});  // read bytes, then status

  std::uint8_t status = kStatusError;
  if (fail_next_) {
    status = kStatusError;  // the group's earlier message failed
  } else if (is_read && !write_data.empty()) {
    log_line("a read request that carries data: failed");
  } else if (!is_read && answer_size != 1) {
    log_line("a write request with room for read data: failed");
  } else if (auto client = clients_.find(address); client == clients_.end()) {
    status = kStatusError;  // nobody at this address: NACK
  } else if (is_read) {
    status =
        client->second->read(std::span(answer).first(answer_size - 1)) ? kStatusOk : kStatusError;
  } else {
    status = client->second->write(write_data) ? kStatusOk : kStatusError;
  }
  // virtio-i2c: a failed request with FAIL_NEXT fails the rest of its group.
  fail_next_ = status != kStatusOk && (flags & kFlagFailNext);
  answer.back() = std::byte{status};
  written = chain.scatter(answer);
  return status;
}

std::shared_ptr<RegisterMap> RegisterMap::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw ModelError("cannot read register map '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return from_text(text.str(), path);
}

std::shared_ptr<RegisterMap> RegisterMap::from_text(const std::string& text,
                                                    const std::string& name) {
  auto map = std::make_shared<RegisterMap>();
  map->name_ = name;
  std::istringstream lines(text);
  std::string line;
  for (unsigned number = 1; std::getline(lines, line); ++number) {
    if (const auto hash = line.find('#'); hash != std::string::npos)
      line.erase(hash);
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string word; words >> word;)
      fields.push_back(word);
    if (fields.empty())
      continue;
    const std::string where = name + ":" + std::to_string(number) + ": ";
    if (fields[0] == "byte-order") {
      if (fields.size() != 2 || (fields[1] != "big" && fields[1] != "little"))
        throw ModelError(where + "byte-order takes 'big' or 'little'");
      map->little_endian_ = fields[1] == "little";
      continue;
    }
    auto number_of = [&](const std::string& field, std::uint64_t max, const char* what) {
      const auto value = parse_number(field);
      if (!value.has_value() || value.value_or(0) > max)
        throw ModelError(where + what + " '" + field + "' is not a number up to " +
                         std::to_string(max));
      return value.value_or(0);
    };
    if (fields.size() < 3 || fields.size() > 4)
      throw ModelError(where + "expected '<register> <width> <reset value> [<writable mask>]'");
    const auto reg = static_cast<std::uint8_t>(number_of(fields[0], 0xff, "register"));
    Register r;
    r.width = static_cast<unsigned>(number_of(fields[1], 4, "width"));
    if (r.width == 0)
      throw ModelError(where + "width must be 1 to 4 bytes");
    const std::uint64_t limit = r.width == 4 ? 0xffffffffULL : (1ULL << (8 * r.width)) - 1;
    r.value = static_cast<std::uint32_t>(number_of(fields[2], limit, "reset value"));
    r.writable = static_cast<std::uint32_t>(
        fields.size() == 4 ? number_of(fields[3], limit, "writable mask") : limit);
    if (!map->registers_.emplace(reg, r).second)
      throw ModelError(where + "register " + hex(reg) + " appears twice");
  }
  if (map->registers_.empty())
    throw ModelError(name + ": no registers");
  return map;
}

bool RegisterMap::write(std::span<const std::byte> data) {
  if (data.empty())
    return true;  // a probe: present
  const auto selected = std::to_integer<std::uint8_t>(data[0]);
  if (!registers_.contains(selected))
    return false;
  pointer_ = selected;
  data = data.subspan(1);
  unsigned reg = pointer_;
  while (!data.empty()) {
    auto found = registers_.find(static_cast<std::uint8_t>(reg));
    if (reg > 0xff || found == registers_.end())
      return false;
    Register& r = found->second;
    const std::size_t n = std::min<std::size_t>(r.width, data.size());
    std::uint32_t incoming = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned shift = little_endian_ ? 8 * i : 8 * (r.width - 1 - i);
      incoming |= std::to_integer<std::uint32_t>(data[i]) << shift;
    }
    // Bytes the message did not carry keep their value.
    std::uint32_t carried = 0;
    for (std::size_t i = 0; i < n; ++i)
      carried |= 0xffU << (little_endian_ ? 8 * i : 8 * (r.width - 1 - i));
    const std::uint32_t mask = r.writable & carried;
    r.value = (r.value & ~mask) | (incoming & mask);
    log_line(name_ + ": register " + hex(reg) + " <- " + hex(incoming) + ", now " + hex(r.value));
    data = data.subspan(n);
    ++reg;
  }
  return true;
}

bool RegisterMap::read(std::span<std::byte> out) {
  unsigned reg = pointer_;
  while (!out.empty()) {
    auto found = registers_.find(static_cast<std::uint8_t>(reg));
    if (reg > 0xff || found == registers_.end())
      return false;
    const Register& r = found->second;
    const std::size_t n = std::min<std::size_t>(r.width, out.size());
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned shift = little_endian_ ? 8 * i : 8 * (r.width - 1 - i);
      out[i] = std::byte{static_cast<std::uint8_t>(r.value >> shift)};
    }
    out = out.subspan(n);
    ++reg;
  }
  return true;
}

}  // namespace uml::device
