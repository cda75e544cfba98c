#pragma once

#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace uml::process {

// A system call the process mechanism needs failed ("poll: Bad file descriptor").
class SystemError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A program could not be started: exec failed, or what it needs around it (its
// guardian's socket, a fork) could not be made. The caller decides what that means.
class StartError : public SystemError {
 public:
  using SystemError::SystemError;
};

// "<what>: <strerror(error)>".
inline std::string errno_text(std::string_view what, int error) {
  std::string text(what);
  text += ": ";
  text += std::strerror(error);
  return text;
}

}  // namespace uml::process
