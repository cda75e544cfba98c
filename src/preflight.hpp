#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "process/result.hpp"

namespace uml {

enum class Severity { Ok, Note, Warning, Fatal };

struct Finding {
  Severity severity = Severity::Ok;
  std::string topic;    // "kernel", "guest RAM", "ptrace", "uml_dir"
  std::string message;  // what was found and, when it is bad, what to do
  // A fatal finding that is the caller's mistake (a file that is no UML kernel), not
  // the host's: run and test exit 2 for it, never 125 (which CTest may take as a skip).
  bool caller_error = false;
};

// sun_path holds 108 bytes, NUL included: UML's sockets live in <uml_dir>/<umid>/.
inline constexpr std::size_t max_socket_path = 107;
// UML's longest socket name under <uml_dir>/<umid>/.
inline constexpr std::string_view longest_socket_name = "mconsole";

std::size_t socket_path_length(const std::filesystem::path& uml_dir, std::size_t umid_length);

struct UmlDirChoice {
  std::filesystem::path dir;
  bool fallback = false;  // the work dir's path was too long
};

// The template of the fallback uml_dir: a fresh private directory per boot (mkdtemp),
// never a shared, predictable one another user could make first or link elsewhere.
inline constexpr std::string_view fallback_uml_dir_template = "/tmp/uml-XXXXXX";

// <work_dir>/u, or fallback_uml_dir_template (to be made with mkdtemp) when that makes
// socket paths too long.
UmlDirChoice choose_uml_dir(const std::filesystem::path& work_dir, std::size_t umid_length);

// Why --mem `bytes` cannot be right on a host whose /proc/meminfo says `meminfo` (more
// than MemTotal), or std::nullopt.
std::optional<std::string> mem_problem(std::uint64_t bytes, std::string_view meminfo);

// Why `kernel` cannot be a UML kernel from its first bytes (not an ELF executable), or
// std::nullopt.
std::optional<std::string> kernel_format_problem(const std::filesystem::path& kernel);

// Why the filesystem of `dir` cannot hold COW files that may grow to `bytes` (the size
// of their images), or std::nullopt. `free_bytes`: what it has free (statvfs).
std::optional<std::string> cow_space_problem(const std::filesystem::path& dir, std::uint64_t bytes,
                                             std::uint64_t free_bytes);

using GetEnv = std::function<const char*(const char*)>;

struct RamDirCandidate {
  std::string label;  // "$TMPDIR", "/dev/shm"
  std::filesystem::path dir;
};

// Where UML puts the guest RAM file, in UML's own order: $TMPDIR, $TMP, $TEMP, /dev/shm,
// /tmp (each variable only when set and non-empty).
std::vector<RamDirCandidate> ram_dir_candidates(const GetEnv& getenv);

// Why `dir` cannot hold `bytes` of guest RAM (exec mmap, free space), or std::nullopt.
std::optional<std::string> ram_dir_problem(const std::filesystem::path& dir, std::uint64_t bytes);

// Why this process's children cannot use ptrace as UML does, or std::nullopt.
std::optional<std::string> ptrace_problem();

struct KernelConfig {
  std::string text;    // .config contents
  std::string source;  // where it came from
};

// The kernel's configuration: `linux --showconfig`, else a .config beside the binary;
// the error says why neither worked.
process::Result<KernelConfig> read_kernel_config(const std::filesystem::path& kernel);

// "y", "m", a value, or "" when the symbol is not set.
std::string config_value(const std::string& config, const std::string& symbol);

struct PreflightInput {
  std::optional<std::filesystem::path> kernel;
  std::uint64_t mem_bytes = 0;
  std::filesystem::path uml_dir;
  std::size_t umid_length = 0;
  bool uml_dir_fallback = false;
  bool time_travel = false;  // check CONFIG_UML_TIME_TRAVEL_SUPPORT
  // Directories that get new COW files, each with what they may grow to in all.
  std::vector<std::pair<std::filesystem::path, std::uint64_t>> cow_dirs;
  bool probe_kernel = false;  // run `linux --showconfig` (release, configuration)
  GetEnv getenv;
};

struct PreflightReport {
  std::vector<Finding> findings;
  std::optional<std::filesystem::path> ram_dir;  // pass as TMPDIR
  std::optional<KernelConfig> kernel_config;

  bool ok() const;  // nothing fatal: UML can start
  std::string format(bool with_ok) const;
};

PreflightReport preflight(const PreflightInput& input);

// The doctor's Landlock finding: its ABI, else a warning (not fatal: UML boots without
// it, but hostfs then reaches every host path).
Finding landlock_finding();

}  // namespace uml
