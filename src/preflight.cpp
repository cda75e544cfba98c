#include "preflight.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "process/capture.hpp"
#include "process/files.hpp"
#include "process/landlock.hpp"
#include "text.hpp"

namespace uml {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

void check_kernel(const PreflightInput& input, PreflightReport& report) {
  const auto& kernel = *input.kernel;
  std::error_code ec;
  const auto status = fs::status(kernel, ec);
  if (ec || !fs::exists(status)) {
    report.findings.push_back({Severity::Fatal, "kernel", kernel.string() + ": no such file"});
    return;
  }
  if (!fs::is_regular_file(status)) {
    report.findings.push_back({Severity::Fatal, "kernel", kernel.string() + ": not a file"});
    return;
  }
  if (::access(kernel.c_str(), X_OK) != 0) {
    report.findings.push_back(
        {Severity::Fatal, "kernel",
         fmt::format("{}: not executable ({})", kernel.string(), errno_text(errno))});
    return;
  }
  if (const auto problem = kernel_format_problem(kernel)) {
    Finding finding{Severity::Fatal, "kernel", *problem};
    finding.caller_error = true;
    report.findings.push_back(finding);
    return;
  }
  std::string config_problem;
  if (input.probe_kernel || input.time_travel) {
    if (auto config = read_kernel_config(kernel)) {
      report.kernel_config = std::move(*config);
    } else {
      config_problem = config.error();
    }
  }
  std::string what = fmt::format("executable, {}", format_bytes(fs::file_size(kernel, ec)));
  if (report.kernel_config) {
    // "# Linux/um 6.12.117 Kernel Configuration"
    const auto& text = report.kernel_config->text;
    const auto pos = text.find("# Linux/um ");
    if (pos != std::string::npos) {
      const auto start = pos + 11;
      what = fmt::format("UML {}, {}", text.substr(start, text.find(' ', start) - start), what);
    }
  }
  report.findings.push_back(
      {Severity::Ok, "kernel", fmt::format("{} ({})", kernel.string(), what)});
  if (input.time_travel) {
    if (!report.kernel_config) {
      report.findings.push_back(
          {Severity::Warning, "time-travel",
           fmt::format("cannot tell whether the kernel has CONFIG_UML_TIME_TRAVEL_SUPPORT (no "
                       "--showconfig output and no .config beside it: {})",
                       config_problem)});
    } else if (config_value(report.kernel_config->text, "CONFIG_UML_TIME_TRAVEL_SUPPORT") != "y") {
      report.findings.push_back(
          {Severity::Fatal, "time-travel",
           fmt::format("--time-travel: the kernel was built without "
                       "CONFIG_UML_TIME_TRAVEL_SUPPORT (per {}); without it UML ignores "
                       "'time-travel' and the guest keeps real time. Add "
                       "CONFIG_UML_TIME_TRAVEL_SUPPORT=y to the kernel's configuration",
                       report.kernel_config->source)});
    } else {
      report.findings.push_back(
          {Severity::Ok, "time-travel", "the kernel has CONFIG_UML_TIME_TRAVEL_SUPPORT"});
    }
  }
}

void check_ram_dir(const PreflightInput& input, PreflightReport& report) {
  std::vector<std::string> rejected;
  for (const auto& candidate : ram_dir_candidates(input.getenv)) {
    if (const auto problem = ram_dir_problem(candidate.dir, input.mem_bytes)) {
      rejected.push_back(
          fmt::format("{} ({}): {}", candidate.label, candidate.dir.string(), *problem));
      continue;
    }
    report.ram_dir = candidate.dir;
    for (const auto& r : rejected) {
      report.findings.push_back({Severity::Note, "guest RAM", "skipped " + r});
    }
    struct statfs fs_info {};
    const bool tmpfs =
        ::statfs(candidate.dir.c_str(), &fs_info) == 0 && fs_info.f_type == TMPFS_MAGIC;
    report.findings.push_back(
        {Severity::Ok, "guest RAM",
         fmt::format("{} ({}{}): exec mmap works, room for mem={}", candidate.dir.string(),
                     candidate.label, tmpfs ? ", tmpfs" : ", not tmpfs: slower",
                     format_bytes(input.mem_bytes))});
    return;
  }
  std::string message = "no directory can hold the guest RAM file:";
  for (const auto& r : rejected) {
    message += "\n    " + r;
  }
  message +=
      "\n    set TMPDIR to a directory that allows exec mmap and has room for --mem (Docker: "
      "--shm-size and no noexec on /dev/shm)";
  report.findings.push_back({Severity::Fatal, "guest RAM", message});
}

void check_ptrace(PreflightReport& report) {
  std::string scope = "no Yama";
  if (const auto text = process::read_file("/proc/sys/kernel/yama/ptrace_scope")) {
    scope = "Yama ptrace_scope=" + std::string(trim(*text));
  }
  if (const auto problem = ptrace_problem()) {
    report.findings.push_back(
        {Severity::Fatal, "ptrace",
         fmt::format("{} ({}); UML needs ptrace on its own children: allow ptrace "
                     "(container: CAP_SYS_PTRACE or a seccomp profile that permits it; "
                     "ptrace_scope 3 forbids it until reboot)",
                     *problem, scope)});
    return;
  }
  report.findings.push_back({Severity::Ok, "ptrace", "PTRACE_TRACEME works (" + scope + ")"});
}

void check_cow_dirs(const PreflightInput& input, PreflightReport& report) {
  for (const auto& [dir, bytes] : input.cow_dirs) {
    struct statvfs info {};
    if (::statvfs(dir.c_str(), &info) != 0) {
      continue;  // the COW file's creation says why
    }
    const auto free_bytes = std::uint64_t{info.f_bavail} * info.f_frsize;
    if (const auto problem = cow_space_problem(dir, bytes, free_bytes)) {
      report.findings.push_back({Severity::Fatal, "COW files", *problem});
    } else {
      report.findings.push_back(
          {Severity::Ok, "COW files",
           fmt::format("{}: {} free, room for the COW files' {}", dir.string(),
                       format_bytes(free_bytes), format_bytes(bytes))});
    }
  }
}

void check_uml_dir(const PreflightInput& input, PreflightReport& report) {
  const auto length = socket_path_length(input.uml_dir, input.umid_length);
  if (length > max_socket_path) {
    report.findings.push_back(
        {Severity::Fatal, "uml_dir",
         fmt::format("{}: UML's socket paths would be {} bytes, over the limit of {}; use a "
                     "shorter --work-dir",
                     input.uml_dir.string(), length, max_socket_path)});
    return;
  }
  report.findings.push_back(
      {input.uml_dir_fallback ? Severity::Note : Severity::Ok, "uml_dir",
       fmt::format(
           "{} (socket paths {} bytes, limit {}){}", input.uml_dir.string(), length,
           max_socket_path,
           input.uml_dir_fallback ? "; the work dir's path was too long for UML's sockets" : "")});
}

}  // namespace

std::size_t socket_path_length(const fs::path& uml_dir, std::size_t umid_length) {
  return uml_dir.string().size() + 1 + umid_length + 1 + longest_socket_name.size();
}

UmlDirChoice choose_uml_dir(const fs::path& work_dir, std::size_t umid_length) {
  const auto preferred = work_dir / "u";
  if (socket_path_length(preferred, umid_length) <= max_socket_path) {
    return {preferred, false};
  }
  return {fs::path(fallback_uml_dir_template), true};
}

std::optional<std::string> mem_problem(std::uint64_t bytes, std::string_view meminfo) {
  for (const auto line : split_lines(meminfo)) {
    if (!line.starts_with("MemTotal:")) {
      continue;
    }
    // "MemTotal:       16318172 kB"
    const auto text = trim(line.substr(9));
    std::uint64_t kib = 0;
    if (std::from_chars(text.data(), text.data() + text.size(), kib).ec != std::errc{}) {
      return std::nullopt;
    }
    const std::optional<std::uint64_t> total = kib * 1024;
    if (total && bytes > *total) {
      return fmt::format(
          "{} is more than this host's RAM (MemTotal {}); the guest RAM is a host file "
          "that would fill up: use a --mem of at most {}",
          format_bytes(bytes), format_bytes(*total), format_bytes(*total));
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string> kernel_format_problem(const fs::path& kernel) {
  const int fd = ::open(kernel.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;  // access() and the launch say why
  }
  char magic[4] = {};
  const auto n = ::read(fd, magic, sizeof magic);
  ::close(fd);
  if (n == 4 && magic[0] == '\x7f' && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F') {
    return std::nullopt;
  }
  return fmt::format(
      "{}: not an ELF executable: is this the UML kernel `linux` (or `vmlinux`) of an "
      "ARCH=um build? Pass that file with --kernel",
      kernel.string());
}

std::optional<std::string> cow_space_problem(const fs::path& dir, std::uint64_t bytes,
                                             std::uint64_t free_bytes) {
  if (free_bytes >= bytes) {
    return std::nullopt;
  }
  return fmt::format(
      "{}: the filesystem has {} free, less than the COW files may grow to ({}, the size of "
      "their images); a full filesystem fails the guest's writes (a kernel panic or I/O "
      "errors): free space there, or use --work-dir on a filesystem with room",
      dir.string(), format_bytes(free_bytes), format_bytes(bytes));
}

std::vector<RamDirCandidate> ram_dir_candidates(const GetEnv& getenv) {
  std::vector<RamDirCandidate> out;
  for (const char* name : {"TMPDIR", "TMP", "TEMP"}) {
    const char* value = getenv(name);
    if (value != nullptr && *value != '\0') {
      out.push_back({fmt::format("${}", name), value});
    }
  }
  out.push_back({"/dev/shm", "/dev/shm"});
  out.push_back({"/tmp", "/tmp"});
  return out;
}

std::optional<std::string> ram_dir_problem(const fs::path& dir, std::uint64_t bytes) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return "not a directory";
  }
  // As UML does: a file without a name in the directory (O_TMPFILE, so that a SIGKILL
  // at any moment leaves nothing), else one unlinked at once, mapped with PROT_EXEC.
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    auto name = (dir / "uml-helper-probe-XXXXXX").string();
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) {
      return fmt::format("cannot create a file ({})", errno_text(errno));
    }
    ::unlink(name.c_str());
  }
  const long page = ::sysconf(_SC_PAGESIZE);
  std::optional<std::string> problem;
  if (::ftruncate(fd, page) != 0) {
    problem = fmt::format("cannot size a file ({})", errno_text(errno));
  } else {
    void* map =
        ::mmap(nullptr, static_cast<std::size_t>(page), PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
      problem = fmt::format("mmap with PROT_EXEC fails ({}): mounted noexec?", errno_text(errno));
    } else {
      ::munmap(map, static_cast<std::size_t>(page));
    }
  }
  ::close(fd);
  if (problem) {
    return problem;
  }
  struct statvfs info {};
  if (::statvfs(dir.c_str(), &info) == 0) {
    const auto free_bytes = std::uint64_t{info.f_bavail} * info.f_frsize;
    if (free_bytes < bytes) {
      return fmt::format("{} free, less than mem={}", format_bytes(free_bytes),
                         format_bytes(bytes));
    }
  }
  return std::nullopt;
}

std::optional<std::string> ptrace_problem() {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    return fmt::format("fork failed ({})", errno_text(errno));
  }
  if (pid == 0) {
    // Dies with the helper, even one SIGKILLed before it could reap it: a stopped
    // orphan would linger, and hold whatever it inherited. Its stdio leaves the caller's
    // pipes (ctest and ninja read them to their end).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(1);
    }
    if (const int null = ::open("/dev/null", O_RDWR); null >= 0) {
      for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
        ::dup2(null, fd);
      }
      if (null > STDERR_FILENO) {
        ::close(null);
      }
    }
    // As UML's children do: ask to be traced, then stop for the tracer.
    if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) {
      ::_exit(errno == 0 ? 1 : (errno & 0x7f));
    }
    ::raise(SIGSTOP);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return fmt::format("waitpid failed ({})", errno_text(errno));
    }
  }
  if (WIFSTOPPED(status)) {
    // Only a traced child's stop is reported without WUNTRACED: ptrace works.
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return std::nullopt;
  }
  if (WIFEXITED(status)) {
    return fmt::format("PTRACE_TRACEME fails ({})", errno_text(WEXITSTATUS(status)));
  }
  if (WIFSIGNALED(status)) {
    return fmt::format("a child calling PTRACE_TRACEME was killed by signal {} (seccomp?)",
                       WTERMSIG(status));
  }
  return "PTRACE_TRACEME test ended oddly";
}

process::Result<KernelConfig> read_kernel_config(const fs::path& kernel) {
  // con=null ssl=null: should a kernel not know --showconfig and boot, no xterm opens.
  auto text = process::capture_output(kernel, {"--showconfig", "con=null", "ssl=null"},
                                      std::chrono::seconds(5));
  if (text && text->find("CONFIG_") != std::string::npos) {
    return KernelConfig{std::move(*text), kernel.filename().string() + " --showconfig"};
  }
  const auto showconfig =
      text ? fmt::format("`{} --showconfig` printed no configuration", kernel.filename().string())
           : text.error();
  const auto beside = kernel.parent_path() / ".config";
  auto config = process::read_file(beside);
  if (!config) {
    return process::Failure{showconfig + "; " + config.error()};
  }
  return KernelConfig{std::move(*config), beside.string()};
}

std::string config_value(const std::string& config, const std::string& symbol) {
  for (const auto line : split_lines(config)) {
    if (line.starts_with(symbol) && line.size() > symbol.size() && line[symbol.size()] == '=') {
      return std::string(line.substr(symbol.size() + 1));
    }
  }
  return {};
}

bool PreflightReport::ok() const {
  for (const auto& f : findings) {
    if (f.severity == Severity::Fatal) {
      return false;
    }
  }
  return true;
}

std::string PreflightReport::format(bool with_ok) const {
  std::string out;
  for (const auto& f : findings) {
    if (!with_ok && (f.severity == Severity::Ok || f.severity == Severity::Note)) {
      continue;
    }
    const char* tag = f.severity == Severity::Ok        ? "ok  "
                      : f.severity == Severity::Note    ? "note"
                      : f.severity == Severity::Warning ? "warn"
                                                        : "FAIL";
    out += fmt::format("  {}  {}: {}\n", tag, f.topic, f.message);
  }
  return out;
}

PreflightReport preflight(const PreflightInput& input) {
  PreflightReport report;
  if (input.kernel) {
    check_kernel(input, report);
  } else {
    report.findings.push_back({Severity::Note, "kernel", "not checked (no --kernel)"});
  }
  check_ram_dir(input, report);
  check_ptrace(report);
  check_uml_dir(input, report);
  check_cow_dirs(input, report);
  return report;
}

Finding landlock_finding() {
  const auto landlock = process::landlock_support();
  return landlock.problem
             ? Finding{Severity::Warning, "landlock",
                       fmt::format("{}: run and test cannot confine UML, so the guest can mount "
                                   "any host path with hostfs; enable Landlock on the host",
                                   *landlock.problem)}
             : Finding{Severity::Ok, "landlock",
                       fmt::format("ABI {}: run and test confine UML (and hostfs) to the "
                                   "boot's files",
                                   landlock.abi)};
}

}  // namespace uml
