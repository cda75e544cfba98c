#pragma once

// How the helper's children are set up between fork and exec (Boost.Process v1's
// extend::handler::on_exec_setup), and the descriptor plumbing around them.

#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>  // before boost/process/extend.hpp, whose posix/handles.hpp lacks it
#include <string_view>
#include <system_error>

#include <boost/process/extend.hpp>
#include <boost/process/pipe.hpp>

#include "process/guardian.hpp"
#include "process/landlock.hpp"

namespace uml::process {

// A program in a session of its own, for a supervisor that may have to kill all it
// starts. Runs in the forked child before exec: only async-signal-safe calls.
struct SessionSetup : boost::process::extend::handler {
  pid_t parent;
  bool allow_debugger = false;
  int ruleset_fd = -1;   // a Landlock ruleset, made before the fork: allocating after it is unsafe
  int guardian_fd = -1;  // the helper's end of a guardian's socket (guardian.hpp); -1: none
  int cpu = -1;          // pin to this CPU; -1: any
  std::uint64_t max_file_size = 0;  // RLIMIT_FSIZE; 0: unchanged
  // No address-space randomization; where that is refused (a seccomp profile), the
  // RLIMIT_FSIZE grows by this much instead.
  bool fixed_layout = false;
  std::uint64_t randomized_file_slack = 0;

  explicit SessionSetup(pid_t parent_pid, bool allow_debugger_attach = false,
                        int landlock_ruleset = -1, int guardian = -1, int pin_cpu = -1)
      : parent(parent_pid),
        allow_debugger(allow_debugger_attach),
        ruleset_fd(landlock_ruleset),
        guardian_fd(guardian),
        cpu(pin_cpu) {}

  template <class Executor>
  void on_exec_setup(Executor& exec) const {
    // A program that signals its own process group (kill(0, sig)) reaches only itself
    // and what it started, never the helper or whatever started the helper.
    if (::setsid() < 0) {
      exec.set_error(std::error_code(errno, std::system_category()), "setsid");
      ::_exit(127);
    }
    if (guardian_fd >= 0) {
      // From here rather than from the helper after the launch: the guardian knows the
      // session before the program runs, whenever the helper dies. Close-on-exec: the
      // program never has it.
      char message[2 + std::numeric_limits<pid_t>::digits10 + 2] = {guardian_session_message};
      const auto end = std::to_chars(message + 1, message + sizeof message - 1, ::getpid()).ptr;
      *end = '\0';
      [[maybe_unused]] const auto n =
          ::send(guardian_fd, message, static_cast<std::size_t>(end + 1 - message), MSG_NOSIGNAL);
    }
    if (cpu >= 0) {
      // Before exec: the program's threads and children inherit it. A failure leaves it
      // unpinned, only slower.
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      ::sched_setaffinity(0, sizeof set, &set);
    }
    // No core dumps: a program that aborts may hold a lot of memory.
    const struct rlimit no_core { 0, 0 };
    ::setrlimit(RLIMIT_CORE, &no_core);
    // What it makes is private whatever the caller's umask (a socket or directory left
    // open to other users would let them drive the program).
    ::umask(077);
    std::uint64_t file_limit = max_file_size;
    if (fixed_layout) {
      const int persona = ::personality(0xffffffff);
      if (persona == -1 ||
          ::personality(static_cast<unsigned long>(persona) | ADDR_NO_RANDOMIZE) == -1) {
        file_limit += randomized_file_slack;
      }
    }
    if (file_limit > 0) {
      // A bound on the host disk or RAM any one file it writes can take.
      const struct rlimit fsize { file_limit, file_limit };
      if (::setrlimit(RLIMIT_FSIZE, &fsize) != 0) {
        exec.set_error(std::error_code(errno, std::system_category()), "setrlimit(RLIMIT_FSIZE)");
        ::_exit(127);
      }
    }
    // The program dies with the helper, even when the helper is SIGKILLed. Armed after
    // setsid; the getppid() check closes the race with a parent that died just before.
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
    // A write past RLIMIT_FSIZE then fails with EFBIG instead of killing the program.
    ::signal(SIGXFSZ, file_limit > 0 ? SIG_IGN : SIG_DFL);
    // Last: the program reaches only what the rules allow. A ruleset that cannot be
    // applied stops the launch rather than run the program unconfined.
    if (ruleset_fd >= 0) {
      if (const int error = landlock_restrict_self(ruleset_fd); error != 0) {
        exec.set_error(std::error_code(error, std::system_category()), "landlock_restrict_self");
        ::_exit(127);
      }
    }
  }
};

// A program in the helper's process group, on its terminal, so it can read the keyboard
// (gdb): default signals, no core dumps (inherited by what it starts), and SIGTERM when
// the helper dies.
struct ForegroundSetup : boost::process::extend::handler {
  pid_t parent;

  explicit ForegroundSetup(pid_t parent_pid) : parent(parent_pid) {}

  template <class Executor>
  void on_exec_setup(Executor& /*exec*/) const {
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

// A pipe whose ends are close-on-exec (Boost.Process dups the child's end onto its
// stdio). Throws SystemError.
boost::process::pipe cloexec_pipe();

// Every descriptor from `first` up is closed.
void close_from(int first);

bool set_nonblocking(int fd);

// Reads what a non-blocking descriptor has, passing it to sink chunk by chunk, until it
// would block or `limit` bytes were read. False at end of file (every writer is gone).
bool drain(int fd, const std::function<void(std::string_view)>& sink,
           std::size_t limit = std::numeric_limits<std::size_t>::max());

}  // namespace uml::process
