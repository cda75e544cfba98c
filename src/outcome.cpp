#include "outcome.hpp"

#include <csignal>
#include <cstring>

#include <fmt/format.h>

namespace uml {

namespace {

std::string first_of(const std::vector<ConsoleEvent>& events) {
  return events.empty() ? std::string{} : events.front().text;
}

}  // namespace

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
}

std::string describe_end(const RunFacts& run) {
  if (run.exit_status) {
    return fmt::format("UML exited with status {}", *run.exit_status);
  }
  if (run.killed_by) {
    return fmt::format("UML was killed by {}", signal_name(*run.killed_by));
  }
  return "UML's end is unknown";
}

namespace {

Outcome decide_cause(const ConsoleFindings& console, const RunFacts& run,
                     const VerdictOptions& options) {
  Outcome out;
  auto add_hints = [&] {
    for (const auto& hint : console.hints) {
      out.details.push_back("hint: " + hint);
    }
    // Most kernels print it at boot; it explains something only when KUnit was wanted.
    if (options.kunit != nullptr && console.kunit_disabled) {
      out.details.push_back(
          "hint: KUnit is disabled in this kernel although kunit.enable=1 was passed");
    }
  };

  if (run.helper_signal) {
    const int sig = *run.helper_signal;
    out.code = sig == SIGINT   ? ExitCode::Interrupted
               : sig == SIGHUP ? ExitCode::Hangup
                               : ExitCode::Terminated;
    out.summary = fmt::format("interrupted by {}; UML was stopped", signal_name(sig));
    return out;
  }
  // On UML, BUG() prints "BUG: failure at ..." and then panics: the BUG is the cause.
  if (!console.oopses.empty() &&
      (console.panics.empty() || console.oopses.front().line < console.panics.front().line)) {
    out.code = ExitCode::KernelOops;
    out.summary = "kernel oops/BUG: " + first_of(console.oopses);
    if (!console.panics.empty()) {
      out.details.push_back("the kernel then panicked: " + first_of(console.panics));
    } else if (run.timed_out) {
      out.details.push_back("the run then timed out");
    }
    return out;
  }
  // A SIGABRT after the kernel powered off cleanly, with no panic on the console, is
  // UML's host-side teardown failing (seen about once in a few hundred parallel boots),
  // not the guest's result: say so and let the guest's result stand.
  const bool abort_after_power_off = run.killed_by == SIGABRT && console.panics.empty() &&
                                     console.powered_off && console.result.has_value();
  if (abort_after_power_off) {
    out.details.push_back(
        "note: UML aborted (SIGABRT) after the guest had powered off cleanly; the guest's "
        "result stands");
  }
  if (!console.panics.empty() || (run.killed_by == SIGABRT && !abort_after_power_off)) {
    out.code = ExitCode::KernelPanic;
    out.summary = console.panics.empty() ? "UML aborted (SIGABRT), as it does after a kernel panic"
                                         : "kernel panic: " + first_of(console.panics);
    add_hints();
    return out;
  }
  if (options.fail_on_warn && !console.warnings.empty()) {
    out.code = ExitCode::KernelOops;
    out.summary = "kernel warning (--fail-on-warn): " + first_of(console.warnings);
    return out;
  }
  if (console.reboot) {
    // UML re-executes itself on a reboot and would run the whole boot again, for ever.
    out.code = ExitCode::BootFailed;
    out.summary = fmt::format(
        "the guest rebooted ({}); a rebooting UML starts the boot again, so uml-helper "
        "stopped it: let the command end (init powers off) instead of rebooting",
        *console.reboot);
    return out;
  }
  if (run.timed_out) {
    out.code = ExitCode::Timeout;
    out.summary = console.booted ? "timed out while the guest command ran"
                                 : "timed out before the guest reached init";
    add_hints();
    return out;
  }
  if (console.modprobe_failed) {
    out.code = ExitCode::BootFailed;
    out.summary =
        fmt::format("module {:?} could not be loaded (modprobe failed)", *console.modprobe_failed);
    return out;
  }
  if (console.setup_failed) {
    out.code = ExitCode::BootFailed;
    out.summary = fmt::format("the guest's setup failed: {}", *console.setup_failed);
    return out;
  }
  if (!console.booted || !console.result) {
    out.code = ExitCode::BootFailed;
    out.summary = console.booted
                      ? fmt::format(
                            "the guest stopped before the command finished (no UML-RESULT "
                            "marker); {}",
                            describe_end(run))
                      : fmt::format("the guest never reached its init (no UML-BOOTED marker); {}",
                                    describe_end(run));
    add_hints();
    return out;
  }
  // The verdict is UML's exit status, which init set through /proc/exitcode after the
  // command ended and every other guest process was killed; the marker only confirms
  // it. (After a clean power-off that UML's teardown aborted, the marker stands alone.)
  if (!run.exit_status && !abort_after_power_off) {
    out.code = ExitCode::BootFailed;
    out.summary =
        fmt::format("UML did not exit with the guest's status (the command's marker said {}); {}",
                    *console.result, describe_end(run));
    return out;
  }
  const int status = run.exit_status ? *run.exit_status : *console.result;
  if (console.result_markers > 1) {
    out.details.push_back(fmt::format(
        "note: {} UML-RESULT markers on the console: a guest process printed the others; "
        "only UML's exit status decides",
        console.result_markers));
  }
  if (status != *console.result) {
    out.code = ExitCode::CommandFailed;
    out.summary = fmt::format(
        "the console's result marker disagrees with UML's exit status: a guest process printed "
        "it (marker {}, UML exited with {})",
        *console.result, status);
    return out;
  }
  if (options.kunit != nullptr && !options.kunit->passed()) {
    const auto& report = *options.kunit;
    out.code = ExitCode::KunitFailed;
    out.summary = report.cases.empty() ? "no KUnit test ran (no KTAP results on the console)"
                                       : "KUnit: " + report.summary();
    if (report.cases.empty() && options.kunit_after_command > 0) {
      out.summary = fmt::format(
          "no KUnit test ran before the guest command; the {} KUnit result(s) printed after it "
          "started do not count (any guest process can print KTAP): load a KUnit test module "
          "with MODULES (uml_add_test) or --module, not from the command",
          options.kunit_after_command);
    }
    if (status != 0) {
      out.details.push_back(fmt::format("the guest command also failed (status {})", status));
    }
    add_hints();
    return out;
  }
  if (status != 0) {
    out.code = ExitCode::CommandFailed;
    out.summary = fmt::format("the guest command failed with status {}", status);
  } else if (options.kunit != nullptr &&
             options.kunit->count(CaseStatus::Skipped) == options.kunit->cases.size()) {
    // Nothing was tested: CTest reports it as skipped (SKIP_RETURN_CODE 125), not passed.
    out.code = ExitCode::Skipped;
    out.summary = "skipped: KUnit skipped every case (" + options.kunit->summary() + ")";
    for (const auto& c : options.kunit->cases) {
      out.details.push_back(fmt::format("skipped: {}{}", c.full_name(),
                                        c.directive.empty() ? "" : " # " + c.directive));
    }
  } else {
    out.code = ExitCode::Passed;
    out.summary =
        options.kunit != nullptr ? "passed; KUnit: " + options.kunit->summary() : "passed";
  }
  if (!console.warnings.empty()) {
    out.details.push_back(fmt::format("{} kernel warning(s), not counted (see --fail-on-warn): {}",
                                      console.warnings.size(), first_of(console.warnings)));
  }
  return out;
}

}  // namespace

Outcome decide(const ConsoleFindings& console, const RunFacts& run, const VerdictOptions& options) {
  auto out = decide_cause(console, run, options);
  if (options.kunit != nullptr && out.code != ExitCode::Passed) {
    // Whatever ended the run, say which KUnit cases did not pass.
    for (const auto& c : options.kunit->cases) {
      if (c.status == CaseStatus::Failed || c.status == CaseStatus::Crashed) {
        out.details.push_back(fmt::format("{}: {}", to_string(c.status), c.full_name()));
      }
    }
  }
  return out;
}

}  // namespace uml
