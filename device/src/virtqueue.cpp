#include "uml/device/virtqueue.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "uml/device/error.hpp"

namespace uml::device {

namespace {

// virtio 1.x split ring layout (little-endian; x86 hosts only, as UML).
constexpr std::uint16_t kDescNext = 1;
constexpr std::uint16_t kDescWrite = 2;
constexpr std::uint16_t kDescIndirect = 4;

struct Descriptor {
  std::uint64_t addr;
  std::uint32_t len;
  std::uint16_t flags;
  std::uint16_t next;
};
static_assert(sizeof(Descriptor) == 16);

std::uint16_t load16(const std::byte* p) {
  return std::atomic_ref<const std::uint16_t>(*reinterpret_cast<const std::uint16_t*>(p))
      .load(std::memory_order_acquire);
}

void store16(std::byte* p, std::uint16_t value) {
  std::atomic_ref<std::uint16_t>(*reinterpret_cast<std::uint16_t*>(p))
      .store(value, std::memory_order_release);
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0)
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void replace_fd(int& slot, int fd) {
  if (slot >= 0)
    ::close(slot);
  slot = fd;
  if (fd >= 0)
    set_nonblocking(fd);
}

}  // namespace

std::size_t Chain::readable_size() const {
  std::size_t total = 0;
  for (const auto& buffer : readable)
    total += buffer.size();
  return total;
}

std::size_t Chain::writable_size() const {
  std::size_t total = 0;
  for (const auto& buffer : writable)
    total += buffer.size();
  return total;
}

std::vector<std::byte> Chain::gather() const {
  std::vector<std::byte> bytes;
  bytes.reserve(readable_size());
  for (const auto& buffer : readable)
    bytes.insert(bytes.end(), buffer.begin(), buffer.end());
  return bytes;
}

std::size_t Chain::scatter(std::span<const std::byte> data) const {
  std::size_t done = 0;
  for (const auto& buffer : writable) {
    if (done == data.size())
      break;
    const std::size_t n = std::min(buffer.size(), data.size() - done);
    std::memcpy(buffer.data(), data.data() + done, n);
    done += n;
  }
  return done;
}

Virtqueue::~Virtqueue() {
  replace_fd(kick_fd_, -1);
  replace_fd(call_fd_, -1);
}

void Virtqueue::set_size(std::uint32_t size) {
  if (size == 0 || size > kMaxSize || (size & (size - 1)) != 0)
    throw ProtocolError("virtqueue size " + std::to_string(size) +
                        " is not a power of two up to 32768");
  size_ = size;
  desc_ = avail_ = used_ = nullptr;
}

void Virtqueue::set_addresses(const GuestMemory& memory, std::uint64_t desc, std::uint64_t used,
                              std::uint64_t avail) {
  if (size_ == 0)
    throw ProtocolError("virtqueue addresses before its size");
  if (desc % 16 != 0 || avail % 2 != 0 || used % 4 != 0)
    throw ProtocolError("virtqueue ring addresses are not aligned");
  const std::span<std::byte> desc_bytes = memory.at_user(desc, 16ULL * size_);
  const std::span<std::byte> avail_bytes = memory.at_user(avail, 6 + 2ULL * size_);
  const std::span<std::byte> used_bytes = memory.at_user(used, 6 + 8ULL * size_);
  if (desc_bytes.empty() || avail_bytes.empty() || used_bytes.empty())
    throw ProtocolError("virtqueue rings outside guest memory");
  // The host pointers too: the ring indices are read and written atomically.
  if (reinterpret_cast<std::uintptr_t>(avail_bytes.data()) % 2 != 0 ||
      reinterpret_cast<std::uintptr_t>(used_bytes.data()) % 4 != 0)
    throw ProtocolError("virtqueue rings are not aligned in the memory file");
  desc_ = desc_bytes.data();
  avail_ = avail_bytes.data();
  used_ = used_bytes.data();
  used_index_ = load16(used_ + 2);
}

void Virtqueue::set_kick_fd(int fd) {
  replace_fd(kick_fd_, fd);
}

void Virtqueue::set_call_fd(int fd) {
  replace_fd(call_fd_, fd);
}

void Virtqueue::stop() {
  desc_ = avail_ = used_ = nullptr;
  enabled_ = false;
}

std::optional<Chain> Virtqueue::pop(const GuestMemory& memory) {
  if (!ready())
    return std::nullopt;
  const std::uint16_t avail_index = load16(avail_ + 2);
  const std::uint16_t pending = static_cast<std::uint16_t>(avail_index - last_avail_);
  if (pending == 0)
    return std::nullopt;
  if (pending > size_)
    throw ProtocolError("virtqueue: the available index ran " + std::to_string(pending) +
                        " entries ahead of a ring of " + std::to_string(size_));
  const std::uint16_t head = load16(avail_ + 4 + 2 * (last_avail_ % size_));
  if (head >= size_)
    throw ProtocolError("virtqueue: available head " + std::to_string(head) + " out of range");

  Chain chain;
  chain.head = head;
  std::uint32_t index = head;
  for (std::uint32_t count = 0;; ++count) {
    if (count == size_)
      throw ProtocolError("virtqueue: a descriptor chain loops");
    Descriptor d;
    std::memcpy(&d, desc_ + 16ULL * index, sizeof d);  // read once: the guest may change it
    if (d.flags & kDescIndirect)
      throw ProtocolError("virtqueue: an indirect descriptor (not offered)");
    if (d.len != 0) {
      const std::span<std::byte> buffer = memory.at_guest(d.addr, d.len);
      if (buffer.empty())
        throw ProtocolError("virtqueue: a buffer outside guest memory");
      if (d.flags & kDescWrite) {
        chain.writable.push_back(buffer);
      } else {
        if (!chain.writable.empty())
          throw ProtocolError("virtqueue: a readable buffer after a writable one");
        chain.readable.push_back(buffer);
      }
    }
    if (!(d.flags & kDescNext))
      break;
    if (d.next >= size_)
      throw ProtocolError("virtqueue: next descriptor " + std::to_string(d.next) + " out of range");
    index = d.next;
  }
  ++last_avail_;
  return chain;
}

void Virtqueue::push(const Chain& chain, std::uint32_t written) {
  if (used_ == nullptr)
    return;
  std::byte* element = used_ + 4 + 8ULL * (used_index_ % size_);
  const std::uint32_t id = chain.head;
  std::memcpy(element, &id, 4);
  std::memcpy(element + 4, &written, 4);
  ++used_index_;
  store16(used_ + 2, used_index_);  // release: the element is visible first
}

bool Virtqueue::notify() {
  if (call_fd_ < 0)
    return true;
  const std::uint64_t one = 1;
  for (;;) {
    const ssize_t n = ::write(call_fd_, &one, sizeof one);
    if (n == sizeof one)
      return true;
    if (n < 0 && errno == EINTR)
      continue;
    // A full pipe: UML has notifications it has not read yet, so this one adds nothing.
    return n < 0 && errno == EAGAIN;
  }
}

bool Virtqueue::drain_kick() {
  if (kick_fd_ < 0)
    return false;
  std::uint64_t count = 0;
  for (;;) {
    const ssize_t n = ::read(kick_fd_, &count, sizeof count);
    if (n < 0 && errno == EINTR)
      continue;
    return n == sizeof count;
  }
}

}  // namespace uml::device
