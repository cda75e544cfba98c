#include "cli.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <set>
#include <utility>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "boot_file.hpp"
#include "commands.hpp"
#include "console.hpp"
#include "error.hpp"
#include "exit_code.hpp"
#include "text.hpp"

namespace uml {

namespace {

constexpr auto protocol_help = R"(
The guest's /.uml/init (templates/guest/uml-init) gets UML_MODE, UML_NONCE,
UML_MODULES, UML_CMD (base64), UML_ENV (base64), UML_HOSTFS, UML_UNLOAD and
UML_EXPECT from the kernel command line, mounts proc, sysfs, devtmpfs, tmpfs on /tmp
and /run and hostfs on /mnt/host, loads the modules, runs the command, removes the
modules (UML_UNLOAD=1), checks the kernel's log for the expected findings and powers
off with the command's status.
)";

// --expect-finding KIND: one of finding_kinds(), else a usage error (exit 2) listing them.
CLI::Validator finding_kind_validator() {
  return CLI::Validator(
      [](std::string& kind) -> std::string {
        if (is_finding_kind(kind)) {
          return {};
        }
        return fmt::format("unknown kind of kernel finding {:?}; known kinds: {}", kind,
                           fmt::join(finding_kinds(), ", "));
      },
      "", "finding kind");
}

void add_boot_file_option(CLI::App& app) {
  // Expanded before parsing (expand_boot_files): declared for --help.
  app.add_option("--boot",
                 "Options of a boot from a description the CMake package wrote "
                 "(<build>/_uml/boot/<target>.boot); options given here win")
      ->type_name("FILE");
}

void add_boot_options(CLI::App& app, BootOptions& o) {
  add_boot_file_option(app);
  app.add_option("--kernel", o.kernel, "The UML kernel executable (linux)")
      ->type_name("PATH")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option(
         "--rootfs", o.rootfs,
         "Root filesystem image (ext4) with the package's /.uml/init; opened read-only under a "
         "fresh copy-on-write file (ubd0=<cow>,<image>), so the image is never written")
      ->type_name("IMAGE")
      ->required();
  // One value per occurrence for the repeatable options, so "--module m -- cmd" ends
  // the module list where it should.
  app.add_option("--disk", o.disks,
                 "Extra disk image (ubd1, ubd2, ...), under a fresh COW file like --rootfs; "
                 "repeatable")
      ->type_name("IMAGE")
      ->allow_extra_args(false);
  app.add_option("--mem", o.mem, "Guest RAM, e.g. 128M or 1G")->capture_default_str();
  app.add_option("--hostfs", o.hostfs,
                 "Host directory the guest sees at /mnt/host (hostfs confined to it)")
      ->type_name("DIR");
  app.add_option("--append", o.append, "Extra kernel argument; repeatable")
      ->type_name("ARG")
      ->allow_extra_args(false);
  app.add_option("--env", o.env, "KEY=VALUE in the guest command's environment; repeatable")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app.add_option("--module", o.modules,
                 "Module the guest modprobes before the command (the image must hold it, with "
                 "depmod's files); repeatable")
      ->type_name("NAME")
      ->allow_extra_args(false);
  app.add_option("--modules-from", o.module_lists,
                 "Modprobe every module a file lists, in order: Kbuild's modules.order of a "
                 "module directory, or one name per line; read when the boot starts; repeatable")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_option("--work-dir", o.work_dir,
                 "Where COW files, UML's uml_dir and the console log go (default: a fresh "
                 "directory in /tmp, removed unless the run failed)")
      ->type_name("DIR");
  app.add_flag("--time-travel", o.time_travel,
               "Simulated time (UML 'time-travel'): idle waits cost no wall time; needs "
               "CONFIG_UML_TIME_TRAVEL_SUPPORT");
  app.add_flag("--keep-cow", o.keep_cow, "Keep the COW files (and the work dir) afterwards");
  app.add_flag("-v,--verbose", o.verbose, "Print UML's command line and (test) the console live");
  app.add_option("--device", o.devices,
                 "A device model to start before UML and give the guest over vhost-user "
                 "(virtio_uml.device=<socket>:<id>): its name, virtio id (34: I2C; PCI: the "
                 "kernel's CONFIG_UML_PCI_OVER_VIRTIO_DEVICE_ID) and program, which gets "
                 "--socket PATH; repeatable")
      ->type_name("NAME:ID:PROGRAM")
      ->allow_extra_args(false);
  app.add_option("--device-arg", o.device_args,
                 "An argument for the model of device NAME, after its --socket; repeatable, in "
                 "order")
      ->type_name("NAME:ARG")
      ->allow_extra_args(false);
  app.add_option("--device-timeout", o.device_timeout,
                 "Seconds each device model has to open its socket")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
}

void add_confine_flag(CLI::App& app, BootOptions& o) {
  app.add_flag("--no-confine", o.no_confine,
               "Do not confine UML with Landlock (by default it reaches only the kernel, the "
               "images, the work dir, the guest RAM dir, --hostfs and system files, so the "
               "guest cannot mount other host paths with hostfs)");
  app.add_flag("--no-pin", o.no_pin,
               "Let UML's processes run on any CPU (by default they all run on one CPU that "
               "no other guest of this machine is using, which makes a boot up to twice as "
               "fast; unpinned when every CPU has a guest)");
}

constexpr auto debug_help = R"(
debug and attach leave UML unconfined (no Landlock): gdb needs the whole system, and
a guest booted under gdb can mount any host path this user reaches with hostfs.
gdb gets templates/gdb/uml-gdb.py: UML's own signals (SIGSEGV, SIGUSR1) pass
silently, the kernel's lx-* commands load when the kernel has CONFIG_GDB_SCRIPTS,
and the symbols of every module the guest loads are added (every section,
.init.text too) from the --module-dir directories, so breakpoints in modules,
pending until then, work. Commands: uml-module-path DIR..., uml-load-modules,
uml-modules. The helper prints nothing on standard output: an IDE can use this
command as its gdb ("uml-helper debug ... --" then the IDE's gdb options).
)";

void add_gdb_options(CLI::App& app, std::optional<std::filesystem::path>& gdb,
                     std::optional<std::filesystem::path>& script,
                     std::vector<std::filesystem::path>& module_dirs,
                     std::vector<std::string>& gdb_args) {
  app.add_option("--gdb", gdb, "The gdb to run (default: gdb on PATH)")->type_name("PATH");
  app.add_option("--gdb-script", script,
                 "uml-gdb.py (default: the one installed with the helper, or the source "
                 "tree's)")
      ->type_name("FILE");
  app.add_option("--module-dir", module_dirs,
                 "Directory with the project's .ko files, for their symbols; repeatable")
      ->type_name("DIR")
      ->allow_extra_args(false);
  app.add_option("gdb-args", gdb_args, "gdb options after --, e.g. -batch -ex 'break f'");
}

// A duration option in [min_timeout_seconds, max] (or 0 when zero_is_none): finite, whole
// milliseconds at least one (0.0001 would round to 0, "none"), and far from overflowing
// std::chrono::milliseconds.
void check_seconds(std::string_view option, double value, double max, bool zero_is_none) {
  if (zero_is_none && value == 0) {
    return;
  }
  if (!std::isfinite(value) || value < min_timeout_seconds || value > max) {
    throw Error(fmt::format("{} {}: expected seconds from {} to {}{}", option, value,
                            min_timeout_seconds, max, zero_is_none ? ", or 0 for none" : ""));
  }
}

// Whether two paths name the same file (through symlinks and hard links); false when
// either does not exist yet.
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec) && !ec;
}

// Whether two paths, existing or not, name the same file.
bool same_path(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ec;
  const auto ca = std::filesystem::weakly_canonical(std::filesystem::absolute(a), ec);
  const auto cb = std::filesystem::weakly_canonical(std::filesystem::absolute(b), ec);
  return same_file(a, b) || (!ec && ca == cb);
}

// The checks CLI11 cannot make: duration ranges, and output files that would overwrite
// an input (a --log naming the rootfs would destroy the image).
void check_test_options(const TestOptions& test) {
  check_seconds("--timeout", test.timeout, max_timeout_seconds, true);
  check_seconds("--grace", test.grace, max_grace_seconds, false);
  std::vector<std::pair<std::string, std::filesystem::path>> inputs{{"--kernel", test.kernel},
                                                                    {"--rootfs", test.rootfs}};
  for (const auto& disk : test.disks) {
    inputs.emplace_back("--disk", disk);
  }
  for (const auto& list : test.module_lists) {
    inputs.emplace_back("--modules-from", list);
  }
  std::vector<std::pair<std::string, std::filesystem::path>> outputs;
  for (const auto& [option, path] :
       {std::pair{std::string_view("--log"), &test.log},
        std::pair{std::string_view("--junit"), &test.junit},
        std::pair{std::string_view("--kunit-list"), &test.kunit_list}}) {
    if (*path) {
      for (const auto& [input_option, input] : inputs) {
        if (same_file(**path, input)) {
          throw Error(fmt::format(
              "{} {} is the file {} {} names: it would be overwritten; "
              "write the {} somewhere else",
              option, (*path)->string(), input_option, input.string(), option.substr(2)));
        }
      }
      for (const auto& [other_option, other] : outputs) {
        if (same_path(**path, other)) {
          throw Error(fmt::format("{} and {} are the same file {}: give each its own", other_option,
                                  option, other.string()));
        }
      }
      outputs.emplace_back(option, **path);
    }
  }
}

}  // namespace

// Flags whose default is on, with a --no-... negation.
const std::set<std::string_view, std::less<>> default_on_flags{"unload-check"};

CommandLine parse_command_line(const std::vector<std::string>& command_line) {
  CommandLine parsed;
  CLI::App app{
      "uml-helper: boots User-Mode Linux kernels for development and tests: UML in a "
      "session of its own, console captured and classified, nothing left behind."};
  app.name("uml-helper");
  app.set_version_flag("--version", "uml-helper 0.1.0");
  app.require_subcommand(1);
  app.footer(exit_code_table());

  auto& run = parsed.run;
  auto* run_cmd = app.add_subcommand(
      "run",
      "Boot interactively: the guest's shell on this terminal; exit status = the guest's. "
      "With stdin not a terminal (a pipe, a file), the guest shell runs the commands read "
      "from it, without prompt or echo, and powers off at their end");
  add_boot_options(*run_cmd, run);
  run_cmd
      ->add_option("--persist", run.persist,
                   "Keep the root filesystem's changes in this COW file across runs (the image "
                   "stays unchanged; the COW is tied to the image's size and mtime)")
      ->type_name("COWFILE");
  add_confine_flag(*run_cmd, run);
  run_cmd->footer(std::string(protocol_help) + "\n" + exit_code_table());

  auto& test = parsed.test;
  std::vector<std::string> argv_command;
  auto* test_cmd = app.add_subcommand(
      "test", "Boot, run a command in the guest, classify the result (see exit status)");
  add_boot_options(*test_cmd, test);
  auto* command_opt = test_cmd->add_option(
      "--command", test.command, "Shell command run in the guest with sh -c (default: true)");
  test_cmd->add_option("argv", argv_command, "Command and arguments after --, quoted for sh -c")
      ->excludes(command_opt);
  test_cmd->add_option("--name", test.name, "Test name for messages and JUnit")
      ->capture_default_str();
  test_cmd->add_option("--log", test.log, "Console log file (default: <work-dir>/console.log)")
      ->type_name("FILE");
  test_cmd->add_option("--junit", test.junit, "Write a JUnit XML report here")->type_name("FILE");
  // Ranges checked after parsing (check_test_options): CLI11's number checks let nan through.
  test_cmd
      ->add_option("--timeout", test.timeout,
                   fmt::format("Stop UML after SECONDS ({} to {}; 0: no timeout)",
                               min_timeout_seconds, max_timeout_seconds))
      ->type_name("SECONDS")
      ->capture_default_str();
  test_cmd
      ->add_option("--grace", test.grace,
                   fmt::format("Seconds between SIGTERM and SIGKILL when UML is stopped ({} to {})",
                               min_timeout_seconds, max_grace_seconds))
      ->type_name("SECONDS")
      ->capture_default_str();
  test_cmd->add_flag("--kunit", test.kunit,
                     "Parse KUnit's KTAP output from the console; every case must pass "
                     "(adds kunit.enable=1)");
  add_confine_flag(*test_cmd, test);
  test_cmd->add_flag("--fail-on-warn", test.fail_on_warn, "A kernel WARNING fails the test");
  test_cmd
      ->add_option("--kunit-list", test.kunit_list,
                   "After a boot with kunit.action=list, write the <suite>.<case> names KUnit "
                   "listed to FILE, one per line")
      ->type_name("FILE");
  test_cmd->add_option("--tail", test.tail, "Console lines shown when the test fails")
      ->capture_default_str();
  test_cmd
      ->add_option("--expect-finding", test.expect_findings,
                   fmt::format("A kernel finding this test expects (a negative test): it passes "
                               "only when the kernel reports one of this kind, whatever the "
                               "command's status; repeatable. KIND: {}",
                               fmt::join(finding_kinds(), ", ")))
      ->type_name("KIND")
      ->allow_extra_args(false)
      ->check(finding_kind_validator());
  test_cmd->add_flag("--unload-check,!--no-unload-check", test.unload_check,
                     "After the command, init removes the test's modules (--module, "
                     "--modules-from), the last loaded first; one it cannot remove fails the "
                     "test (exit 8). On by default");
  test_cmd
      ->add_option("--module-dir", test.module_dirs,
                   "Directory with the project's .ko files (with debug info), to decode the "
                   "stack traces of a failure, and the objects whose coverage data "
                   "--coverage-dir keeps; repeatable")
      ->type_name("DIR")
      ->allow_extra_args(false);
  test_cmd
      ->add_option("--coverage-dir", test.coverage_dir,
                   "Save the gcov data of the --module-dir objects (a kernel with "
                   "CONFIG_GCOV_KERNEL) to DIR after the test, each .gcda with its .gcno, and "
                   "DIR/status; DIR's contents are replaced. Init writes the data to a raw "
                   "disk the helper adds after the others")
      ->type_name("DIR");
  test_cmd->footer(std::string(protocol_help) +
                   "\nExample:\n  uml-helper test --kernel linux "
                   "--rootfs root.img --module hello -- grep -q hello /proc/modules\n\n" +
                   exit_code_table());

  auto& debug = parsed.debug;
  auto* debug_cmd = app.add_subcommand(
      "debug", "Boot under gdb (as run, or with --command as test); exit status = gdb's");
  add_boot_options(*debug_cmd, debug);
  debug_cmd->add_option("--command", debug.command,
                        "Shell command the guest runs before it powers off (default: a shell "
                        "on the console, as run)");
  add_gdb_options(*debug_cmd, debug.gdb, debug.gdb_script, debug.module_dirs, debug.gdb_args);
  debug_cmd->footer(std::string(debug_help) +
                    "\nExample:\n  uml-helper debug --kernel linux --rootfs root.img --module "
                    "hello --module-dir build/_uml/module/hello -- -ex 'break hello_init' "
                    "-ex run\n");

  auto& attach = parsed.attach;
  auto* attach_cmd = app.add_subcommand(
      "attach",
      "Attach gdb to the UML that 'uml-helper run --work-dir DIR' is running; exit status = "
      "gdb's");
  add_boot_file_option(*attach_cmd);
  attach_cmd->add_option("--work-dir", attach.work_dir, "The run's work directory")
      ->type_name("DIR")
      ->required();
  attach_cmd
      ->add_option("--kernel", attach.kernel,
                   "The kernel's executable, for symbols (default: the one the run started)")
      ->type_name("PATH");
  add_gdb_options(*attach_cmd, attach.gdb, attach.gdb_script, attach.module_dirs, attach.gdb_args);
  attach_cmd->add_flag("-v,--verbose", attach.verbose, "Print gdb's command line");
  attach_cmd->footer(std::string(debug_help) +
                     "\nThe guest stops while gdb is attached; 'detach' or quitting gdb leaves "
                     "it running.\n");

  auto& doctor = parsed.doctor;
  auto* doctor_cmd = app.add_subcommand(
      "doctor", "Check that UML can run here: kernel, guest RAM directory, ptrace, socket paths");
  doctor_cmd->add_option("--kernel", doctor.kernel, "The UML kernel executable to check");
  doctor_cmd->add_option("--mem", doctor.mem, "Guest RAM to find room for")->capture_default_str();
  doctor_cmd->add_option("--work-dir", doctor.work_dir, "Work directory to check")
      ->type_name("DIR");
  doctor_cmd->add_flag("--time-travel", doctor.time_travel,
                       "Also check CONFIG_UML_TIME_TRAVEL_SUPPORT");

  // --boot FILE: the description's options go in front of the command line's.
  const auto subcommands = app.get_subcommands([](CLI::App*) { return true; });
  OptionLookup lookup;
  lookup.kind = [&](std::string_view subcommand,
                    std::string_view name) -> std::optional<OptionKind> {
    const CLI::Option* opt = nullptr;
    for (auto* sub : subcommands) {
      if (sub->get_name() == subcommand) {
        opt = sub->get_option_no_throw("--" + std::string(name));
      }
    }
    if (opt == nullptr) {
      return std::nullopt;
    }
    if (opt->get_type_size() == 0) {
      // A flag that is on by default takes its 1/0 as a value ("--unload-check=0"): the
      // boot file's "unload-check=0" must turn it off, not merely leave it out.
      return default_on_flags.contains(name) ? OptionKind::Value : OptionKind::Flag;
    }
    return opt->get_items_expected_max() > 1 ? OptionKind::List : OptionKind::Value;
  };
  lookup.known = [&](std::string_view name) {
    for (auto* sub : subcommands) {
      if (sub->get_option_no_throw("--" + std::string(name)) != nullptr) {
        return true;
      }
    }
    return false;
  };
  auto args = expand_boot_files(command_line, lookup);

  // The words after `--` bypass CLI11, which would turn "[:space:]" into ":space:" and
  // split "[a,b]" at the comma: a guest command (test) or gdb (debug, attach) gets
  // exactly what was written. `run` has no such words: CLI11 rejects them.
  std::optional<std::vector<std::string>> after_dash;
  if (!args.empty() &&
      (args.front() == "test" || args.front() == "debug" || args.front() == "attach")) {
    if (const auto dash = std::find(args.begin(), args.end(), "--"); dash != args.end()) {
      after_dash.emplace(dash + 1, args.end());
      args.erase(dash, args.end());
    }
  }
  std::vector<char*> parse_argv{const_cast<char*>("uml-helper")};
  for (auto& arg : args) {
    parse_argv.push_back(arg.data());
  }

  try {
    app.parse(static_cast<int>(parse_argv.size()), parse_argv.data());
    if (after_dash && !after_dash->empty() && *test_cmd &&
        (command_opt->count() > 0 || !argv_command.empty())) {
      throw CLI::ExcludesError("--command", "argv");
    }
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    parsed.exit_status = status == 0 ? 0 : to_int(ExitCode::Error);
    return parsed;
  }

  using Command = CommandLine::Command;
  if (*run_cmd) {
    parsed.command = Command::Run;
  } else if (*debug_cmd) {
    parsed.command = Command::Debug;
    if (after_dash) {
      debug.gdb_args = std::move(*after_dash);
    }
  } else if (*attach_cmd) {
    parsed.command = Command::Attach;
    if (after_dash) {
      attach.gdb_args = std::move(*after_dash);
    }
  } else if (*test_cmd) {
    parsed.command = Command::Test;
    if (after_dash) {
      argv_command = std::move(*after_dash);
    }
    if (!argv_command.empty()) {
      test.command = shell_join(argv_command);
    }
    check_test_options(test);
    // A kind given twice (boot file and command line) is one expectation: init prints
    // one marker per name it gets.
    std::vector<std::string> kinds;
    for (auto& kind : test.expect_findings) {
      if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
        kinds.push_back(std::move(kind));
      }
    }
    test.expect_findings = std::move(kinds);
  } else {
    parsed.command = Command::Doctor;
  }
  return parsed;
}

int cli_main(int argc, char** argv) {
  const auto parsed = parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
  if (parsed.exit_status) {
    return *parsed.exit_status;
  }
  switch (parsed.command) {
    case CommandLine::Command::Run:
      return run_interactive(parsed.run);
    case CommandLine::Command::Test:
      return run_test(parsed.test);
    case CommandLine::Command::Debug:
      return run_debug(parsed.debug);
    case CommandLine::Command::Attach:
      return run_attach(parsed.attach);
    default:
      return run_doctor(parsed.doctor);
  }
}

}  // namespace uml
