#include "process/foreground.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <thread>
#include <tuple>

#include <boost/process.hpp>
#include <fmt/format.h>

#include "process/errors.hpp"
#include "process/spawn.hpp"

namespace uml::process {

namespace bp = boost::process;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

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

std::vector<ProcessInfo> living(std::vector<ProcessInfo> processes) {
  std::erase_if(processes, [](const ProcessInfo& p) { return p.state == 'Z' || p.state == 'X'; });
  return processes;
}

}  // namespace

std::pair<std::size_t, std::vector<ProcessInfo>> stop_descendants(std::chrono::milliseconds grace) {
  const pid_t self = ::getpid();
  auto left = living(descendants(self));
  const auto count = left.size();
  for (const auto& p : left) {
    ::kill(p.pid, SIGTERM);
    ::kill(p.pid, SIGCONT);  // a process a debugger left stopped must see the SIGTERM
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

ForegroundResult run_foreground(const std::filesystem::path& exe,
                                const std::vector<std::string>& args,
                                const std::optional<std::filesystem::path>& tmpdir,
                                std::chrono::milliseconds grace) {
  // What the program leaves behind (a process a debugger detached from) comes to the
  // helper.
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
      throw StartError(fmt::format("cannot start {}: {}", exe.string(), ec.message()));
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
    // The program died while a process of its own had the terminal: take it back.
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

}  // namespace uml::process
