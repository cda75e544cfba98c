#pragma once

#include <cstdint>
#include <filesystem>

namespace uml {

// The size of a fresh COW file for a base image of `base_size` bytes, in UML's format
// (arch/um/drivers/cow_user.c): a version-3 header, the bitmap, then room for every
// sector of the base. Sparse: it takes no disk space until the guest writes.
std::uint64_t cow_file_size(std::uint64_t base_size);

// Creates `cow` as UML would for `base` (ubdN=cow,base), mode 0600 whatever the umask,
// so that UML only opens it: no directory needs a create right for UML (Landlock grants
// it exactly this file). An existing file is kept (--persist: its data is the point).
// Throws Error naming the file and the reason (a full filesystem among them).
void create_cow_file(const std::filesystem::path& cow, const std::filesystem::path& base);

// Creates `path` as a fresh raw disk of `size` zero bytes (sparse), mode 0600, for
// ubdN=<path> without a COW (the coverage disk). Throws Error as create_cow_file.
void create_data_disk(const std::filesystem::path& path, std::uint64_t size);

}  // namespace uml
