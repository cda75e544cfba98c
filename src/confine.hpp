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
  std::vector<std::filesystem::path> images;  // base images: read only (under a COW)
  std::vector<std::filesystem::path> cows;    // COW files the helper made: read and write
  std::filesystem::path uml_dir;              // UML makes <umid>/ there: everything
  std::filesystem::path ram_dir;              // the guest RAM file's private directory
  std::optional<std::filesystem::path> hostfs;
};

// The rules UML gets: system directories (those that exist) read and execute,
// /etc/ld.so.cache, /proc and /sys read, /dev/null read and write, /dev/random and
// /dev/urandom read, /dev/ptmx and the files in /dev/pts opened (no listing), the kernel read and
// execute, the images read, the COW files read and written (exactly those files), everything
// beneath the uml_dir and the hostfs directory, and in the RAM directory files read, written and
// truncated but none made (UML makes its RAM file with O_TMPFILE, which needs no create right;
// hostfs could make files). Nothing else: the work dir, the COW files' directories and the rest of
// /dev are out of hostfs's reach.
std::vector<ConfineRule> confine_rules(
    const ConfineInput& input,
    const std::function<bool(const std::filesystem::path&)>& exists = nullptr);

// The Landlock ruleset of these rules, built in the helper and applied in UML's child
// between fork and exec (LaunchSpec::ruleset_fd). Where Landlock is unavailable, its
// fd() is -1 and unavailable() says why. Throws Error when a rule cannot be added for
// another reason: UML must not run less confined than asked.
process::LandlockRuleset confine(const std::vector<ConfineRule>& rules);

}  // namespace uml
