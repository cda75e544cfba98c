#pragma once

#include <optional>
#include <string>
#include <vector>

#include "options.hpp"

namespace uml {

// The command line, parsed and checked, before anything runs.
struct CommandLine {
  enum class Command { None, Run, Test, Debug, Attach, Doctor };
  Command command = Command::None;
  RunOptions run;
  TestOptions test;
  DebugOptions debug;
  AttachOptions attach;
  DoctorOptions doctor;
  // Set when parsing ended the program (--help, --version, a usage error printed).
  std::optional<int> exit_status;
};

// Parses args (argv without argv[0]), expanding --boot files. The words after `--` are
// taken as they are (CLI11 would split "[a,b]" and drop the brackets). Throws Error
// (exit 2) for bad values: an out-of-range --timeout/--grace, or an output file
// (--log, --junit, --kunit-list) that is one of the boot's inputs.
CommandLine parse_command_line(const std::vector<std::string>& args);

// Limits of --timeout and --grace, in seconds (a year: what CTest gets for "none").
inline constexpr double min_timeout_seconds = 0.001;
inline constexpr double max_timeout_seconds = 31536000;
inline constexpr double max_grace_seconds = 3600;

// Parses the command line (CLI11) and runs the chosen subcommand; returns the exit status.
int cli_main(int argc, char** argv);

}  // namespace uml
