#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "process/proc_table.hpp"

namespace uml::process {

struct ForegroundResult {
  int status = 0;             // the exit status, or 128 + signal
  std::size_t leftovers = 0;  // descendants stopped after the program ended
  std::vector<ProcessInfo> survivors;
};

// Runs a program in the helper's own process group, on the helper's terminal, the way
// system(3) does: the helper ignores SIGINT and SIGQUIT meanwhile (they are the
// program's, e.g. gdb's), forwards SIGTERM and SIGHUP to it, and the program gets
// default dispositions and SIGTERM when the helper dies (ForegroundSetup). When it has
// ended, whatever it left running below the helper (a child subreaper meanwhile) is
// stopped (stop_descendants), and the terminal is taken back if the program died while
// a process of its own had it. Throws StartError when the program cannot be started.
ForegroundResult run_foreground(const std::filesystem::path& exe,
                                const std::vector<std::string>& args,
                                const std::optional<std::filesystem::path>& tmpdir,
                                std::chrono::milliseconds grace = std::chrono::seconds(5));

// Stops what runs below the helper: SIGTERM (and SIGCONT, for a stopped process),
// SIGKILL after `grace`, and reaps it. Returns how many there were and who survived.
std::pair<std::size_t, std::vector<ProcessInfo>> stop_descendants(std::chrono::milliseconds grace);

}  // namespace uml::process
