#include "uml/device/pci.hpp"

#include <bit>
#include <cstdio>
#include <cstring>

#include "uml/device/error.hpp"

namespace uml::device {

namespace {

// include/uapi/linux/virtio_pcidev.h
enum Op : std::uint8_t {
  kCfgRead = 1,
  kCfgWrite = 2,
  kMmioRead = 3,
  kMmioWrite = 4,
  kMmioMemset = 5,
  kInt = 6,
  kMsi = 7,
};
constexpr std::size_t kMessageHeader = 16;  // op, bar, reserved, size, addr
constexpr std::uint32_t kConfigSpaceSize = 4096;
// The largest BAR access the front end makes in one message: memcpy_fromio() of a page
// or so; more than this from a guest is a protocol error, not an allocation.
constexpr std::uint32_t kMaxAccess = 1U << 20;

constexpr std::uint32_t kCommand = 0x04;
constexpr std::uint32_t kStatus = 0x06;
constexpr std::uint16_t kCommandMemory = 1U << 1;
constexpr std::uint16_t kCommandMaster = 1U << 2;
constexpr std::uint16_t kCommandIntxDisable = 1U << 10;
constexpr std::uint32_t kMsiCap = 0x40;  // the one capability: MSI, 32-bit address
constexpr std::size_t kMaxPendingInterrupts = 64;

void put16(std::uint8_t* p, std::uint16_t v) {
  std::memcpy(p, &v, 2);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  std::memcpy(p, &v, 4);
}
std::uint16_t get16(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void log_line(const std::string& line) {
  std::fprintf(stderr, "pci model: %s\n", line.c_str());
}

std::string hex(std::uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

std::uint64_t le_value(std::span<const std::byte> bytes) {
  std::uint64_t value = 0;
  std::memcpy(&value, bytes.data(), std::min<std::size_t>(bytes.size(), 8));
  return value;
}

void put_le_value(std::span<std::byte> out, std::uint64_t value) {
  std::memcpy(out.data(), &value, std::min<std::size_t>(out.size(), 8));
}

PciDevice::PciDevice(const Identity& identity) {
  put16(&config_[0x00], identity.vendor_id);
  put16(&config_[0x02], identity.device_id);
  config_[0x08] = identity.revision;
  config_[0x09] = static_cast<std::uint8_t>(identity.class_code);
  config_[0x0a] = static_cast<std::uint8_t>(identity.class_code >> 8);
  config_[0x0b] = static_cast<std::uint8_t>(identity.class_code >> 16);
  config_[0x0e] = 0;  // header type 0, single function
  put16(&config_[0x2c], identity.subsystem_vendor_id);
  put16(&config_[0x2e], identity.subsystem_id);
  config_[0x3d] = 1;  // interrupt pin A
  // Writable: command (I/O, memory, master, parity, SERR, INTx disable), cache line
  // size, latency timer, interrupt line.
  put16(&writable_[kCommand], 0x0547);
  writable_[0x0c] = 0xff;
  writable_[0x0d] = 0xff;
  writable_[0x3c] = 0xff;
}

void PciDevice::set_bar(unsigned index, std::uint32_t size, BarRead read, BarWrite write) {
  if (index >= bars_.size())
    throw ModelError("BAR " + std::to_string(index) + ": a function has BARs 0 to 5");
  if (size < 16 || size > (1U << 30) || !std::has_single_bit(size))
    throw ModelError("BAR " + std::to_string(index) + ": size " + std::to_string(size) +
                     " is not a power of two from 16 bytes to 1 GiB");
  bars_[index] = Bar{size, std::move(read), std::move(write)};
  // The address bits below the size read as zero: how the kernel sizes a BAR.
  put32(&writable_[0x10 + 4 * index], ~(size - 1));
  put32(&config_[0x10 + 4 * index], 0);
}

void PciDevice::set_msi_vectors(unsigned count) {
  if (count > 32 || (count != 0 && !std::has_single_bit(count)))
    throw ModelError("MSI vectors: " + std::to_string(count) + " is not 0, 1, 2, 4, 8, 16 or 32");
  msi_vectors_ = count;
  std::memset(&config_[kMsiCap], 0, 12);
  std::memset(&writable_[kMsiCap], 0, 12);
  if (count == 0) {
    config_[0x34] = 0;
    put16(&config_[kStatus], get16(&config_[kStatus]) & ~0x0010);
    return;
  }
  config_[0x34] = kMsiCap;
  put16(&config_[kStatus], get16(&config_[kStatus]) | 0x0010);  // capabilities list
  config_[kMsiCap] = 0x05;                                      // MSI
  config_[kMsiCap + 1] = 0;                                     // last capability
  // Message control: multiple message capable = log2(count); enable and multiple
  // message enable are the driver's.
  put16(&config_[kMsiCap + 2], static_cast<std::uint16_t>(std::countr_zero(count) << 1));
  put16(&writable_[kMsiCap + 2], 0x0071);
  put32(&writable_[kMsiCap + 4], 0xfffffffc);  // message address
  put16(&writable_[kMsiCap + 8], 0xffff);      // message data
}

void PciDevice::set_config_writable(std::uint32_t offset, std::span<const std::uint8_t> mask) {
  if (offset < 0x50 || offset + mask.size() > config_.size())
    throw ModelError("device-specific configuration registers are 0x50 to 0xff");
  std::memcpy(&writable_[offset], mask.data(), mask.size());
}

std::uint16_t PciDevice::command() const {
  return get16(&config_[kCommand]);
}
bool PciDevice::memory_enabled() const {
  return command() & kCommandMemory;
}
bool PciDevice::bus_master_enabled() const {
  return command() & kCommandMaster;
}

void PciDevice::config_read(std::uint32_t offset, std::span<std::byte> out) const {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint64_t at = std::uint64_t{offset} + i;
    // Beyond the standard 256 bytes (no extended capabilities): zeros, as a
    // conventional function reads.
    out[i] = std::byte{at < config_.size() ? config_[at] : std::uint8_t{0}};
  }
}

void PciDevice::config_write(std::uint32_t offset, std::span<const std::byte> data) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::uint64_t at = std::uint64_t{offset} + i;
    if (at >= config_.size())
      break;
    const auto value = std::to_integer<std::uint8_t>(data[i]);
    config_[at] =
        static_cast<std::uint8_t>((config_[at] & ~writable_[at]) | (value & writable_[at]));
  }
  if (config_write_hook_)
    config_write_hook_(offset, data);
}

void PciDevice::after(std::chrono::steady_clock::duration delay, std::function<void()> fn) {
  if (backend_ == nullptr)
    throw ModelError("PciDevice::after() before the device is served");
  backend_->after(delay, std::move(fn));
}

void PciDevice::interrupt(unsigned vector) {
  const std::uint16_t control = get16(&config_[kMsiCap + 2]);
  if (msi_vectors_ != 0 && (control & 1)) {
    const unsigned enabled = 1U << ((control >> 4) & 7);
    std::uint32_t address;
    std::memcpy(&address, &config_[kMsiCap + 4], 4);
    const std::uint16_t data = get16(&config_[kMsiCap + 8]);
    // Multiple messages: the low bits of the data carry the vector.
    const std::uint32_t message = (data & ~(enabled - 1)) | (vector & (enabled - 1));
    pending_interrupts_.push_back(IrqMessage{kMsi, address, message, 4});
  } else if (command() & kCommandIntxDisable) {
    ++suppressed_interrupts_;
    return;
  } else if (!pending_interrupts_.empty() && pending_interrupts_.back().op == kInt) {
    // INTx is a level: one pending assertion says it all.
  } else {
    pending_interrupts_.push_back(IrqMessage{kInt, 1, 0, 0});
  }
  // A driver that never gives interrupt buffers back must not grow the model without end.
  if (pending_interrupts_.size() > kMaxPendingInterrupts) {
    pending_interrupts_.pop_front();
    ++suppressed_interrupts_;
  }
  if (backend_ != nullptr)
    flush_interrupts(*backend_);
}

void PciDevice::flush_interrupts(Backend& backend) {
  Virtqueue& queue = backend.queue(1);
  bool delivered = false;
  while (!pending_interrupts_.empty()) {
    std::optional<Chain> chain = queue.pop(backend.memory());
    if (!chain)
      break;  // the driver has not given a buffer back yet; sent on its next kick
    const IrqMessage& irq = pending_interrupts_.front();
    std::byte message[kMessageHeader + 4]{};
    message[0] = std::byte{irq.op};
    std::memcpy(message + 4, &irq.size, 4);
    std::memcpy(message + 8, &irq.addr, 8);
    std::memcpy(message + 16, &irq.data, 4);
    const std::size_t length = kMessageHeader + irq.size;
    const std::size_t written = chain->scatter(std::span(message, length));
    if (written < length)
      throw ProtocolError("interrupt queue: a buffer of " + std::to_string(written) +
                          " bytes, too small for an interrupt message");
    queue.push(*chain, static_cast<std::uint32_t>(written));
    pending_interrupts_.pop_front();
    delivered = true;
  }
  if (delivered)
    queue.notify();
}

bool PciDevice::dma_read(std::uint64_t bus_address, std::span<std::byte> out) {
  if (!bus_master_enabled()) {
    log_line("DMA read while bus mastering is off (pci_set_master() missing?): refused");
    return false;
  }
  if (backend_ == nullptr || !backend_->memory().read(bus_address, out)) {
    log_line("DMA read of " + std::to_string(out.size()) + " bytes at " + hex(bus_address) +
             ": not guest RAM");
    return false;
  }
  return true;
}

bool PciDevice::dma_write(std::uint64_t bus_address, std::span<const std::byte> data) {
  if (!bus_master_enabled()) {
    log_line("DMA write while bus mastering is off (pci_set_master() missing?): refused");
    return false;
  }
  if (backend_ == nullptr || !backend_->memory().write(bus_address, data)) {
    log_line("DMA write of " + std::to_string(data.size()) + " bytes at " + hex(bus_address) +
             ": not guest RAM");
    return false;
  }
  return true;
}

void PciDevice::queue_kicked(Backend& backend, unsigned queue) {
  if (queue == 1) {
    flush_interrupts(backend);
    return;
  }
  Virtqueue& commands = backend.queue(0);
  bool returned = false;
  while (std::optional<Chain> chain = commands.pop(backend.memory())) {
    handle_command(backend, *chain);
    returned = true;
  }
  if (returned)
    commands.notify();
}

void PciDevice::handle_command(Backend& backend, const Chain& chain) {
  if (chain.readable_size() > kMessageHeader + kMaxAccess)
    throw ProtocolError("PCI command larger than any access");
  const std::vector<std::byte> request = chain.gather();
  if (request.size() < kMessageHeader)
    throw ProtocolError("PCI command of " + std::to_string(request.size()) +
                        " bytes, shorter than its header");
  const auto op = std::to_integer<std::uint8_t>(request[0]);
  const auto bar_index = std::to_integer<std::uint8_t>(request[1]);
  std::uint32_t size;
  std::uint64_t addr;
  std::memcpy(&size, request.data() + 4, 4);
  std::memcpy(&addr, request.data() + 8, 8);
  const std::span<const std::byte> data = std::span(request).subspan(kMessageHeader);
  if (size > kMaxAccess)
    throw ProtocolError("PCI command of " + std::to_string(size) + " bytes");

  std::uint32_t written = 0;
  switch (op) {
    case kCfgRead: {
      if (size != 1 && size != 2 && size != 4 && size != 8)
        throw ProtocolError("configuration read of size " + std::to_string(size));
      if (chain.writable_size() < size)
        throw ProtocolError("configuration read without room for its answer");
      std::vector<std::byte> answer(size, std::byte{0xff});
      if (addr < kConfigSpaceSize)
        config_read(static_cast<std::uint32_t>(addr), answer);
      written = static_cast<std::uint32_t>(chain.scatter(answer));
      break;
    }
    case kCfgWrite: {
      // virt-pci.c sends memset_io() on a BAR as a configuration write with the BAR's
      // index and the length (its um_pci_bar_set()); a real configuration write has BAR 0
      // and a size of 1, 2, 4 or 8. So: a BAR other than 0, or another size, is a memset.
      if (bar_index != 0 || (size != 1 && size != 2 && size != 4 && size != 8)) {
        if (data.empty())
          throw ProtocolError("BAR memset without its value");
        if (bar_index >= bars_.size())
          throw ProtocolError("BAR memset of BAR " + std::to_string(bar_index));
        const Bar& bar = bars_[bar_index];
        const std::vector<std::byte> bytes(size, data[0]);
        if (bar.size == 0 || addr >= bar.size || size > bar.size - addr)
          log_line("memset outside BAR " + std::to_string(bar_index) + ": dropped");
        else if (!memory_enabled())
          log_line("BAR memset while memory decoding is off (pci_enable_device() missing?)");
        else if (bar.write)
          bar.write(addr, bytes);
        break;
      }
      if (data.size() < size)
        throw ProtocolError("configuration write shorter than its size");
      if (addr < kConfigSpaceSize)
        config_write(static_cast<std::uint32_t>(addr), data.first(size));
      break;
    }
    case kMmioRead:
    case kMmioWrite:
    case kMmioMemset: {
      if (bar_index >= bars_.size())
        throw ProtocolError("BAR access to BAR " + std::to_string(bar_index));
      const Bar& bar = bars_[bar_index];
      const bool in_range = bar.size != 0 && addr < bar.size && size <= bar.size - addr;
      if (op == kMmioRead) {
        if (chain.writable_size() < size)
          throw ProtocolError("BAR read without room for its answer");
        std::vector<std::byte> answer(size, std::byte{0xff});
        if (!in_range)
          log_line("read outside BAR " + std::to_string(bar_index) + ": all ones");
        else if (!memory_enabled())
          log_line("BAR read while memory decoding is off (pci_enable_device() missing?)");
        else if (bar.read)
          bar.read(addr, answer);
        written = static_cast<std::uint32_t>(chain.scatter(answer));
      } else {
        std::vector<std::byte> bytes;
        if (op == kMmioWrite) {
          if (data.size() < size)
            throw ProtocolError("BAR write shorter than its size");
          bytes.assign(data.begin(), data.begin() + size);
        } else {
          if (data.empty())
            throw ProtocolError("BAR memset without its value");
          bytes.assign(size, data[0]);
        }
        if (!in_range)
          log_line("write outside BAR " + std::to_string(bar_index) + ": dropped");
        else if (!memory_enabled())
          log_line("BAR write while memory decoding is off (pci_enable_device() missing?)");
        else if (bar.write)
          bar.write(addr, bytes);
      }
      break;
    }
    default:
      throw ProtocolError("unknown PCI command " + std::to_string(op));
  }
  backend.queue(0).push(chain, written);
}

}  // namespace uml::device
