#include "process/guardian.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "process/errors.hpp"
#include "process/proc_table.hpp"
#include "process/spawn.hpp"

namespace uml::process {

namespace {

// Its messages, each ended by '\0': S<pid> (the program's session), R<path> (remove),
// E<path> (remove when empty), D (the helper ended normally: do nothing).
constexpr char guardian_session = guardian_session_message;
constexpr char guardian_remove = 'R';
constexpr char guardian_remove_empty = 'E';
constexpr char guardian_done = 'D';
// T<termios bytes><tty path>: the terminal modes to restore, and where.
constexpr char guardian_terminal = 'T';

std::string leftover_messages(const std::vector<Leftover>& leftovers) {
  std::string message;
  for (const auto& leftover : leftovers) {
    message += leftover.recursive ? guardian_remove : guardian_remove_empty;
    message += leftover.path.string();
    message += '\0';
  }
  return message;
}

// Puts a terminal's modes back, as TerminalGuard does; the guardian is in a session of
// its own, so this is no background write (no SIGTTOU) and takes no controlling tty.
void restore_modes(const std::string& tty, const termios& modes) {
  const int fd = ::open(tty.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) {
    ::tcsetattr(fd, TCSADRAIN, &modes);
    ::close(fd);
  }
}

// A socket rather than a pipe: MSG_NOSIGNAL, so a guardian that died (someone killed
// it) cannot take the helper, or the program's child, down with SIGPIPE.
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

// The guardian's life after the fork. The helper has no threads, so the forked copy
// may allocate; it ends with _exit: the helper's atexit work and stdio are not its own.
[[noreturn]] void guardian_main(int socket_fd, const char* name) {
  for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) {
    ::signal(sig, SIG_IGN);  // only the helper's end of file moves it
  }
  ::signal(SIGCHLD, SIG_DFL);  // the helper's handler writes to the helper's self-pipe
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::setsid();  // out of the helper's process group and terminal
  ::prctl(PR_SET_NAME, name);
  // Pins no directory (the leftovers' paths are absolute).
  [[maybe_unused]] const int cwd = ::chdir("/");
  // Its socket on 3; stdio on /dev/null and nothing else open, so the program's output
  // pipe and the helper's stdout/stderr (which ctest and ninja read to the end) are not
  // held.
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
    std::optional<std::pair<std::string, termios>> terminal;
    std::string_view rest = said;
    while (!rest.empty()) {
      if (rest[0] == guardian_terminal && rest.size() > 1 + sizeof(termios)) {
        // Binary modes first, then the path up to its '\0'.
        termios modes{};
        std::memcpy(&modes, rest.data() + 1, sizeof modes);
        rest.remove_prefix(1 + sizeof modes);
        const auto end = std::min(rest.find('\0'), rest.size());
        terminal.emplace(std::string(rest.substr(0, end)), modes);
        rest.remove_prefix(std::min(end + 1, rest.size()));
        continue;
      }
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
    // The program first: it could recreate what is removed while it runs.
    for (const pid_t session : sessions) {
      kill_session(session);
    }
    if (terminal) {
      restore_modes(terminal->first, terminal->second);
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

Guardian::Guardian(const std::vector<Leftover>& leftovers, const std::string& name) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw StartError(errno_text("socketpair", errno));
  }
  // Signals blocked across the fork: the child must not run the helper's handlers
  // before it has set its own dispositions.
  sigset_t all, old;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &old);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    guardian_main(fds[1], name.c_str());
  }
  const int fork_error = errno;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    throw StartError(errno_text("fork", fork_error));
  }
  fd_ = fds[0];
  pid_ = pid;
  send_all(fd_, leftover_messages(leftovers));
}

void Guardian::add(const std::vector<Leftover>& leftovers) {
  send_all(fd_, leftover_messages(leftovers));
}

void Guardian::restore_terminal(const std::filesystem::path& tty, const termios& modes) {
  std::string message(1, guardian_terminal);
  message.append(reinterpret_cast<const char*>(&modes), sizeof modes);
  message += tty.string();
  message += '\0';
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

}  // namespace uml::process
