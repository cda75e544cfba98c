#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "ktap.hpp"
#include "outcome.hpp"

namespace uml {

struct JunitInput {
  std::string name;  // the test's name
  const Outcome* outcome = nullptr;
  const KtapReport* kunit = nullptr;  // one testcase per KUnit case when given
  std::string_view console;           // goes to <system-out> (its tail when long)
  double seconds = 0;
};

// JUnit XML as CI systems (GitLab, Jenkins, GitHub reporters) read it.
std::string junit_xml(const JunitInput& input);

// Writes the file whole (process::write_file_atomic), making its directory. Throws Error.
void write_junit(const std::filesystem::path& path, const JunitInput& input);

// XML text with the five entities escaped and characters XML 1.0 forbids dropped.
std::string xml_escape(std::string_view text);

}  // namespace uml
