#include "outcome.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace uml {

namespace {

std::string first_of(const std::vector<ConsoleEvent>& events) {
  return events.empty() ? std::string{} : events.front().text;
}

// Console line numbers, with "no such line" as the largest: plain integers rather than
// std::optional, on which g++ 12 -Os warns maybe-uninitialized (a false positive).
constexpr std::size_t no_line = std::numeric_limits<std::size_t>::max();

std::size_t first_line(const std::vector<ConsoleEvent>& events) {
  return events.empty() ? no_line : events.front().line;
}

bool before(std::size_t a, std::size_t b) {
  return a != no_line && a < b;
}

std::string describe_finding(const KernelFinding& finding) {
  return fmt::format("kernel finding ({}): {}", describe_finding_kind(finding.kind),
                     finding.event.text);
}

bool expected(const VerdictOptions& options, std::string_view kind) {
  return std::find(options.expect_findings.begin(), options.expect_findings.end(), kind) !=
         options.expect_findings.end();
}

// The first report of each kind but `skip` (bounded: one line per kind), for details.
std::vector<std::string> finding_details(const ConsoleFindings& console,
                                         const VerdictOptions& options, std::string_view skip,
                                         std::string_view prefix) {
  std::vector<std::string> lines;
  for (const auto kind : finding_kinds()) {
    if (kind == skip || expected(options, kind)) {
      continue;
    }
    if (const auto* f = console.first_finding(kind)) {
      lines.push_back(fmt::format("{}{}", prefix, describe_finding(*f)));
    }
  }
  return lines;
}

std::string describe_unload(const UnloadFailure& failure) {
  // Nothing holds it, yet delete_module() said EBUSY: the kernel never unloads a module
  // that has an init function and no exit function (kernel/module/main.c).
  const bool no_exit = failure.reason == "refcnt=0 holders=none";
  return fmt::format("module {} could not be unloaded after the command{}{}{}", failure.module,
                     failure.reason.empty() ? "" : ": ", failure.reason,
                     no_exit ? " (nothing holds it: it most likely has no module_exit() "
                               "function, and the kernel never unloads such a module; add "
                               "one, or turn the check off with NO_UNLOAD_CHECK)"
                             : "");
}

void add_unload_details(Outcome& out, const ConsoleFindings& console, std::size_t from) {
  for (auto i = from; i < console.unload_failed.size(); ++i) {
    out.details.push_back(describe_unload(console.unload_failed[i]));
  }
}

// The first report of an expected kind.
const KernelFinding* first_expected_finding(const ConsoleFindings& console,
                                            const VerdictOptions& options) {
  const auto it = std::find_if(console.findings.begin(), console.findings.end(),
                               [&](const KernelFinding& f) { return expected(options, f.kind); });
  return it == console.findings.end() ? nullptr : &*it;
}

// With --expect-finding, once nothing else ended the run: every expected kind must be on
// the console and confirmed by init's last UML-EXPECT marker (from the kernel's own log
// records: the console line alone could be a guest process's).
std::optional<Outcome> check_expectations(const ConsoleFindings& console,
                                          const VerdictOptions& options) {
  for (const auto& kind : options.expect_findings) {
    const auto label = describe_finding_kind(kind);
    const auto marker = console.expect.find(kind);
    const bool confirmed = marker != console.expect.end() && marker->second.confirmed;
    Outcome out;
    out.code = ExitCode::CommandFailed;
    if (console.first_finding(kind) == nullptr) {
      out.summary = fmt::format(
          "expected a {} report (--expect-finding {}), but the kernel printed none", label, kind);
      if (confirmed) {
        out.details.push_back(
            "init found one in the kernel's log, though: is the console's log level too low "
            "(quiet, loglevel=)?");
      }
      return out;
    }
    if (!confirmed) {
      out.summary = fmt::format(
          "the console shows a {} report but the kernel's log has none: a guest process "
          "printed it",
          label);
      if (marker == console.expect.end()) {
        out.details.push_back(
            fmt::format("no UML-EXPECT marker for {} from init (an image whose /.uml/init predates "
                        "--expect-finding?)",
                        kind));
      }
      return out;
    }
  }
  return std::nullopt;
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
  // Of oopses, panics and findings the earliest is the cause. On UML, BUG() prints "BUG:
  // failure at ..." and then panics: the BUG is the cause. With --expect-finding the
  // expected report is no failure, and other findings are only details.
  const bool expecting = !options.expect_findings.empty();
  const auto first_oops = first_line(console.oopses);
  const auto first_panic = first_line(console.panics);
  const auto first_finding =
      expecting || console.findings.empty() ? no_line : console.findings.front().event.line;
  const auto* expected_finding = expecting ? first_expected_finding(console, options) : nullptr;
  const auto first_expected = expected_finding != nullptr ? expected_finding->event.line : no_line;
  if (before(first_finding, first_oops) && before(first_finding, first_panic)) {
    const auto& finding = console.findings.front();
    out.code = ExitCode::KernelFinding;
    out.summary = describe_finding(finding);
    for (auto& line : finding_details(console, options, finding.kind, "also: ")) {
      out.details.push_back(std::move(line));
    }
    if (before(first_oops, first_panic)) {
      out.details.push_back("the kernel then oopsed: " + first_of(console.oopses));
    }
    if (first_panic != no_line) {
      out.details.push_back("the kernel then panicked: " + first_of(console.panics));
    } else if (run.killed_by == SIGABRT && !console.powered_off) {
      out.details.push_back("UML then aborted (SIGABRT), as it does after a kernel panic");
    } else if (run.timed_out) {
      out.details.push_back("the run then timed out");
    }
    return out;
  }
  if (before(first_oops, first_panic) && (!expecting || before(first_oops, first_expected))) {
    out.code = ExitCode::KernelOops;
    out.summary = "kernel oops/BUG: " + first_of(console.oopses);
    if (!console.panics.empty()) {
      out.details.push_back("the kernel then panicked: " + first_of(console.panics));
    } else if (run.timed_out) {
      out.details.push_back("the run then timed out");
    }
    for (auto& line : finding_details(console, options, {}, "")) {
      out.details.push_back(std::move(line));
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
    if (expected_finding != nullptr) {
      out.details.push_back("after the expected report: " + describe_finding(*expected_finding));
    }
    for (auto& line : finding_details(console, options, {}, "")) {
      out.details.push_back(std::move(line));
    }
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
    add_unload_details(out, console, 0);
    add_hints();
    return out;
  }
  if (expecting) {
    if (auto failed = check_expectations(console, options)) {
      failed->details.insert(failed->details.begin(), out.details.begin(), out.details.end());
      return *failed;
    }
    // The command's status and modules left loaded are no failure here: the kernel has
    // just reported a bug on purpose; they are worth a word only.
    std::string labels;
    for (const auto& kind : options.expect_findings) {
      labels += fmt::format("{}{}", labels.empty() ? "" : ", ", describe_finding_kind(kind));
    }
    out.code = ExitCode::Passed;
    out.summary = fmt::format("passed: the kernel reported {} as expected", labels);
    // The report itself ends the summary, so the trace decoder knows which one to decode.
    if (expected_finding != nullptr) {
      out.summary += ": " + expected_finding->event.text;
    }
    if (status != 0) {
      out.details.push_back(fmt::format(
          "the guest command exited with status {} (not counted with --expect-finding)", status));
    }
    for (auto& line : finding_details(console, options, {}, "also: ")) {
      out.details.push_back(std::move(line));
    }
    if (!console.oopses.empty()) {
      out.details.push_back("the kernel then oopsed: " + first_of(console.oopses));
    }
    add_unload_details(out, console, 0);
    for (const auto& [kind, marker] : console.expect) {
      if (marker.markers > 1) {
        out.details.push_back(fmt::format(
            "note: {} UML-EXPECT markers for {}: a guest process printed the others; only "
            "init's last one counts",
            marker.markers, kind));
      }
    }
  } else if (status != 0) {
    out.code = ExitCode::CommandFailed;
    out.summary = fmt::format("the guest command failed with status {}", status);
    add_unload_details(out, console, 0);
  } else if (!console.unload_failed.empty()) {
    out.code = ExitCode::UnloadFailed;
    out.summary = describe_unload(console.unload_failed.front());
    add_unload_details(out, console, 1);
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
