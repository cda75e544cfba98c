#pragma once

#include <stdexcept>
#include <string>

#include "exit_code.hpp"

namespace uml {

// The one error type of uml-helper: main() prints it as "uml-helper: error: <what>"
// and exits with its code.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ExitCode code = ExitCode::Error)
      : std::runtime_error(message), code_(code) {}

  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

}  // namespace uml
