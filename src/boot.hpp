#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cmdline.hpp"
#include "devices.hpp"
#include "options.hpp"
#include "preflight.hpp"
#include "process/affinity.hpp"
#include "process/guardian.hpp"
#include "process/landlock.hpp"
#include "process/supervise.hpp"

namespace uml {

// --mem in bytes; throws Error for a malformed size.
std::uint64_t mem_bytes(const std::string& mem);

// The files of one boot: work dir, umid, uml_dir, COW files. Removes what it made when
// done.
class Workspace {
 public:
  // Checks the images first (a bad path must not leave directories behind), then makes
  // the work dir (--work-dir, else a fresh one in /tmp) and the uml_dir (a private one
  // in /tmp when the work dir's path is too long), each announced to `guardian` as soon
  // as it exists. Throws Error.
  Workspace(const BootOptions& options, const std::optional<std::filesystem::path>& persist,
            process::Guardian* guardian = nullptr);
  ~Workspace() { clean(false); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  // Removes UML's umid directory (a SIGKILLed UML leaves it) and the temporary COW
  // files; an automatic work dir goes too unless keep_dir (it holds a log worth keeping).
  void clean(bool keep_dir);

  // What clean(keep_dir) removes, in its order. With keep_dir false, the guardian's
  // list: it removes them should the helper be killed before it can.
  std::vector<process::Leftover> leftovers(bool keep_dir = false) const;

  const std::filesystem::path& dir() const { return dir_; }
  const std::string& umid() const { return umid_; }
  const std::filesystem::path& uml_dir() const { return uml_dir_; }
  bool uml_dir_fallback() const { return uml_dir_fallback_; }
  const std::vector<Disk>& disks() const { return disks_; }
  bool owns_dir() const { return owns_dir_; }
  // The COW files the helper makes for this boot (all but an existing --persist file).
  const std::vector<std::filesystem::path>& temporary_cows() const { return temporary_cows_; }
  // The raw disk init writes the coverage data to (--coverage-dir), removed at the end.
  const std::optional<std::filesystem::path>& coverage_disk() const { return coverage_disk_; }

 private:
  std::filesystem::path dir_;
  bool owns_dir_ = false;
  std::string umid_;
  std::filesystem::path uml_dir_;
  bool uml_dir_fallback_ = false;
  std::vector<Disk> disks_;
  std::vector<std::filesystem::path> temporary_cows_;
  std::optional<std::filesystem::path> coverage_disk_;
  bool keep_cow_ = false;
  bool cleaned_ = false;
};

// One boot of UML by `run`, `test` or `debug`, from the host checks to the cleanup: it
// owns the workspace, UML's Landlock confinement (with a private directory for the
// guest RAM file) and the CPU UML runs on, and says what to launch. Destroyed, it
// removes what the boot made (clean(false) unless clean() came first) and frees the CPU.
class Boot {
 public:
  // Checks --mem and the images, makes the workspace. Throws Error.
  explicit Boot(const BootOptions& options,
                const std::optional<std::filesystem::path>& persist = std::nullopt);
  ~Boot();
  Boot(const Boot&) = delete;
  Boot& operator=(const Boot&) = delete;

  // The host checks (preflight.hpp), with the findings printed: false when UML cannot
  // run here (the command then exits 125). Throws Error when the kernel lacks what was
  // asked for (--time-travel): the caller's error, which must not pass for a skip.
  bool check_host();

  // What goes on UML's command line; the caller adds the mode's command. Throws Error
  // for a --hostfs that is not a directory or an unreadable --modules-from file.
  BootSpec spec(Mode mode) const;

  // How to launch the kernel with `args`: confined with Landlock to what the boot needs
  // (unless --no-confine; where Landlock is unavailable, with a warning), TMPDIR a
  // private directory for the guest RAM file in the RAM dir the host checks chose,
  // pinned to a CPU no other guest uses (unless --no-pin), with the guardian's list of
  // leftovers. The caller sets interactive, allow_debugger and forward_input. Once,
  // after check_host().
  process::LaunchSpec launch(const BootSpec& spec, const std::vector<std::string>& args);

  // The guardian that removes what the boot made should the helper be SIGKILLed: made
  // before anything else, so even the first directory is never left behind.
  process::Guardian& guardian() { return *guardian_; }

  // The CPU launch() claimed, held until the Boot is destroyed; std::nullopt: any.
  std::optional<int> cpu() const { return cpu_.cpu(); }
  const Workspace& workspace() const { return ws_; }
  // Where the host checks put the guest RAM file.
  const std::optional<std::filesystem::path>& ram_dir() const { return report_.ram_dir; }

  // Removes the workspace's files now; an automatic work dir stays with keep_dir.
  void clean(bool keep_dir) { ws_.clean(keep_dir); }

  // The boot's device models (--device): started by start_devices(), after check_host()
  // and before spec(); their pidfds go into launch()'s watch list.
  void start_devices();
  DeviceModels& devices() { return *devices_; }

 private:
  BootOptions options_;
  std::optional<process::Guardian> guardian_;  // before the workspace: see guardian()
  Workspace ws_;
  PreflightReport report_;
  std::optional<process::LandlockRuleset> ruleset_;
  std::filesystem::path own_tmpdir_;  // the guest RAM's private directory, when confined
  process::CpuClaim cpu_;
  std::optional<DeviceModels> devices_;  // after the workspace: its sockets live there
};

// The host processes a boot may have at most (see LaunchSpec::max_processes). Measured
// here: a boot has 4 (UML and its helpers) plus one per guest process; a guest fork bomb
// with mem=128M reached ~750 before the guest itself ran out of memory, and more with a
// larger --mem.
inline constexpr std::size_t max_uml_processes = 500;

// When the supervisor stopped UML for a fork bomb: what to say (the run then fails
// with exit 1, as a guest command that failed).
std::optional<std::string> process_cap_message(const process::RunFacts& facts);

// Starts UML as `launch` says and supervises it (process::Supervisor). A UML that
// cannot be started is the host's problem, as the host checks' findings are: Error
// with ExitCode::Skipped.
process::Supervisor start_uml(const process::LaunchSpec& launch,
                              std::chrono::milliseconds timeout = {},
                              std::chrono::milliseconds grace = std::chrono::seconds(5));

}  // namespace uml
