#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "process/result.hpp"

namespace uml::process {

// Runs a short command (in a session of its own, stdin and stderr on /dev/null) and
// returns its standard output, or why there is none: it could not start, did not finish
// within `timeout` (its session is then killed), or did not exit with status 0
// ("`prog --flag` exited with status 2").
Result<std::string> capture_output(const std::filesystem::path& exe,
                                   const std::vector<std::string>& args,
                                   std::chrono::milliseconds timeout);

}  // namespace uml::process
