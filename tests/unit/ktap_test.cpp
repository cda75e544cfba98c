#include "ktap.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

#include "support.hpp"

using uml::CaseStatus;
using uml::parse_ktap;

namespace {

uml::KtapReport parse_file(const std::string& name) {
  return parse_ktap(data_file(name));
}

std::vector<std::string> names(const uml::KtapReport& report) {
  std::vector<std::string> out;
  for (const auto& c : report.cases) {
    out.push_back(c.full_name());
  }
  return out;
}

}  // namespace

// The kernel's own KUnit tool logs (tools/testing/kunit/test_data), with the verdicts
// kunit_tool_test.py expects of kunit_parser.py.

TEST_CASE("kunit logs: all passed, flat and nested") {
  const auto flat = parse_file("test_is_test_passed-all_passed.log");
  CHECK(flat.passed());
  CHECK(flat.count(CaseStatus::Passed) == flat.cases.size());
  CHECK(flat.errors.empty());

  const auto nested = parse_file("test_is_test_passed-all_passed_nested.log");
  CHECK(nested.passed());
  CHECK(nested.errors.empty());
  CHECK(nested.cases.size() == 7);
  CHECK(names(nested)[1] == "sysctl_test.example.example_simple_test");
  CHECK(names(nested)[6] == "example.example_mock_test");
}

TEST_CASE("kunit logs: a failed case, with its diagnostic lines") {
  const auto report = parse_file("test_is_test_passed-failure.log");
  CHECK_FALSE(report.passed());
  CHECK(report.count(CaseStatus::Failed) == 1);
  CHECK(report.count(CaseStatus::Passed) == 9);
  const auto& failed = report.cases[8];
  CHECK(failed.full_name() == "example.example_simple_test");
  CHECK(failed.status == CaseStatus::Failed);
  CHECK(std::find(failed.log.begin(), failed.log.end(),
                  "# example_simple_test: EXPECTATION FAILED at lib/kunit/example-test.c:30") !=
        failed.log.end());
}

TEST_CASE("kunit logs: no plan, no tests, no KTAP at all") {
  const auto missing_plan = parse_file("test_is_test_passed-missing_plan.log");
  CHECK(missing_plan.passed());
  CHECK(missing_plan.count(CaseStatus::Passed) == 10);

  const auto header_only = parse_file("test_is_test_passed-no_tests_run_with_header.log");
  CHECK(header_only.documents == 1);
  CHECK(header_only.cases.empty());
  CHECK_FALSE(header_only.passed());  // zero tests is a failure

  const auto nothing = parse_file("test_is_test_passed-no_tests_run_no_header.log");
  CHECK(nothing.documents == 0);
  CHECK_FALSE(nothing.passed());
  CHECK_FALSE(parse_file("test_insufficient_memory.log").passed());

  const auto no_plan = parse_file("test_is_test_passed-no_tests_no_plan.log");
  CHECK(no_plan.passed());
  CHECK(names(no_plan) == std::vector<std::string>{"suite.case"});
}

TEST_CASE("kunit logs: a panic in the middle of a suite crashes the rest") {
  const auto report = parse_file("test_kernel_panic_interrupt.log");
  CHECK_FALSE(report.passed());
  CHECK(report.count(CaseStatus::Passed) == 8);
  CHECK(report.count(CaseStatus::Crashed) == 2);
  CHECK(report.cases[8].suite() == "string-stream-test");
  CHECK(report.cases[8].name == "#2 (no result)");
  CHECK_FALSE(report.errors.empty());
  bool panic_in_log = false;
  for (const auto& line : report.cases[8].log) {
    panic_in_log = panic_in_log || line.find("Kernel panic") != std::string::npos;
  }
  CHECK(panic_in_log);
}

TEST_CASE("kunit logs: skipped cases") {
  const auto some = parse_file("test_skip_tests.log");
  CHECK(some.passed());
  CHECK(some.count(CaseStatus::Passed) == 4);
  CHECK(some.count(CaseStatus::Skipped) == 1);
  CHECK(some.cases[4].directive == "SKIP this test should be skipped");

  const auto all = parse_file("test_skip_all_tests.log");
  CHECK(all.count(CaseStatus::Skipped) == 5);
  CHECK(all.passed());
}

TEST_CASE("kunit logs: printk prefixes, noise and '#' lines between results") {
  for (const auto* name :
       {"test_config_printk_time.log", "test_multiple_prefixes.log",
        "test_interrupted_tap_output.log", "test_pound_sign.log", "test_pound_no_prefix.log",
        "test_output_with_prefix_isolated_correctly.log"}) {
    INFO(name);
    const auto report = parse_file(name);
    CHECK(report.passed());
    CHECK(report.cases.size() == 10);
    CHECK(report.cases[0].full_name() == "kunit-resource-test.kunit_resource_test_init_resources");
    CHECK(report.errors.empty());
  }
  const auto isolated = parse_file("test_output_isolated_correctly.log");
  CHECK(isolated.passed());
  CHECK(names(isolated) ==
        std::vector<std::string>{"example.example_simple_test", "example.example_mock_test"});
}

TEST_CASE("kunit logs: KTAP v1 forms, attributes, hyphens, kselftest") {
  const auto ktap = parse_file("test_parse_ktap_output.log");
  CHECK(names(ktap) == std::vector<std::string>{"suite.case_1", "suite.case_2", "suite.case_3"});
  CHECK(ktap.passed());
  CHECK(names(parse_file("test_parse_subtest_header.log")) ==
        std::vector<std::string>{"suite.test"});
  CHECK(names(parse_file("test_parse_attributes.log")) == std::vector<std::string>{"suite.test"});
  const auto hyphen = parse_file("test_strip_hyphen.log");
  CHECK(names(hyphen) == std::vector<std::string>{"sysctl_test.sysctl_test_dointvec_null_tbl_data",
                                                  "example.example_simple_test"});
  const auto kselftest = parse_file("test_is_test_passed-kselftest.log");
  CHECK(kselftest.passed());
  CHECK(kselftest.cases.size() == 2);
}

// The shape of a UML console with KUnit in a module (lib/kunit/test.c, executor.c of
// 6.12): the boot's empty built-in plan, then one document per module, with "# module:",
// parameterised cases, stats lines and other console traffic.
constexpr auto module_console = R"(Run /sbin/uml-init as init process
KTAP version 1
1..0
UML-BOOTED 0123456789abcdef
kunit_example_test: loading test module taints kernel.
KTAP version 1
1..1
    KTAP version 1
    # Subtest: example
    # module: kunit_example_test
    1..4
    # example_simple_test: initializing
    ok 1 example_simple_test
    # example_skip_test: initializing
    ok 2 example_skip_test # SKIP this test should be skipped
        KTAP version 1
        # Subtest: example_params_test
        ok 1 example value 3
        ok 2 example value 2 # SKIP unsupported param value 2
        not ok 3 example value 1
    # example_params_test: pass:1 fail:1 skip:1 total:3
    not ok 3 example_params_test
    # example_slow_test.speed: slow
    ok 4 example_slow_test
# example: pass:2 fail:1 skip:1 total:4
# Totals: pass:3 fail:1 skip:2 total:6
not ok 1 example

UML-RESULT 0123456789abcdef 0
reboot: Power down
)";

TEST_CASE("a module's KTAP after the boot's empty plan: nothing is lost") {
  const auto report = parse_ktap(module_console);
  CHECK(report.documents == 2);
  CHECK(names(report) == std::vector<std::string>{"example.example_simple_test",
                                                  "example.example_skip_test",
                                                  "example.example_params_test.example value 3",
                                                  "example.example_params_test.example value 2",
                                                  "example.example_params_test.example value 1",
                                                  "example.example_slow_test"});
  CHECK(report.count(CaseStatus::Failed) == 1);
  CHECK(report.count(CaseStatus::Skipped) == 2);
  CHECK(report.summary() == "3 passed, 1 failed, 0 crashed, 2 skipped");
  CHECK_FALSE(report.passed());
}

TEST_CASE("a module crashing mid-suite, then another module's document") {
  const auto report = parse_ktap(
      "KTAP version 1\n1..1\n"
      "    KTAP version 1\n    # Subtest: first\n    1..3\n    ok 1 a\n"
      "BUG: kernel NULL pointer dereference\n"
      "KTAP version 1\n1..1\n"
      "    KTAP version 1\n    # Subtest: second\n    1..1\n    ok 1 b\nok 1 second\n");
  CHECK(report.documents == 2);
  CHECK(names(report) == std::vector<std::string>{"first.a", "first.#2 (no result)",
                                                  "first.#3 (no result)", "second.b"});
  CHECK(report.count(CaseStatus::Crashed) == 2);
  CHECK(report.cases[3].status == CaseStatus::Passed);
}

TEST_CASE("suites without a plan end at their result line or crash at the end") {
  const auto unfinished = parse_ktap(
      "KTAP version 1\n    # Subtest: s\n    ok 1 a\n    ok 2 b\n[  9.1] Kernel panic\n");
  CHECK(names(unfinished) == std::vector<std::string>{"s.a", "s.b", "s.(unfinished)"});
  CHECK_FALSE(unfinished.passed());

  const auto finished = parse_ktap("KTAP version 1\n    # Subtest: s\n    ok 1 a\nok 1 s\n");
  CHECK(finished.passed());
  CHECK(finished.cases.size() == 1);
}

TEST_CASE("a suite that fails although its cases passed gets a failing entry") {
  const auto report = parse_ktap(
      "KTAP version 1\n1..1\n    # Subtest: s\n    1..1\n    ok 1 a\n"
      "    # s: exit failed\nnot ok 1 s\n");
  CHECK(names(report) == std::vector<std::string>{"s.a", "s.(suite)"});
  CHECK_FALSE(report.passed());
}

// Consoles of real boots (tests/unit/data/README.md): the 6.12 minimal kernel with KUnit,
// lib/kunit/kunit-example-test.c and a demo suite as out-of-tree modules.

TEST_CASE("real boot: kunit-example-test after the boot's empty plan") {
  const auto report = parse_file("uml-6.12-kunit-pass.log");
  CHECK(report.documents == 2);
  CHECK(report.passed());
  CHECK(report.summary() == "9 passed, 0 failed, 0 crashed, 4 skipped");
  CHECK(report.errors.empty());
  CHECK(names(report)[0] == "example_init.example_init_test");
  CHECK(names(report)[8] == "example.example_params_test.example value 3");
}

TEST_CASE("real boot: two modules, one failing expectation") {
  const auto report = parse_file("uml-6.12-kunit-fail.log");
  CHECK(report.documents == 3);
  CHECK(report.summary() == "12 passed, 1 failed, 0 crashed, 4 skipped");
  const auto& failed = report.cases[14];
  CHECK(failed.full_name() == "uml_demo.demo_fail");
  CHECK(failed.status == CaseStatus::Failed);
  CHECK(failed.log.size() == 3);
  CHECK(failed.log[1] == "Expected 1 + 1 == 3, but");
}

TEST_CASE("real boot: a case that oopses panics UML mid-suite") {
  const auto report = parse_file("uml-6.12-kunit-crash.log");
  CHECK_FALSE(report.passed());
  const auto all = names(report);
  REQUIRE(all.size() >= 4);
  CHECK(std::vector<std::string>(all.end() - 4, all.end()) ==
        std::vector<std::string>{"uml_demo.demo_pass", "uml_demo.demo_fail",
                                 "uml_demo.#3 (no result)", "uml_demo.#4 (no result)"});
  CHECK(report.count(CaseStatus::Crashed) == 2);
}
