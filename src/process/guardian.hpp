#pragma once

#include <sys/types.h>
#include <termios.h>

#include <filesystem>
#include <string>
#include <vector>

namespace uml::process {

// A file or directory a run leaves unless someone removes it: the helper after the run,
// or its guardian if the helper dies before it could.
struct Leftover {
  std::filesystem::path path;
  bool recursive = true;  // false: a directory removed only when empty
};

// Removes them in order, ignoring what is already gone: the helper's own cleanup and
// the guardian's.
void remove_leftovers(const std::vector<Leftover>& leftovers);

// The message the program's child sends the guardian before exec (SessionSetup):
// 'S', its pid in decimal, '\0'.
inline constexpr char guardian_session_message = 'S';

// The guardian: a process forked from the helper that outlives it. It holds one end of
// a socket pair, the helper the other (close-on-exec: the supervised program never has
// it). The program's child sends its pid (= its session id) before exec (SessionSetup);
// the helper sends the leftovers at once and "done" when it ends normally. When its end
// reads end of file without "done" (the helper died, e.g. SIGKILL), the guardian
// SIGKILLs the program's process group and every process of its session until none is
// left (at most 5 s), removes the leftovers, and exits. It ignores SIGINT, SIGTERM,
// SIGHUP, SIGQUIT and SIGPIPE, runs in a session of its own under the name `name`, and
// holds no descriptor but its socket (stdio on /dev/null), so neither a terminal's
// signals nor a caller waiting for the helper's output ever wait on it.
class Guardian {
 public:
  // Throws StartError when the socket pair or the fork fails.
  Guardian(const std::vector<Leftover>& leftovers, const std::string& name);
  // Sends "done", closes the socket and reaps the guardian, which exits at once.
  ~Guardian();
  Guardian(const Guardian&) = delete;
  Guardian& operator=(const Guardian&) = delete;

  // More paths to remove should the helper die: sent before they are made, so nothing
  // the helper makes can outlive it.
  void add(const std::vector<Leftover>& leftovers);

  // Should the helper die, the guardian opens the terminal `tty` (a path: it holds no
  // descriptor meanwhile) and puts `modes` back: a SIGKILLed `run` leaves UML's raw
  // mode otherwise.
  void restore_terminal(const std::filesystem::path& tty, const termios& modes);

  int fd() const { return fd_; }  // the helper's end: the program's child writes its pid there
  pid_t pid() const { return pid_; }

 private:
  int fd_ = -1;
  pid_t pid_ = -1;
};

}  // namespace uml::process
