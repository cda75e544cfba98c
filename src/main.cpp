#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <exception>

#include <fmt/format.h>

#include "cli.hpp"
#include "error.hpp"

int main(int argc, char** argv) {
  // A reader that went away (ctest interrupted by Ctrl-C) must not kill the helper
  // before it has stopped UML and removed its files; UML gets SIGPIPE back by default.
  std::signal(SIGPIPE, SIG_IGN);
  // A closed stdin, stdout or stderr becomes /dev/null: otherwise the next pipe or file
  // the helper opens would take its number, and UML would read or write it as its console.
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF && ::open("/dev/null", O_RDWR) != fd) {
      return 2;
    }
  }
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
