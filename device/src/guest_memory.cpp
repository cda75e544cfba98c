#include "uml/device/guest_memory.hpp"

#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "uml/device/error.hpp"

namespace uml::device {

namespace {

// [addr, addr + len) inside [start, start + size), without overflow.
bool inside(std::uint64_t addr, std::uint64_t len, std::uint64_t start, std::uint64_t size) {
  return addr >= start && addr - start <= size && len <= size - (addr - start);
}

}  // namespace

GuestMemory::~GuestMemory() {
  clear();
}

void GuestMemory::add_region(int fd, const MemoryRegionInfo& info) {
  if (info.size == 0)
    throw ProtocolError("memory table: a region of size 0");
  std::uint64_t end = 0;
  if (__builtin_add_overflow(info.guest_addr, info.size - 1, &end) ||
      __builtin_add_overflow(info.user_addr, info.size - 1, &end) ||
      __builtin_add_overflow(info.mmap_offset, info.size, &end))
    throw ProtocolError("memory table: a region that wraps around the address space");
  for (const Region& other : regions_) {
    if (info.guest_addr <= other.info.guest_addr + (other.info.size - 1) &&
        other.info.guest_addr <= info.guest_addr + (info.size - 1))
      throw ProtocolError("memory table: overlapping regions");
  }
  // Beyond the file's end a mapping faults (SIGBUS): the file must hold the region.
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::uint64_t>(st.st_size) < info.mmap_offset + info.size)
    throw ProtocolError("memory table: a region beyond the end of its memory file");
  // Mapped from the page the region starts in (mmap wants an aligned offset).
  const std::uint64_t page = 4096;
  const std::uint64_t aligned_offset = info.mmap_offset & ~(page - 1);
  const std::uint64_t lead = info.mmap_offset - aligned_offset;
  const std::uint64_t length = lead + info.size;
  void* mapping = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                         static_cast<off_t>(aligned_offset));
  if (mapping == MAP_FAILED)
    throw ProtocolError("memory table: cannot map guest memory: " +
                        std::string(std::strerror(errno)));
  regions_.push_back(Region{info, static_cast<std::byte*>(mapping) + lead, mapping, length});
}

void GuestMemory::clear() {
  for (const Region& region : regions_)
    ::munmap(region.mapping, region.mapping_size);
  regions_.clear();
}

std::span<std::byte> GuestMemory::at_guest(std::uint64_t addr, std::uint64_t len) const {
  if (len == 0)
    return {};
  for (const Region& region : regions_) {
    if (inside(addr, len, region.info.guest_addr, region.info.size))
      return {region.base + (addr - region.info.guest_addr), static_cast<std::size_t>(len)};
  }
  return {};
}

std::span<std::byte> GuestMemory::at_user(std::uint64_t addr, std::uint64_t len) const {
  if (len == 0)
    return {};
  for (const Region& region : regions_) {
    if (inside(addr, len, region.info.user_addr, region.info.size))
      return {region.base + (addr - region.info.user_addr), static_cast<std::size_t>(len)};
  }
  return {};
}

bool GuestMemory::read(std::uint64_t guest_addr, std::span<std::byte> out) const {
  if (out.empty())
    return true;
  const std::span<std::byte> source = at_guest(guest_addr, out.size());
  if (source.empty())
    return false;
  std::memcpy(out.data(), source.data(), out.size());
  return true;
}

bool GuestMemory::write(std::uint64_t guest_addr, std::span<const std::byte> data) const {
  if (data.empty())
    return true;
  const std::span<std::byte> target = at_guest(guest_addr, data.size());
  if (target.empty())
    return false;
  std::memcpy(target.data(), data.data(), data.size());
  return true;
}

}  // namespace uml::device
