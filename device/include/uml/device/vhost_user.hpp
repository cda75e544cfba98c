#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "uml/device/guest_memory.hpp"
#include "uml/device/virtqueue.hpp"

namespace uml::device {

class Backend;

// Feature bits every model offers (the back end adds them).
inline constexpr std::uint64_t kVirtioF_Version1 = 1ULL << 32;
inline constexpr std::uint64_t kVhostUserF_ProtocolFeatures = 1ULL << 30;

// A virtio device a model serves: what the driver negotiates, and what to do when the
// driver makes buffers available. The kinds (PciDevice, I2cAdapter) are these.
class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;
  // The back end that serves the device from now on (for DMA, interrupts, timers).
  virtual void attach(Backend& /*backend*/) {}
  // The virtio device id UML's `virtio_uml.device=<socket>:<id>` names.
  virtual std::uint32_t virtio_id() const = 0;
  // Device-specific feature bits (VERSION_1 and the vhost-user bit are added).
  virtual std::uint64_t device_features() const { return 0; }
  virtual unsigned queue_count() const = 0;
  // The device's configuration space (GET_CONFIG), empty when it has none.
  virtual std::vector<std::byte> config_space() const { return {}; }
  // The driver's accepted features (SET_FEATURES).
  virtual void features_acked(std::uint64_t /*features*/) {}
  // Buffers may be available on `queue` (a kick, or the queue was enabled). Take them
  // with backend.queue(queue).pop(backend.memory()).
  virtual void queue_kicked(Backend& backend, unsigned queue) = 0;
};

// The vhost-user back end of one device on one connection: the front-end messages UML's
// virtio_uml driver sends (arch/um/drivers/virtio_uml.c: owner, features, protocol
// features REPLY_ACK, SLAVE_REQ and CONFIG, the memory table, the vrings, config
// reads), and a poll loop over the socket, the kick descriptors and timers.
// Single-threaded: the device's callbacks run on the loop's thread.
class Backend {
 public:
  // Protocol features offered: REPLY_ACK (3), SLAVE_REQ (5; without it UML's vring
  // interrupts collide with its timer), CONFIG (9). Not INBAND_NOTIFICATIONS: kicks and
  // calls use the descriptors UML passes.
  static constexpr std::uint64_t kProtocolFeatures = (1ULL << 3) | (1ULL << 5) | (1ULL << 9);

  explicit Backend(VirtioDevice& device);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // Serves the connected socket until the peer closes it (returns) or breaks the
  // protocol (ProtocolError). Takes ownership of the descriptor.
  void serve(int connection);

  // Handles one message (the loop's step; public for tests). `fds` are the descriptors
  // that came with it; the back end owns them from here on.
  void handle_message(std::uint32_t request, std::uint32_t flags,
                      std::span<const std::byte> payload, std::vector<int> fds);

  GuestMemory& memory() { return memory_; }
  Virtqueue& queue(unsigned index);
  unsigned queue_count() const { return static_cast<unsigned>(queues_.size()); }
  std::uint64_t acked_features() const { return acked_features_; }
  std::uint64_t acked_protocol_features() const { return protocol_features_; }

  // Runs fn on the loop's thread after delay (a device's latency: "done" interrupts).
  void after(std::chrono::steady_clock::duration delay, std::function<void()> fn);
  // Runs fn once the current message or kick is handled (sending an interrupt from a
  // register write, say, after the write's buffer went back to the driver).
  void soon(std::function<void()> fn) {
    after(std::chrono::steady_clock::duration::zero(), std::move(fn));
  }

 private:
  struct Timer {
    std::chrono::steady_clock::time_point when;
    std::function<void()> fn;
  };

  void reply(std::uint32_t request, std::span<const std::byte> payload);
  void reply_u64(std::uint32_t request, std::uint64_t value);
  void run_due_timers();
  void kick(unsigned queue);

  VirtioDevice& device_;
  int connection_ = -1;
  int slave_fd_ = -1;  // kept open: UML allocates its IRQ for it (see kProtocolFeatures)
  GuestMemory memory_;
  std::vector<std::unique_ptr<Virtqueue>> queues_;
  std::uint64_t acked_features_ = 0;
  std::uint64_t protocol_features_ = 0;
  std::vector<Timer> timers_;
};

// Listens on a Unix socket at path (replacing a stale socket file, never another kind of
// file), accepts one connection and returns its descriptor; the listening socket and
// its file are removed. ModelError when it cannot.
int accept_one(const std::string& path);

}  // namespace uml::device
