#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "process/result.hpp"

namespace uml::process {

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
// Every right any ABI knows: everything beneath a directory.
inline constexpr std::uint64_t all = (1ULL << 16) - 1;
}  // namespace rights

// Every right the given Landlock ABI version knows (0: none).
std::uint64_t handled_access(int abi);

// The Landlock ABI version this kernel offers, or why there is none.
struct LandlockSupport {
  int abi = 0;
  std::optional<std::string> problem;
};
LandlockSupport landlock_support();

// A Landlock ruleset that handles every right the kernel's ABI knows: built in the
// parent, applied in a child between fork and exec (landlock_restrict_self).
class LandlockRuleset {
 public:
  // Where Landlock is unavailable, fd() is -1 and unavailable() says why.
  LandlockRuleset();
  ~LandlockRuleset();
  LandlockRuleset(LandlockRuleset&& other) noexcept;
  LandlockRuleset& operator=(LandlockRuleset&& other) noexcept;
  LandlockRuleset(const LandlockRuleset&) = delete;
  LandlockRuleset& operator=(const LandlockRuleset&) = delete;

  // Allows `access` beneath `path` (on it, for a file: directory rights are dropped
  // there), as far as the ruleset handles it. A path that cannot be opened (gone) is
  // skipped. The error is "landlock_add_rule: <reason>"; the ruleset is then closed.
  Result<void> allow(const std::filesystem::path& path, std::uint64_t access);

  int fd() const { return fd_; }
  int abi() const { return abi_; }
  const std::optional<std::string>& unavailable() const { return unavailable_; }

 private:
  int fd_ = -1;
  int abi_ = 0;
  std::optional<std::string> unavailable_;
};

// In a forked child (async-signal-safe): no new privileges, then the ruleset.
// Returns 0, or the errno of the call that failed.
int landlock_restrict_self(int ruleset_fd) noexcept;

}  // namespace uml::process
