#include "exit_code.hpp"

#include <array>
#include <csignal>

#include <fmt/format.h>

namespace uml {

namespace {

struct Row {
  ExitCode code;
  std::string_view name;
  std::string_view meaning;
};

constexpr std::array rows{
    Row{ExitCode::Passed, "passed",
        "the guest command (and every KUnit case) passed; with --expect-finding: the kernel "
        "reported every expected kind"},
    Row{ExitCode::CommandFailed, "command failed",
        "the guest command exited non-zero; its status is in the message and the JUnit file"},
    Row{ExitCode::Error, "error", "bad command line or helper error"},
    Row{ExitCode::KernelOops, "kernel oops", "Oops/BUG, or a WARNING with --fail-on-warn"},
    Row{ExitCode::KernelPanic, "kernel panic", "kernel panic (or UML aborted)"},
    Row{ExitCode::KunitFailed, "kunit failed",
        "a KUnit case failed or crashed, or no KUnit case ran (--kunit)"},
    Row{ExitCode::BootFailed, "boot failed",
        "the guest never ran the command to its end (no UML-BOOTED or UML-RESULT "
        "marker, a module failed to load, or the guest rebooted)"},
    Row{ExitCode::KernelFinding, "kernel finding",
        "a sanitizer, lock or memory debugging report (KASAN, UBSAN, lockdep, sleep in "
        "atomic context, refcount, list corruption, debug objects, slab, fortify, kmemleak)"},
    Row{ExitCode::UnloadFailed, "unload failed",
        "a module of the test could not be removed after the command (still in use or "
        "refused)"},
    Row{ExitCode::DeviceFailed, "device failed",
        "a device model (--device) crashed, exited with an error (the guest broke its "
        "protocol: 3), did not open its socket, or did not end with UML"},
    Row{ExitCode::Timeout, "timeout", "--timeout expired; UML was stopped"},
    Row{ExitCode::Skipped, "skipped",
        "not run to a verdict: UML cannot run on this host (the doctor's findings are "
        "printed), or KUnit skipped every case (--kunit); CTest's SKIP_RETURN_CODE"},
    Row{ExitCode::Hangup, "hangup", "uml-helper got SIGHUP; UML was stopped"},
    Row{ExitCode::Interrupted, "interrupted", "uml-helper got SIGINT; UML was stopped"},
    Row{ExitCode::Terminated, "terminated", "uml-helper got SIGTERM; UML was stopped"},
};

}  // namespace

std::string_view describe(ExitCode code) {
  for (const auto& row : rows) {
    if (row.code == code) {
      return row.name;
    }
  }
  return "unknown";
}

std::string exit_code_table() {
  std::string table = "Exit status:\n";
  for (const auto& row : rows) {
    table += fmt::format("  {:>3}  {:<15} {}\n", to_int(row.code), row.name, row.meaning);
  }
  table += "  run: the guest shell's exit status, or one of the codes above.\n";
  return table;
}

ExitCode exit_code_for_signal(int sig) {
  return sig == SIGINT   ? ExitCode::Interrupted
         : sig == SIGHUP ? ExitCode::Hangup
                         : ExitCode::Terminated;
}

}  // namespace uml
