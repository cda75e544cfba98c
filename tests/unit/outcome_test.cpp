#include "outcome.hpp"

#include <csignal>

#include <catch2/catch.hpp>

using uml::ExitCode;

namespace {

uml::ConsoleFindings booted(int status) {
  uml::ConsoleFindings c;
  c.booted = true;
  c.result = status;
  return c;
}

uml::RunFacts exited(int status) {
  uml::RunFacts r;
  r.exit_status = status;
  return r;
}

ExitCode code(const uml::ConsoleFindings& c, const uml::RunFacts& r, bool fail_on_warn = false) {
  uml::VerdictOptions o;
  o.fail_on_warn = fail_on_warn;
  return uml::decide(c, r, o).code;
}

}  // namespace

TEST_CASE("exit codes are fixed, distinct and documented") {
  CHECK(uml::to_int(ExitCode::Passed) == 0);
  CHECK(uml::to_int(ExitCode::CommandFailed) == 1);
  CHECK(uml::to_int(ExitCode::Error) == 2);
  CHECK(uml::to_int(ExitCode::KernelOops) == 3);
  CHECK(uml::to_int(ExitCode::KernelPanic) == 4);
  CHECK(uml::to_int(ExitCode::KunitFailed) == 5);
  CHECK(uml::to_int(ExitCode::BootFailed) == 6);
  CHECK(uml::to_int(ExitCode::Timeout) == 124);
  CHECK(uml::to_int(ExitCode::Skipped) == 125);
  CHECK(uml::to_int(ExitCode::Interrupted) == 128 + SIGINT);
  CHECK(uml::to_int(ExitCode::Terminated) == 128 + SIGTERM);
  CHECK(uml::to_int(ExitCode::Hangup) == 128 + SIGHUP);
  const auto table = uml::exit_code_table();
  for (const auto* row : {"  0  passed", "  1  command failed", "  4  kernel panic", "124  timeout",
                          "125  skipped", "130  interrupted"}) {
    CHECK(table.find(row) != std::string::npos);
  }
  CHECK(uml::describe(ExitCode::BootFailed) == "boot failed");
}

TEST_CASE("the guest command's status decides when nothing else went wrong") {
  CHECK(code(booted(0), exited(0)) == ExitCode::Passed);
  const auto failed = uml::decide(booted(7), exited(7), {});
  CHECK(failed.code == ExitCode::CommandFailed);
  CHECK(failed.summary == "the guest command failed with status 7");
}

TEST_CASE("kernel crashes rank above the timeout and the command's status") {
  auto c = booted(0);
  c.oopses.push_back({10, "BUG: sleeping function called from invalid context"});
  uml::RunFacts timed_out;
  timed_out.timed_out = true;
  CHECK(code(c, exited(0)) == ExitCode::KernelOops);
  CHECK(code(c, timed_out) == ExitCode::KernelOops);
  // A BUG followed by a panic (UML's BUG() panics) is the BUG; a panic first is the panic.
  c.panics.push_back({20, "Kernel panic - not syncing: BUG!"});
  const auto bug_then_panic = uml::decide(c, exited(0), {});
  CHECK(bug_then_panic.code == ExitCode::KernelOops);
  REQUIRE(!bug_then_panic.details.empty());
  CHECK(bug_then_panic.details.front() ==
        "the kernel then panicked: Kernel panic - not syncing: BUG!");
  auto panic_first = booted(0);
  panic_first.panics.push_back({5, "Kernel panic - not syncing: VFS"});
  panic_first.oopses.push_back({9, "BUG: scheduling while atomic"});
  CHECK(code(panic_first, exited(0)) == ExitCode::KernelPanic);

  uml::RunFacts aborted;
  aborted.killed_by = SIGABRT;  // UML aborts after a panic, even if the message got lost
  CHECK(code(uml::ConsoleFindings{}, aborted) == ExitCode::KernelPanic);

  // After a clean power-off the guest's result stands, with a note; not without it.
  auto powered_off = booted(0);
  powered_off.powered_off = true;
  const auto after_power_off = uml::decide(powered_off, aborted, {});
  CHECK(after_power_off.code == ExitCode::Passed);
  REQUIRE(!after_power_off.details.empty());
  CHECK(after_power_off.details.front().find("after the guest had powered off") !=
        std::string::npos);
  auto failed_then_off = booted(3);
  failed_then_off.powered_off = true;
  CHECK(code(failed_then_off, aborted) == ExitCode::CommandFailed);
  CHECK(code(booted(0), aborted) == ExitCode::KernelPanic);
}

TEST_CASE("warnings fail only with --fail-on-warn, and are mentioned otherwise") {
  auto c = booted(0);
  c.warnings.push_back({3, "WARNING: CPU: 0 PID: 1 at x.c:1"});
  const auto passed = uml::decide(c, exited(0), {});
  CHECK(passed.code == ExitCode::Passed);
  REQUIRE(passed.details.size() == 1);
  CHECK(passed.details[0].find("1 kernel warning(s)") != std::string::npos);
  CHECK(code(c, exited(0), true) == ExitCode::KernelOops);
}

TEST_CASE("timeouts, boot failures and helper signals") {
  uml::RunFacts timed_out;
  timed_out.timed_out = true;
  timed_out.exit_status = 0;
  CHECK(code(booted(0), timed_out) == ExitCode::Timeout);

  CHECK(code(uml::ConsoleFindings{}, exited(0)) == ExitCode::BootFailed);
  auto no_result = booted(0);
  no_result.result.reset();
  const auto stopped = uml::decide(no_result, exited(1), {});
  CHECK(stopped.code == ExitCode::BootFailed);
  CHECK(stopped.summary.find("(no UML-RESULT marker); UML exited with status 1") !=
        std::string::npos);
  auto modprobe = booted(0);
  modprobe.modprobe_failed = "hello";
  CHECK(code(modprobe, exited(1)) == ExitCode::BootFailed);

  uml::RunFacts interrupted;
  interrupted.helper_signal = SIGINT;
  auto panicked = booted(0);
  panicked.panics.push_back({1, "Kernel panic"});
  CHECK(code(panicked, interrupted) == ExitCode::Interrupted);
  interrupted.helper_signal = SIGTERM;
  CHECK(code(booted(0), interrupted) == ExitCode::Terminated);
  interrupted.helper_signal = SIGHUP;
  CHECK(code(booted(0), interrupted) == ExitCode::Hangup);
}

TEST_CASE("KUnit: every case skipped is a skip (125), some skipped is a pass") {
  uml::KtapReport report;
  uml::VerdictOptions o;
  o.kunit = &report;
  report.cases.push_back({{"s"}, "a", uml::CaseStatus::Skipped, "SKIP no hardware", {}});
  const auto all = uml::decide(booted(0), exited(0), o);
  CHECK(all.code == ExitCode::Skipped);
  CHECK(all.summary.starts_with("skipped: KUnit skipped every case"));
  REQUIRE(all.details.size() == 1);
  CHECK(all.details[0] == "skipped: s.a # SKIP no hardware");
  report.cases.push_back({{"s"}, "b", uml::CaseStatus::Passed, {}, {}});
  CHECK(uml::decide(booted(0), exited(0), o).code == ExitCode::Passed);
  // A failing command still fails, skips or not.
  report.cases.pop_back();
  CHECK(uml::decide(booted(3), exited(3), o).code == ExitCode::CommandFailed);
}

TEST_CASE("KUnit: failed or crashed cases, or none at all, fail the run") {
  uml::KtapReport report;
  uml::VerdictOptions o;
  o.kunit = &report;
  const auto none = uml::decide(booted(0), exited(0), o);
  CHECK(none.code == ExitCode::KunitFailed);
  CHECK(none.summary == "no KUnit test ran (no KTAP results on the console)");

  report.cases.push_back({{"s"}, "a", uml::CaseStatus::Passed, {}, {}});
  CHECK(uml::decide(booted(0), exited(0), o).code == ExitCode::Passed);
  report.cases.push_back({{"s"}, "b", uml::CaseStatus::Crashed, {}, {}});
  const auto crashed = uml::decide(booted(0), exited(0), o);
  CHECK(crashed.code == ExitCode::KunitFailed);
  REQUIRE(crashed.details.size() == 1);
  CHECK(crashed.details[0] == "crashed: s.b");
}

TEST_CASE("the 'KUnit disabled' hint appears only for KUnit runs") {
  auto c = booted(0);
  c.kunit_disabled = true;
  uml::RunFacts timed_out;
  timed_out.timed_out = true;
  const auto plain = uml::decide(c, timed_out, {});
  for (const auto& detail : plain.details) {
    CHECK(detail.find("KUnit") == std::string::npos);
  }
  uml::KtapReport empty_report;
  uml::VerdictOptions kunit_options;
  kunit_options.kunit = &empty_report;
  const auto kunit = uml::decide(c, timed_out, kunit_options);
  bool hinted = false;
  for (const auto& detail : kunit.details) {
    hinted = hinted || detail.find("KUnit is disabled") != std::string::npos;
  }
  CHECK(hinted);
}

TEST_CASE("UML's exit status decides, a forged result marker cannot pass a failed command") {
  // The guest command read the nonce, printed "UML-RESULT <nonce> 0" and exited 1: the
  // console's marker says 0, UML (status set by init through /proc/exitcode) says 1.
  const auto forged = uml::decide(booted(0), exited(1), {});
  CHECK(forged.code == ExitCode::CommandFailed);
  CHECK(forged.summary.find("the console's result marker disagrees with UML's exit status: a "
                            "guest process printed it") != std::string::npos);
  // Both say 0 only when both agree; a marker that agrees with UML stands.
  CHECK(code(booted(0), exited(0)) == ExitCode::Passed);
  CHECK(code(booted(1), exited(1)) == ExitCode::CommandFailed);
  // Several markers: the last (init's) is in the findings; the others are noted.
  auto several = booted(1);
  several.result_markers = 2;
  const auto noted = uml::decide(several, exited(1), {});
  CHECK(noted.code == ExitCode::CommandFailed);
  REQUIRE(!noted.details.empty());
  CHECK(noted.details.front().find("a guest process printed the others") != std::string::npos);
  // A result marker but no exit status to confirm it (UML killed): not a pass.
  uml::RunFacts killed;
  killed.killed_by = SIGKILL;
  CHECK(code(booted(0), killed) == ExitCode::BootFailed);
}

TEST_CASE("a guest that rebooted fails as a boot failure that says so") {
  auto c = booted(0);
  c.reboot = "reboot: Restarting system";
  uml::RunFacts killed;
  killed.killed_by = SIGKILL;  // the helper stopped the re-executed UML
  const auto out = uml::decide(c, killed, {});
  CHECK(out.code == ExitCode::BootFailed);
  CHECK(out.summary.starts_with("the guest rebooted (reboot: Restarting system)"));
  // A panic still ranks first.
  c.panics.push_back({3, "Kernel panic - not syncing: x"});
  CHECK(code(c, killed) == ExitCode::KernelPanic);
}

TEST_CASE("KTAP printed after the guest command started says why it does not count") {
  uml::KtapReport none;
  uml::VerdictOptions o;
  o.kunit = &none;
  o.kunit_after_command = 1;
  const auto out = uml::decide(booted(0), exited(0), o);
  CHECK(out.code == ExitCode::KunitFailed);
  CHECK(out.summary.find("printed after it started do not count") != std::string::npos);
  CHECK(out.summary.find("--module") != std::string::npos);
}
