#include "cow.hpp"

#include <endian.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "error.hpp"
#include "process/files.hpp"

namespace uml {

namespace fs = std::filesystem;

namespace {

// arch/um/drivers/cow_user.c: struct cow_header_v3, packed, fields big-endian; UML
// writes it with sector size 512 and the page size as the alignment (ubd_kern.c).
constexpr std::uint32_t cow_magic = 0x4f4f4f4d;  // "MOOO"
constexpr std::uint32_t cow_version = 3;
constexpr std::uint32_t sector_size = 512;
constexpr std::uint32_t alignment = 4096;
constexpr std::size_t path_len = 4096;
constexpr std::size_t header_size = 4 + 4 + 4 + 8 + 4 + 4 + 4 + path_len;

constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t to) {
  return (value + to - 1) / to * to;
}

template <class T>
void put(std::array<char, header_size>& header, std::size_t& at, T value) {
  std::memcpy(header.data() + at, &value, sizeof value);
  at += sizeof value;
}

std::string errno_message(int error) {
  return error == ENOSPC || error == EDQUOT || error == EFBIG
             ? fmt::format(
                   "{}: the filesystem is full or the file too big; free space there or "
                   "use --work-dir on a filesystem with room",
                   std::strerror(error))
             : std::string(std::strerror(error));
}

}  // namespace

std::uint64_t cow_file_size(std::uint64_t base_size) {
  const auto bitmap_offset = round_up(header_size, alignment);
  const auto bitmap_len = ((base_size + sector_size - 1) / sector_size + 7) / 8;
  return round_up(bitmap_offset + bitmap_len, alignment) + base_size;
}

void create_cow_file(const fs::path& cow, const fs::path& base) {
  std::error_code ec;
  if (fs::exists(cow, ec)) {
    // Only UML's own mode is changed: a COW of a user's is private from now on.
    fs::permissions(cow, fs::perms::group_all | fs::perms::others_all, fs::perm_options::remove,
                    ec);
    return;
  }
  // UML records the base's real path (it resolves the directory with getcwd) and
  // checks its size and mtime at every boot.
  const auto real = fs::canonical(base.parent_path(), ec) / base.filename();
  struct stat st {};
  if (ec || ::stat(real.c_str(), &st) != 0) {
    throw Error(fmt::format("{}: cannot read the image for its COW file", base.string()));
  }
  auto base_size = static_cast<std::uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    // A block device's size is its device's, as UML's os_file_size reads it.
    const int dev = ::open(real.c_str(), O_RDONLY | O_CLOEXEC);
    if (dev < 0 || ::ioctl(dev, BLKGETSIZE64, &base_size) != 0) {
      const int error = errno;
      if (dev >= 0) {
        ::close(dev);
      }
      throw Error(fmt::format("{}: cannot read the device's size for its COW file: {}",
                              base.string(), std::strerror(error)));
    }
    ::close(dev);
  }
  if (real.string().size() >= path_len) {
    throw Error(fmt::format("{}: the image's path is too long for a COW file", real.string()));
  }
  std::array<char, header_size> header{};
  std::size_t at = 0;
  put(header, at, htobe32(cow_magic));
  put(header, at, htobe32(cow_version));
  put(header, at, htobe32(static_cast<std::uint32_t>(st.st_mtime)));
  put(header, at, htobe64(base_size));
  put(header, at, htobe32(sector_size));
  put(header, at, htobe32(alignment));
  put(header, at, htobe32(std::uint32_t{0}));  // COW_BITMAP
  std::memcpy(header.data() + at, real.c_str(), real.string().size());

  const int fd = ::open(cow.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(
        fmt::format("cannot create the COW file {}: {}", cow.string(), errno_message(errno)));
  }
  // 0600 whatever the umask: the guest's disk is nobody else's to read.
  ::fchmod(fd, 0600);
  const auto size = cow_file_size(base_size);
  int error = 0;
  if (!process::write_all(fd, std::string_view(header.data(), header.size()))) {
    error = errno != 0 ? errno : EIO;
  } else if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    error = errno;  // the bitmap and the data area: zeros, sparse
  }
  ::close(fd);
  if (error != 0) {
    ::unlink(cow.c_str());
    throw Error(
        fmt::format("cannot create the COW file {}: {}", cow.string(), errno_message(error)));
  }
}

void create_data_disk(const fs::path& path, std::uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(fmt::format("cannot create the disk {}: {}", path.string(), errno_message(errno)));
  }
  ::fchmod(fd, 0600);
  const int error = ::ftruncate(fd, static_cast<off_t>(size)) != 0 ? errno : 0;
  ::close(fd);
  if (error != 0) {
    ::unlink(path.c_str());
    throw Error(fmt::format("cannot create the disk {}: {}", path.string(), errno_message(error)));
  }
}

}  // namespace uml
