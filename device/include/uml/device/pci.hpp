#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <vector>

#include "uml/device/vhost_user.hpp"

namespace uml::device {

// The virtio device id UML's PCI-over-virtio driver binds (the kernel's
// CONFIG_UML_PCI_OVER_VIRTIO_DEVICE_ID: virtio has no official one; the package's
// device fragment sets this number).
inline constexpr std::uint32_t kPciVirtioId = 1234;

// A PCI function behind UML's virt-pci host bridge (arch/um/drivers/virt-pci.c, protocol
// include/uapi/linux/virtio_pcidev.h): a type 0 configuration space with the identity
// given, 32-bit memory BARs whose accesses call the model, INTx pin A or MSI, and DMA to
// guest memory by bus address. As on real hardware, the BARs answer only while the
// driver has enabled memory decoding, and DMA works only while it has enabled bus
// mastering (pci_enable_device(), pci_set_master()); the model's log says when a driver
// forgot.
class PciDevice : public VirtioDevice {
 public:
  struct Identity {
    std::uint16_t vendor_id = 0;
    std::uint16_t device_id = 0;
    std::uint32_t class_code = 0;  // 24 bits: class, subclass, programming interface
    std::uint8_t revision = 0;
    std::uint16_t subsystem_vendor_id = 0;
    std::uint16_t subsystem_id = 0;
  };
  // A BAR access: the offset in the BAR and the bytes (1, 2, 4 or 8 for readl() and
  // friends, any length for memcpy_fromio()/memcpy_toio()), little-endian as on the bus.
  using BarRead = std::function<void(std::uint64_t offset, std::span<std::byte> out)>;
  using BarWrite = std::function<void(std::uint64_t offset, std::span<const std::byte> data)>;
  using ConfigWrite = std::function<void(std::uint32_t offset, std::span<const std::byte> data)>;

  explicit PciDevice(const Identity& identity);

  // A 32-bit memory BAR (index 0-5) of size bytes (a power of two, 16 to 1 GiB).
  void set_bar(unsigned index, std::uint32_t size, BarRead read, BarWrite write);
  // An MSI capability with count vectors (1, 2, 4, 8, 16 or 32; 0 removes it).
  void set_msi_vectors(unsigned count);
  // Device-specific configuration registers (0x50-0xff): their bytes, and which bits
  // the driver may write (by default none).
  std::span<std::uint8_t> config_bytes() { return config_; }
  void set_config_writable(std::uint32_t offset, std::span<const std::uint8_t> mask);
  // Called after every configuration write the driver makes (after it took effect).
  void on_config_write(ConfigWrite hook) { config_write_hook_ = std::move(hook); }

  // Raises an interrupt: MSI vector `vector` when the driver enabled MSI, else INTx pin A
  // unless the driver disabled INTx (then it is counted in suppressed_interrupts()).
  // Delivered when the driver has a buffer on the interrupt queue, in order.
  void interrupt(unsigned vector = 0);
  std::uint64_t suppressed_interrupts() const { return suppressed_interrupts_; }
  // DMA by bus address (UML's DMA addresses are guest physical addresses). False, with a
  // line in the model's log, when bus mastering is off or the range is not guest RAM.
  bool dma_read(std::uint64_t bus_address, std::span<std::byte> out);
  bool dma_write(std::uint64_t bus_address, std::span<const std::byte> data);

  // Runs fn on the model's loop after delay (a command that takes time); only once the
  // back end serves the device (from a callback).
  void after(std::chrono::steady_clock::duration delay, std::function<void()> fn);

  bool memory_enabled() const;
  bool bus_master_enabled() const;

  // VirtioDevice
  std::uint32_t virtio_id() const override { return kPciVirtioId; }
  unsigned queue_count() const override { return 2; }  // commands, interrupts
  void attach(Backend& backend) override { backend_ = &backend; }
  void queue_kicked(Backend& backend, unsigned queue) override;

  // Configuration space access as the host bridge makes it (public for tests).
  void config_read(std::uint32_t offset, std::span<std::byte> out) const;
  void config_write(std::uint32_t offset, std::span<const std::byte> data);

 private:
  struct Bar {
    std::uint32_t size = 0;
    BarRead read;
    BarWrite write;
  };
  struct IrqMessage {
    std::uint8_t op;
    std::uint64_t addr;
    std::uint32_t data;
    std::uint32_t size;
  };

  void handle_command(Backend& backend, const Chain& chain);
  void flush_interrupts(Backend& backend);
  std::uint16_t command() const;

  std::array<std::uint8_t, 256> config_{};
  std::array<std::uint8_t, 256> writable_{};
  std::array<Bar, 6> bars_{};
  unsigned msi_vectors_ = 0;
  ConfigWrite config_write_hook_;
  std::deque<IrqMessage> pending_interrupts_;
  std::uint64_t suppressed_interrupts_ = 0;
  Backend* backend_ = nullptr;
};

// Little-endian values in BAR and configuration accesses.
std::uint64_t le_value(std::span<const std::byte> bytes);
void put_le_value(std::span<std::byte> out, std::uint64_t value);

}  // namespace uml::device
