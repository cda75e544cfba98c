#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace uml {

// Landlock filesystem access rights (linux/landlock.h; the newer ones are spelled out
// here because older headers lack them).
namespace rights {
inline constexpr std::uint64_t execute = 1ULL << 0;
inline constexpr std::uint64_t write_file = 1ULL << 1;
inline constexpr std::uint64_t read_file = 1ULL << 2;
inline constexpr std::uint64_t read_dir = 1ULL << 3;
inline constexpr std::uint64_t refer = 1ULL << 13;      // ABI 2
inline constexpr std::uint64_t truncate = 1ULL << 14;   // ABI 3
inline constexpr std::uint64_t ioctl_dev = 1ULL << 15;  // ABI 5
// Rights that apply to a file (the rest only to directories).
inline constexpr std::uint64_t file_rights =
    execute | write_file | read_file | truncate | ioctl_dev;
inline constexpr std::uint64_t read = read_file | read_dir;
inline constexpr std::uint64_t read_exec = read | execute;
}  // namespace rights

// Every right the given Landlock ABI version knows (0: none).
std::uint64_t handled_access(int abi);

// One Landlock rule: `access` beneath `path` (or on it, for a file).
struct ConfineRule {
  std::filesystem::path path;
  std::uint64_t access = 0;
};

// What a boot of UML needs to reach on the host.
struct ConfineInput {
  std::filesystem::path kernel;
  std::vector<std::filesystem::path> images;      // base images: read only (under a COW)
  std::vector<std::filesystem::path> write_dirs;  // work dir, uml_dir, RAM dir, COW dirs
  std::optional<std::filesystem::path> hostfs;
};

// The rules UML gets: system directories (those that exist) read and execute,
// /etc/ld.so.cache, /proc, /sys and /dev read (/dev files written too), the kernel
// read and execute, the images read, everything beneath the writable directories and
// the hostfs directory. Nothing else, in particular no other host path for hostfs.
std::vector<ConfineRule> confine_rules(
    const ConfineInput& input,
    const std::function<bool(const std::filesystem::path&)>& exists = nullptr);

// A Landlock ruleset built in the parent, applied in the child between fork and exec.
class Confinement {
 public:
  // Builds the ruleset; where Landlock is unavailable, fd() is -1 and unavailable()
  // says why. Throws Error when a rule cannot be added for another reason.
  explicit Confinement(const std::vector<ConfineRule>& rules);
  Confinement() = default;
  ~Confinement();
  Confinement(const Confinement&) = delete;
  Confinement& operator=(const Confinement&) = delete;

  int fd() const { return fd_; }
  int abi() const { return abi_; }
  const std::optional<std::string>& unavailable() const { return unavailable_; }

 private:
  int fd_ = -1;
  int abi_ = 0;
  std::optional<std::string> unavailable_;
};

// The Landlock ABI version this kernel offers, or why there is none.
struct LandlockSupport {
  int abi = 0;
  std::optional<std::string> problem;
};
LandlockSupport landlock_support();

// In the forked child (async-signal-safe): no new privileges, then the ruleset.
// Returns 0, or the errno of the call that failed.
int apply_confinement(int ruleset_fd) noexcept;

}  // namespace uml
