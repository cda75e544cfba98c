#include "uml/device/vhost_user.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "uml/device/error.hpp"

namespace uml::device {

namespace {

// vhost-user requests (QEMU docs/interop/vhost-user.rst; arch/um/drivers/vhost_user.h).
enum Request : std::uint32_t {
  kGetFeatures = 1,
  kSetFeatures = 2,
  kSetOwner = 3,
  kResetOwner = 4,
  kSetMemTable = 5,
  kSetVringNum = 8,
  kSetVringAddr = 9,
  kSetVringBase = 10,
  kGetVringBase = 11,
  kSetVringKick = 12,
  kSetVringCall = 13,
  kSetVringErr = 14,
  kGetProtocolFeatures = 15,
  kSetProtocolFeatures = 16,
  kGetQueueNum = 17,
  kSetVringEnable = 18,
  kSetSlaveReqFd = 21,
  kGetConfig = 24,
  kSetConfig = 25,
};

constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kVersionMask = 3;
constexpr std::uint32_t kFlagReply = 1U << 2;
constexpr std::uint32_t kFlagNeedReply = 1U << 3;
constexpr std::uint64_t kProtocolReplyAck = 1ULL << 3;
constexpr std::uint32_t kHeaderSize = 12;
// Far above any message UML sends (GET_CONFIG of a whole config space is the largest).
constexpr std::uint32_t kMaxPayload = 64 * 1024;
constexpr std::uint32_t kMaxConfigSize = 4096;
constexpr std::uint32_t kMaxMemoryRegions = 8;
constexpr std::uint64_t kVringIndexMask = 0xff;
constexpr std::uint64_t kVringNoFd = 1ULL << 8;

template <typename T>
T load(std::span<const std::byte> bytes, std::size_t offset = 0) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

void close_all(const std::vector<int>& fds) {
  for (int fd : fds)
    ::close(fd);
}

// Reads exactly out.size() bytes; false at a clean end of stream before the first byte.
bool read_exact(int fd, std::span<std::byte> out, bool allow_eof) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw ProtocolError("reading the vhost-user socket: " + std::string(std::strerror(errno)));
    if (n == 0) {
      if (done == 0 && allow_eof)
        return false;
      throw ProtocolError("the vhost-user peer closed the socket in the middle of a message");
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void write_exact(int fd, std::span<const std::byte> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw ProtocolError("writing the vhost-user socket: " + std::string(std::strerror(errno)));
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

Backend::Backend(VirtioDevice& device) : device_(device) {
  for (unsigned i = 0; i < device.queue_count(); ++i)
    queues_.push_back(std::make_unique<Virtqueue>());
  device.attach(*this);
}

Backend::~Backend() {
  if (slave_fd_ >= 0)
    ::close(slave_fd_);
  if (connection_ >= 0)
    ::close(connection_);
}

Virtqueue& Backend::queue(unsigned index) {
  if (index >= queues_.size())
    throw ProtocolError("virtqueue " + std::to_string(index) + " does not exist (the device has " +
                        std::to_string(queues_.size()) + ")");
  return *queues_[index];
}

void Backend::after(std::chrono::steady_clock::duration delay, std::function<void()> fn) {
  timers_.push_back(Timer{std::chrono::steady_clock::now() + delay, std::move(fn)});
}

void Backend::reply(std::uint32_t request, std::span<const std::byte> payload) {
  std::vector<std::byte> message(kHeaderSize + payload.size());
  const std::uint32_t header[3] = {request, kVersion | kFlagReply,
                                   static_cast<std::uint32_t>(payload.size())};
  std::memcpy(message.data(), header, kHeaderSize);
  if (!payload.empty())
    std::memcpy(message.data() + kHeaderSize, payload.data(), payload.size());
  write_exact(connection_, message);
}

void Backend::reply_u64(std::uint32_t request, std::uint64_t value) {
  reply(request, std::as_bytes(std::span(&value, 1)));
}

void Backend::kick(unsigned index) {
  if (queue(index).ready())
    device_.queue_kicked(*this, index);
}

void Backend::handle_message(std::uint32_t request, std::uint32_t flags,
                             std::span<const std::byte> payload, std::vector<int> fds) {
  // Descriptors a message does not keep are closed whatever happens.
  struct FdGuard {
    std::vector<int>& fds;
    ~FdGuard() { close_all(fds); }
  } guard{fds};
  auto take_fd = [&fds]() {
    const int fd = fds.front();
    fds.erase(fds.begin());
    return fd;
  };
  auto need = [&](std::size_t size, const char* what) {
    if (payload.size() < size)
      throw ProtocolError(std::string(what) + ": payload of " + std::to_string(payload.size()) +
                          " bytes, expected " + std::to_string(size));
  };
  auto need_fds = [&](std::size_t count, const char* what) {
    if (fds.size() != count)
      throw ProtocolError(std::string(what) + ": " + std::to_string(fds.size()) +
                          " descriptors, expected " + std::to_string(count));
  };

  if ((flags & kVersionMask) != kVersion)
    throw ProtocolError("vhost-user message of version " + std::to_string(flags & kVersionMask) +
                        " (only 1 exists)");
  const std::uint64_t offered =
      device_.device_features() | kVirtioF_Version1 | kVhostUserF_ProtocolFeatures;
  bool replied = false;
  switch (request) {
    case kGetFeatures:
      reply_u64(request, offered);
      replied = true;
      break;
    case kSetFeatures: {
      need(8, "SET_FEATURES");
      const auto features = load<std::uint64_t>(payload);
      if (features & ~offered)
        throw ProtocolError("SET_FEATURES acknowledges features the device did not offer");
      acked_features_ = features;
      device_.features_acked(features);
      break;
    }
    case kSetOwner:
      break;
    case kResetOwner:
      for (auto& q : queues_)
        q->stop();
      break;
    case kSetMemTable: {
      need(8, "SET_MEM_TABLE");
      const auto count = load<std::uint32_t>(payload);
      if (count == 0 || count > kMaxMemoryRegions)
        throw ProtocolError("SET_MEM_TABLE with " + std::to_string(count) + " regions");
      need(8 + 32ULL * count, "SET_MEM_TABLE");
      need_fds(count, "SET_MEM_TABLE");
      // The rings' old addresses point into the old mapping: they must be set again.
      for (auto& q : queues_)
        q->stop();
      memory_.clear();
      for (std::uint32_t i = 0; i < count; ++i) {
        MemoryRegionInfo info;
        std::memcpy(&info, payload.data() + 8 + 32 * i, 32);
        memory_.add_region(fds[i], info);
      }
      break;
    }
    case kSetVringNum: {
      need(8, "SET_VRING_NUM");
      queue(load<std::uint32_t>(payload)).set_size(load<std::uint32_t>(payload, 4));
      break;
    }
    case kSetVringAddr: {
      need(40, "SET_VRING_ADDR");
      queue(load<std::uint32_t>(payload))
          .set_addresses(memory_, load<std::uint64_t>(payload, 8), load<std::uint64_t>(payload, 16),
                         load<std::uint64_t>(payload, 24));
      break;
    }
    case kSetVringBase: {
      need(8, "SET_VRING_BASE");
      const auto base = load<std::uint32_t>(payload, 4);
      if (base > 0xffff)
        throw ProtocolError("SET_VRING_BASE beyond a split ring's 16-bit index");
      queue(load<std::uint32_t>(payload)).set_base(static_cast<std::uint16_t>(base));
      break;
    }
    case kGetVringBase: {
      need(8, "GET_VRING_BASE");
      const auto index = load<std::uint32_t>(payload);
      Virtqueue& q = queue(index);
      q.stop();
      const std::uint32_t state[2] = {index, q.base()};
      reply(request, std::as_bytes(std::span(state)));
      replied = true;
      break;
    }
    case kSetVringKick:
    case kSetVringCall:
    case kSetVringErr: {
      need(8, "SET_VRING_KICK/CALL/ERR");
      const auto value = load<std::uint64_t>(payload);
      Virtqueue& q = queue(static_cast<unsigned>(value & kVringIndexMask));
      if (value & ~(kVringIndexMask | kVringNoFd))
        throw ProtocolError("SET_VRING_KICK/CALL/ERR with unknown flag bits");
      const bool has_fd = !(value & kVringNoFd);
      need_fds(has_fd ? 1 : 0, "SET_VRING_KICK/CALL/ERR");
      if (request == kSetVringErr)
        break;  // errors are not reported through it; the guard closes it
      const int fd = has_fd ? take_fd() : -1;
      if (request == kSetVringKick) {
        if (fd < 0)
          throw ProtocolError("SET_VRING_KICK without a descriptor (polling is not offered)");
        q.set_kick_fd(fd);
      } else {
        q.set_call_fd(fd);
      }
      break;
    }
    case kGetProtocolFeatures:
      reply_u64(request, kProtocolFeatures);
      replied = true;
      break;
    case kSetProtocolFeatures: {
      need(8, "SET_PROTOCOL_FEATURES");
      const auto features = load<std::uint64_t>(payload);
      if (features & ~kProtocolFeatures)
        throw ProtocolError("SET_PROTOCOL_FEATURES acknowledges features not offered");
      protocol_features_ = features;
      break;
    }
    case kGetQueueNum:
      reply_u64(request, queues_.size());
      replied = true;
      break;
    case kSetVringEnable: {
      need(8, "SET_VRING_ENABLE");
      const auto index = load<std::uint32_t>(payload);
      const auto enable = load<std::uint32_t>(payload, 4);
      if (enable > 1)
        throw ProtocolError("SET_VRING_ENABLE with a state other than 0 or 1");
      queue(index).set_enabled(enable == 1);
      if (enable == 1)
        soon([this, index] { kick(index); });  // buffers may already be there
      break;
    }
    case kSetSlaveReqFd:
      need_fds(1, "SET_SLAVE_REQ_FD");
      if (slave_fd_ >= 0)
        ::close(slave_fd_);
      slave_fd_ = take_fd();
      break;
    case kGetConfig: {
      need(12, "GET_CONFIG");
      const auto offset = load<std::uint32_t>(payload);
      const auto size = load<std::uint32_t>(payload, 4);
      if (size > kMaxConfigSize || offset > kMaxConfigSize || payload.size() != 12ULL + size)
        throw ProtocolError("GET_CONFIG with inconsistent sizes");
      std::vector<std::byte> answer(payload.begin(), payload.end());
      const std::vector<std::byte> config = device_.config_space();
      for (std::uint32_t i = 0; i < size; ++i)
        answer[12 + i] = offset + i < config.size() ? config[offset + i] : std::byte{0};
      reply(request, answer);
      replied = true;
      break;
    }
    case kSetConfig:
      need(12, "SET_CONFIG");
      break;  // no device here has writable configuration fields
    default:
      throw ProtocolError("unsupported vhost-user request " + std::to_string(request));
  }
  if (!replied && (flags & kFlagNeedReply) && (protocol_features_ & kProtocolReplyAck))
    reply_u64(request, 0);
}

void Backend::run_due_timers() {
  // Timers may add timers; run those due now, in order, then keep the rest.
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    auto due = std::min_element(timers_.begin(), timers_.end(),
                                [](const Timer& a, const Timer& b) { return a.when < b.when; });
    if (due == timers_.end() || due->when > now)
      return;
    std::function<void()> fn = std::move(due->fn);
    timers_.erase(due);
    fn();
  }
}

void Backend::serve(int connection) {
  connection_ = connection;
  for (;;) {
    run_due_timers();
    std::vector<pollfd> fds{{connection_, POLLIN, 0}};
    std::vector<unsigned> fd_queue;
    for (unsigned i = 0; i < queues_.size(); ++i) {
      if (queues_[i]->kick_fd() >= 0 && queues_[i]->ready()) {
        fds.push_back({queues_[i]->kick_fd(), POLLIN, 0});
        fd_queue.push_back(i);
      }
    }
    int timeout_ms = -1;
    if (!timers_.empty()) {
      auto first = std::min_element(timers_.begin(), timers_.end(),
                                    [](const Timer& a, const Timer& b) { return a.when < b.when; });
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(
          first->when - std::chrono::steady_clock::now());
      timeout_ms = static_cast<int>(std::clamp<std::int64_t>(wait.count(), 0, 60000));
    }
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready < 0)
      throw ModelError("poll: " + std::string(std::strerror(errno)));
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0)
        continue;
      // A kick descriptor that hangs up or has nothing to read when poll says so is no
      // eventfd: polling it again would spin.
      if ((fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) ||
          !queues_[fd_queue[i - 1]]->drain_kick())
        throw ProtocolError("virtqueue " + std::to_string(fd_queue[i - 1]) +
                            ": its kick descriptor is not a working eventfd");
      kick(fd_queue[i - 1]);
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      std::byte header[kHeaderSize];
      // The descriptors come with the header's bytes (one sendmsg per message).
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxMemoryRegions)];
      iovec iov{header, kHeaderSize};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n;
      do {
        n = ::recvmsg(connection_, &msg, MSG_CMSG_CLOEXEC);
      } while (n < 0 && errno == EINTR);
      if (n == 0)
        return;  // UML closed the socket: the boot is over
      if (n < 0)
        throw ProtocolError("reading the vhost-user socket: " + std::string(std::strerror(errno)));
      std::vector<int> received;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
          const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
          for (std::size_t k = 0; k < count; ++k) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof fd);
            received.push_back(fd);
          }
        }
      }
      if (msg.msg_flags & MSG_CTRUNC) {
        close_all(received);
        throw ProtocolError("a vhost-user message with more descriptors than any request takes");
      }
      if (static_cast<std::size_t>(n) < kHeaderSize &&
          !read_exact(connection_, std::span(header + n, kHeaderSize - n), false)) {
        close_all(received);
        return;
      }
      std::uint32_t fields[3];
      std::memcpy(fields, header, kHeaderSize);
      if (fields[2] > kMaxPayload) {
        close_all(received);
        throw ProtocolError("a vhost-user message of " + std::to_string(fields[2]) +
                            " bytes (at most 65536 are expected)");
      }
      std::vector<std::byte> payload(fields[2]);
      try {
        read_exact(connection_, payload, false);
      } catch (...) {
        close_all(received);
        throw;
      }
      handle_message(fields[0], fields[1], payload, std::move(received));
    }
  }
}

int accept_one(const std::string& path) {
  // Made under a temporary name and renamed once it listens: whoever sees the path (the
  // helper waits for it) can connect at once.
  const std::string listening = path + ".l";
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || listening.size() >= sizeof address.sun_path)
    throw ModelError("socket path '" + path + "' is empty or longer than " +
                     std::to_string(sizeof address.sun_path - 3) + " bytes");
  std::memcpy(address.sun_path, listening.c_str(), listening.size() + 1);
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode))
      throw ModelError("'" + path + "' exists and is not a socket; not replacing it");
    ::unlink(path.c_str());
  }
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0)
    throw ModelError("socket: " + std::string(std::strerror(errno)));
  ::unlink(listening.c_str());  // a stale one of an earlier run (a socket, by its name)
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 1) != 0 || ::rename(listening.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::close(listener);
    ::unlink(listening.c_str());
    throw ModelError("cannot listen on '" + path + "': " + why);
  }
  int connection;
  do {
    connection = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  } while (connection < 0 && errno == EINTR);
  const std::string why = std::strerror(errno);
  ::close(listener);
  ::unlink(path.c_str());
  if (connection < 0)
    throw ModelError("accept on '" + path + "': " + why);
  return connection;
}

}  // namespace uml::device
