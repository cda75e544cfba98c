#include "text.hpp"

#include <array>
#include <charconv>
#include <random>

#include <fmt/format.h>

namespace uml {

namespace {

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  const auto pos = base64_alphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const auto n = (std::uint32_t{static_cast<unsigned char>(data[i])} << 16) |
                   (std::uint32_t{static_cast<unsigned char>(data[i + 1])} << 8) |
                   std::uint32_t{static_cast<unsigned char>(data[i + 2])};
    out += base64_alphabet[(n >> 18) & 63];
    out += base64_alphabet[(n >> 12) & 63];
    out += base64_alphabet[(n >> 6) & 63];
    out += base64_alphabet[n & 63];
  }
  const auto rest = data.size() - i;
  if (rest > 0) {
    auto n = std::uint32_t{static_cast<unsigned char>(data[i])} << 16;
    if (rest == 2) {
      n |= std::uint32_t{static_cast<unsigned char>(data[i + 1])} << 8;
    }
    out += base64_alphabet[(n >> 18) & 63];
    out += base64_alphabet[(n >> 12) & 63];
    out += rest == 2 ? base64_alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view data) {
  if (data.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(data.size() / 4 * 3);
  for (std::size_t i = 0; i < data.size(); i += 4) {
    std::array<int, 4> v{};
    int padding = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = data[i + j];
      if (c == '=' && i + 4 == data.size() && j >= 2) {
        v[j] = 0;
        ++padding;
        continue;
      }
      if (padding > 0 || (v[j] = base64_value(c)) < 0) {
        return std::nullopt;
      }
    }
    const auto n = (std::uint32_t(v[0]) << 18) | (std::uint32_t(v[1]) << 12) |
                   (std::uint32_t(v[2]) << 6) | std::uint32_t(v[3]);
    out += static_cast<char>((n >> 16) & 0xff);
    if (padding < 2) {
      out += static_cast<char>((n >> 8) & 0xff);
    }
    if (padding < 1) {
      out += static_cast<char>(n & 0xff);
    }
  }
  return out;
}

std::string shell_quote(std::string_view word) {
  const bool safe = !word.empty() && word.find_first_not_of(
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789_-./:=+,@%") == std::string_view::npos;
  if (safe) {
    return std::string(word);
  }
  std::string out = "'";
  for (const char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) {
      out += ' ';
    }
    out += shell_quote(arg);
  }
  return out;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr == text.data() || value == 0) {
    return std::nullopt;
  }
  std::uint64_t unit = 1;
  if (ptr != end) {
    if (ptr + 1 != end) {
      return std::nullopt;
    }
    switch (*ptr) {
      case 'k':
      case 'K':
        unit = 1ULL << 10;
        break;
      case 'm':
      case 'M':
        unit = 1ULL << 20;
        break;
      case 'g':
      case 'G':
        unit = 1ULL << 30;
        break;
      default:
        return std::nullopt;
    }
  }
  if (value > UINT64_MAX / unit) {
    return std::nullopt;
  }
  return value * unit;
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes >= (1ULL << 30)) {
    return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1ULL << 30));
  }
  if (bytes >= (1ULL << 20)) {
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1ULL << 20));
  }
  return fmt::format("{} KiB", bytes >> 10);
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    lines.push_back(line);
    if (nl == std::string_view::npos) {
      break;
    }
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::size_t utf8_length(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const auto c = byte(0);
  if (c < 0x80) {
    return 1;
  }
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;  // a continuation byte, 0xc0/0xc1 (always overlong) or 0xf5..0xff
  }
  if (pos + n > text.size()) {
    return 0;
  }
  for (std::size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xc0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (byte(i) & 0x3f);
  }
  const bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  if (overlong || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
    return 0;
  }
  return n;
}

namespace {

// How many bytes at the end of `text` may start a UTF-8 sequence that the next chunk
// completes (0 when the end is complete or already invalid).
std::size_t incomplete_tail(std::string_view text) {
  for (std::size_t back = 1; back <= 3 && back <= text.size(); ++back) {
    const auto c = static_cast<unsigned char>(text[text.size() - back]);
    if ((c & 0xc0) == 0x80) {
      continue;  // a continuation byte: look further back for the lead byte
    }
    const std::size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

}  // namespace

std::string terminal_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    // CR only before LF (a tty's line end): alone it returns to the line's start, where
    // a guest could overwrite what the helper printed.
    const bool crlf = c == '\r' && i + 1 < text.size() && text[i + 1] == '\n';
    if (c == '\n' || c == '\t' || crlf || (c >= 0x20 && c < 0x7f)) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    const auto n = utf8_length(text, i);
    if (n == 0 || c == 0x7f || c < 0x20) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
      continue;
    }
    // C1 controls (U+0080..U+009F; CSI is U+009B) act like ESC sequences on some
    // terminals.
    if (n == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(text[i + 1]));
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string TerminalSafeStream::feed(std::string_view chunk) {
  held_.append(chunk);
  auto keep = incomplete_tail(held_);
  if (keep == 0 && !held_.empty() && held_.back() == '\r') {
    keep = 1;  // a CR: the next chunk tells whether an LF follows
  }
  const auto out = terminal_safe(std::string_view(held_).substr(0, held_.size() - keep));
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string TerminalSafeStream::finish() {
  auto out = terminal_safe(held_);
  held_.clear();
  return out;
}

std::string random_hex(std::size_t n) {
  static std::mt19937_64 engine{std::random_device{}()};
  std::uniform_int_distribution<int> digit(0, 15);
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += "0123456789abcdef"[digit(engine)];
  }
  return out;
}

}  // namespace uml
