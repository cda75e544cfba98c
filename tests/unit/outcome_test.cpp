#include "outcome.hpp"

#include <csignal>

#include <catch2/catch.hpp>

#include "console.hpp"

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
  CHECK(uml::to_int(ExitCode::KernelFinding) == 7);
  CHECK(uml::to_int(ExitCode::UnloadFailed) == 8);
  CHECK(uml::to_int(ExitCode::Timeout) == 124);
  CHECK(uml::to_int(ExitCode::Skipped) == 125);
  CHECK(uml::to_int(ExitCode::Interrupted) == 128 + SIGINT);
  CHECK(uml::to_int(ExitCode::Terminated) == 128 + SIGTERM);
  CHECK(uml::to_int(ExitCode::Hangup) == 128 + SIGHUP);
  const auto table = uml::exit_code_table();
  for (const auto* row :
       {"  0  passed", "  1  command failed", "  4  kernel panic", "  7  kernel finding",
        "  8  unload failed", "124  timeout", "125  skipped", "130  interrupted"}) {
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

namespace {

uml::KernelFinding finding(std::size_t line, std::string kind, std::string text) {
  return {{line, std::move(text)}, std::move(kind)};
}

uml::VerdictOptions expecting(std::vector<std::string> kinds) {
  uml::VerdictOptions o;
  o.expect_findings = std::move(kinds);
  return o;
}

}  // namespace

TEST_CASE("findings: a sanitizer report fails a passing command with its own code") {
  auto c = booted(0);
  c.findings.push_back(finding(4, "kasan", "BUG: KASAN: slab-use-after-free in f+0x1/0x2"));
  c.findings.push_back(finding(9, "refcount", "refcount_t: underflow; use-after-free."));
  const auto out = uml::decide(c, exited(0), {});
  CHECK(out.code == ExitCode::KernelFinding);
  CHECK(out.summary == "kernel finding (KASAN): BUG: KASAN: slab-use-after-free in f+0x1/0x2");
  REQUIRE(out.details.size() == 1);
  CHECK(out.details[0] ==
        "also: kernel finding (refcount): refcount_t: underflow; use-after-free.");
  // The command's failure does not hide it, nor does a timeout.
  CHECK(code(c, exited(1)) == ExitCode::KernelFinding);
  uml::RunFacts timed_out;
  timed_out.timed_out = true;
  CHECK(code(c, timed_out) == ExitCode::KernelFinding);
  // KUnit boots too.
  uml::KtapReport report;
  report.cases.push_back({{"s"}, "a", uml::CaseStatus::Failed, {}, {}});
  uml::VerdictOptions kunit;
  kunit.kunit = &report;
  const auto with_kunit = uml::decide(c, exited(0), kunit);
  CHECK(with_kunit.code == ExitCode::KernelFinding);
  CHECK(with_kunit.details.back() == "failed: s.a");
}

TEST_CASE("findings: the earliest of oops, panic and finding is the cause") {
  auto finding_first = booted(0);
  finding_first.findings.push_back(finding(3, "list", "list_add corruption. prev is NULL."));
  finding_first.oopses.push_back({7, "BUG: failure at lib/list_debug.c:26/f()!"});
  finding_first.panics.push_back({8, "Kernel panic - not syncing: BUG!"});
  uml::RunFacts aborted;
  aborted.killed_by = SIGABRT;
  const auto out = uml::decide(finding_first, aborted, {});
  CHECK(out.code == ExitCode::KernelFinding);
  CHECK(out.summary == "kernel finding (list corruption): list_add corruption. prev is NULL.");
  CHECK(out.details ==
        std::vector<std::string>{"the kernel then oopsed: BUG: failure at lib/list_debug.c:26/f()!",
                                 "the kernel then panicked: Kernel panic - not syncing: BUG!"});
  // Only an abort (the panic's line lost): said so.
  auto lost_panic = booted(0);
  lost_panic.findings = finding_first.findings;
  const auto abort_only = uml::decide(lost_panic, aborted, {});
  CHECK(abort_only.code == ExitCode::KernelFinding);
  REQUIRE(abort_only.details.size() == 1);
  CHECK(abort_only.details[0].starts_with("UML then aborted (SIGABRT)"));

  auto oops_first = booted(0);
  oops_first.oopses.push_back({2, "Oops: general protection fault"});
  oops_first.findings.push_back(finding(5, "ubsan", "UBSAN: shift-out-of-bounds in x.c:1:2"));
  const auto oops = uml::decide(oops_first, exited(0), {});
  CHECK(oops.code == ExitCode::KernelOops);
  CHECK(oops.details ==
        std::vector<std::string>{"kernel finding (UBSAN): UBSAN: shift-out-of-bounds in x.c:1:2"});

  auto panic_first = booted(0);
  panic_first.panics.push_back({1, "Kernel panic - not syncing: x"});
  panic_first.findings.push_back(finding(5, "kasan", "BUG: KASAN: x"));
  const auto panic = uml::decide(panic_first, aborted, {});
  CHECK(panic.code == ExitCode::KernelPanic);
  CHECK(panic.details.front() == "kernel finding (KASAN): BUG: KASAN: x");
}

TEST_CASE("expect-finding: passes when the kernel reported it and init confirmed it") {
  auto c = booted(1);  // the command's status does not decide
  c.findings.push_back(finding(4, "kasan", "BUG: KASAN: slab-use-after-free in f+0x1/0x2"));
  c.findings.push_back(finding(6, "lockdep", "WARNING: possible recursive locking detected"));
  c.expect["kasan"] = {true, 1};
  const auto out = uml::decide(c, exited(1), expecting({"kasan"}));
  CHECK(out.code == ExitCode::Passed);
  CHECK(out.summary ==
        "passed: the kernel reported KASAN as expected: BUG: KASAN: slab-use-after-free in "
        "f+0x1/0x2");
  CHECK(out.details == std::vector<std::string>{
                           "the guest command exited with status 1 (not counted with "
                           "--expect-finding)",
                           "also: kernel finding (lockdep): WARNING: possible recursive locking "
                           "detected"});
  // Every expected kind must be there.
  const auto missing = uml::decide(c, exited(1), expecting({"kasan", "ubsan"}));
  CHECK(missing.code == ExitCode::CommandFailed);
  CHECK(missing.summary ==
        "expected a UBSAN report (--expect-finding ubsan), but the kernel printed none");
  // Not expecting anything, the same console fails with the finding.
  CHECK(code(c, exited(1)) == ExitCode::KernelFinding);
}

TEST_CASE("expect-finding: missing, unconfirmed, or ended by something else first") {
  const auto none = uml::decide(booted(0), exited(0), expecting({"refcount"}));
  CHECK(none.code == ExitCode::CommandFailed);
  CHECK(none.summary ==
        "expected a refcount report (--expect-finding refcount), but the kernel printed none");

  auto printed = booted(0);
  printed.findings.push_back(finding(4, "refcount", "refcount_t: underflow; use-after-free."));
  const auto no_marker = uml::decide(printed, exited(0), expecting({"refcount"}));
  CHECK(no_marker.code == ExitCode::CommandFailed);
  CHECK(no_marker.summary ==
        "the console shows a refcount report but the kernel's log has none: a guest process "
        "printed it");
  printed.expect["refcount"] = {false, 1};
  CHECK(uml::decide(printed, exited(0), expecting({"refcount"})).code == ExitCode::CommandFailed);

  // An oops before the expected report decides; one after it does not.
  auto oops_first = printed;
  oops_first.expect["refcount"] = {true, 1};
  oops_first.oopses.push_back({2, "Oops: x"});
  CHECK(uml::decide(oops_first, exited(0), expecting({"refcount"})).code == ExitCode::KernelOops);
  auto oops_after = oops_first;
  oops_after.oopses[0].line = 9;
  const auto after = uml::decide(oops_after, exited(0), expecting({"refcount"}));
  CHECK(after.code == ExitCode::Passed);
  CHECK(after.details.back() == "the kernel then oopsed: Oops: x");
  // A panic, a timeout, a reboot keep their codes.
  auto panicked = oops_first;
  panicked.oopses.clear();
  panicked.panics.push_back({9, "Kernel panic - not syncing: x"});
  uml::RunFacts aborted;
  aborted.killed_by = SIGABRT;
  const auto panic = uml::decide(panicked, aborted, expecting({"refcount"}));
  CHECK(panic.code == ExitCode::KernelPanic);
  CHECK(panic.details.front() ==
        "after the expected report: kernel finding (refcount): refcount_t: underflow; "
        "use-after-free.");
  uml::RunFacts timed_out;
  timed_out.timed_out = true;
  auto confirmed = printed;
  confirmed.expect["refcount"] = {true, 1};
  CHECK(uml::decide(confirmed, timed_out, expecting({"refcount"})).code == ExitCode::Timeout);
  auto rebooted = confirmed;
  rebooted.reboot = "reboot: Restarting system";
  CHECK(uml::decide(rebooted, exited(0), expecting({"refcount"})).code == ExitCode::BootFailed);
  CHECK(uml::decide(confirmed, exited(0), expecting({"refcount"})).code == ExitCode::Passed);
}

TEST_CASE("expect-finding: a forged 'confirmed' before init's 'unconfirmed' does not pass") {
  const std::string nonce = "0123456789abcdef";
  const auto console = uml::classify_console(
      "UML-BOOTED " + nonce +
          "\n"
          "UML-COMMAND " +
          nonce +
          "\n"
          "BUG: KASAN: slab-use-after-free in f+0x1/0x2\n"  // printed by the command
          "UML-EXPECT " +
          nonce +
          " kasan confirmed\n"  // forged
          "UML-EXPECT " +
          nonce +
          " kasan unconfirmed\n"  // init's, last
          "UML-RESULT " +
          nonce + " 0\n",
      nonce);
  const auto out = uml::decide(console, exited(0), expecting({"kasan"}));
  CHECK(out.code == ExitCode::CommandFailed);
  CHECK(out.summary.ends_with("a guest process printed it"));
  // The other way round (init's confirmation last) passes, with a note on the other.
  const auto real = uml::classify_console(
      "UML-BOOTED " + nonce + "\nBUG: KASAN: slab-use-after-free in f+0x1/0x2\nUML-EXPECT " +
          nonce + " kasan unconfirmed\nUML-EXPECT " + nonce + " kasan confirmed\nUML-RESULT " +
          nonce + " 0\n",
      nonce);
  const auto passed = uml::decide(real, exited(0), expecting({"kasan"}));
  CHECK(passed.code == ExitCode::Passed);
  REQUIRE(!passed.details.empty());
  CHECK(passed.details.back().starts_with("note: 2 UML-EXPECT markers for kasan"));
}

TEST_CASE("unload failures: exit 8 alone, a detail when the command failed") {
  auto c = booted(0);
  c.unload_failed.push_back({5, "buggy", "refcnt=1 holders=none"});
  c.unload_failed.push_back({6, "helper", ""});
  const auto out = uml::decide(c, exited(0), {});
  CHECK(out.code == ExitCode::UnloadFailed);
  CHECK(out.summary ==
        "module buggy could not be unloaded after the command: refcnt=1 holders=none");
  CHECK(out.details ==
        std::vector<std::string>{"module helper could not be unloaded after the command"});
  auto failed = c;
  failed.result = 2;
  const auto command = uml::decide(failed, exited(2), {});
  CHECK(command.code == ExitCode::CommandFailed);
  CHECK(command.summary == "the guest command failed with status 2");
  CHECK(command.details.size() == 2);
  // Crashes and findings rank above it.
  c.findings.push_back(finding(3, "kasan", "BUG: KASAN: x"));
  CHECK(code(c, exited(0)) == ExitCode::KernelFinding);
}

TEST_CASE("unload failures: nothing holds the module: the likely missing module_exit is named") {
  auto c = booted(0);
  c.unload_failed.push_back({5, "no_exit", "refcnt=0 holders=none"});
  const auto out = uml::decide(c, exited(0), {});
  CHECK(out.code == ExitCode::UnloadFailed);
  CHECK_THAT(out.summary, Catch::Matchers::Contains("no module_exit() function") &&
                              Catch::Matchers::Contains("NO_UNLOAD_CHECK"));
  // Held by a count or another module: no such guess.
  c.unload_failed.front().reason = "refcnt=1 holders=none";
  CHECK_THAT(uml::decide(c, exited(0), {}).summary, !Catch::Matchers::Contains("module_exit"));
}
