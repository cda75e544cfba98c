#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace uml {

// UML's COMMAND_LINE_SIZE (arch/um/include/asm/setup.h): UML joins its arguments with
// spaces into a buffer of this size, NUL included, and exits if they do not fit.
inline constexpr std::size_t command_line_size = 4096;
// UML appends this when no console= is given; it takes room in the same buffer.
inline constexpr std::string_view default_console_arg = "console=tty0";

// hostfs's root when no --hostfs is given: a path below which nothing resolves.
inline constexpr std::string_view no_hostfs_root = "/dev/null";

// Test: run UML_CMD, report markers. Run: a shell on the user's terminal. Script: the
// helper's stdin is no terminal, so the guest shell runs the commands read from it.
enum class Mode { Test, Run, Script };

// One ubd disk: the base image is only read; writes go to the COW file.
struct Disk {
  std::filesystem::path base;
  std::filesystem::path cow;
};

// Everything that goes on UML's command line.
struct BootSpec {
  Mode mode = Mode::Test;
  std::vector<Disk> disks;  // disks[0] is the root filesystem (ubda)
  std::string mem = "128M";
  std::optional<std::filesystem::path> hostfs;
  // Without hostfs: hostfs=no_hostfs_root, so that no hostfs mount succeeds; false
  // (--no-confine) leaves hostfs's default, every host path.
  bool close_hostfs = true;
  std::vector<std::string> append;   // extra kernel arguments, as given
  std::vector<std::string> env;      // KEY=VALUE for the guest command
  std::vector<std::string> modules;  // modprobe'd by the guest init
  std::string command;               // test mode: run with sh -c
  std::string nonce;
  std::string umid;
  std::filesystem::path uml_dir;
  bool time_travel = false;
  bool kunit = false;
  // test mode: finding kinds init checks the kernel's log for (UML_EXPECT=a,b)
  std::vector<std::string> expect;
  // test mode: init removes the modules after the command (UML_UNLOAD=1; only with modules)
  bool unload_check = false;
  std::optional<std::uint64_t> lpj;  // preset delay-loop calibration (see lpj.hpp)
  // test mode: a raw disk after the others for init's coverage data (UML_COVERAGE=ubdX)
  std::optional<std::filesystem::path> coverage_disk;
  // virtio_uml.device=<socket>:<id> of each device model (devices.hpp)
  std::vector<std::string> device_arguments;
};

// UML's argv (without argv[0]). Throws Error for a malformed --env, --module or
// --append value, or when the line would not fit in UML's command line.
std::vector<std::string> kernel_arguments(const BootSpec& spec);

// `kernel args...` as one line a shell would run, for messages and the log.
std::string command_line_text(const std::filesystem::path& kernel,
                              const std::vector<std::string>& args);

// Length of the command line UML builds from these arguments, NUL and the default
// console argument included.
std::size_t command_line_length(const std::vector<std::string>& args);

}  // namespace uml
