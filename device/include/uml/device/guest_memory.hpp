#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace uml::device {

// One region of the guest's RAM as SET_MEM_TABLE describes it.
struct MemoryRegionInfo {
  std::uint64_t guest_addr = 0;   // guest physical (bus) address of its first byte
  std::uint64_t size = 0;         // bytes
  std::uint64_t user_addr = 0;    // the front end's own address (vring addresses use it)
  std::uint64_t mmap_offset = 0;  // where it starts in the descriptor's file
};

// The guest's RAM mapped into this process (UML passes its memory file's descriptor),
// so a model can read and write it by address: virtqueues, and a PCI device's DMA.
// Every address comes from the guest, so every access is checked to lie wholly inside
// one mapped region; an access that does not gets an empty span or false, never memory
// outside the mapping.
class GuestMemory {
 public:
  GuestMemory() = default;
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;
  ~GuestMemory();

  // Maps [mmap_offset, mmap_offset + size) of fd (shared, read/write). Throws
  // ProtocolError when the region is empty, overflows, overlaps another or cannot be
  // mapped. The descriptor is not kept.
  void add_region(int fd, const MemoryRegionInfo& info);
  // Unmaps every region (a new SET_MEM_TABLE replaces the table).
  void clear();
  bool empty() const { return regions_.empty(); }

  // [addr, addr + len) by guest physical address, or an empty span when it is not
  // wholly inside one region (len 0 gives an empty span too).
  std::span<std::byte> at_guest(std::uint64_t addr, std::uint64_t len) const;
  // The same by the front end's address (SET_VRING_ADDR's).
  std::span<std::byte> at_user(std::uint64_t addr, std::uint64_t len) const;

  // Copies between guest memory and this process; false (nothing copied) when the range
  // is not wholly inside one region.
  bool read(std::uint64_t guest_addr, std::span<std::byte> out) const;
  bool write(std::uint64_t guest_addr, std::span<const std::byte> data) const;

 private:
  struct Region {
    MemoryRegionInfo info;
    std::byte* base = nullptr;  // the region's first byte
    void* mapping = nullptr;    // what munmap() takes
    std::size_t mapping_size = 0;
  };
  std::vector<Region> regions_;
};

}  // namespace uml::device
