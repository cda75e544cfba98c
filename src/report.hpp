#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "console.hpp"
#include "ktap.hpp"
#include "options.hpp"
#include "outcome.hpp"
#include "process/supervise.hpp"

namespace uml {

// The console log of a `test` boot: every console byte, as it comes, and the helper's
// own "# uml-helper: ..." lines.
class ConsoleLog {
 public:
  // Creates (truncates) the file and its directory; throws Error (--log PATH: why).
  explicit ConsoleLog(const std::filesystem::path& path);
  ~ConsoleLog();
  ConsoleLog(const ConsoleLog&) = delete;
  ConsoleLog& operator=(const ConsoleLog&) = delete;

  // A write that fails is reported once, then ignored: UML is still supervised and the
  // console is still in memory.
  void write(std::string_view text);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool failed_ = false;
};

// Prints the part of the console that explains a failure: from just before the first
// kernel crash, else the guest command's output (after UML-BOOTED), else the last
// `tail` lines.
void print_excerpt(const std::string& console, const ConsoleFindings& findings, bool warnings,
                   std::size_t tail);

// What the supervision adds to a verdict: SIGKILL needed, processes that outlived UML.
void add_run_details(Outcome& outcome, const process::SuperviseResult& run);

// The verdict of a `test` boot on stdout: "<name>: <summary> (<s> s)", or on failure
// the console excerpt (unless it was shown live) and "<name>: FAILED (...)"; then the
// details.
void print_verdict(const TestOptions& options, const Outcome& outcome, double seconds,
                   const std::string& console, const ConsoleFindings& findings);

// The cases a kunit.action=list boot listed, one "<suite>.<case>" per line, written
// whole or not at all; names that kunit.filter_glob could not select are left out, with
// a warning. Throws Error.
void write_kunit_list(const std::filesystem::path& path, const KunitListing& listing);

}  // namespace uml
