#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "process/landlock.hpp"

namespace uml {

// One Landlock rule: `access` (process::rights) beneath `path` (or on it, for a file).
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

// The Landlock ruleset of these rules, built in the helper and applied in UML's child
// between fork and exec (LaunchSpec::ruleset_fd). Where Landlock is unavailable, its
// fd() is -1 and unavailable() says why. Throws Error when a rule cannot be added for
// another reason: UML must not run less confined than asked.
process::LandlockRuleset confine(const std::vector<ConfineRule>& rules);

}  // namespace uml
