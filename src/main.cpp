#include <csignal>
#include <exception>

#include <fmt/format.h>

#include "cli.hpp"
#include "error.hpp"

int main(int argc, char** argv) {
  // A reader that went away (ctest interrupted by Ctrl-C) must not kill the helper
  // before it has stopped UML and removed its files; UML gets SIGPIPE back by default.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return uml::cli_main(argc, argv);
  } catch (const uml::Error& e) {
    fmt::print(stderr, "uml-helper: error: {}\n", e.what());
    return uml::to_int(e.code());
  } catch (const std::exception& e) {  // std::filesystem, allocation: still one format
    fmt::print(stderr, "uml-helper: error: {}\n", e.what());
    return uml::to_int(uml::ExitCode::Error);
  }
}
