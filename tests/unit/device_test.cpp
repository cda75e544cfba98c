// The device-model library (device/) against a scripted vhost-user front end: the
// messages UML's virtio_uml.c sends, over a real socket pair with descriptors, guest RAM
// in a memfd, and split virtqueues written the way the guest's virtio core writes them;
// then malformed input of every kind, which must end in a ProtocolError and never touch
// memory outside the guest's.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "devices.hpp"
#include "support.hpp"
#include "uml/device/error.hpp"
#include "uml/device/i2c.hpp"
#include "uml/device/pci.hpp"
#include "uml/device/vhost_user.hpp"

using namespace uml::device;

namespace {

constexpr std::uint32_t kFlagsVersion = 1;
constexpr std::uint32_t kFlagReply = 4;
constexpr std::uint32_t kFlagNeedReply = 8;
constexpr std::uint64_t kGuestBase = 0x40000000;  // the region's guest (and user) address
constexpr std::size_t kRamSize = 4 << 20;

std::span<const std::byte> bytes_of(const auto& value) {
  return std::as_bytes(std::span(&value, 1));
}

std::vector<std::byte> to_bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values)
    out.push_back(std::byte(static_cast<std::uint8_t>(v)));
  return out;
}

struct Reply {
  std::uint32_t request = 0;
  std::uint32_t flags = 0;
  std::vector<std::byte> payload;
  std::uint64_t u64() const {
    std::uint64_t v = 0;
    std::memcpy(&v, payload.data(), std::min<std::size_t>(8, payload.size()));
    return v;
  }
};

// The front end's side: UML's messages, its RAM and its virtqueues.
class FakeUml {
 public:
  explicit FakeUml(VirtioDevice& device) : backend_(device) {
    ram_fd_ = ::memfd_create("guest-ram", MFD_CLOEXEC);
    REQUIRE(ram_fd_ >= 0);
    REQUIRE(::ftruncate(ram_fd_, kRamSize) == 0);
    ram_ = static_cast<std::byte*>(
        ::mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd_, 0));
    REQUIRE(ram_ != MAP_FAILED);
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    sock_ = pair[0];
    thread_ = std::thread([this, fd = pair[1]] {
      try {
        backend_.serve(fd);
      } catch (const ProtocolError& e) {
        protocol_error_ = e.what();
      } catch (const std::exception& e) {
        other_error_ = e.what();
      }
      done_ = true;
    });
  }
  ~FakeUml() {
    hang_up();
    for (int fd : owned_fds_)
      ::close(fd);
    ::munmap(ram_, kRamSize);
    ::close(ram_fd_);
  }

  void hang_up() {
    if (sock_ >= 0) {
      ::close(sock_);
      sock_ = -1;
    }
    if (thread_.joinable())
      thread_.join();
  }
  // Waits for the back end to stop on its own (a protocol error).
  std::string wait_protocol_error() {
    if (thread_.joinable())
      thread_.join();
    return protocol_error_;
  }
  Backend& backend() { return backend_; }

  void send(std::uint32_t request, std::span<const std::byte> payload, std::vector<int> fds = {},
            std::uint32_t flags = kFlagsVersion) {
    std::vector<std::byte> message(12 + payload.size());
    const std::uint32_t header[3] = {request, flags, static_cast<std::uint32_t>(payload.size())};
    std::memcpy(message.data(), header, 12);
    if (!payload.empty())
      std::memcpy(message.data() + 12, payload.data(), payload.size());
    iovec iov{message.data(), message.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)]{};
    if (!fds.empty()) {
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    REQUIRE(::sendmsg(sock_, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(message.size()));
  }
  void send_raw(std::span<const std::byte> bytes) {
    REQUIRE(::send(sock_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  void send_u64(std::uint32_t request, std::uint64_t value, std::vector<int> fds = {}) {
    send(request, bytes_of(value), std::move(fds));
  }
  void send_state(std::uint32_t request, std::uint32_t index, std::uint32_t num) {
    const std::uint32_t state[2] = {index, num};
    send(request, std::as_bytes(std::span(state)));
  }

  std::optional<Reply> receive(int timeout_ms = 5000) {
    pollfd p{sock_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1)
      return std::nullopt;
    std::uint32_t header[3];
    if (::recv(sock_, header, 12, MSG_WAITALL) != 12)
      return std::nullopt;
    Reply reply{header[0], header[1], std::vector<std::byte>(header[2])};
    if (header[2] != 0 && ::recv(sock_, reply.payload.data(), header[2], MSG_WAITALL) !=
                              static_cast<ssize_t>(header[2]))
      return std::nullopt;
    return reply;
  }

  // UML's sequence up to working queues: owner, features, protocol features, memory
  // table, slave channel, then each queue: size, base, addresses, call, kick, enable.
  void start(std::uint64_t acked_features, unsigned queues, std::uint32_t queue_size = 16) {
    send(3, {});  // SET_OWNER
    send(1, {});  // GET_FEATURES
    const auto features = receive();
    REQUIRE(features);
    REQUIRE(features->flags == (kFlagsVersion | kFlagReply));
    offered_features = features->u64();
    send(15, {});  // GET_PROTOCOL_FEATURES
    const auto protocol = receive();
    REQUIRE(protocol);
    send_u64(16, protocol->u64() & ((1 << 3) | (1 << 5) | (1 << 9)));
    int slave[2];
    REQUIRE(::pipe2(slave, O_CLOEXEC) == 0);
    send_acked(21, bytes_of(std::uint64_t{0}), {slave[1]});  // SET_SLAVE_REQ_FD
    REQUIRE(ack());
    ::close(slave[1]);
    owned_fds_.push_back(slave[0]);
    send_acked(2, bytes_of(acked_features));  // SET_FEATURES
    REQUIRE(ack());
    struct {
      std::uint32_t num = 1, padding = 0;
      MemoryRegionInfo regions[2];
    } table;
    table.regions[0] = {kGuestBase, kRamSize, kGuestBase, 0};
    send_acked(5, bytes_of(table), {ram_fd_});
    REQUIRE(ack());
    for (unsigned q = 0; q < queues; ++q)
      setup_queue(q, queue_size);
  }

  bool ack() {
    const auto reply = receive();
    return reply && reply->u64() == 0 && reply->flags == (kFlagsVersion | kFlagReply);
  }
  // Every message from here on asks for an acknowledgement, as UML does with REPLY_ACK.
  void send_acked(std::uint32_t request, std::span<const std::byte> payload,
                  std::vector<int> fds = {}) {
    send(request, payload, std::move(fds), kFlagsVersion | kFlagNeedReply);
  }

  struct Queue {
    std::uint32_t size;
    std::uint64_t desc, avail, used;  // guest addresses
    int kick, call_read;
    std::uint16_t next_desc = 0, avail_idx = 0, used_seen = 0;
  };
  std::vector<Queue> queues;
  std::uint64_t offered_features = 0;

  void setup_queue(unsigned q, std::uint32_t size) {
    Queue queue{size, kGuestBase + 0x10000 * (q + 1), 0, 0, -1, -1};
    queue.avail = queue.desc + 16 * size;
    queue.used = (queue.avail + 6 + 2 * size + 4095) & ~4095ULL;
    send_state_acked(8, q, size);
    send_state_acked(10, q, 0);
    const std::uint64_t addr[5] = {q, queue.desc, queue.used, queue.avail, ~0ULL};
    struct {
      std::uint32_t index, flags;
      std::uint64_t desc, used, avail, log;
    } vring_addr{q, 0, addr[1], addr[2], addr[3], addr[4]};
    send_acked(9, bytes_of(vring_addr));
    REQUIRE(ack());
    int call[2];
    REQUIRE(::pipe2(call, O_CLOEXEC | O_NONBLOCK) == 0);
    send_acked(13, bytes_of(std::uint64_t{q}), {call[1]});
    REQUIRE(ack());
    ::close(call[1]);
    queue.call_read = call[0];
    owned_fds_.push_back(call[0]);
    queue.kick = ::eventfd(0, EFD_CLOEXEC);
    send_acked(12, bytes_of(std::uint64_t{q}), {queue.kick});
    REQUIRE(ack());
    owned_fds_.push_back(queue.kick);
    send_state_acked(18, q, 1);
    queues.push_back(queue);
  }
  void send_state_acked(std::uint32_t request, std::uint32_t index, std::uint32_t num) {
    const std::uint32_t state[2] = {index, num};
    send_acked(request, std::as_bytes(std::span(state)));
    REQUIRE(ack());
  }

  std::byte* at(std::uint64_t guest_addr) { return ram_ + (guest_addr - kGuestBase); }
  // Guest memory for buffers, past the rings.
  std::uint64_t allocate(std::size_t size) {
    const std::uint64_t addr = next_buffer_;
    next_buffer_ += (size + 63) & ~63ULL;
    return addr;
  }

  // Makes a chain of readable buffers (copied into guest memory) and writable buffers
  // of the given sizes available on queue q, and kicks; returns the writable buffers'
  // guest addresses.
  std::vector<std::uint64_t> add_chain(unsigned q,
                                       const std::vector<std::vector<std::byte>>& readable,
                                       const std::vector<std::uint32_t>& writable,
                                       bool kick = true) {
    Queue& queue = queues.at(q);
    std::vector<std::uint64_t> writable_addrs;
    const std::uint16_t head = queue.next_desc;
    const std::size_t total = readable.size() + writable.size();
    for (std::size_t i = 0; i < total; ++i) {
      const std::uint16_t index = (head + i) % queue.size;
      struct {
        std::uint64_t addr;
        std::uint32_t len;
        std::uint16_t flags, next;
      } d{};
      if (i < readable.size()) {
        d.addr = allocate(readable[i].size());
        d.len = static_cast<std::uint32_t>(readable[i].size());
        std::memcpy(at(d.addr), readable[i].data(), readable[i].size());
      } else {
        d.len = writable[i - readable.size()];
        d.addr = allocate(d.len);
        std::memset(at(d.addr), 0xee, d.len);
        d.flags = 2;
        writable_addrs.push_back(d.addr);
      }
      if (i + 1 < total) {
        d.flags |= 1;
        d.next = (index + 1) % queue.size;
      }
      std::memcpy(at(queue.desc + 16 * index), &d, 16);
    }
    queue.next_desc = (head + total) % queue.size;
    std::memcpy(at(queue.avail + 4 + 2 * (queue.avail_idx % queue.size)), &head, 2);
    ++queue.avail_idx;
    std::atomic_ref<std::uint16_t>(*reinterpret_cast<std::uint16_t*>(at(queue.avail + 2)))
        .store(queue.avail_idx, std::memory_order_release);
    if (kick)
      this->kick(q);
    return writable_addrs;
  }
  void kick(unsigned q) {
    const std::uint64_t one = 1;
    REQUIRE(::write(queues.at(q).kick, &one, 8) == 8);
  }

  // Waits for the next used element of queue q: (head, length), or nothing in 5 s.
  std::optional<std::pair<std::uint32_t, std::uint32_t>> wait_used(unsigned q) {
    Queue& queue = queues.at(q);
    for (int i = 0; i < 500; ++i) {
      const std::uint16_t idx =
          std::atomic_ref<std::uint16_t>(*reinterpret_cast<std::uint16_t*>(at(queue.used + 2)))
              .load(std::memory_order_acquire);
      if (idx != queue.used_seen) {
        std::uint32_t element[2];
        std::memcpy(element, at(queue.used + 4 + 8 * (queue.used_seen % queue.size)), 8);
        ++queue.used_seen;
        return std::pair{element[0], element[1]};
      }
      pollfd p{queue.call_read, POLLIN, 0};
      ::poll(&p, 1, 10);
      std::uint64_t drained;
      while (::read(queue.call_read, &drained, 8) == 8) {
      }
    }
    return std::nullopt;
  }

 private:
  Backend backend_;
  int ram_fd_ = -1;
  std::byte* ram_ = nullptr;
  int sock_ = -1;
  std::thread thread_;
  std::string protocol_error_;
  std::string other_error_;
  std::atomic<bool> done_{false};
  std::vector<int> owned_fds_;
  std::uint64_t next_buffer_ = kGuestBase + 0x100000;
};

// An I2C client that records what it got.
struct RecordingClient : I2cClient {
  std::vector<std::vector<std::byte>> writes;
  std::vector<std::byte> read_answer = to_bytes({0x12, 0x34});
  bool write(std::span<const std::byte> data) override {
    writes.emplace_back(data.begin(), data.end());
    return true;
  }
  bool read(std::span<std::byte> out) override {
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = read_answer[i % read_answer.size()];
    return true;
  }
};

std::vector<std::byte> i2c_header(std::uint16_t address, std::uint32_t flags) {
  std::vector<std::byte> header(8);
  const std::uint16_t wire = static_cast<std::uint16_t>(address << 1);
  std::memcpy(header.data(), &wire, 2);
  std::memcpy(header.data() + 4, &flags, 4);
  return header;
}

std::vector<std::byte> pci_message(std::uint8_t op, std::uint8_t bar, std::uint32_t size,
                                   std::uint64_t addr, std::vector<std::byte> data = {}) {
  std::vector<std::byte> message(16);
  message[0] = std::byte{op};
  message[1] = std::byte{bar};
  std::memcpy(message.data() + 4, &size, 4);
  std::memcpy(message.data() + 8, &addr, 8);
  message.insert(message.end(), data.begin(), data.end());
  return message;
}

// A configuration write as the guest makes it (through the command queue, so the device
// sees it on its own thread), waited for.
void guest_config_write(FakeUml& uml, std::uint32_t offset, std::uint32_t size,
                        std::uint64_t value) {
  std::vector<std::byte> data(size);
  std::memcpy(data.data(), &value, size);
  uml.add_chain(0, {pci_message(2, 0, size, offset, data)}, {});
  REQUIRE(uml.wait_used(0));
}

// A 32-bit BAR write as the guest makes it, waited for.
void guest_bar_write(FakeUml& uml, std::uint8_t bar, std::uint64_t offset, std::uint32_t value) {
  std::vector<std::byte> data(4);
  std::memcpy(data.data(), &value, 4);
  uml.add_chain(0, {pci_message(4, bar, 4, offset, data)}, {});
  REQUIRE(uml.wait_used(0));
}

std::uint32_t le32_at(const std::byte* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

TEST_CASE(
    "device: the handshake offers VERSION_1, the device's features and UML's protocol features") {
  I2cAdapter adapter;
  FakeUml uml(adapter);
  uml.start(1 | (1ULL << 32) | (1ULL << 30), 1);
  CHECK((uml.offered_features & 1) == 1);  // ZERO_LENGTH_REQUEST, which i2c-virtio requires
  CHECK((uml.offered_features & (1ULL << 32)) != 0);
  CHECK((uml.offered_features & (1ULL << 30)) != 0);
  CHECK(uml.backend().acked_protocol_features() == ((1 << 3) | (1 << 5) | (1 << 9)));
  // GET_VRING_BASE answers the queue's index, as del_vqs's barrier expects.
  uml.send_state(11, 0, 0);
  const auto base = uml.receive();
  REQUIRE(base);
  CHECK(base->request == 11);
  CHECK(base->payload.size() == 8);
}

TEST_CASE("device: GET_CONFIG answers the whole requested range, zero past the device's space") {
  PciDevice pci({0x1af4, 0x1234, 0xff0000});
  FakeUml uml(pci);
  uml.start(1ULL << 32, 2);
  std::vector<std::byte> request(12 + 8);
  const std::uint32_t size = 8;
  std::memcpy(request.data() + 4, &size, 4);
  uml.send(24, request);
  const auto reply = uml.receive();
  REQUIRE(reply);
  CHECK(reply->payload.size() == 20);
  CHECK(std::all_of(reply->payload.begin() + 12, reply->payload.end(),
                    [](std::byte b) { return b == std::byte{0}; }));
}

TEST_CASE("device: an I2C write and a combined write-read reach the client at its address") {
  I2cAdapter adapter;
  auto client = std::make_shared<RecordingClient>();
  adapter.add_client(0x48, client);
  FakeUml uml(adapter);
  uml.start(1 | (1ULL << 32), 1);

  // Write [0x03, 0xaa] to 0x48.
  auto status = uml.add_chain(0, {i2c_header(0x48, 0), to_bytes({0x03, 0xaa})}, {1});
  auto used = uml.wait_used(0);
  REQUIRE(used);
  CHECK(used->second == 1);
  CHECK(*uml.at(status[0]) == std::byte{0});
  REQUIRE(client->writes.size() == 1);
  CHECK(client->writes[0] == to_bytes({0x03, 0xaa}));

  // A read of 2 bytes: the data, then the status.
  auto read = uml.add_chain(0, {i2c_header(0x48, 2)}, {2, 1});
  used = uml.wait_used(0);
  REQUIRE(used);
  CHECK(used->second == 3);
  CHECK(*uml.at(read[0]) == std::byte{0x12});
  CHECK(*(uml.at(read[0]) + 1) == std::byte{0x34});
  CHECK(*uml.at(read[1]) == std::byte{0});

  // Nobody at 0x50: NACK. A zero-length write (a probe) to 0x48: ACK.
  status = uml.add_chain(0, {i2c_header(0x50, 0)}, {1});
  REQUIRE(uml.wait_used(0));
  CHECK(*uml.at(status[0]) == std::byte{1});
  status = uml.add_chain(0, {i2c_header(0x48, 0)}, {1});
  REQUIRE(uml.wait_used(0));
  CHECK(*uml.at(status[0]) == std::byte{0});
}

TEST_CASE("device: a failed I2C request with FAIL_NEXT fails the rest of its group") {
  I2cAdapter adapter;
  auto client = std::make_shared<RecordingClient>();
  adapter.add_client(0x48, client);
  FakeUml uml(adapter);
  uml.start(1 | (1ULL << 32), 1);
  auto first = uml.add_chain(0, {i2c_header(0x51, 1), to_bytes({0x00})}, {1}, false);
  auto second = uml.add_chain(0, {i2c_header(0x48, 2)}, {2, 1});
  REQUIRE(uml.wait_used(0));
  REQUIRE(uml.wait_used(0));
  CHECK(*uml.at(first[0]) == std::byte{1});
  CHECK(*uml.at(second[1]) == std::byte{1});
  CHECK(client->writes.empty());
}

TEST_CASE("device: PCI configuration space, BAR sizing, MMIO and INTx") {
  PciDevice pci({0x1234, 0x11e8, 0x00ff00, 0x10});
  std::vector<std::pair<std::uint64_t, std::vector<std::byte>>> writes;
  std::uint32_t reg = 0xcafe0000;
  pci.set_bar(
      0, 4096,
      [&](std::uint64_t offset, std::span<std::byte> out) {
        if (offset == 8)
          put_le_value(out, reg);
      },
      [&](std::uint64_t offset, std::span<const std::byte> data) {
        writes.emplace_back(offset, std::vector<std::byte>(data.begin(), data.end()));
        if (offset == 8)
          reg = static_cast<std::uint32_t>(le_value(data));
      });
  // A doorbell: each write raises an interrupt (on the back end's thread, as a model does).
  pci.set_bar(1, 4096, nullptr,
              [&](std::uint64_t, std::span<const std::byte>) { pci.interrupt(); });
  FakeUml uml(pci);
  uml.start(1ULL << 32, 2);
  // The guest posts its interrupt buffers first, as virt-pci does at probe.
  std::vector<std::uint64_t> irq_buffers;
  for (int i = 0; i < 2; ++i)
    irq_buffers.push_back(uml.add_chain(1, {}, {20})[0]);

  auto config_read = [&](std::uint32_t offset, std::uint32_t size) {
    auto answer = uml.add_chain(0, {pci_message(1, 0, size, offset)}, {8});
    auto used = uml.wait_used(0);
    REQUIRE(used);
    CHECK(used->second == size);
    std::uint64_t value = 0;
    std::memcpy(&value, uml.at(answer[0]), size);
    return value;
  };
  auto config_write = [&](std::uint32_t offset, std::uint32_t size, std::uint64_t value) {
    std::vector<std::byte> data(size);
    std::memcpy(data.data(), &value, size);
    uml.add_chain(0, {pci_message(2, 0, size, offset, data)}, {});
    REQUIRE(uml.wait_used(0));
  };

  CHECK(config_read(0, 4) == 0x11e81234);
  CHECK(config_read(0x08, 4) == 0x00ff0010);  // class, revision
  CHECK(config_read(0x3d, 1) == 1);           // pin A
  config_write(0x10, 4, 0xffffffff);          // sizing
  CHECK(config_read(0x10, 4) == 0xfffff000);
  config_write(0x10, 4, 0xf0001000);
  CHECK(config_read(0x10, 4) == 0xf0001000);
  CHECK(config_read(0x14, 4) == 0);  // no BAR 1

  // Memory decoding off: reads are all ones and the model is not asked.
  auto answer = uml.add_chain(0, {pci_message(3, 0, 4, 8)}, {4});
  REQUIRE(uml.wait_used(0));
  CHECK(le32_at(uml.at(answer[0])) == 0xffffffff);
  config_write(0x04, 2, 0x0006);  // memory, master
  uml.add_chain(0, {pci_message(4, 0, 4, 8, to_bytes({0x78, 0x56, 0x34, 0x12}))}, {});
  REQUIRE(uml.wait_used(0));
  answer = uml.add_chain(0, {pci_message(3, 0, 4, 8)}, {4});
  REQUIRE(uml.wait_used(0));
  CHECK(le32_at(uml.at(answer[0])) == 0x12345678);
  REQUIRE(writes.size() == 1);
  CHECK(writes[0].first == 8);

  // A read past the BAR's end: all ones, not the model's business.
  answer = uml.add_chain(0, {pci_message(3, 0, 4, 4094)}, {4});
  REQUIRE(uml.wait_used(0));
  CHECK(le32_at(uml.at(answer[0])) == 0xffffffff);

  // INTx: an INT message for pin 1 in the guest's first interrupt buffer.
  guest_bar_write(uml, 1, 0, 1);
  auto used = uml.wait_used(1);
  REQUIRE(used);
  CHECK(used->second == 16);
  CHECK(*uml.at(irq_buffers[0]) == std::byte{6});
  std::uint64_t pin;
  std::memcpy(&pin, uml.at(irq_buffers[0]) + 8, 8);
  CHECK(pin == 1);
}

TEST_CASE("device: PCI MSI carries the data the driver programmed, DMA needs bus mastering") {
  PciDevice pci({0x1234, 0x11e8, 0});
  pci.set_msi_vectors(1);
  pci.set_bar(0, 4096, nullptr,
              [&](std::uint64_t, std::span<const std::byte>) { pci.interrupt(); });
  CHECK(pci.config_bytes()[0x34] == 0x40);
  CHECK(pci.config_bytes()[0x40] == 0x05);
  FakeUml uml(pci);
  uml.start(1ULL << 32, 2);
  const std::uint64_t irq_buffer = uml.add_chain(1, {}, {20})[0];
  // The kernel programs address and data, then enables MSI; memory decoding on.
  guest_config_write(uml, 0x44, 4, 0xa0000);
  guest_config_write(uml, 0x48, 2, 42);
  guest_config_write(uml, 0x42, 2, 1);
  guest_config_write(uml, 0x04, 2, 0x0002);
  guest_bar_write(uml, 0, 0, 1);
  auto used = uml.wait_used(1);
  REQUIRE(used);
  CHECK(used->second == 20);
  CHECK(*uml.at(irq_buffer) == std::byte{7});
  CHECK(le32_at(uml.at(irq_buffer) + 16) == 42);

  // DMA: refused until the driver enables bus mastering, then by bus address.
  std::memcpy(uml.at(kGuestBase + 0x300000), "dma!", 4);
  std::byte got[4];
  CHECK_FALSE(pci.dma_read(kGuestBase + 0x300000, got));
  guest_config_write(uml, 0x04, 2, 0x0006);
  REQUIRE(pci.dma_read(kGuestBase + 0x300000, got));
  CHECK(std::memcmp(got, "dma!", 4) == 0);
  CHECK(pci.dma_write(kGuestBase + 0x300010, std::as_bytes(std::span("back", 4))));
  CHECK(std::memcmp(uml.at(kGuestBase + 0x300010), "back", 4) == 0);
  // Outside guest RAM, or wrapping around: refused, nothing touched.
  CHECK_FALSE(pci.dma_read(kGuestBase + kRamSize - 2, got));
  CHECK_FALSE(pci.dma_read(~0ULL - 1, got));
  CHECK_FALSE(pci.dma_write(kGuestBase - 4, std::as_bytes(std::span("evil", 4))));
}

TEST_CASE("device: malformed messages end the connection with a protocol error") {
  struct Case {
    const char* name;
    std::uint32_t request;
    std::vector<std::byte> payload;
    std::uint32_t flags;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"unknown request", 99, {}, kFlagsVersion, "unsupported vhost-user request 99"},
      {"wrong version", 1, {}, 2, "version 2"},
      {"short SET_FEATURES", 2, to_bytes({1, 2}), kFlagsVersion, "SET_FEATURES: payload of 2"},
      {"features not offered", 2, to_bytes({0, 0, 0, 0, 0, 0, 0, 0x80}), kFlagsVersion,
       "did not offer"},
      {"queue out of range", 8, to_bytes({7, 0, 0, 0, 16, 0, 0, 0}), kFlagsVersion,
       "virtqueue 7 does not exist"},
      {"queue size not a power of two", 8, to_bytes({0, 0, 0, 0, 3, 0, 0, 0}), kFlagsVersion,
       "not a power of two"},
      {"memory table without descriptors", 5, std::vector<std::byte>(40, std::byte{0}),
       kFlagsVersion, "SET_MEM_TABLE with 0 regions"},
      {"kick without descriptor", 12, to_bytes({0, 1, 0, 0, 0, 0, 0, 0}), kFlagsVersion,
       "polling is not offered"},
      {"GET_CONFIG inconsistent", 24, to_bytes({0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0}),
       kFlagsVersion, "inconsistent sizes"},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      I2cAdapter adapter;
      FakeUml uml(adapter);
      uml.send(c.request, c.payload, {}, c.flags);
      CHECK_THAT(uml.wait_protocol_error(), Catch::Contains(c.expected));
    }
  }
}

TEST_CASE("device: a huge message size is refused before anything is allocated") {
  I2cAdapter adapter;
  FakeUml uml(adapter);
  // A GET_FEATURES header that announces a 4 GiB payload, and nothing after it.
  const std::uint32_t fields[3] = {1, 1, 0xffffffff};
  uml.send_raw(std::as_bytes(std::span(fields)));
  CHECK_THAT(uml.wait_protocol_error(), Catch::Contains("at most 65536"));
}

TEST_CASE("device: a connection closed in the middle of a message is a protocol error") {
  I2cAdapter adapter;
  FakeUml uml(adapter);
  const std::uint32_t fields[3] = {2, 1, 8};  // SET_FEATURES, and only 3 of its 8 bytes
  uml.send_raw(std::as_bytes(std::span(fields)));
  uml.send_raw(to_bytes({1, 2, 3}));
  uml.hang_up();
  CHECK_THAT(uml.wait_protocol_error(), Catch::Contains("in the middle of a message"));
}

TEST_CASE("device: a hostile ring is a protocol error, never an access outside guest memory") {
  struct Case {
    const char* name;
    std::function<void(FakeUml&)> corrupt;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"avail index far ahead",
       [](FakeUml& uml) {
         auto& q = uml.queues[0];
         const std::uint16_t idx = 100;
         std::memcpy(uml.at(q.avail + 2), &idx, 2);
       },
       "ran 100 entries ahead"},
      {"head out of range",
       [](FakeUml& uml) {
         auto& q = uml.queues[0];
         const std::uint16_t head = 999, idx = 1;
         std::memcpy(uml.at(q.avail + 4), &head, 2);
         std::memcpy(uml.at(q.avail + 2), &idx, 2);
       },
       "head 999 out of range"},
      {"a loop",
       [](FakeUml& uml) {
         auto& q = uml.queues[0];
         const struct {
           std::uint64_t addr;
           std::uint32_t len;
           std::uint16_t flags, next;
         } d{kGuestBase + 0x200000, 8, 1, 0};
         std::memcpy(uml.at(q.desc), &d, 16);
         const std::uint16_t head = 0, idx = 1;
         std::memcpy(uml.at(q.avail + 4), &head, 2);
         std::memcpy(uml.at(q.avail + 2), &idx, 2);
       },
       "loops"},
      {"a buffer outside guest memory",
       [](FakeUml& uml) {
         auto& q = uml.queues[0];
         const struct {
           std::uint64_t addr;
           std::uint32_t len;
           std::uint16_t flags, next;
         } d{kGuestBase + kRamSize - 4, 8, 0, 0};
         std::memcpy(uml.at(q.desc), &d, 16);
         const std::uint16_t head = 0, idx = 1;
         std::memcpy(uml.at(q.avail + 4), &head, 2);
         std::memcpy(uml.at(q.avail + 2), &idx, 2);
       },
       "outside guest memory"},
      {"an address that wraps around",
       [](FakeUml& uml) {
         auto& q = uml.queues[0];
         const struct {
           std::uint64_t addr;
           std::uint32_t len;
           std::uint16_t flags, next;
         } d{~0ULL - 3, 8, 0, 0};
         std::memcpy(uml.at(q.desc), &d, 16);
         const std::uint16_t head = 0, idx = 1;
         std::memcpy(uml.at(q.avail + 4), &head, 2);
         std::memcpy(uml.at(q.avail + 2), &idx, 2);
       },
       "outside guest memory"},
      {"an indirect descriptor",
       [](FakeUml& uml) {
         auto& q = uml.queues[0];
         const struct {
           std::uint64_t addr;
           std::uint32_t len;
           std::uint16_t flags, next;
         } d{kGuestBase + 0x200000, 16, 4, 0};
         std::memcpy(uml.at(q.desc), &d, 16);
         const std::uint16_t head = 0, idx = 1;
         std::memcpy(uml.at(q.avail + 4), &head, 2);
         std::memcpy(uml.at(q.avail + 2), &idx, 2);
       },
       "indirect"},
      {"a request shorter than its header",
       [](FakeUml& uml) {
         uml.add_chain(0, {to_bytes({1, 2, 3})}, {1}, false);
       },
       "without its headers"},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      I2cAdapter adapter;
      adapter.add_client(0x48, std::make_shared<RecordingClient>());
      FakeUml uml(adapter);
      uml.start(1 | (1ULL << 32), 1);
      c.corrupt(uml);
      uml.kick(0);
      CHECK_THAT(uml.wait_protocol_error(), Catch::Contains(c.expected));
    }
  }
}

TEST_CASE("device: a memory table beyond its file's end is refused (no SIGBUS later)") {
  I2cAdapter adapter;
  FakeUml uml(adapter);
  const int small = ::memfd_create("small", MFD_CLOEXEC);
  REQUIRE(::ftruncate(small, 4096) == 0);
  struct {
    std::uint32_t num = 1, padding = 0;
    MemoryRegionInfo regions[2];
  } table;
  table.regions[0] = {kGuestBase, 1 << 20, kGuestBase, 0};
  uml.send(5, bytes_of(table), {small});
  ::close(small);
  CHECK_THAT(uml.wait_protocol_error(), Catch::Contains("beyond the end of its memory file"));
}

TEST_CASE("device: a kick descriptor that is no eventfd is a protocol error, not a busy loop") {
  I2cAdapter adapter;
  FakeUml uml(adapter);
  uml.start(1 | (1ULL << 32), 1);
  int dead[2];
  REQUIRE(::pipe2(dead, O_CLOEXEC) == 0);
  ::close(dead[1]);  // always readable, always end of file
  uml.send_acked(12, bytes_of(std::uint64_t{0}), {dead[0]});
  ::close(dead[0]);
  CHECK_THAT(uml.wait_protocol_error(), Catch::Contains("not a working eventfd"));
}

TEST_CASE("device: memset_io on a BAR (a configuration write naming the BAR) reaches the BAR") {
  PciDevice pci({0x1234, 0x11e8, 0});
  std::vector<std::pair<std::uint64_t, std::vector<std::byte>>> writes;
  pci.set_bar(2, 4096, nullptr, [&](std::uint64_t offset, std::span<const std::byte> data) {
    writes.emplace_back(offset, std::vector<std::byte>(data.begin(), data.end()));
  });
  FakeUml uml(pci);
  uml.start(1ULL << 32, 2);
  guest_config_write(uml, 0x04, 2, 0x0006);
  // virt-pci's um_pci_bar_set(): op CFG_WRITE, bar 2, size 4 (the length), one byte.
  uml.add_chain(0, {pci_message(2, 2, 4, 0x10, to_bytes({0xab}))}, {});
  REQUIRE(uml.wait_used(0));
  REQUIRE(writes.size() == 1);
  CHECK(writes[0].first == 0x10);
  CHECK(writes[0].second == to_bytes({0xab, 0xab, 0xab, 0xab}));
  CHECK(pci.config_bytes()[0x04] == 0x06);  // configuration space untouched
}

TEST_CASE("device: interrupts the driver takes no buffers for are bounded") {
  PciDevice pci({0x1234, 0x11e8, 0});
  pci.set_msi_vectors(1);
  pci.set_bar(0, 4096, nullptr, [&](std::uint64_t, std::span<const std::byte> data) {
    for (std::uint64_t i = 0; i < le_value(data); ++i)
      pci.interrupt();
  });
  FakeUml uml(pci);
  uml.start(1ULL << 32, 2);
  guest_config_write(uml, 0x42, 2, 1);
  guest_config_write(uml, 0x04, 2, 0x0002);
  guest_bar_write(uml, 0, 0, 1000);  // the used buffer comes back after the callback
  CHECK(pci.suppressed_interrupts() == 1000 - 64);
}

TEST_CASE("device: rings outside guest memory are refused when they are set") {
  I2cAdapter adapter;
  FakeUml uml(adapter);
  uml.start(1 | (1ULL << 32), 0);
  uml.send_state(8, 0, 256);
  struct {
    std::uint32_t index = 0, flags = 0;
    std::uint64_t desc, used, avail, log = ~0ULL;
  } addr{0, 0, kGuestBase + kRamSize - 16, kGuestBase, kGuestBase + 0x1000};
  uml.send(9, bytes_of(addr));
  CHECK_THAT(uml.wait_protocol_error(), Catch::Contains("rings outside guest memory"));
}

TEST_CASE("device: guest memory accesses are checked against every region's bounds") {
  const int fd = ::memfd_create("ram", MFD_CLOEXEC);
  REQUIRE(::ftruncate(fd, 8192) == 0);
  GuestMemory memory;
  memory.add_region(fd, {0x1000, 8192, 0x1000, 0});
  CHECK(memory.at_guest(0x1000, 8192).size() == 8192);
  CHECK(memory.at_guest(0x1000, 8193).empty());
  CHECK(memory.at_guest(0xfff, 2).empty());
  CHECK(memory.at_guest(0x2fff, 1).size() == 1);
  CHECK(memory.at_guest(0x3000, 1).empty());
  CHECK(memory.at_guest(~0ULL, 2).empty());
  CHECK(memory.at_guest(0x1000, ~0ULL).empty());
  CHECK_THROWS_AS(memory.add_region(fd, {0x2000, 4096, 0x9000, 0}), ProtocolError);  // overlap
  CHECK_THROWS_AS(memory.add_region(fd, {~0ULL - 10, 4096, 0, 0}), ProtocolError);   // wraps
  CHECK_THROWS_AS(memory.add_region(fd, {0x100000, 0, 0, 0}), ProtocolError);        // empty
  ::close(fd);
}

TEST_CASE("device: a register map from a data file: pointer, widths, byte order, read-only bits") {
  auto map = RegisterMap::from_text(
      "# an LM75-like sensor\n"
      "0x00 2 0x1900 0x0000   # temperature, read-only\n"
      "0x01 1 0x00            # configuration\n"
      "0x03 2 0x5000 0xff80   # overtemperature, 9 bits\n",
      "lm75.regs");
  std::byte out[2];
  REQUIRE(map->write(to_bytes({0x00})));
  REQUIRE(map->read(out));
  CHECK(out[0] == std::byte{0x19});
  CHECK(out[1] == std::byte{0x00});
  // A write keeps the read-only bits: 0xffff through mask 0xff80.
  REQUIRE(map->write(to_bytes({0x03, 0xff, 0xff})));
  CHECK(map->registers().at(0x03).value == 0xff80);
  REQUIRE(map->write(to_bytes({0x00, 0x12, 0x34})));
  CHECK(map->registers().at(0x00).value == 0x1900);
  // Auto-increment across registers; an undeclared register NACKs.
  REQUIRE(map->write(to_bytes({0x00})));
  std::byte three[3];
  REQUIRE(map->read(three));
  CHECK(three[2] == std::byte{0x00});
  REQUIRE(map->write(to_bytes({0x01})));
  CHECK_FALSE(map->read(three));  // 0x01 then 0x02, which does not exist
  CHECK_FALSE(map->write(to_bytes({0x02})));
  CHECK(map->write({}));  // a probe

  auto little = RegisterMap::from_text("byte-order little\n0x10 2 0x1234\n", "le.regs");
  REQUIRE(little->write(to_bytes({0x10})));
  REQUIRE(little->read(out));
  CHECK(out[0] == std::byte{0x34});
}

TEST_CASE("device: a malformed register map names the file, the line and the fix") {
  struct Case {
    const char* text;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"0x00 2\n", "f.regs:1: expected '<register> <width> <reset value> [<writable mask>]'"},
      {"0x100 1 0\n", "register '0x100' is not a number up to 255"},
      {"0x00 5 0\n", "width '5' is not a number up to 4"},
      {"0x00 0 0\n", "width must be 1 to 4"},
      {"0x00 1 0x100\n", "reset value '0x100' is not a number up to 255"},
      {"0x00 1 -1\n", "reset value '-1'"},
      {"0x00 1 1x\n", "reset value '1x'"},
      {"0x00 1 +5\n", "reset value '+5'"},
      {"0x00 1 0x\n", "reset value '0x'"},
      {"0x00 1 0\n0x00 1 0\n", "f.regs:2: register 0x00 appears twice"},
      {"byte-order middle\n", "byte-order takes 'big' or 'little'"},
      {"# nothing\n", "f.regs: no registers"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    CHECK_THROWS_WITH(RegisterMap::from_text(c.text, "f.regs"), Catch::Contains(c.expected));
  }
  CHECK_THROWS_WITH(RegisterMap::from_file("/nonexistent/x.regs"),
                    Catch::Contains("cannot read register map '/nonexistent/x.regs'"));
}

TEST_CASE("device: I2C and PCI models refuse impossible setups") {
  I2cAdapter adapter;
  CHECK_THROWS_WITH(adapter.add_client(0x02, nullptr), Catch::Contains("reserved"));
  CHECK_THROWS_WITH(adapter.add_client(0x78, nullptr), Catch::Contains("reserved"));
  adapter.add_client(0x48, std::make_shared<RecordingClient>());
  CHECK_THROWS_WITH(adapter.add_client(0x48, nullptr), Catch::Contains("has a client already"));
  PciDevice pci({1, 2, 3});
  CHECK_THROWS_WITH(pci.set_bar(6, 4096, {}, {}), Catch::Contains("BARs 0 to 5"));
  CHECK_THROWS_WITH(pci.set_bar(0, 4000, {}, {}), Catch::Contains("not a power of two"));
  CHECK_THROWS_WITH(pci.set_bar(0, 8, {}, {}), Catch::Contains("not a power of two"));
  CHECK_THROWS_WITH(pci.set_msi_vectors(3), Catch::Contains("not 0, 1, 2, 4"));
  CHECK_THROWS_WITH(pci.after(std::chrono::seconds(1), [] {}), Catch::Contains("before"));
}

TEST_CASE("device: accept_one refuses to replace a file that is not a socket") {
  TempDir dir("device");
  const auto file = dir.path / "not-a-socket";
  std::ofstream(file) << "keep me";
  CHECK_THROWS_WITH(accept_one(file.string()), Catch::Contains("not a socket; not replacing it"));
  CHECK(std::filesystem::file_size(file) == 7);
  CHECK_THROWS_WITH(accept_one(std::string(200, 'x')), Catch::Contains("longer than 105"));
}

// uml-helper's side: --device and --device-arg.
TEST_CASE("device: uml-helper's --device values are checked before anything starts") {
  const std::string sh = "/bin/sh";
  TempDir dir("devices");
  const auto data = (dir.path / "data.regs").string();
  std::ofstream(data) << "0x00 1 0\n";
  std::filesystem::permissions(data, std::filesystem::perms::owner_read);
  const auto parsed = uml::parse_devices({"sensor:34:" + sh, "card:1234:" + sh},
                                         {"sensor:--client", "sensor:0x48=a"});
  REQUIRE(parsed.size() == 2);
  CHECK(parsed[0].name == "sensor");
  CHECK(parsed[0].virtio_id == 34);
  CHECK(parsed[0].args == std::vector<std::string>{"--client", "0x48=a"});
  CHECK(parsed[1].virtio_id == 1234);
  CHECK(parsed[1].args.empty());
  struct Case {
    std::vector<std::string> devices, args;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {{"sensor"}, {}, "expected NAME:VIRTIO_ID:PROGRAM"},
      {{"sensor:34"}, {}, "expected NAME:VIRTIO_ID:PROGRAM"},
      {{"bad name:34:" + sh}, {}, "the name must be 1 to 32 letters"},
      {{":34:" + sh}, {}, "the name must be"},
      {{"s:i2c:" + sh}, {}, "the virtio id \"i2c\" is not a number"},
      {{"s:-1:" + sh}, {}, "is not a number"},
      {{"s:99999999999:" + sh}, {}, "is not a number"},
      {{"s:34:/nonexistent/model"}, {}, "is not an executable file"},
      {{"s:34:" + data}, {}, "is not an executable file"},
      {{"s:34:" + sh, "s:35:" + sh}, {}, "two devices with this name"},
      {{"s:34:" + sh}, {"t:--x"}, "expected NAME:ARGUMENT for a --device NAME"},
      {{"s:34:" + sh}, {"s"}, "expected NAME:ARGUMENT"},
  };
  for (const auto& c : cases) {
    INFO(c.expected);
    CHECK_THROWS_WITH(uml::parse_devices(c.devices, c.args), Catch::Contains(c.expected));
  }
}

TEST_CASE("device: a model's exit status is named") {
  CHECK(uml::describe_model_exit(0, std::nullopt) == "exited normally");
  CHECK_THAT(uml::describe_model_exit(3, std::nullopt),
             Catch::Contains("broke the device protocol"));
  CHECK_THAT(uml::describe_model_exit(std::nullopt, SIGSEGV),
             Catch::Contains("SIGSEGV (it crashed)"));
  CHECK_THAT(uml::describe_model_exit(std::nullopt, SIGTERM), !Catch::Contains("crashed"));
}

TEST_CASE("device: numbers in data files are decimal or 0x-hex, never octal or signed") {
  CHECK(parse_number("0x48") == 0x48u);
  CHECK(parse_number("0X1f") == 0x1fu);
  CHECK(parse_number("010") == 10u);  // decimal, not octal 8
  CHECK(parse_number("18446744073709551615") == ~0ULL);
  CHECK_FALSE(parse_number("18446744073709551616"));
  CHECK_FALSE(parse_number(""));
  CHECK_FALSE(parse_number("0x"));
  CHECK_FALSE(parse_number("+5"));
  CHECK_FALSE(parse_number("-1"));
  CHECK_FALSE(parse_number("12 "));
  CHECK_FALSE(parse_number("0x1g"));
}
