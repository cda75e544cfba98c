#include "process/supervise.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>

#include <boost/process.hpp>
#include <fmt/format.h>

#include "process/errors.hpp"
#include "process/spawn.hpp"

namespace uml::process {

namespace bp = boost::process;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long the output pipe is still read after the program ended (its leftovers are
// killed by then; only a process that left the session could still hold it).
constexpr milliseconds drain_time{2000};
// Output read in one round of the loop at most, so a flood cannot pile up in memory
// before the caller takes it.
constexpr std::size_t round_limit = 256 * 1024;
// How often the session's processes are counted against LaunchSpec::max_processes.
constexpr milliseconds count_interval{100};

// --- signals ---------------------------------------------------------------------------

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
      throw SystemError(errno_text("pipe2", errno));
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

// --- input -----------------------------------------------------------------------------

// Copies the helper's stdin into the program's input pipe without ever blocking the
// supervision loop (the program reads when it likes). The helper's stdin stays
// blocking: its open file may be shared with other processes; it is read only when
// poll() says so.
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
      pending_.clear();  // the program closed its end: it is gone
      ended_ = true;
    }
  }

 private:
  int to_;
  std::string pending_;
  bool ends_line_ = true;
  bool ended_ = false;
};

bp::child start_child(const LaunchSpec& spec, bp::pipe* output, bp::pipe* input, int guardian_fd) {
  auto env = boost::this_process::environment();
  if (spec.tmpdir) {
    env["TMPDIR"] = spec.tmpdir->string();
  }
  SessionSetup setup(::getpid(), spec.allow_debugger, spec.ruleset_fd, guardian_fd, spec.cpu);
  setup.max_file_size = spec.max_file_size;
  setup.fixed_layout = spec.fixed_layout;
  setup.randomized_file_slack = spec.randomized_file_slack;
  try {
    if (output == nullptr) {
      return bp::child(bp::exe = spec.exe.string(), bp::args = spec.args, env, setup);
    }
    if (input != nullptr) {
      return bp::child(bp::exe = spec.exe.string(), bp::args = spec.args,
                       (bp::std_out & bp::std_err) > *output, bp::std_in < *input, env, setup);
    }
    return bp::child(bp::exe = spec.exe.string(), bp::args = spec.args,
                     (bp::std_out & bp::std_err) > *output, bp::std_in < bp::null, env, setup);
  } catch (const bp::process_error& e) {
    throw StartError(fmt::format("cannot start {}: {}", spec.exe.string(), e.what()));
  }
}

}  // namespace

// --- the run ---------------------------------------------------------------------------

// One supervised program, from its launch until its session is empty. Its members go
// in reverse order: the child's handle, the guardian ("done"), the pipes, the signals.
class Supervisor::Run {
 public:
  Run(const LaunchSpec& spec, milliseconds timeout, milliseconds grace, SuperviseResult& result)
      : result_(result), grace_(grace) {
    // Orphans of the program come to the helper, which reaps them, instead of lingering
    // as zombies.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (!spec.interactive) {
      output_.emplace(cloexec_pipe());
      if (spec.forward_input) {
        input_.emplace(cloexec_pipe());
      }
    }
    // After SignalWatch: a stop signal from now on is the helper's to handle normally.
    if (spec.guardian != nullptr) {
      guardian_ptr_ = spec.guardian;
      guardian_ptr_->add(spec.leftovers);
    } else {
      guardian_.emplace(spec.leftovers, spec.guardian_name);
      guardian_ptr_ = &*guardian_;
    }
    max_processes_ = spec.max_processes;
    start_ = Clock::now();
    child_.emplace(start_child(spec, output_ ? &*output_ : nullptr, input_ ? &*input_ : nullptr,
                               guardian_ptr_->fd()));
    pid_ = child_->id();
    result_.pid = pid_;
    if (input_) {
      // The program's now; the helper keeps the other end open to the last.
      ::close(input_->native_source());
      input_->assign_source(-1);
      forwarder_.emplace(input_->native_sink());
    }
    if (output_) {
      output_fd_ = output_->native_source();
      set_nonblocking(output_fd_);
    }
    deadline_ = timeout.count() > 0 ? start_ + timeout : Clock::time_point::max();
    watch_fds_ = spec.watch_fds;
  }

  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  void enable_input() { input_enabled_ = true; }

  // One round of the loop: output read goes to `out`. False when the run is over.
  bool step(std::deque<Event>& out) {
    if (!exited_) {
      std::error_code ec;
      if (!child_->running(ec)) {
        exited_ = true;
        const int status = child_->native_exit_code();
        if (WIFEXITED(status)) {
          result_.facts.exit_status = WEXITSTATUS(status);
        } else if (WIFSIGNALED(status)) {
          result_.facts.killed_by = WTERMSIG(status);
        }
        // What is left of the session (helpers, orphans) can only keep the output pipe
        // open now; nothing needs a graceful stop after the program itself ended.
        result_.leftovers = session_members(pid_).size();
        if (result_.leftovers > 0) {
          result_.survivors = kill_session(pid_);
        }
        drain_deadline_ = Clock::now() + drain_time;
      }
    }
    if (exited_ && (output_fd_ < 0 || Clock::now() >= drain_deadline_)) {
      return false;
    }
    const auto now = Clock::now();
    if (!exited_ && phase_ == Phase::Running && now >= deadline_) {
      result_.facts.timed_out = true;
      stop(false);
    }
    if (!exited_ && phase_ == Phase::Stopping && now >= stop_deadline_) {
      stop(true);
    }
    if (!exited_ && max_processes_ > 0 && phase_ != Phase::Killed && now >= count_at_) {
      // The session's size, not the user's (RLIMIT_NPROC counts every process of the
      // user and does not bind root): a fork bomb is stopped at once, not after a grace.
      count_at_ = now + count_interval;
      const auto count = session_members(pid_).size();
      result_.facts.peak_processes = std::max(result_.facts.peak_processes, count);
      if (count > max_processes_) {
        result_.facts.too_many_processes = true;
        stop(true);
      }
    }

    const auto wake = std::min({deadline_, stop_deadline_, drain_deadline_,
                                now + (max_processes_ > 0 ? count_interval : milliseconds(250))});
    const auto wait_ms = std::max<long>(
        0, std::chrono::duration_cast<milliseconds>(wake - Clock::now()).count() + 1);
    // Signals, the output, then the helper's stdin or the program's input pipe; a
    // negative fd is one poll() skips.
    const bool forwarding = forwarder_ && !exited_ && input_enabled_;
    const int stdin_fd = forwarding && forwarder_->wants_read() ? STDIN_FILENO : -1;
    const int input_fd = forwarding && forwarder_->wants_write() ? input_->native_sink() : -1;
    std::vector<pollfd> fds{{signals_.fd(), POLLIN, 0},
                            {output_fd_, POLLIN, 0},
                            {stdin_fd, POLLIN, 0},
                            {input_fd, POLLOUT, 0}};
    for (const int fd : watch_fds_) {
      fds.push_back({exited_ ? -1 : fd, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), static_cast<int>(wait_ms)) < 0 && errno != EINTR) {
      throw SystemError(errno_text("poll", errno));
    }
    for (std::size_t i = 4; i < fds.size(); ++i) {
      if (fds[i].fd >= 0 && fds[i].revents != 0) {
        out.push_back(Event{{}, fds[i].fd});
        watch_fds_.erase(std::find(watch_fds_.begin(), watch_fds_.end(), fds[i].fd));
      }
    }
    if (output_fd_ >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const auto sink = [&](std::string_view chunk) { out.push_back(Event{std::string(chunk)}); };
      if (!drain(output_fd_, sink, round_limit)) {
        output_fd_ = -1;  // end of file: every writer is gone
      }
    }
    if (stdin_fd >= 0 && fds[2].revents != 0) {
      forwarder_->read_input();  // after POLLHUP or POLLERR, read() says end of file
    }
    if (input_fd >= 0 && fds[3].revents != 0) {
      forwarder_->write_pending();
    }
    for (const int sig : signals_.take()) {
      if (!result_.facts.helper_signal) {
        result_.facts.helper_signal = sig;
      }
      if (!exited_) {
        stop(phase_ != Phase::Running);  // a second signal kills at once
      }
    }
    return true;
  }

  // The run is over: the session is empty; reap whatever orphan is still a zombie.
  void finish() {
    reap_zombie_children();
    result_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  }

  // The run is abandoned (an exception): nothing of the session may outlive it.
  void abort() {
    kill_session(pid_);
    std::error_code ec;
    child_->wait(ec);
  }

 private:
  enum class Phase { Running, Stopping, Killed };

  void stop(bool at_once) {
    if (phase_ == Phase::Running && !at_once) {
      // SIGCONT too: stopped processes must see the SIGTERM.
      signal_session(pid_, SIGTERM);
      signal_session(pid_, SIGCONT);
      phase_ = Phase::Stopping;
      stop_deadline_ = Clock::now() + grace_;
    } else if (phase_ != Phase::Killed) {
      signal_session(pid_, SIGKILL);
      phase_ = Phase::Killed;
      result_.killed = true;
    }
  }

  SuperviseResult& result_;
  milliseconds grace_;
  SignalWatch signals_;  // before the fork, so an early SIGCHLD or SIGINT is not lost
  std::optional<bp::pipe> output_;
  std::optional<bp::pipe> input_;
  std::optional<Guardian> guardian_;  // its own, when the caller gave none
  Guardian* guardian_ptr_ = nullptr;
  std::optional<bp::child> child_;
  std::optional<InputForwarder> forwarder_;
  pid_t pid_ = 0;
  int output_fd_ = -1;
  std::vector<int> watch_fds_;
  bool input_enabled_ = false;
  bool exited_ = false;
  std::size_t max_processes_ = 0;
  Clock::time_point count_at_{};
  Phase phase_ = Phase::Running;
  Clock::time_point start_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point stop_deadline_ = Clock::time_point::max();
  Clock::time_point drain_deadline_ = Clock::time_point::max();
};

Supervisor::Supervisor(const LaunchSpec& spec, milliseconds timeout, milliseconds grace)
    : run_(std::make_unique<Run>(spec, timeout, grace, result_)) {}

Supervisor::~Supervisor() {
  if (run_) {
    try {
      run_->abort();
    } catch (...) {
    }
  }
}

std::optional<Event> Supervisor::next() {
  while (true) {
    if (!pending_.empty()) {
      Event event = std::move(pending_.front());
      pending_.pop_front();
      return event;
    }
    if (!run_) {
      return std::nullopt;
    }
    bool more = false;
    try {
      more = run_->step(pending_);
    } catch (...) {
      run_->abort();
      run_.reset();
      throw;
    }
    if (!more) {
      finish();
    }
  }
}

void Supervisor::finish() {
  run_->finish();
  run_.reset();  // the guardian gets "done", the signals are the caller's again
}

void Supervisor::enable_input() {
  if (run_) {
    run_->enable_input();
  }
}

}  // namespace uml::process
