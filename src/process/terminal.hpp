#pragma once

#include <termios.h>

#include <array>
#include <filesystem>
#include <optional>
#include <utility>

namespace uml::process {

// Saves the terminal modes and file status flags of stdin, stdout and stderr, and puts
// them back when destroyed: a program may make the terminal raw and its descriptors
// non-blocking (shared with the user's shell), and a killed program restores nothing.
class TerminalGuard {
 public:
  TerminalGuard();
  ~TerminalGuard();
  TerminalGuard(const TerminalGuard&) = delete;
  TerminalGuard& operator=(const TerminalGuard&) = delete;

  void restore() const;

  // The first of stdin, stdout and stderr that is a terminal: its path and saved modes.
  std::optional<std::pair<std::filesystem::path, termios>> terminal() const;

 private:
  struct Saved {
    std::optional<termios> modes;
    std::filesystem::path tty;
    int flags = -1;
  };
  std::array<Saved, 3> saved_;
};

}  // namespace uml::process
