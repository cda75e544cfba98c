// The umlpci device model: a teaching PCI function, served to UML over vhost-user by the
// package's device library. It does what umlpci_regs.h says, with a device's latency: a
// command completes and raises its interrupt 1 ms after the driver wrote it.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "umlpci_regs.h"
#include "uml/device/error.hpp"
#include "uml/device/model.hpp"
#include "uml/device/pci.hpp"

namespace {

using namespace uml::device;
using namespace std::chrono_literals;

class Umlpci {
 public:
  explicit Umlpci(PciDevice& pci) : pci_(pci), memory_(UMLPCI_BUFFER_SIZE) {}

  void read(std::uint64_t offset, std::span<std::byte> out) {
    if (out.size() != 4 || offset % 4 != 0) {
      std::fprintf(stderr, "umlpci: %zu-byte read at 0x%llx (registers are 32-bit)\n", out.size(),
                   static_cast<unsigned long long>(offset));
      return;  // all ones
    }
    put_le_value(out, reg(offset));
  }

  void write(std::uint64_t offset, std::span<const std::byte> data) {
    if (data.size() != 4 || offset % 4 != 0) {
      std::fprintf(stderr, "umlpci: %zu-byte write at 0x%llx ignored\n", data.size(),
                   static_cast<unsigned long long>(offset));
      return;
    }
    const auto value = static_cast<std::uint32_t>(le_value(data));
    switch (offset) {
      case UMLPCI_REG_SCRATCH: scratch_ = value; break;
      case UMLPCI_REG_OPERAND: operand_ = value; break;
      case UMLPCI_REG_IRQ_ACK: irq_status_ &= ~value; break;
      case UMLPCI_REG_DMA_ADDR_LO: dma_addr_ = (dma_addr_ & ~0xffffffffULL) | value; break;
      case UMLPCI_REG_DMA_ADDR_HI: dma_addr_ = (dma_addr_ & 0xffffffffULL) | (std::uint64_t{value} << 32); break;
      case UMLPCI_REG_DMA_LEN: dma_len_ = value; break;
      case UMLPCI_REG_COMMAND: pci_.after(1ms, [this, value] { run(value); }); break;
      default:
        std::fprintf(stderr, "umlpci: write to read-only or unknown register 0x%llx\n",
                     static_cast<unsigned long long>(offset));
    }
  }

 private:
  std::uint32_t reg(std::uint64_t offset) const {
    switch (offset) {
      case UMLPCI_REG_ID: return UMLPCI_ID_VALUE;
      case UMLPCI_REG_SCRATCH: return scratch_;
      case UMLPCI_REG_OPERAND: return operand_;
      case UMLPCI_REG_RESULT: return result_;
      case UMLPCI_REG_IRQ_STATUS: return irq_status_;
      case UMLPCI_REG_DMA_ADDR_LO: return static_cast<std::uint32_t>(dma_addr_);
      case UMLPCI_REG_DMA_ADDR_HI: return static_cast<std::uint32_t>(dma_addr_ >> 32);
      case UMLPCI_REG_DMA_LEN: return dma_len_;
      case UMLPCI_REG_DMA_SUM: return dma_sum_;
      case UMLPCI_REG_COMPUTES: return computes_;
      default: return 0;
    }
  }

  void run(std::uint32_t command) {
    switch (command) {
      case UMLPCI_CMD_COMPUTE:
        result_ = operand_ * operand_ + 1;
        ++computes_;
        raise(UMLPCI_IRQ_COMPUTE);
        break;
      case UMLPCI_CMD_DMA_TO_DEVICE:
      case UMLPCI_CMD_DMA_FROM_DEVICE: {
        if (dma_len_ == 0 || dma_len_ > memory_.size()) {
          std::fprintf(stderr, "umlpci: DMA of %u bytes refused (1 to %zu)\n", dma_len_, memory_.size());
          raise(UMLPCI_IRQ_DMA_ERROR);
          break;
        }
        const std::span<std::byte> buffer(memory_.data(), dma_len_);
        bool ok;
        if (command == UMLPCI_CMD_DMA_TO_DEVICE) {
          ok = pci_.dma_read(dma_addr_, buffer);
          dma_sum_ = 0;
          for (std::byte b : buffer)
            dma_sum_ += std::to_integer<std::uint32_t>(b);
          std::fprintf(stderr, "umlpci: DMA to device: %u bytes from 0x%llx, sum %u\n", dma_len_,
                       static_cast<unsigned long long>(dma_addr_), dma_sum_);
        } else {
          std::vector<std::byte> inverted(buffer.begin(), buffer.end());
          for (std::byte& b : inverted)
            b = ~b;
          ok = pci_.dma_write(dma_addr_, inverted);
          std::fprintf(stderr, "umlpci: DMA from device: %u bytes to 0x%llx\n", dma_len_,
                       static_cast<unsigned long long>(dma_addr_));
        }
        raise(ok ? UMLPCI_IRQ_DMA : UMLPCI_IRQ_DMA_ERROR);
        break;
      }
      default:
        std::fprintf(stderr, "umlpci: unknown command %u\n", command);
    }
  }

  void raise(std::uint32_t bits) {
    irq_status_ |= bits;
    pci_.interrupt();
  }

  PciDevice& pci_;
  std::vector<std::byte> memory_;
  std::uint32_t scratch_ = 0, operand_ = 0, result_ = 0, irq_status_ = 0, dma_len_ = 0;
  std::uint32_t dma_sum_ = 0, computes_ = 0;
  std::uint64_t dma_addr_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  static std::unique_ptr<Umlpci> device;  // lives as long as the model
  return run_model(argc, argv, [](const ModelCommandLine& line) {
    if (!line.arguments.empty())
      throw ModelError("umlpci takes no arguments");
    auto pci = std::make_unique<PciDevice>(
        PciDevice::Identity{UMLPCI_VENDOR_ID, UMLPCI_DEVICE_ID, UMLPCI_CLASS, 1});
    device = std::make_unique<Umlpci>(*pci);
    pci->set_bar(
        0, UMLPCI_BAR0_SIZE,
        [](std::uint64_t offset, std::span<std::byte> out) { device->read(offset, out); },
        [](std::uint64_t offset, std::span<const std::byte> data) { device->write(offset, data); });
    pci->set_msi_vectors(1);
    return pci;
  });
}
