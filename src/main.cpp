#include <exception>

#include <fmt/format.h>

#include "cli.hpp"
#include "error.hpp"

int main(int argc, char** argv) {
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
