#include "junit.hpp"

#include <catch2/catch.hpp>

#include "text.hpp"

namespace {

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("XML escaping, control characters dropped") {
  CHECK(uml::xml_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&apos;");
  CHECK(uml::xml_escape("x\x1b[0my\n") == "x[0my\n");
}

TEST_CASE("JUnit: one test case for a plain test, failure carries the guest status") {
  uml::Outcome outcome{uml::ExitCode::CommandFailed, "the guest command failed with status 3", {}};
  const auto xml = uml::junit_xml({"hello", &outcome, nullptr, "boot <log>\n", 1.5});
  CHECK(
      xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"hello\" "
                      "tests=\"1\" failures=\"1\" errors=\"0\""));
  CHECK(xml.find("<testcase classname=\"hello\" name=\"hello\" time=\"1.500\">") !=
        std::string::npos);
  CHECK(xml.find("<failure message=\"command failed (exit 1): the guest command failed with "
                 "status 3\"") != std::string::npos);
  CHECK(xml.find("<system-out>boot &lt;log&gt;\n</system-out>") != std::string::npos);

  uml::Outcome panic{uml::ExitCode::KernelPanic, "kernel panic: x", {}};
  const auto error = uml::junit_xml({"hello", &panic, nullptr, "", 0});
  CHECK(error.find("<error message=\"kernel panic (exit 4)") != std::string::npos);
  CHECK(error.find("type=\"kernel panic\"") != std::string::npos);

  // A finding or a module left loaded is the tested code's failure, with its class.
  uml::Outcome finding{uml::ExitCode::KernelFinding, "kernel finding (KASAN): BUG: KASAN: x", {}};
  const auto found = uml::junit_xml({"hello", &finding, nullptr, "", 0});
  CHECK(found.find("<failure message=\"kernel finding (exit 7): kernel finding (KASAN): BUG: "
                   "KASAN: x\" type=\"kernel finding\"/>") != std::string::npos);
  uml::Outcome unload{uml::ExitCode::UnloadFailed, "module m could not be unloaded", {}};
  CHECK(uml::junit_xml({"hello", &unload, nullptr, "", 0})
            .find("<failure message=\"unload failed (exit 8)") != std::string::npos);
}

TEST_CASE("JUnit: one test case per KUnit case, grouped by suite") {
  uml::KtapReport report;
  report.cases.push_back({{"s"}, "a", uml::CaseStatus::Passed, {}, {}});
  report.cases.push_back({{"s"}, "b", uml::CaseStatus::Failed, {}, {"# b: EXPECTATION FAILED"}});
  report.cases.push_back({{"t", "p"}, "c", uml::CaseStatus::Skipped, "SKIP no", {}});
  report.cases.push_back({{"t"}, "#2 (no result)", uml::CaseStatus::Crashed, {}, {}});
  uml::Outcome outcome{uml::ExitCode::KunitFailed, "KUnit: ...", {}};
  const auto xml = uml::junit_xml({"kunit", &outcome, &report, "", 2});
  CHECK(count(xml, "<testcase ") == 4);  // no extra case for the boot
  CHECK(xml.find("tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\"") != std::string::npos);
  CHECK(xml.find("<testsuite name=\"s\" tests=\"2\" failures=\"1\"") != std::string::npos);
  CHECK(xml.find("classname=\"t.p\" name=\"c\"") != std::string::npos);
  CHECK(xml.find("<failure message=\"KUnit case failed\"># b: EXPECTATION FAILED\n</failure>") !=
        std::string::npos);
  CHECK(xml.find("<skipped message=\"SKIP no\"/>") != std::string::npos);
  CHECK(count(xml, "<system-out>") == 1);

  uml::Outcome panic{uml::ExitCode::KernelPanic, "kernel panic: x", {}};
  const auto with_boot = uml::junit_xml({"kunit", &panic, &report, "", 2});
  CHECK(count(with_boot, "<testcase ") == 5);  // the boot's own failure is a case too
}

namespace {

// Every byte sequence valid UTF-8, and no character XML 1.0 forbids.
bool valid_xml_text(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
      return false;
    }
    const auto n = uml::utf8_length(text, i);
    if (n == 0 || text.compare(i, n, "\xef\xbf\xbe") == 0 ||
        text.compare(i, n, "\xef\xbf\xbf") == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

TEST_CASE("JUnit XML stays valid UTF-8 whatever bytes the guest printed") {
  const std::string garbage =
      "ok \xff\xfe bad \xc3 cut \xe2\x82 overlong \xc0\xaf surrogate \xed\xa0\x80 big \xf5\x80\x80"
      "\x80 nonchar \xef\xbf\xbf ctl \x01\x1b[2J fine \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n";
  uml::Outcome outcome;
  outcome.code = uml::ExitCode::CommandFailed;
  outcome.summary = "failed: " + garbage;
  outcome.details.push_back(garbage);
  const auto xml = uml::junit_xml({"t\xff", &outcome, nullptr, garbage, 1.0});
  CHECK(valid_xml_text(xml));
  // Valid characters survive; invalid ones become U+FFFD.
  CHECK(xml.find("fine \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") != std::string::npos);
  CHECK(xml.find("ok \xef\xbf\xbd\xef\xbf\xbd bad") != std::string::npos);
  CHECK(uml::xml_escape("\xc3") == "\xef\xbf\xbd");
}
