#include "process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <limits>
#include <thread>
#include <tuple>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <fmt/format.h>

#include "confine.hpp"
#include "error.hpp"
#include "text.hpp"

namespace bp = boost::process;

namespace uml {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// --- signals -------------------------------------------------------------------------

int signal_pipe_write = -1;

extern "C" void on_signal(int sig) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] const auto n = ::write(signal_pipe_write, &byte, 1);
  errno = saved;
}

// SIGINT, SIGTERM, SIGHUP and SIGCHLD become bytes on a pipe that poll() watches
// (self-pipe), for as long as the object lives.
class SignalWatch {
 public:
  static constexpr std::array signals{SIGINT, SIGTERM, SIGHUP, SIGCHLD};

  SignalWatch() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      throw Error(fmt::format("pipe2: {}", std::strerror(errno)));
    }
    read_fd_ = fds[0];
    signal_pipe_write = fds[1];
    struct sigaction action {};
    action.sa_handler = on_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < signals.size(); ++i) {
      // Installed even where the parent left a signal ignored (a background job's SIGINT).
      ::sigaction(signals[i], &action, &old_[i]);
    }
  }

  ~SignalWatch() {
    for (std::size_t i = 0; i < signals.size(); ++i) {
      ::sigaction(signals[i], &old_[i], nullptr);
    }
    ::close(signal_pipe_write);
    signal_pipe_write = -1;
    ::close(read_fd_);
  }

  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

  int fd() const { return read_fd_; }

  // The stop signals received since the last call (SIGCHLD only wakes poll up).
  std::vector<int> take() {
    std::vector<int> stops;
    unsigned char buffer[64];
    ssize_t n = 0;
    while ((n = ::read(read_fd_, buffer, sizeof buffer)) > 0) {
      for (ssize_t i = 0; i < n; ++i) {
        if (buffer[i] != SIGCHLD) {
          stops.push_back(buffer[i]);
        }
      }
    }
    return stops;
  }

 private:
  int read_fd_ = -1;
  std::array<struct sigaction, signals.size()> old_{};
};

// --- the child's setup ---------------------------------------------------------------

// Runs in the forked child before exec; only async-signal-safe calls.
struct SessionSetup : bp::extend::handler {
  pid_t parent;
  bool allow_debugger = false;
  int ruleset_fd = -1;   // made before the fork: allocating after it is unsafe
  int guardian_fd = -1;  // the helper's end of the guardian's socket; -1: none
  int cpu = -1;          // pin to this CPU; -1: any

  explicit SessionSetup(pid_t parent_pid, bool allow_debugger_attach = false,
                        int landlock_ruleset = -1, int guardian = -1, int pin_cpu = -1)
      : parent(parent_pid),
        allow_debugger(allow_debugger_attach),
        ruleset_fd(landlock_ruleset),
        guardian_fd(guardian),
        cpu(pin_cpu) {}

  template <class Executor>
  void on_exec_setup(Executor& exec) const {
    // UML's panic path does kill(0, SIGTERM): in a session (and process group) of its
    // own that reaches UML's processes only, never the helper, ninja or ctest.
    if (::setsid() < 0) {
      exec.set_error(std::error_code(errno, std::system_category()), "setsid");
      ::_exit(127);
    }
    if (guardian_fd >= 0) {
      // From here rather than from the helper after the launch: the guardian knows the
      // session before UML runs, whenever the helper dies. Close-on-exec: UML never has it.
      char message[2 + std::numeric_limits<pid_t>::digits10 + 2] = {'S'};
      const auto end = std::to_chars(message + 1, message + sizeof message - 1, ::getpid()).ptr;
      *end = '\0';
      [[maybe_unused]] const auto n =
          ::send(guardian_fd, message, static_cast<std::size_t>(end + 1 - message), MSG_NOSIGNAL);
    }
    if (cpu >= 0) {
      // Before exec: UML's threads and stub processes inherit it. A failure leaves
      // UML unpinned, only slower.
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      ::sched_setaffinity(0, sizeof set, &set);
    }
    // A panicking UML aborts; a core dump of the guest's RAM is not wanted.
    const struct rlimit no_core { 0, 0 };
    ::setrlimit(RLIMIT_CORE, &no_core);
    // UML dies with the helper, even when the helper is SIGKILLed. Armed after setsid;
    // the getppid() check closes the race with a parent that died just before.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    if (allow_debugger) {
      // Kept across exec (Yama ties it to the task); fails harmlessly without Yama.
      ::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD}) {
      ::signal(sig, SIG_DFL);
    }
    // Last: UML (and hostfs, which runs in it) reaches only what the rules allow. A
    // ruleset that cannot be applied stops the launch rather than run UML unconfined.
    if (ruleset_fd >= 0) {
      if (const int error = apply_confinement(ruleset_fd); error != 0) {
        exec.set_error(std::error_code(error, std::system_category()), "landlock_restrict_self");
        ::_exit(127);
      }
    }
  }
};

// The foreground program's setup (gdb): the helper's process group and terminal, so it
// can read the keyboard; default signals; SIGTERM (gdb then kills its inferior) when the
// helper dies.
struct ForegroundSetup : bp::extend::handler {
  pid_t parent;

  explicit ForegroundSetup(pid_t parent_pid) : parent(parent_pid) {}

  template <class Executor>
  void on_exec_setup(Executor& /*exec*/) const {
    // Inherited by UML: a panicking guest aborts, and its RAM is not wanted as a core.
    const struct rlimit no_core { 0, 0 };
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // SIG_IGN would survive exec: the helper ignores SIGINT and SIGQUIT meanwhile.
    for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD}) {
      ::signal(sig, SIG_DFL);
    }
  }
};

// --- the foreground program's signals --------------------------------------------------

volatile sig_atomic_t foreground_pid = 0;
volatile sig_atomic_t foreground_pending = 0;  // a signal that came before the fork ended

extern "C" void forward_signal(int sig) {
  const int saved = errno;
  if (foreground_pid > 0) {
    ::kill(foreground_pid, sig);
  } else {
    foreground_pending = sig;
  }
  errno = saved;
}

// While it lives: SIGINT and SIGQUIT ignored, SIGTERM and SIGHUP forwarded to the
// foreground program.
class ForegroundSignals {
 public:
  static constexpr std::array ignored{SIGINT, SIGQUIT};
  static constexpr std::array forwarded{SIGTERM, SIGHUP};

  ForegroundSignals() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    for (std::size_t i = 0; i < ignored.size(); ++i) {
      ::sigaction(ignored[i], &ignore, &old_ignored_[i]);
    }
    struct sigaction forward {};
    forward.sa_handler = forward_signal;
    forward.sa_flags = SA_RESTART;
    sigemptyset(&forward.sa_mask);
    for (std::size_t i = 0; i < forwarded.size(); ++i) {
      ::sigaction(forwarded[i], &forward, &old_forwarded_[i]);
    }
  }

  ~ForegroundSignals() {
    foreground_pid = 0;
    for (std::size_t i = 0; i < ignored.size(); ++i) {
      ::sigaction(ignored[i], &old_ignored_[i], nullptr);
    }
    for (std::size_t i = 0; i < forwarded.size(); ++i) {
      ::sigaction(forwarded[i], &old_forwarded_[i], nullptr);
    }
  }

  ForegroundSignals(const ForegroundSignals&) = delete;
  ForegroundSignals& operator=(const ForegroundSignals&) = delete;

  void started(pid_t pid) {
    foreground_pid = pid;
    if (foreground_pending != 0) {
      ::kill(pid, foreground_pending);
      foreground_pending = 0;
    }
  }

 private:
  std::array<struct sigaction, ignored.size()> old_ignored_{};
  std::array<struct sigaction, forwarded.size()> old_forwarded_{};
};

// --- helpers -------------------------------------------------------------------------

std::vector<ProcessInfo> list_processes() {
  std::vector<ProcessInfo> processes;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) {
    return processes;
  }
  while (const auto* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string_view::npos) {
      continue;
    }
    if (const auto stat = read_file(fmt::format("/proc/{}/stat", name))) {
      if (const auto info = parse_proc_stat(*stat)) {
        processes.push_back(*info);
      }
    }
  }
  ::closedir(dir);
  return processes;
}

// Reaps zombies that are this process's children (UML's orphans are reparented to the
// helper, a child subreaper), but never `keep`, which Boost.Process reaps itself.
void reap_children(pid_t keep) {
  for (const auto& p : list_processes()) {
    if (p.ppid == ::getpid() && p.state == 'Z' && p.pid != keep) {
      ::waitpid(p.pid, nullptr, WNOHANG);
    }
  }
}

bool set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// Reads what is there; false at end of file.
bool drain(int fd, const std::function<void(std::string_view)>& sink) {
  char buffer[65536];
  while (true) {
    const auto n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      if (sink) {
        sink(std::string_view(buffer, static_cast<std::size_t>(n)));
      }
      continue;
    }
    if (n == 0) {
      return false;
    }
    if (errno == EINTR) {
      continue;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

// Copies the helper's stdin into UML's input pipe without ever blocking the supervision
// loop (the guest reads when it likes). The helper's stdin stays blocking: its open file
// may be shared with other processes; it is read only when poll() says so.
class InputForwarder {
 public:
  explicit InputForwarder(int pipe_fd) : to_(pipe_fd) { set_nonblocking(to_); }

  bool wants_read() const { return !ended_ && pending_.empty(); }
  bool wants_write() const { return !pending_.empty(); }

  void read_input() {
    char buffer[65536];
    const auto n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n > 0) {
      pending_.assign(buffer, static_cast<std::size_t>(n));
      ends_line_ = buffer[n - 1] == '\n';
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      // ^D ends the input only at the start of a line; before, it ends the line.
      pending_ = ends_line_ ? "\x04" : "\n\x04";
      ended_ = true;
    }
  }

  void write_pending() {
    const auto n = ::write(to_, pending_.data(), pending_.size());
    if (n > 0) {
      pending_.erase(0, static_cast<std::size_t>(n));
    } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
      pending_.clear();  // UML closed its end: the guest is gone
      ended_ = true;
    }
  }

 private:
  int to_;
  std::string pending_;
  bool ends_line_ = true;
  bool ended_ = false;
};

bp::child start_child(const LaunchSpec& spec, bp::pipe* console, bp::pipe* input, int guardian_fd) {
  auto env = boost::this_process::environment();
  if (spec.tmpdir) {
    env["TMPDIR"] = spec.tmpdir->string();
  }
  const SessionSetup setup(::getpid(), spec.allow_debugger, spec.ruleset_fd, guardian_fd, spec.cpu);
  try {
    if (console == nullptr) {
      return bp::child(bp::exe = spec.kernel.string(), bp::args = spec.args, env, setup);
    }
    if (input != nullptr) {
      return bp::child(bp::exe = spec.kernel.string(), bp::args = spec.args,
                       (bp::std_out & bp::std_err) > *console, bp::std_in < *input, env, setup);
    }
    return bp::child(bp::exe = spec.kernel.string(), bp::args = spec.args,
                     (bp::std_out & bp::std_err) > *console, bp::std_in < bp::null, env, setup);
  } catch (const bp::process_error& e) {
    throw Error(fmt::format("cannot start {}: {}", spec.kernel.string(), e.what()),
                ExitCode::Skipped);
  }
}

// --- the guardian ----------------------------------------------------------------------

// Its messages, each ended by '\0': S<pid> (UML's session), R<path> (remove), E<path>
// (remove when empty), D (the helper ended normally: do nothing).
constexpr char guardian_session = 'S';
constexpr char guardian_remove = 'R';
constexpr char guardian_remove_empty = 'E';
constexpr char guardian_done = 'D';

// A socket rather than a pipe: MSG_NOSIGNAL, so a guardian that died (someone killed
// it) cannot take the helper, or UML's child, down with SIGPIPE.
void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Every descriptor from `first` up is closed.
void close_from(int first) {
  if (::close_range(static_cast<unsigned>(first), ~0U, 0) == 0) {
    return;
  }
  const long max = std::min(::sysconf(_SC_OPEN_MAX), 65536L);
  for (long fd = first; fd < max; ++fd) {
    ::close(static_cast<int>(fd));
  }
}

// The guardian's life after the fork. The helper has no threads, so the forked copy
// may allocate; it ends with _exit: the helper's atexit work and stdio are not its own.
[[noreturn]] void guardian_main(int socket_fd) {
  for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) {
    ::signal(sig, SIG_IGN);  // only the helper's end of file moves it
  }
  ::signal(SIGCHLD, SIG_DFL);  // the helper's handler writes to the helper's self-pipe
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::setsid();  // out of the helper's process group and terminal
  ::prctl(PR_SET_NAME, "uml-guardian");
  // Pins no directory (the leftovers' paths are absolute).
  [[maybe_unused]] const int cwd = ::chdir("/");
  // Its socket on 3; stdio on /dev/null and nothing else open, so the console pipe, the
  // helper's stdout/stderr (which ctest and ninja read to the end) are not held.
  const int sock = ::fcntl(socket_fd, F_DUPFD, 3);
  const int null = ::open("/dev/null", O_RDWR);
  for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
    ::dup2(null, fd);
  }
  if (sock != 3) {
    ::dup2(sock, 3);
  }
  close_from(4);
  try {
    std::string said;
    char buffer[4096];
    while (true) {
      const auto n = ::read(3, buffer, sizeof buffer);
      if (n > 0) {
        said.append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        break;  // end of file: every copy of the helper's end is closed
      }
    }
    std::vector<pid_t> sessions;
    std::vector<Leftover> leftovers;
    std::string_view rest = said;
    while (!rest.empty()) {
      const auto end = std::min(rest.find('\0'), rest.size());
      const auto message = rest.substr(0, end);
      rest.remove_prefix(std::min(end + 1, rest.size()));
      if (message.empty()) {
        continue;
      }
      const auto body = message.substr(1);
      switch (message[0]) {
        case guardian_done:
          ::_exit(0);
        case guardian_session: {
          pid_t pid = 0;
          if (std::from_chars(body.data(), body.data() + body.size(), pid).ec == std::errc{} &&
              pid > 1) {
            sessions.push_back(pid);
          }
          break;
        }
        case guardian_remove:
        case guardian_remove_empty:
          leftovers.push_back({std::string(body), message[0] == guardian_remove});
          break;
        default:
          break;
      }
    }
    // UML first: it could recreate what is removed while it runs.
    for (const pid_t session : sessions) {
      kill_session(session);
    }
    remove_leftovers(leftovers);
  } catch (...) {
  }
  ::_exit(0);
}

}  // namespace

void remove_leftovers(const std::vector<Leftover>& leftovers) {
  for (const auto& leftover : leftovers) {
    std::error_code ec;
    if (leftover.recursive) {
      std::filesystem::remove_all(leftover.path, ec);
    } else {
      std::filesystem::remove(leftover.path, ec);
    }
  }
}

Guardian::Guardian(const std::vector<Leftover>& leftovers) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw Error(fmt::format("socketpair: {}", std::strerror(errno)), ExitCode::Skipped);
  }
  // Signals blocked across the fork: the child must not run the helper's handlers
  // before it has set its own dispositions.
  sigset_t all, old;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &old);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    guardian_main(fds[1]);
  }
  const int fork_error = errno;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    throw Error(fmt::format("fork: {}", std::strerror(fork_error)), ExitCode::Skipped);
  }
  fd_ = fds[0];
  pid_ = pid;
  std::string message;
  for (const auto& leftover : leftovers) {
    message += leftover.recursive ? guardian_remove : guardian_remove_empty;
    message += leftover.path.string();
    message += '\0';
  }
  send_all(fd_, message);
}

Guardian::~Guardian() {
  const char done[] = {guardian_done, '\0'};
  send_all(fd_, std::string_view(done, sizeof done));
  ::close(fd_);
  // It exits as soon as it reads the end of file; reaped here, it never lingers as a
  // zombie of the helper.
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

std::optional<ProcessInfo> parse_proc_stat(std::string_view stat) {
  // "pid (comm) state ppid pgrp session ..."; comm may hold spaces and parentheses.
  const auto open = stat.find(" (");
  const auto close = stat.rfind(") ");
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  ProcessInfo info;
  if (std::from_chars(stat.data(), stat.data() + open, info.pid).ec != std::errc{}) {
    return std::nullopt;
  }
  std::istringstream rest{std::string(stat.substr(close + 2))};
  pid_t pgrp = 0;
  if (!(rest >> info.state >> info.ppid >> pgrp >> info.session)) {
    return std::nullopt;
  }
  return info;
}

std::vector<ProcessInfo> session_members(pid_t session) {
  std::vector<ProcessInfo> members;
  for (const auto& p : list_processes()) {
    if (p.session == session && p.state != 'Z' && p.state != 'X') {
      members.push_back(p);
    }
  }
  return members;
}

std::size_t signal_session(pid_t session, int sig) {
  // The process group first (UML's), then every member that left it.
  ::kill(-session, sig);
  const auto members = session_members(session);
  for (const auto& p : members) {
    ::kill(p.pid, sig);
  }
  return members.size();
}

std::vector<ProcessInfo> kill_session(pid_t session, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (true) {
    signal_session(session, SIGKILL);
    reap_children(session);
    auto members = session_members(session);
    if (members.empty() || Clock::now() >= end) {
      return members;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
}

SuperviseResult launch_and_supervise(const LaunchSpec& spec, const SuperviseOptions& options) {
  SignalWatch signals;  // before the fork, so an early SIGCHLD or SIGINT is not lost
  // Orphans of UML come to the helper, which reaps them, instead of lingering as zombies.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  const auto make_pipe = [] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw Error(fmt::format("pipe2: {}", std::strerror(errno)));
    }
    return bp::pipe(fds[0], fds[1]);
  };
  std::optional<bp::pipe> console;
  std::optional<bp::pipe> input;
  if (!spec.interactive) {
    console.emplace(make_pipe());
    if (spec.forward_input) {
      input.emplace(make_pipe());
    }
  }
  // After SignalWatch: a stop signal from now on is the helper's to handle normally.
  const Guardian guardian(spec.leftovers);
  const auto start = Clock::now();
  auto child =
      start_child(spec, console ? &*console : nullptr, input ? &*input : nullptr, guardian.fd());
  const pid_t pid = child.id();
  std::optional<InputForwarder> forwarder;
  if (input) {
    // UML's now; the helper keeps the other end open to the last.
    ::close(input->native_source());
    input->assign_source(-1);
    forwarder.emplace(input->native_sink());
  }
  if (options.on_start) {
    options.on_start(pid);
  }

  SuperviseResult result;
  result.pid = pid;
  int console_fd = -1;
  if (console) {
    console_fd = console->native_source();
    set_nonblocking(console_fd);
  }

  enum class Phase { Running, Stopping, Killed };
  auto phase = Phase::Running;
  auto stop_deadline = Clock::time_point::max();
  const auto deadline =
      options.timeout.count() > 0 ? start + options.timeout : Clock::time_point::max();
  bool exited = false;
  auto drain_deadline = Clock::time_point::max();

  auto stop = [&](bool at_once) {
    if (phase == Phase::Running && !at_once) {
      // SIGCONT too: UML's stopped processes must see the SIGTERM.
      signal_session(pid, SIGTERM);
      signal_session(pid, SIGCONT);
      phase = Phase::Stopping;
      stop_deadline = Clock::now() + options.grace;
    } else if (phase != Phase::Killed) {
      signal_session(pid, SIGKILL);
      phase = Phase::Killed;
      result.killed = true;
    }
  };

  try {
    while (true) {
      if (!exited) {
        std::error_code ec;
        if (!child.running(ec)) {
          exited = true;
          const int status = child.native_exit_code();
          if (WIFEXITED(status)) {
            result.facts.exit_status = WEXITSTATUS(status);
          } else if (WIFSIGNALED(status)) {
            result.facts.killed_by = WTERMSIG(status);
          }
          // What is left of UML's session (helpers, orphans) can only keep the console
          // pipe open now; nothing needs a graceful stop after UML itself ended.
          result.leftovers = session_members(pid).size();
          if (result.leftovers > 0) {
            result.survivors = kill_session(pid);
          }
          drain_deadline = Clock::now() + milliseconds(2000);
        }
      }
      if (exited && (console_fd < 0 || Clock::now() >= drain_deadline)) {
        break;
      }
      const auto now = Clock::now();
      if (!exited && phase == Phase::Running && now >= deadline) {
        result.facts.timed_out = true;
        stop(false);
      }
      if (!exited && phase == Phase::Stopping && now >= stop_deadline) {
        stop(true);
      }

      auto wake = std::min({deadline, stop_deadline, drain_deadline, now + milliseconds(250)});
      const auto wait_ms = std::max<long>(
          0, std::chrono::duration_cast<milliseconds>(wake - Clock::now()).count() + 1);
      // Signals, the console, then the helper's stdin or UML's input pipe; a negative fd
      // is one poll() skips.
      const bool forwarding = forwarder && !exited && options.input_ready && options.input_ready();
      const int stdin_fd = forwarding && forwarder->wants_read() ? STDIN_FILENO : -1;
      const int input_fd = forwarding && forwarder->wants_write() ? input->native_sink() : -1;
      std::array<pollfd, 4> fds{{{signals.fd(), POLLIN, 0},
                                 {console_fd, POLLIN, 0},
                                 {stdin_fd, POLLIN, 0},
                                 {input_fd, POLLOUT, 0}}};
      if (::poll(fds.data(), fds.size(), static_cast<int>(wait_ms)) < 0 && errno != EINTR) {
        throw Error(fmt::format("poll: {}", std::strerror(errno)));
      }
      if (console_fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        if (!drain(console_fd, options.on_output)) {
          console_fd = -1;  // end of file: every writer is gone
        }
      }
      if (stdin_fd >= 0 && fds[2].revents != 0) {
        forwarder->read_input();  // after POLLHUP or POLLERR, read() says end of file
      }
      if (input_fd >= 0 && fds[3].revents != 0) {
        forwarder->write_pending();
      }
      for (const int sig : signals.take()) {
        if (!result.facts.helper_signal) {
          result.facts.helper_signal = sig;
        }
        if (!exited) {
          stop(phase != Phase::Running);  // a second signal kills at once
        }
      }
    }
  } catch (...) {
    kill_session(pid);
    std::error_code ec;
    child.wait(ec);
    throw;
  }
  // The session is empty; reap whatever orphan is still a zombie.
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

std::vector<ProcessInfo> descendants(pid_t ancestor) {
  const auto processes = list_processes();
  std::vector<ProcessInfo> result;
  std::vector<pid_t> parents{ancestor};
  // Breadth first: each round adds the children of the previous round.
  while (!parents.empty()) {
    std::vector<pid_t> next;
    for (const auto& p : processes) {
      if (std::find(parents.begin(), parents.end(), p.ppid) != parents.end()) {
        result.push_back(p);
        next.push_back(p.pid);
      }
    }
    parents = std::move(next);
  }
  return result;
}

namespace {

std::vector<ProcessInfo> living(std::vector<ProcessInfo> processes) {
  std::erase_if(processes, [](const ProcessInfo& p) { return p.state == 'Z' || p.state == 'X'; });
  return processes;
}

void reap_zombie_children() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

// Stops what the foreground program left running below the helper: SIGTERM (UML cleans
// up), SIGKILL after `grace`. Returns how many there were and who survived.
std::pair<std::size_t, std::vector<ProcessInfo>> stop_descendants(std::chrono::milliseconds grace) {
  const pid_t self = ::getpid();
  auto left = living(descendants(self));
  const auto count = left.size();
  for (const auto& p : left) {
    ::kill(p.pid, SIGTERM);
    ::kill(p.pid, SIGCONT);  // a process gdb left stopped must see the SIGTERM
  }
  const auto end = Clock::now() + grace;
  while (!left.empty() && Clock::now() < end) {
    std::this_thread::sleep_for(milliseconds(20));
    reap_zombie_children();
    left = living(descendants(self));
  }
  const auto kill_end = Clock::now() + std::chrono::seconds(5);
  while (!left.empty() && Clock::now() < kill_end) {
    for (const auto& p : left) {
      ::kill(p.pid, SIGKILL);
    }
    std::this_thread::sleep_for(milliseconds(10));
    reap_zombie_children();
    left = living(descendants(self));
  }
  reap_zombie_children();
  return {count, left};
}

}  // namespace

ForegroundResult run_foreground(const std::filesystem::path& exe,
                                const std::vector<std::string>& args,
                                const std::optional<std::filesystem::path>& tmpdir,
                                std::chrono::milliseconds grace) {
  // What the program leaves behind (a UML gdb detached from) comes to the helper.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  const bool had_terminal = ::isatty(STDIN_FILENO) != 0 && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp();
  auto env = boost::this_process::environment();
  if (tmpdir) {
    env["TMPDIR"] = tmpdir->string();
  }
  ForegroundResult result;
  {
    ForegroundSignals signals;
    std::error_code ec;
    bp::child child(bp::exe = exe.string(), bp::args = args, env, ForegroundSetup(::getpid()), ec);
    if (ec) {
      throw Error(fmt::format("cannot start {}: {}", exe.string(), ec.message()));
    }
    signals.started(child.id());
    child.wait(ec);
    const int status = child.native_exit_code();
    result.status = WIFEXITED(status)     ? WEXITSTATUS(status)
                    : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                          : 1;
  }
  std::tie(result.leftovers, result.survivors) = stop_descendants(grace);
  if (had_terminal && ::tcgetpgrp(STDIN_FILENO) != ::getpgrp()) {
    // The program died while its inferior had the terminal: take it back.
    struct sigaction ignore {
    }, old{};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGTTOU, &ignore, &old);
    ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
    ::sigaction(SIGTTOU, &old, nullptr);
  }
  return result;
}

std::optional<std::string> capture_output(const std::filesystem::path& exe,
                                          const std::vector<std::string>& args,
                                          std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return std::nullopt;
  }
  bp::pipe out(fds[0], fds[1]);
  std::error_code ec;
  bp::child child(bp::exe = exe.string(), bp::args = args, bp::std_out > out,
                  bp::std_err > bp::null, bp::std_in < bp::null, SessionSetup(::getpid()), ec);
  if (ec) {
    return std::nullopt;
  }
  const int fd = out.native_source();
  set_nonblocking(fd);
  std::string text;
  const auto end = Clock::now() + timeout;
  bool open = true;
  while (open && Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 50);
    open = drain(fd, [&](std::string_view chunk) { text += chunk; });
  }
  if (open) {
    kill_session(child.id());
  }
  child.wait(ec);
  if (open || ec || child.exit_code() != 0) {
    return std::nullopt;
  }
  return text;
}

}  // namespace uml
