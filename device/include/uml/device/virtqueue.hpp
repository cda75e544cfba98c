#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "uml/device/guest_memory.hpp"

namespace uml::device {

// One request the driver made available: a descriptor chain, its device-readable
// buffers first, then its device-writable ones (virtio requires that order), each a
// checked span of guest memory.
struct Chain {
  std::uint16_t head = 0;
  std::vector<std::span<std::byte>> readable;
  std::vector<std::span<std::byte>> writable;

  std::size_t readable_size() const;
  std::size_t writable_size() const;
  // The readable buffers' bytes, concatenated (copied once: the guest may change them
  // while the model looks).
  std::vector<std::byte> gather() const;
  // Copies data into the writable buffers in order; returns how many bytes fit.
  std::size_t scatter(std::span<const std::byte> data) const;
};

// A split virtqueue (virtio 1.x, 2.7) as vhost-user sets it up: size, ring addresses,
// first index, kick and call descriptors. The rings live in guest memory, written by a
// guest that is not trusted: each descriptor is read once into this process, every
// index and length is checked, and a malformed ring is a ProtocolError.
class Virtqueue {
 public:
  static constexpr std::uint32_t kMaxSize = 32768;

  Virtqueue() = default;
  Virtqueue(const Virtqueue&) = delete;
  Virtqueue& operator=(const Virtqueue&) = delete;
  ~Virtqueue();

  // SET_VRING_NUM: a power of two, 1 to kMaxSize, else ProtocolError.
  void set_size(std::uint32_t size);
  // SET_VRING_ADDR (front-end addresses): checked for alignment and to lie in memory.
  void set_addresses(const GuestMemory& memory, std::uint64_t desc, std::uint64_t used,
                     std::uint64_t avail);
  // SET_VRING_BASE: the next available index to take.
  void set_base(std::uint16_t base) { last_avail_ = base; }
  std::uint16_t base() const { return last_avail_; }
  // SET_VRING_KICK/CALL: descriptors this queue owns from now on (-1: none).
  void set_kick_fd(int fd);
  void set_call_fd(int fd);
  int kick_fd() const { return kick_fd_; }
  void set_enabled(bool enabled) { enabled_ = enabled; }
  // Forgets the ring (GET_VRING_BASE stops a queue), keeping the descriptors.
  void stop();

  // Addresses set and enabled.
  bool ready() const { return desc_ != nullptr && enabled_; }
  std::uint32_t size() const { return size_; }

  // The next chain the driver made available, or nothing. ProtocolError when the ring
  // is malformed (the avail index ran more than the size ahead, a descriptor index out
  // of range, a loop, an indirect descriptor, a readable after a writable buffer, a
  // buffer outside guest memory).
  std::optional<Chain> pop(const GuestMemory& memory);
  // Returns a chain to the driver with the number of bytes the device wrote.
  void push(const Chain& chain, std::uint32_t written);
  // Tells the driver about used buffers (writes the call descriptor); a queue without
  // one does nothing. Returns false when the write failed (UML gone).
  bool notify();
  // Clears the kick descriptor's counter; false when it had nothing (a spurious wakeup).
  bool drain_kick();

 private:
  std::uint32_t size_ = 0;
  std::byte* desc_ = nullptr;
  std::byte* avail_ = nullptr;
  std::byte* used_ = nullptr;
  std::uint16_t last_avail_ = 0;
  std::uint16_t used_index_ = 0;
  bool enabled_ = false;
  int kick_fd_ = -1;
  int call_fd_ = -1;
};

}  // namespace uml::device
