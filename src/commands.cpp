#include "commands.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "boot.hpp"
#include "console.hpp"
#include "coverage.hpp"
#include "debug.hpp"
#include "junit.hpp"
#include "ktap.hpp"
#include "lpj.hpp"
#include "outcome.hpp"
#include "preflight.hpp"
#include "process/files.hpp"
#include "process/terminal.hpp"
#include "report.hpp"
#include "text.hpp"

namespace uml {

namespace fs = std::filesystem;

namespace {

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

// Reads what init wrote to the coverage disk and keeps the data of the project's objects.
std::string collect_coverage(const fs::path& disk, const TestOptions& options) {
  std::vector<fs::path> dirs;
  for (const auto& dir : options.module_dirs) {
    auto path = fs::absolute(dir).lexically_normal();
    if (!path.has_filename()) {
      path = path.parent_path();  // "dir/" normalizes to a trailing separator
    }
    dirs.push_back(path);
  }
  return save_coverage(read_coverage_disk(disk), dirs, *options.coverage_dir).message;
}

}  // namespace

int run_test(const TestOptions& options) {
  // First: a run that stops early (a bad option, a host that cannot run UML) must not
  // leave the previous run's data looking current.
  if (options.coverage_dir) {
    prepare_coverage_dir(*options.coverage_dir);
  }
  Boot boot(options);
  if (!boot.check_host()) {
    return to_int(ExitCode::Skipped);
  }
  boot.start_devices();
  auto spec = boot.spec(Mode::Test);
  spec.command = options.command;
  spec.kunit = options.kunit;
  spec.expect = options.expect_findings;
  spec.unload_check = options.unload_check;
  const auto args = kernel_arguments(spec);

  const auto& ws = boot.workspace();
  const auto log_path = options.log ? fs::absolute(*options.log) : ws.dir() / "console.log";
  ConsoleLog log(log_path);
  log.write(fmt::format("# uml-helper: {}\n", command_line_text(options.kernel, args)));
  if (options.verbose) {
    fmt::print("uml-helper: {}\n", command_line_text(options.kernel, args));
    std::fflush(stdout);
  }

  const auto launch = boot.launch(spec, args);
  log.write(boot.cpu() ? fmt::format("# uml-helper: UML runs on CPU {}\n", *boot.cpu())
                       : std::string("# uml-helper: UML runs on any CPU\n"));
  ConsoleBuffer console;
  process::SuperviseResult run;
  std::optional<std::string> device_failure;
  {
    auto uml = start_uml(launch, to_ms(options.timeout), to_ms(options.grace));
    RebootWatch reboot(spec.nonce);
    bool stopped = false;
    TerminalSafeStream shown;
    while (const auto event = uml.next()) {
      if (event->watched_fd >= 0) {
        // A device model ended while the guest ran: a failed one ends the boot (the guest
        // would wait for it, or see a broken device), a clean exit is UML's doing.
        if (auto failure = boot.devices().ended_early(event->watched_fd)) {
          if (!device_failure) {
            device_failure = std::move(failure);
          }
          if (!stopped) {
            stopped = true;
            ::kill(uml.pid(), SIGKILL);  // not yet reaped: still UML
          }
        }
        continue;
      }
      console.append(event->output);
      log.console(event->output);
      // A rebooting UML re-executes itself and boots again: end the run now.
      if (reboot.feed(event->output) && !stopped) {
        stopped = true;
        ::kill(uml.pid(), SIGKILL);  // not yet reaped: still UML
      }
      if (options.verbose) {
        const auto safe = shown.feed(event->output);
        std::fwrite(safe.data(), 1, safe.size(), stdout);
        std::fflush(stdout);
      }
    }
    if (options.verbose) {
      std::fputs(shown.finish().c_str(), stdout);
    }
    run = uml.result();
  }
  if (!boot.devices().empty()) {
    const auto ended = boot.devices().stop();
    if (!device_failure) {
      device_failure = ended;
    }
    log.write(boot.devices().take_logs());
  }

  const auto text = console.text();
  if (!options.time_travel) {
    remember_lpj(options.kernel, text, spec.nonce);
  }
  const auto findings = classify_console(text, spec.nonce);
  // KTAP counts only from before the guest command started (any guest process can print).
  std::optional<KunitEvidence> kunit;
  if (options.kunit) {
    kunit = kunit_evidence(text, findings);
  }
  VerdictOptions verdict;
  verdict.fail_on_warn = options.fail_on_warn;
  verdict.kunit = kunit ? &kunit->report : nullptr;
  verdict.kunit_after_command = kunit ? kunit->after_command : 0;
  verdict.expect_findings = spec.expect;
  auto outcome = decide(findings, run.facts, verdict);
  if (const auto cap = process_cap_message(run.facts); cap && !run.facts.helper_signal) {
    outcome.code = ExitCode::CommandFailed;  // the guest's doing, as a failed command
    outcome.summary = *cap;
  }
  add_run_details(outcome, run);
  // A model that failed is the cause: what the guest saw follows from it.
  if (device_failure && !run.facts.helper_signal) {
    outcome.details.insert(
        outcome.details.begin(),
        fmt::format("the guest's result: {} ({})", describe(outcome.code), outcome.summary));
    outcome.code = ExitCode::DeviceFailed;
    outcome.summary = *device_failure;
  }
  // A failure's trace, or the expected report of a negative test, decoded; the first
  // frame in the project's modules goes on the summary line (stdout, log and JUnit).
  std::optional<FailureTrace> trace;
  if (outcome.code != ExitCode::Passed || !spec.expect.empty()) {
    DecodeSetup setup;
    setup.kernel = options.kernel;
    setup.module_dirs.assign(options.module_dirs.begin(), options.module_dirs.end());
    trace =
        decode_failure_trace(text, findings, outcome, options.fail_on_warn, options.tail, setup);
    if (trace->first_project_frame) {
      outcome.summary += "; first project frame: " + *trace->first_project_frame;
    }
  }

  log.write(fmt::format("\n# uml-helper: {} (exit {}): {}\n# uml-helper: {}\n",
                        describe(outcome.code), to_int(outcome.code), outcome.summary,
                        describe_end(run.facts)));
  if (options.junit) {
    JunitInput junit{options.name, &outcome, kunit ? &kunit->report : nullptr, text, run.seconds};
    write_junit(*options.junit, junit);
  }
  const bool passed = outcome.code == ExitCode::Passed;
  if (options.kunit_list && passed) {
    write_kunit_list(*options.kunit_list, parse_kunit_listing(before_command(text, findings)));
  }
  if (options.coverage_dir && ws.coverage_disk()) {
    const auto message = collect_coverage(*ws.coverage_disk(), options);
    log.write(fmt::format("# uml-helper: {}\n", message));
    fmt::print("uml-helper: {}\n", message);
  }
  print_verdict(options, outcome, run.seconds, text, findings, trace ? &*trace : nullptr);
  if (!passed || options.log || !ws.owns_dir()) {
    fmt::print("uml-helper: console log: {}\n", log_path.string());
  }
  std::fflush(stdout);
  boot.clean(!passed && !options.log);  // a failed run's automatic work dir keeps its log
  return to_int(outcome.code);
}

int run_interactive(const RunOptions& options) {
  Boot boot(options, options.persist);
  if (!boot.check_host()) {
    return to_int(ExitCode::Skipped);
  }
  // No terminal to type on (a pipe, a file, /dev/null, an IDE's build): the guest shell
  // runs what stdin holds, as sh does, instead of waiting for a person.
  const bool script = ::isatty(STDIN_FILENO) == 0;
  boot.start_devices();
  const auto spec = boot.spec(script ? Mode::Script : Mode::Run);
  const auto args = kernel_arguments(spec);
  if (options.verbose) {
    fmt::print(stderr, "uml-helper: {}\n", command_line_text(options.kernel, args));
  }
  if (script) {
    fmt::print(stderr,
               "uml-helper: stdin is not a terminal: the guest shell runs the commands it "
               "reads from there, then powers off\n");
  }

  process::SuperviseResult run;
  bool rebooted = false;
  std::optional<std::string> device_failure;
  {
    auto launch = boot.launch(spec, args);
    launch.interactive = !script;
    launch.allow_debugger = true;  // for `uml-helper attach`
    launch.forward_input = script;
    InstanceRecord record(boot.workspace().dir() / instance_file_name);
    process::TerminalGuard terminal;
    if (const auto tty = terminal.terminal()) {
      boot.guardian().restore_terminal(tty->first, tty->second);  // should the helper die
    }
    auto uml = start_uml(launch);
    record.write({uml.pid(), fs::absolute(options.kernel), boot.workspace().umid()});
    // Script mode: the guest's output without the marker that says it is ready for the
    // commands, which then come from stdin. A reader that went away (EPIPE) is no reason
    // to stop the guest: failures are ignored.
    ScriptOutput output(spec.nonce);
    RebootWatch reboot(spec.nonce, "UML-INPUT");
    while (const auto event = uml.next()) {
      if (event->watched_fd >= 0) {
        // A failed model: the guest's device is gone, so is the session (as for a test).
        if (auto failure = boot.devices().ended_early(event->watched_fd);
            failure && !device_failure) {
          device_failure = std::move(failure);
          ::kill(uml.pid(), SIGKILL);  // not yet reaped: still UML
        }
        continue;
      }
      process::write_all(STDOUT_FILENO, output.feed(event->output));
      if (output.ready()) {
        uml.enable_input();
      }
      // A rebooted guest would wait for ever for input that was already used up.
      if (script && !rebooted && reboot.feed(event->output)) {
        rebooted = true;
        ::kill(uml.pid(), SIGKILL);  // not yet reaped: still UML
      }
    }
    run = uml.result();
    process::write_all(STDOUT_FILENO, output.finish());
  }
  if (!boot.devices().empty()) {
    auto failure = boot.devices().stop();
    if (!device_failure) {
      device_failure = std::move(failure);
    }
  }
  boot.clean(false);
  if (device_failure && !run.facts.helper_signal) {
    fmt::print(stderr, "uml-helper: {} (exit {})\n{}", *device_failure,
               to_int(ExitCode::DeviceFailed), boot.devices().take_logs());
    return to_int(ExitCode::DeviceFailed);
  }
  if (run.facts.helper_signal) {
    fmt::print(stderr, "uml-helper: interrupted by {}; UML was stopped\n",
               signal_name(*run.facts.helper_signal));
    return to_int(exit_code_for_signal(*run.facts.helper_signal));
  }
  if (const auto cap = process_cap_message(run.facts)) {
    fmt::print(stderr, "uml-helper: {}\n", *cap);
    return to_int(ExitCode::CommandFailed);
  }
  if (rebooted) {
    fmt::print(stderr,
               "uml-helper: the guest rebooted; a rebooting UML starts the boot again, so "
               "uml-helper stopped it (exit {}): power off instead (poweroff, or exit)\n",
               to_int(ExitCode::BootFailed));
    return to_int(ExitCode::BootFailed);
  }
  if (run.facts.exit_status) {
    return *run.facts.exit_status;
  }
  const int sig = run.facts.killed_by.value_or(SIGKILL);
  if (sig == SIGABRT) {
    fmt::print(stderr, "uml-helper: UML aborted (kernel panic)\n");
    return to_int(ExitCode::KernelPanic);
  }
  fmt::print(stderr, "uml-helper: {}\n", describe_end(run.facts));
  return 128 + sig;
}

int run_debug(const DebugOptions& options) {
  // Tools first: a missing gdb must not leave a work dir behind.
  const auto gdb = find_gdb(options.gdb, std::getenv("PATH"));
  const auto setup = gdb_setup(options.gdb_script, options.module_dirs, options.gdb_args);
  Boot boot(options);
  if (!boot.check_host()) {
    return to_int(ExitCode::Skipped);
  }
  warn_without_debug_info(options.kernel);
  boot.start_devices();
  auto spec = boot.spec(options.command ? Mode::Test : Mode::Run);
  if (options.command) {
    spec.command = *options.command;
  }
  const auto args = kernel_arguments(spec);
  // Neither confined nor pinned: gdb runs UML and needs the whole system.
  const auto status = run_gdb(gdb, gdb_debug_arguments(setup, fs::absolute(options.kernel), args),
                              boot.ram_dir(), options.verbose);
  if (!boot.devices().empty()) {
    // gdb holds the terminal meanwhile; a model that failed is reported when it is done.
    if (const auto failure = boot.devices().stop()) {
      fmt::print(stderr, "uml-helper: {} (exit {})\n{}", *failure, to_int(ExitCode::DeviceFailed),
                 boot.devices().take_logs());
      boot.clean(false);
      return to_int(ExitCode::DeviceFailed);
    }
  }
  boot.clean(false);
  return status;
}

int run_attach(const AttachOptions& options) {
  const auto gdb = find_gdb(options.gdb, std::getenv("PATH"));
  const auto setup = gdb_setup(options.gdb_script, options.module_dirs, options.gdb_args);
  const auto instance = running_instance(fs::absolute(options.work_dir));
  const auto kernel = options.kernel ? fs::absolute(*options.kernel) : instance.kernel;
  warn_without_debug_info(kernel);
  fmt::print(stderr,
             "uml-helper: attaching gdb to UML (pid {}); the guest stops until 'continue'. "
             "'detach' or quitting gdb leaves it running\n",
             instance.pid);
  // The guest is not ours: nothing to clean up but what gdb itself leaves.
  return run_gdb(gdb, gdb_attach_arguments(setup, kernel, instance.pid), std::nullopt,
                 options.verbose);
}

int run_doctor(const DoctorOptions& options) {
  PreflightInput input;
  input.kernel = options.kernel;
  input.mem_bytes = mem_bytes(options.mem);
  input.time_travel = options.time_travel;
  input.probe_kernel = true;
  input.getenv = [](const char* name) { return std::getenv(name); };
  // A umid as run/test make it: "uh<pid>-xxxx".
  input.umid_length = fmt::format("uh{}-0000", ::getpid()).size();
  const auto work_dir =
      options.work_dir ? fs::absolute(*options.work_dir) : fs::path("/tmp/uml-helper-XXXXXX");
  const auto choice = choose_uml_dir(work_dir, input.umid_length);
  input.uml_dir = choice.dir;
  input.uml_dir_fallback = choice.fallback;
  auto report = preflight(input);
  report.findings.push_back(landlock_finding());
  fmt::print("{}", report.format(true));
  if (!report.ok()) {
    fmt::print("uml-helper: UML cannot run here (exit {})\n", to_int(ExitCode::Skipped));
    return to_int(ExitCode::Skipped);
  }
  fmt::print("uml-helper: UML can run here\n");
  return to_int(ExitCode::Passed);
}

}  // namespace uml
