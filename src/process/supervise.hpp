#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "process/guardian.hpp"
#include "process/proc_table.hpp"

namespace uml::process {

// What to start, and how.
struct LaunchSpec {
  std::filesystem::path exe;
  std::vector<std::string> args;
  std::optional<std::filesystem::path> tmpdir;  // TMPDIR for the program
  // The program inherits the terminal; else its stdout and stderr come through a pipe.
  bool interactive = false;
  // Any process of the user may ptrace the program (Yama's ptrace_scope 1 allows only
  // ancestors otherwise), so a debugger can attach to it later.
  bool allow_debugger = false;
  // A Landlock ruleset (landlock.hpp) the child applies before exec; -1: none.
  int ruleset_fd = -1;
  // What the caller removes after the run, in that order: the guardian (guardian.hpp)
  // removes them if the helper is killed before it could.
  std::vector<Leftover> leftovers{};
  std::string guardian_name = "guardian";  // the guardian's process name
  // The program and every process it starts run on this CPU only; -1: any.
  int cpu = -1;
  // Not interactive, and the program's stdin is a pipe the helper fills from its own
  // stdin once the caller says so (Supervisor::enable_input).
  bool forward_input = false;
  // A guardian the caller made earlier (before it made the leftovers) and owns; the
  // supervisor then makes none and sends this one the leftovers again.
  Guardian* guardian = nullptr;
  // Above this many processes in the program's session the program is SIGKILLed with
  // all of them (RunFacts::too_many_processes): a fork bomb in a guest is one of host
  // processes. 0: no limit. Counted every 100 ms.
  std::size_t max_processes = 0;
  // RLIMIT_FSIZE of the program (bytes; 0: unchanged): no file it writes grows past it.
  std::uint64_t max_file_size = 0;
  // Started without address-space randomization (ADDR_NO_RANDOMIZE); where that is
  // refused, max_file_size grows by randomized_file_slack.
  bool fixed_layout = false;
  std::uint64_t randomized_file_slack = 0;
  // Descriptors the caller wants to hear about while the program runs (a device model's
  // pidfd: the model ended): each, once readable, comes as one Event with watched_fd set,
  // and is not watched again. The caller owns them.
  std::vector<int> watch_fds{};
};

// How the program ended, as the supervisor saw it.
struct RunFacts {
  bool timed_out = false;
  std::optional<int> helper_signal;  // SIGINT/SIGTERM/SIGHUP to the helper that stopped the run
  std::optional<int> exit_status;    // the program exited with this status
  std::optional<int> killed_by;      // or was killed by this signal
  bool too_many_processes = false;   // its session passed LaunchSpec::max_processes
  std::size_t peak_processes = 0;    // the most processes its session had when counted
};

struct SuperviseResult {
  RunFacts facts;
  pid_t pid = 0;
  std::size_t leftovers = 0;  // processes of the program's session killed after it ended
  bool killed = false;        // SIGKILL was needed to stop the program
  std::vector<ProcessInfo> survivors;
  double seconds = 0;
};

// What the supervised program did.
struct Event {
  std::string output;   // a chunk of its stdout and stderr, as it came
  int watched_fd = -1;  // or: this LaunchSpec::watch_fds descriptor became readable
};

// Starts a program in a session of its own (SessionSetup: no core dumps, death with the
// helper) with a guardian (guardian.hpp) that cleans up should the helper be SIGKILLed,
// then supervises it while the caller asks for its events:
//
//   Supervisor run(spec, timeout, grace);
//   while (const auto event = run.next()) { ... event->output ... }
//   const auto& result = run.result();
//
// SIGINT, SIGTERM and SIGHUP to the helper (and SIGCHLD) come through a self-pipe while
// the run lasts. One of them, or the timeout, stops the program: SIGTERM (and SIGCONT)
// to its session, SIGKILL after the grace period, at once on a second signal. When the
// program itself has ended, whatever is left of its session is SIGKILLed (the helper is
// a child subreaper and reaps it), and its output is read for at most 2 s more. When
// next() returns std::nullopt no process of the session is left, the guardian has been
// told "done" and reaped, and the signals are the caller's again. Destroyed before then
// (an exception), it kills the session first.
class Supervisor {
 public:
  // Throws StartError when the program (or its guardian) cannot be started, SystemError
  // when a pipe cannot be made.
  explicit Supervisor(const LaunchSpec& spec, std::chrono::milliseconds timeout = {},
                      std::chrono::milliseconds grace = std::chrono::seconds(5));
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  pid_t pid() const { return result_.pid; }

  // The next event, waiting for it; std::nullopt when the run is over. Throws
  // SystemError (poll failed) after killing the session.
  std::optional<Event> next();

  // With LaunchSpec::forward_input: from now on the helper's stdin is copied to the
  // program's (before, a terminal would echo it). At its end the pipe gets ^D (a
  // terminal's end of file; after a newline if the input did not end with one) and
  // stays open: the program may take the end of its input for a hang-up.
  void enable_input();

  // Complete once next() returned std::nullopt.
  const SuperviseResult& result() const { return result_; }

 private:
  class Run;
  void finish();

  SuperviseResult result_;  // before run_, which fills it
  std::deque<Event> pending_;
  std::unique_ptr<Run> run_;
};

}  // namespace uml::process
