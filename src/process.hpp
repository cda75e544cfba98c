#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "outcome.hpp"

namespace uml {

// One line of /proc/<pid>/stat.
struct ProcessInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t session = 0;
  char state = '?';
};

std::optional<ProcessInfo> parse_proc_stat(std::string_view stat);
// Every process of a session except zombies (they are dead already).
std::vector<ProcessInfo> session_members(pid_t session);

// Sends sig to every process of the session; returns how many there were.
std::size_t signal_session(pid_t session, int sig);

// SIGKILLs the session's processes until none is left (or `limit` passes), reaping the
// zombies that are this process's children. Returns the ones that survived.
std::vector<ProcessInfo> kill_session(pid_t session,
                                      std::chrono::milliseconds limit = std::chrono::seconds(5));

// A file or directory the guardian removes if the helper dies before it could.
struct Leftover {
  std::filesystem::path path;
  bool recursive = true;  // false: a directory removed only when empty
};

// Removes them in order, ignoring what is already gone: the helper's own cleanup and
// the guardian's.
void remove_leftovers(const std::vector<Leftover>& leftovers);

struct LaunchSpec {
  std::filesystem::path kernel;
  std::vector<std::string> args;
  std::optional<std::filesystem::path> tmpdir;  // TMPDIR: where UML puts the guest RAM file
  bool interactive = false;  // UML inherits the terminal; else its output comes through a pipe
  // Any process of the user may ptrace UML (Yama's ptrace_scope 1 allows only ancestors
  // otherwise), so `uml-helper attach` can bring gdb to it.
  bool allow_debugger = false;
  // A Landlock ruleset (confine.hpp) the child applies before exec; -1: none.
  int ruleset_fd = -1;
  // What the helper removes after the boot (COW files, umid dir, ...), in that order:
  // the guardian removes them if the helper is killed before it could.
  std::vector<Leftover> leftovers{};
  // UML and every process it starts run on this CPU only (affinity.hpp); -1: any.
  int cpu = -1;
  // Not interactive, and UML's stdin (its console's input) is a pipe that the helper
  // fills from its own stdin (see SuperviseOptions::input_ready).
  bool forward_input = false;
};

struct SuperviseOptions {
  std::chrono::milliseconds timeout{0};             // 0: none
  std::chrono::milliseconds grace{5000};            // SIGTERM to SIGKILL
  std::function<void(std::string_view)> on_output;  // console chunks, as they come
  std::function<void(pid_t)> on_start;              // UML's pid, once it runs
  // With LaunchSpec::forward_input: the helper's stdin is copied to UML's once this says
  // the guest is ready (before, a tty would echo it). At its end the pipe gets ^D, the
  // guest tty's end of file, and stays open: UML hangs up its tty when its input ends.
  std::function<bool()> input_ready;
};

struct SuperviseResult {
  RunFacts facts;
  pid_t pid = 0;
  std::size_t leftovers = 0;  // processes of UML's session killed after it ended
  bool killed = false;        // SIGKILL was needed to stop UML
  std::vector<ProcessInfo> survivors;
  double seconds = 0;
};

// Starts UML in a session of its own (its panic path signals its whole process group),
// with no core dumps and PR_SET_PDEATHSIG, then reads its console until it ends.
// A guardian process (see Guardian) outlives a SIGKILLed helper: it then kills what is
// left of UML's session and removes spec.leftovers.
// SIGINT/SIGTERM/SIGHUP to the helper and the timeout stop UML: SIGTERM to its session,
// SIGKILL after the grace period (at once on a second signal). On return no process of
// UML's session is left. Throws Error when UML cannot be started.
SuperviseResult launch_and_supervise(const LaunchSpec& spec, const SuperviseOptions& options);

// The guardian: a process forked from the helper that outlives it. It holds one end of
// a socket pair, the helper the other (close-on-exec: UML never has it). UML's child
// sends its pid (= its session id) before exec; the helper sends the leftovers before
// the launch and "done" when it ends normally. When its end reads end of file without
// "done" (the helper died, e.g. SIGKILL), the guardian SIGKILLs UML's process group and
// every process of its session until none is left (at most 5 s), removes the leftovers,
// and exits. It ignores SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE, runs in a session
// of its own, and holds no descriptor but its socket (stdio on /dev/null), so neither
// a terminal's signals nor a caller waiting for the helper's output ever wait on it.
class Guardian {
 public:
  explicit Guardian(const std::vector<Leftover>& leftovers);
  // Sends "done", closes the socket and reaps the guardian, which exits at once.
  ~Guardian();
  Guardian(const Guardian&) = delete;
  Guardian& operator=(const Guardian&) = delete;

  int fd() const { return fd_; }  // the helper's end: UML's child writes its pid there
  pid_t pid() const { return pid_; }

 private:
  int fd_ = -1;
  pid_t pid_ = -1;
};

struct ForegroundResult {
  int status = 0;             // the exit status, or 128 + signal
  std::size_t leftovers = 0;  // descendants stopped after the program ended
  std::vector<ProcessInfo> survivors;
};

// Runs a program in the helper's own process group, on the helper's terminal, the way
// system(3) does: the helper ignores SIGINT and SIGQUIT meanwhile (they are the
// program's, e.g. gdb's), forwards SIGTERM and SIGHUP to it, and the program gets
// default dispositions and SIGTERM when the helper dies. When it has ended, whatever it
// left running below the helper (a child subreaper meanwhile) gets SIGTERM, then SIGKILL
// after `grace`, and is reaped. Throws Error when the program cannot be started.
ForegroundResult run_foreground(const std::filesystem::path& exe,
                                const std::vector<std::string>& args,
                                const std::optional<std::filesystem::path>& tmpdir,
                                std::chrono::milliseconds grace = std::chrono::seconds(5));

// The processes below `ancestor` (children, their children, ...), from /proc.
std::vector<ProcessInfo> descendants(pid_t ancestor);

// Runs a short command and returns its standard output, or std::nullopt if it could not
// run, failed, or did not finish in time.
std::optional<std::string> capture_output(const std::filesystem::path& exe,
                                          const std::vector<std::string>& args,
                                          std::chrono::milliseconds timeout);

}  // namespace uml
