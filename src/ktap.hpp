#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace uml {

enum class CaseStatus { Passed, Failed, Skipped, Crashed };

std::string_view to_string(CaseStatus status);

// One leaf test (a KUnit case or parameter) with the suites it is nested in.
struct KtapCase {
  std::vector<std::string> suites;  // outermost first
  std::string name;
  CaseStatus status = CaseStatus::Crashed;
  std::string directive;         // e.g. "SKIP this test should be skipped"
  std::vector<std::string> log;  // diagnostic lines printed before its result

  std::string suite() const;      // suites joined with '.'
  std::string full_name() const;  // suite() + '.' + name
};

struct KtapReport {
  std::vector<KtapCase> cases;
  std::vector<std::string> errors;  // structural problems: missing results, crashes
  std::size_t documents = 0;        // KTAP/TAP documents found (empty ones included)

  std::size_t count(CaseStatus status) const;
  // At least one case ran and none failed or crashed (skipped cases are fine).
  bool passed() const;
  // "3 passed, 1 failed, 0 crashed, 1 skipped".
  std::string summary() const;
};

// Parses every KTAP (v1) or TAP (13/14, "# Subtest:") document in the console into
// leaf cases. A console can hold several documents (the boot's empty built-in plan,
// then one per loaded test module); noise, printk prefixes and indentation are
// tolerated; a suite that stops without its results (crash) yields CRASHED cases.
KtapReport parse_ktap(std::string_view console);

// What a boot with kunit.action=list printed (lib/kunit/executor.c,
// kunit_exec_list_tests): "KTAP version 1", then per suite its name and a line
// "<suite>.<case>" per case; a case counts only after its suite's line.
struct KunitListing {
  std::vector<std::string> cases;         // "<suite>.<case>", each once, in order
  std::vector<std::string> unselectable;  // names kunit.filter_glob cannot select
};
KunitListing parse_kunit_listing(std::string_view console);

}  // namespace uml
