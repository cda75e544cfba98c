#include "commands.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "affinity.hpp"
#include "boot_file.hpp"
#include "cmdline.hpp"
#include "confine.hpp"
#include "console.hpp"
#include "debug.hpp"
#include "error.hpp"
#include "junit.hpp"
#include "ktap.hpp"
#include "lpj.hpp"
#include "outcome.hpp"
#include "preflight.hpp"
#include "process.hpp"
#include "terminal.hpp"
#include "text.hpp"

namespace uml {

namespace fs = std::filesystem;

namespace {

// Writes all of text, retrying after signals; false (errno set) when the descriptor fails.
bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const auto n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::uint64_t mem_bytes(const std::string& mem) {
  const auto bytes = parse_size(mem);
  if (!bytes) {
    throw Error(fmt::format("--mem {:?}: expected a size such as 128M, 1G or 65536K", mem));
  }
  return *bytes;
}

fs::path existing_file(const fs::path& path, std::string_view option) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) && !fs::is_block_file(path, ec)) {
    throw Error(fmt::format("{} {}: no such image file", option, path.string()));
  }
  return fs::absolute(path);
}

// The files of one boot: work dir, uml_dir, COW files. Removes what it made when done.
class Workspace {
 public:
  Workspace(const BootOptions& options, const std::optional<fs::path>& persist)
      : keep_cow_(options.keep_cow) {
    // Images first: a bad path must not leave directories behind.
    const auto rootfs = existing_file(options.rootfs, "--rootfs");
    std::vector<fs::path> disks;
    for (const auto& disk : options.disks) {
      disks.push_back(existing_file(disk, "--disk"));
    }
    if (options.work_dir) {
      dir_ = fs::absolute(*options.work_dir);
      std::error_code ec;
      fs::create_directories(dir_, ec);
      if (ec) {
        throw Error(fmt::format("--work-dir {}: {}", dir_.string(), ec.message()));
      }
    } else {
      // /tmp rather than $TMPDIR: short paths keep UML's socket paths in bounds.
      std::string tmpl = "/tmp/uml-helper-XXXXXX";
      if (::mkdtemp(tmpl.data()) == nullptr) {
        throw Error(
            fmt::format("cannot create a work directory in /tmp: {}", std::strerror(errno)));
      }
      dir_ = tmpl;
      owns_dir_ = true;
    }
    umid_ = fmt::format("uh{}-{}", ::getpid(), random_hex(4));
    const auto choice = choose_uml_dir(dir_, umid_.size());
    uml_dir_ = choice.dir;
    uml_dir_fallback_ = choice.fallback;
    std::error_code ec;
    fs::create_directories(uml_dir_, ec);
    if (choice.fallback) {
      fs::permissions(uml_dir_, fs::perms::owner_all, ec);
    }

    disks_.push_back({rootfs, {}});
    if (persist) {
      disks_[0].cow = fs::absolute(*persist);
    } else {
      disks_[0].cow = dir_ / fmt::format("{}-ubd0.cow", umid_);
      temporary_cows_.push_back(disks_[0].cow);
    }
    for (const auto& disk : disks) {
      const auto cow = dir_ / fmt::format("{}-ubd{}.cow", umid_, disks_.size());
      disks_.push_back({disk, cow});
      temporary_cows_.push_back(cow);
    }
  }

  ~Workspace() { clean(false); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  // Removes UML's umid directory (a SIGKILLed UML leaves it) and the temporary COW
  // files; an auto-created work dir goes too unless it holds a log worth keeping.
  void clean(bool keep_dir) {
    if (cleaned_) {
      return;
    }
    cleaned_ = true;
    remove_leftovers(leftovers(keep_dir));
  }

  // What clean(keep_dir) removes, in its order. With keep_dir false, the guardian's
  // list (process.hpp): it removes them should the helper be killed before it can.
  std::vector<Leftover> leftovers(bool keep_dir = false) const {
    std::vector<Leftover> paths{{uml_dir_ / umid_, true}};
    if (!uml_dir_fallback_) {
      paths.push_back({uml_dir_, false});  // only when empty
    }
    if (!keep_cow_) {
      for (const auto& cow : temporary_cows_) {
        paths.push_back({cow, true});
      }
    }
    if (owns_dir_ && !keep_dir && !keep_cow_) {
      paths.push_back({dir_, true});
    }
    return paths;
  }

  const fs::path& dir() const { return dir_; }
  const std::string& umid() const { return umid_; }
  const fs::path& uml_dir() const { return uml_dir_; }
  bool uml_dir_fallback() const { return uml_dir_fallback_; }
  const std::vector<Disk>& disks() const { return disks_; }
  bool owns_dir() const { return owns_dir_; }

 private:
  fs::path dir_;
  bool owns_dir_ = false;
  std::string umid_;
  fs::path uml_dir_;
  bool uml_dir_fallback_ = false;
  std::vector<Disk> disks_;
  std::vector<fs::path> temporary_cows_;
  bool keep_cow_ = false;
  bool cleaned_ = false;
};

// Runs the host checks; throws nothing, returns the report.
PreflightReport check_host(const BootOptions& options, const Workspace& ws) {
  PreflightInput input;
  input.kernel = options.kernel;
  input.mem_bytes = mem_bytes(options.mem);
  input.uml_dir = ws.uml_dir();
  input.umid_length = ws.umid().size();
  input.uml_dir_fallback = ws.uml_dir_fallback();
  input.time_travel = options.time_travel;
  input.getenv = [](const char* name) { return std::getenv(name); };
  return preflight(input);
}

// Prints the findings and says whether UML can start. A kernel that lacks what was asked
// for is the caller's error (exit 2), not the host's: it must not pass for a skip.
bool report_preflight(const PreflightReport& report, const Workspace& ws) {
  for (const auto& finding : report.findings) {
    if (finding.severity == Severity::Fatal && finding.topic == "time-travel") {
      throw Error(finding.message);
    }
  }
  if (!report.ok()) {
    fmt::print(stderr, "uml-helper: UML cannot run here:\n{}", report.format(true));
    return false;
  }
  const auto problems = report.format(false);
  if (!problems.empty()) {
    fmt::print(stderr, "uml-helper: warning:\n{}", problems);
  }
  if (ws.uml_dir_fallback()) {
    fmt::print(stderr,
               "uml-helper: note: the work dir's path is too long for UML's sockets; using "
               "uml_dir={}\n",
               ws.uml_dir().string());
  }
  return true;
}

BootSpec boot_spec(const BootOptions& options, const Workspace& ws, Mode mode) {
  BootSpec spec;
  spec.mode = mode;
  spec.disks = ws.disks();
  spec.mem = options.mem;
  if (options.hostfs) {
    std::error_code ec;
    if (!fs::is_directory(*options.hostfs, ec)) {
      throw Error(fmt::format("--hostfs {}: not a directory", options.hostfs->string()));
    }
    spec.hostfs = fs::absolute(*options.hostfs);
  }
  spec.append = options.append;
  spec.env = options.env;
  spec.modules = options.modules;
  for (const auto& list : options.module_lists) {
    const auto names = read_module_list(list);
    spec.modules.insert(spec.modules.end(), names.begin(), names.end());
  }
  spec.nonce = random_hex(16);
  spec.umid = ws.umid();
  spec.uml_dir = ws.uml_dir();
  spec.time_travel = options.time_travel;
  // Time travel runs the delay loop in virtual time: the host's value means nothing.
  if (!options.time_travel) {
    spec.lpj = cached_lpj(options.kernel);
  }
  return spec;
}

// Confines UML with Landlock to what the boot needs, so hostfs (which runs in UML with
// the user's rights) cannot reach other host paths. The guest RAM file goes to a
// private directory inside the chosen RAM directory, which alone is writable there.
class Confined {
 public:
  Confined(const BootOptions& options, const Workspace& ws, const BootSpec& spec,
           const std::optional<fs::path>& ram_dir)
      : tmpdir_(ram_dir) {
    if (options.no_confine) {
      return;
    }
    const auto support = landlock_support();
    if (support.problem) {
      fmt::print(stderr,
                 "uml-helper: warning: Landlock unavailable: hostfs is not confined to {} "
                 "(the guest can mount any host path this user can reach): {}\n",
                 spec.hostfs ? spec.hostfs->string() : std::string("any directory"),
                 *support.problem);
      return;
    }
    ConfineInput input;
    input.kernel = fs::absolute(options.kernel);
    input.hostfs = spec.hostfs;
    input.write_dirs = {ws.dir(), ws.uml_dir()};
    for (const auto& disk : ws.disks()) {
      input.images.push_back(disk.base);
      input.write_dirs.push_back(disk.cow.parent_path());  // UML creates the COW file
    }
    if (ram_dir) {
      std::string tmpl = (*ram_dir / "uml-helper-XXXXXX").string();
      if (::mkdtemp(tmpl.data()) == nullptr) {
        throw Error(fmt::format("cannot create a directory for the guest RAM in {}: {}",
                                ram_dir->string(), std::strerror(errno)),
                    ExitCode::Skipped);
      }
      own_tmpdir_ = tmpl;
      tmpdir_ = own_tmpdir_;
      input.write_dirs.push_back(own_tmpdir_);
    }
    ruleset_.emplace(confine_rules(input));
  }

  ~Confined() { remove_leftovers(leftovers()); }
  Confined(const Confined&) = delete;
  Confined& operator=(const Confined&) = delete;

  // TMPDIR for UML: where the guest RAM file goes.
  const std::optional<fs::path>& tmpdir() const { return tmpdir_; }
  // What the destructor removes, for the guardian.
  std::vector<Leftover> leftovers() const {
    return own_tmpdir_.empty() ? std::vector<Leftover>{}
                               : std::vector<Leftover>{{own_tmpdir_, true}};
  }
  int ruleset_fd() const { return ruleset_ ? ruleset_->fd() : -1; }

 private:
  std::optional<fs::path> tmpdir_;
  fs::path own_tmpdir_;
  std::optional<Confinement> ruleset_;
};

// What run and test launch alike: the Landlock ruleset, what the boot leaves unless
// the helper removes it (the guardian's list), and the CPU UML runs on. The claim holds
// that CPU for this guest until it is destroyed, so it must outlive the boot.
CpuClaim prepare_launch(LaunchSpec& launch, const BootOptions& options, const Workspace& ws,
                        const Confined& confined) {
  launch.ruleset_fd = confined.ruleset_fd();
  launch.leftovers = ws.leftovers();
  const auto more = confined.leftovers();
  launch.leftovers.insert(launch.leftovers.end(), more.begin(), more.end());
  auto cpu = options.no_pin ? CpuClaim() : CpuClaim::any();
  launch.cpu = cpu.cpu().value_or(-1);
  return cpu;
}

std::string command_line(const fs::path& kernel, const std::vector<std::string>& args) {
  std::vector<std::string> argv{kernel.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return shell_join(argv);
}

// The log file: every console byte, as it comes.
class LogFile {
 public:
  explicit LogFile(const fs::path& path) : path_(path) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      throw Error(fmt::format("--log {}: {}", path.string(), std::strerror(errno)));
    }
  }
  ~LogFile() { ::close(fd_); }
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  void write(std::string_view text) {
    if (!write_all(fd_, text)) {
      if (!failed_) {
        fmt::print(stderr, "uml-helper: warning: cannot write {}: {}\n", path_.string(),
                   std::strerror(errno));
      }
      failed_ = true;  // keep supervising UML; the console is still in memory
    }
  }

 private:
  fs::path path_;
  int fd_ = -1;
  bool failed_ = false;
};

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

// The part of the console that explains a failure: from just before the first kernel
// crash, else the guest command's output (after UML-BOOTED), else the end of the boot.
void print_excerpt(const std::string& console, const ConsoleFindings& findings, bool warnings,
                   std::size_t tail) {
  const auto lines = split_lines(console);
  std::size_t first = lines.size() > tail ? lines.size() - tail : 0;
  const auto limit = std::max<std::size_t>(tail, 200);
  if (const auto problem = findings.first_problem_line(warnings)) {
    const auto from = *problem > 5 ? *problem - 5 : 0;
    if (lines.size() - from <= limit) {
      first = std::min(first, from);
    }
  } else if (findings.booted && lines.size() - findings.booted_line <= limit) {
    first = findings.booted_line;
  }
  fmt::print("---- console{} ----\n",
             first > 0 ? fmt::format(" (lines {}-{} of {})", first + 1, lines.size(), lines.size())
                       : std::string());
  for (auto i = first; i < lines.size(); ++i) {
    fmt::print("{}\n", lines[i]);
  }
  fmt::print("---- end of console ----\n");
}

// Records the running UML for `uml-helper attach` while it lives.
class InstanceRecord {
 public:
  explicit InstanceRecord(fs::path file) : file_(std::move(file)) {}
  ~InstanceRecord() { remove(); }
  InstanceRecord(const InstanceRecord&) = delete;
  InstanceRecord& operator=(const InstanceRecord&) = delete;

  void write(const Instance& instance) {
    pid_ = instance.pid;
    const auto tmp = file_.string() + ".tmp";
    const auto text = format_instance(instance);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      return;  // attach then says no instance runs; the boot itself is fine
    }
    const bool ok = write_all(fd, text);
    ::close(fd);
    std::error_code ec;
    if (ok) {
      fs::rename(tmp, file_, ec);  // whole or nothing for a reader
    } else {
      fs::remove(tmp, ec);
    }
  }

  // Only our own record: another run in the same work dir may have replaced it.
  void remove() {
    if (pid_ == 0) {
      return;
    }
    if (const auto text = read_file(file_.string())) {
      if (const auto recorded = parse_instance(*text); recorded && recorded->pid == pid_) {
        std::error_code ec;
        fs::remove(file_, ec);
      }
    }
    pid_ = 0;
  }

 private:
  fs::path file_;
  pid_t pid_ = 0;
};

fs::path helper_executable() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec);
}

GdbSetup gdb_setup(const std::optional<fs::path>& script, const std::vector<fs::path>& module_dirs,
                   const std::vector<std::string>& user_args) {
  GdbSetup setup;
  setup.script = find_gdb_script(script, helper_executable(), UML_SOURCE_GDB_SCRIPT);
  for (const auto& dir : module_dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      throw Error(fmt::format("--module-dir {}: not a directory", dir.string()));
    }
    setup.module_dirs.push_back(fs::absolute(dir));
  }
  setup.user_args = user_args;
  return setup;
}

// Without debug information gdb knows functions but no source lines, types or locals.
void warn_without_debug_info(const fs::path& kernel) {
  const auto config = read_kernel_config(kernel);
  if (config && config_value(config->text, "CONFIG_DEBUG_INFO") != "y") {
    fmt::print(stderr,
               "uml-helper: warning: {} was built without CONFIG_DEBUG_INFO (per {}): gdb "
               "will show no source lines, types or local variables. Add a fragment with "
               "CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y to the kernel "
               "(uml_add_kernel(... CONFIG_FRAGMENTS <file>)); the minimal configuration has "
               "it\n",
               kernel.string(), config->source);
  }
}

// gdb with the helper's environment: SHELL=/bin/sh because gdb starts the kernel through
// $SHELL and quotes its arguments for a POSIX shell.
int run_gdb(const fs::path& gdb, const std::vector<std::string>& args,
            const std::optional<fs::path>& tmpdir, bool verbose) {
  if (verbose) {
    std::vector<std::string> argv{gdb.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    fmt::print(stderr, "uml-helper: {}\n", shell_join(argv));
  }
  ::setenv("SHELL", "/bin/sh", 1);
  ForegroundResult result;
  {
    TerminalGuard terminal;
    result = run_foreground(gdb, args, tmpdir);
  }
  if (result.leftovers > 0) {
    fmt::print(stderr,
               "uml-helper: gdb left {} process(es) running (a UML it detached from); "
               "stopped them\n",
               result.leftovers);
  }
  if (!result.survivors.empty()) {
    fmt::print(stderr, "uml-helper: warning: {} process(es) could not be killed\n",
               result.survivors.size());
  }
  return result.status;
}

// The cases a kunit.action=list boot listed, one "<suite>.<case>" per line, written whole
// or not at all; names that kunit.filter_glob could not select are left out, with a warning.
void write_kunit_list(const fs::path& path, const KunitListing& listing) {
  for (const auto& name : listing.unselectable) {
    fmt::print(stderr,
               "uml-helper: warning: KUnit case {:?} left out: only letters, digits, '_' and '-' "
               "can be selected with kunit.filter_glob\n",
               name);
  }
  std::string text;
  for (const auto& name : listing.cases) {
    text += name + "\n";
  }
  const auto tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || !write_all(fd, text)) {
    const auto error = std::strerror(errno);
    if (fd >= 0) {
      ::close(fd);
    }
    throw Error(fmt::format("--kunit-list {}: {}", path.string(), error));
  }
  ::close(fd);
  fs::rename(tmp, path);
}

int exit_for_signal(int sig) {
  return to_int(sig == SIGINT   ? ExitCode::Interrupted
                : sig == SIGHUP ? ExitCode::Hangup
                                : ExitCode::Terminated);
}

}  // namespace

int run_test(const TestOptions& options) {
  mem_bytes(options.mem);
  Workspace ws(options, std::nullopt);
  const auto report = check_host(options, ws);
  if (!report_preflight(report, ws)) {
    ws.clean(false);
    return to_int(ExitCode::Skipped);
  }
  auto spec = boot_spec(options, ws, Mode::Test);
  spec.command = options.command;
  spec.kunit = options.kunit;
  const auto args = kernel_arguments(spec);

  const auto log_path = options.log ? fs::absolute(*options.log) : ws.dir() / "console.log";
  LogFile log(log_path);
  log.write(fmt::format("# uml-helper: {}\n", command_line(options.kernel, args)));
  if (options.verbose) {
    fmt::print("uml-helper: {}\n", command_line(options.kernel, args));
    std::fflush(stdout);
  }

  Confined confined(options, ws, spec, report.ram_dir);
  ConsoleBuffer console;
  LaunchSpec launch{options.kernel, args, confined.tmpdir(), false};
  const auto cpu = prepare_launch(launch, options, ws, confined);
  log.write(cpu.cpu() ? fmt::format("# uml-helper: UML runs on CPU {}\n", *cpu.cpu())
                      : std::string("# uml-helper: UML runs on any CPU\n"));
  SuperviseOptions supervise;
  supervise.timeout = to_ms(options.timeout);
  supervise.grace = to_ms(options.grace);
  supervise.on_output = [&](std::string_view chunk) {
    console.append(chunk);
    log.write(chunk);
    if (options.verbose) {
      std::fwrite(chunk.data(), 1, chunk.size(), stdout);
      std::fflush(stdout);
    }
  };
  const auto run = launch_and_supervise(launch, supervise);

  const auto text = console.text();
  if (!options.time_travel) {
    remember_lpj(options.kernel, text);
  }
  const auto findings = classify_console(text, spec.nonce);
  std::optional<KtapReport> kunit;
  if (options.kunit) {
    kunit = parse_ktap(text);
  }
  VerdictOptions verdict;
  verdict.fail_on_warn = options.fail_on_warn;
  verdict.kunit = kunit ? &*kunit : nullptr;
  auto outcome = decide(findings, run.facts, verdict);
  if (run.killed) {
    outcome.details.push_back(
        "UML was killed with SIGKILL (it had not stopped on SIGTERM, or a second signal came)");
  }
  if (run.leftovers > 0) {
    outcome.details.push_back(
        fmt::format("{} process(es) of UML's session outlived it and were killed", run.leftovers));
  }
  if (!run.survivors.empty()) {
    outcome.details.push_back(fmt::format(
        "warning: {} process(es) of UML's session could not be killed", run.survivors.size()));
  }

  log.write(fmt::format("\n# uml-helper: {} (exit {}): {}\n# uml-helper: {}\n",
                        describe(outcome.code), to_int(outcome.code), outcome.summary,
                        describe_end(run.facts)));
  if (options.junit) {
    JunitInput junit{options.name, &outcome, kunit ? &*kunit : nullptr, text, run.seconds};
    write_junit(*options.junit, junit);
  }
  if (options.kunit_list && outcome.code == ExitCode::Passed) {
    write_kunit_list(*options.kunit_list, parse_kunit_listing(text));
  }

  const bool passed = outcome.code == ExitCode::Passed;
  if (passed) {
    fmt::print("uml-helper: {}: {} ({:.2f} s)\n", options.name, outcome.summary, run.seconds);
  } else {
    if (!options.verbose) {
      print_excerpt(text, findings, options.fail_on_warn, options.tail);
    }
    fmt::print("uml-helper: {}: FAILED ({}, exit {}): {} ({:.2f} s)\n", options.name,
               describe(outcome.code), to_int(outcome.code), outcome.summary, run.seconds);
  }
  for (const auto& line : outcome.details) {
    fmt::print("uml-helper:   {}\n", line);
  }
  const bool keep = !passed && !options.log;
  if (!passed || options.log || !ws.owns_dir()) {
    fmt::print("uml-helper: console log: {}\n", log_path.string());
  }
  std::fflush(stdout);
  ws.clean(keep);
  return to_int(outcome.code);
}

int run_interactive(const RunOptions& options) {
  mem_bytes(options.mem);
  Workspace ws(options, options.persist);
  const auto report = check_host(options, ws);
  if (!report_preflight(report, ws)) {
    ws.clean(false);
    return to_int(ExitCode::Skipped);
  }
  // No terminal to type on (a pipe, a file, /dev/null, an IDE's build): the guest shell
  // runs what stdin holds, as sh does, instead of waiting for a person.
  const bool script = ::isatty(STDIN_FILENO) == 0;
  const auto spec = boot_spec(options, ws, script ? Mode::Script : Mode::Run);
  const auto args = kernel_arguments(spec);
  if (options.verbose) {
    fmt::print(stderr, "uml-helper: {}\n", command_line(options.kernel, args));
  }
  if (script) {
    fmt::print(stderr,
               "uml-helper: stdin is not a terminal: the guest shell runs the commands it "
               "reads from there, then powers off\n");
  }

  SuperviseResult run;
  {
    Confined confined(options, ws, spec, report.ram_dir);
    InstanceRecord record(ws.dir() / instance_file_name);
    TerminalGuard terminal;
    LaunchSpec launch{options.kernel, args, confined.tmpdir(), !script, true};
    launch.forward_input = script;
    const auto cpu = prepare_launch(launch, options, ws, confined);
    SuperviseOptions supervise;
    supervise.on_start = [&](pid_t pid) {
      record.write({pid, fs::absolute(options.kernel), ws.umid()});
    };
    ScriptOutput output(spec.nonce);
    if (script) {
      // A reader that went away (EPIPE) is no reason to stop the guest: failures are ignored.
      supervise.on_output = [&](std::string_view chunk) {
        write_all(STDOUT_FILENO, output.feed(chunk));
      };
      supervise.input_ready = [&] { return output.ready(); };
    }
    run = launch_and_supervise(launch, supervise);
    write_all(STDOUT_FILENO, output.finish());
  }
  ws.clean(false);
  if (run.facts.helper_signal) {
    fmt::print(stderr, "uml-helper: interrupted by {}; UML was stopped\n",
               signal_name(*run.facts.helper_signal));
    return exit_for_signal(*run.facts.helper_signal);
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
  mem_bytes(options.mem);
  Workspace ws(options, std::nullopt);
  const auto report = check_host(options, ws);
  if (!report_preflight(report, ws)) {
    ws.clean(false);
    return to_int(ExitCode::Skipped);
  }
  warn_without_debug_info(options.kernel);
  auto spec = boot_spec(options, ws, options.command ? Mode::Test : Mode::Run);
  if (options.command) {
    spec.command = *options.command;
  }
  const auto args = kernel_arguments(spec);
  const auto status = run_gdb(gdb, gdb_debug_arguments(setup, fs::absolute(options.kernel), args),
                              report.ram_dir, options.verbose);
  ws.clean(false);
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
  // Not fatal: UML boots without it, but hostfs then reaches every host path.
  const auto landlock = landlock_support();
  report.findings.push_back(
      landlock.problem
          ? Finding{Severity::Warning, "landlock",
                    fmt::format("{}: run and test cannot confine UML, so the guest can mount "
                                "any host path with hostfs; enable Landlock on the host",
                                *landlock.problem)}
          : Finding{Severity::Ok, "landlock",
                    fmt::format("ABI {}: run and test confine UML (and hostfs) to the boot's "
                                "files",
                                landlock.abi)});
  fmt::print("{}", report.format(true));
  if (!report.ok()) {
    fmt::print("uml-helper: UML cannot run here (exit {})\n", to_int(ExitCode::Skipped));
    return to_int(ExitCode::Skipped);
  }
  fmt::print("uml-helper: UML can run here\n");
  return to_int(ExitCode::Passed);
}

}  // namespace uml
