#include "process/terminal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>

namespace uml::process {

TerminalGuard::TerminalGuard() {
  for (int fd = 0; fd < 3; ++fd) {
    auto& saved = saved_[static_cast<std::size_t>(fd)];
    saved.flags = ::fcntl(fd, F_GETFL);
    termios modes{};
    if (::isatty(fd) != 0 && ::tcgetattr(fd, &modes) == 0) {
      saved.modes = modes;
      if (const char* name = ::ttyname(fd)) {
        saved.tty = name;
      }
    }
  }
}

TerminalGuard::~TerminalGuard() {
  restore();
}

std::optional<std::pair<std::filesystem::path, termios>> TerminalGuard::terminal() const {
  for (const auto& saved : saved_) {
    if (saved.modes && !saved.tty.empty()) {
      return std::make_pair(saved.tty, *saved.modes);
    }
  }
  return std::nullopt;
}

void TerminalGuard::restore() const {
  // tcsetattr from a background process group raises SIGTTOU; the helper runs in the
  // foreground, but a shell may have moved it: ignore SIGTTOU meanwhile.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGTTOU, &ignore, &old);
  for (int fd = 0; fd < 3; ++fd) {
    const auto& saved = saved_[static_cast<std::size_t>(fd)];
    if (saved.flags >= 0) {
      ::fcntl(fd, F_SETFL, saved.flags);
    }
    if (saved.modes) {
      ::tcsetattr(fd, TCSADRAIN, &*saved.modes);
    }
  }
  ::sigaction(SIGTTOU, &old, nullptr);
}

}  // namespace uml::process
