#pragma once

#include <string>
#include <string_view>

namespace uml {

// One exit code per result class, so CTest, CI and scripts can tell a failing guest
// command from a kernel crash or from a host that cannot run UML at all.
enum class ExitCode : int {
  Passed = 0,
  CommandFailed = 1,  // the guest command exited non-zero (its status is in the message)
  Error = 2,          // bad command line or a helper error (uml-helper: error: ...)
  KernelOops = 3,     // Oops/BUG, or a WARNING with --fail-on-warn
  KernelPanic = 4,
  KunitFailed = 5,    // a KUnit case failed or crashed, or no KUnit case ran
  BootFailed = 6,     // the guest never reached or never finished the command, or rebooted
  KernelFinding = 7,  // a sanitizer, lock or memory debugging report (KASAN, lockdep, ...)
  UnloadFailed = 8,   // a module of the test could not be removed after the command
  DeviceFailed = 9,   // a device model crashed, broke the protocol, or never started
  Timeout = 124,      // as timeout(1)
  Skipped = 125,      // not run to a verdict: UML cannot run here, or KUnit skipped every case
  Hangup = 129,       // 128 + signal number, as a shell reports it
  Interrupted = 130,
  Terminated = 143,
};

constexpr int to_int(ExitCode code) {
  return static_cast<int>(code);
}

// Short lower-case name, e.g. "kernel panic".
std::string_view describe(ExitCode code);

// Hangup, Interrupted or Terminated: the helper was stopped by SIGHUP, SIGINT or SIGTERM
// (any other signal counts as SIGTERM).
ExitCode exit_code_for_signal(int sig);

// The table printed in --help and kept in src/README.md.
std::string exit_code_table();

}  // namespace uml
