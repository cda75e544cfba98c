#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "console.hpp"
#include "exit_code.hpp"
#include "ktap.hpp"
#include "process/supervise.hpp"

namespace uml {

// How the UML process ended, as the supervisor saw it.
using process::RunFacts;

struct Outcome {
  ExitCode code = ExitCode::Passed;
  std::string summary;               // one line
  std::vector<std::string> details;  // further lines worth printing
};

struct VerdictOptions {
  bool fail_on_warn = false;
  const KtapReport* kunit = nullptr;  // with --kunit: the KTAP before the guest command
  // KUnit cases whose KTAP came after the guest command started (not counted: a guest
  // process may print it).
  std::size_t kunit_after_command = 0;
  // --expect-finding: kinds (finding_kinds()) the kernel must report; then the test
  // passes only when it did (on the console, confirmed by init from the kernel's log),
  // whatever the command's status.
  std::vector<std::string> expect_findings;
};

// The result of a test boot. Causes are ranked: how the helper was stopped, then
// kernel crashes and findings, the earliest first (the root cause of most hangs and
// missing results), then the timeout, boot and setup problems, KUnit results, expected
// findings, the command's own status, and modules that could not be unloaded.
Outcome decide(const ConsoleFindings& console, const RunFacts& run, const VerdictOptions& options);

// "SIGINT", or "signal 64".
std::string signal_name(int sig);

// "exited with status 3" / "was killed by SIGKILL".
std::string describe_end(const RunFacts& run);

}  // namespace uml
