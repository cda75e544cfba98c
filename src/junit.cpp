#include "junit.hpp"

#include <map>

#include <fmt/format.h>

#include "error.hpp"
#include "process/files.hpp"
#include "text.hpp"

namespace uml {

namespace {

constexpr std::size_t max_system_out = 1 << 20;

std::string attr(std::string_view text) {
  return xml_escape(text);
}

void add_case_xml(std::string& xml, std::string_view classname, std::string_view name,
                  double seconds, std::string_view kind, std::string_view message,
                  std::string_view body, std::string_view type = {}) {
  xml += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"", attr(classname),
                     attr(name), seconds);
  if (kind.empty()) {
    xml += "/>\n";
    return;
  }
  xml += fmt::format(">\n      <{} message=\"{}\"", kind, attr(message));
  if (!type.empty()) {
    xml += fmt::format(" type=\"{}\"", attr(type));
  }
  if (body.empty()) {
    xml += "/>\n";
  } else {
    xml += fmt::format(">{}</{}>\n", xml_escape(body), kind);
  }
  xml += "    </testcase>\n";
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default: {
        // Control characters (terminal escapes on the console) are not allowed in XML.
        if (static_cast<unsigned char>(c) < 0x20) {
          if (c == '\n' || c == '\t') {
            out += c;
          }
          break;
        }
        // The file says UTF-8: bytes that are not (a guest prints anything) become
        // U+FFFD, as do U+FFFE and U+FFFF, which XML 1.0 forbids too.
        const auto n = utf8_length(text, i);
        const auto seq = text.substr(i, n);
        if (n == 0 || seq == "\xef\xbf\xbe" || seq == "\xef\xbf\xbf") {
          out += "\xef\xbf\xbd";
          i += n == 0 ? 1 : n;
          continue;
        }
        out.append(seq);
        i += n;
        continue;
      }
    }
    ++i;
  }
  return out;
}

std::string junit_xml(const JunitInput& input) {
  const auto& outcome = *input.outcome;
  struct Suite {
    std::string body;
    std::size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  };
  std::map<std::string, Suite> suites;

  const bool kunit_only_failure =
      outcome.code == ExitCode::Passed || outcome.code == ExitCode::KunitFailed;
  if (input.kunit != nullptr && !input.kunit->cases.empty()) {
    for (const auto& c : input.kunit->cases) {
      const auto classname = c.suite().empty() ? input.name : c.suite();
      auto& suite = suites[classname];
      ++suite.tests;
      std::string_view kind;
      std::string message;
      switch (c.status) {
        case CaseStatus::Passed:
          break;
        case CaseStatus::Failed:
          kind = "failure";
          message = "KUnit case failed";
          ++suite.failures;
          break;
        case CaseStatus::Crashed:
          kind = "error";
          message = "KUnit case crashed (no result line)";
          ++suite.errors;
          break;
        case CaseStatus::Skipped:
          kind = "skipped";
          message = c.directive;
          ++suite.skipped;
          break;
      }
      add_case_xml(suite.body, classname, c.name, 0, kind, message,
                   c.status == CaseStatus::Skipped ? std::string_view{} : joined(c.log));
    }
  }
  // The boot itself is a test case when there are no KUnit cases, or when it failed for a
  // reason of its own (panic, timeout, ...).
  if (suites.empty() || !kunit_only_failure) {
    auto& suite = suites[input.name];
    ++suite.tests;
    std::string_view kind;
    // The code under test is at fault: a failure; the run itself went wrong: an error.
    if (outcome.code == ExitCode::CommandFailed || outcome.code == ExitCode::KunitFailed ||
        outcome.code == ExitCode::KernelFinding || outcome.code == ExitCode::UnloadFailed) {
      kind = "failure";
      ++suite.failures;
    } else if (outcome.code != ExitCode::Passed) {
      kind = "error";
      ++suite.errors;
    }
    add_case_xml(suite.body, input.name, input.name, input.seconds, kind,
                 fmt::format("{} (exit {}): {}", describe(outcome.code), to_int(outcome.code),
                             outcome.summary),
                 joined(outcome.details), describe(outcome.code));
  }

  std::size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  for (const auto& [name, suite] : suites) {
    tests += suite.tests;
    failures += suite.failures;
    errors += suite.errors;
    skipped += suite.skipped;
  }
  auto console = input.console;
  if (console.size() > max_system_out) {
    console = console.substr(console.size() - max_system_out);
  }
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += fmt::format(
      "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"{:.3f}\">\n",
      attr(input.name), tests, failures, errors, skipped, input.seconds);
  std::size_t index = 0;
  for (const auto& [name, suite] : suites) {
    xml += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
        attr(name), suite.tests, suite.failures, suite.errors, suite.skipped);
    xml += suite.body;
    if (++index == suites.size()) {
      // The console once, in the last suite (<system-out> belongs to a <testsuite>).
      xml += fmt::format("    <system-out>{}</system-out>\n", xml_escape(console));
    }
    xml += "  </testsuite>\n";
  }
  xml += "</testsuites>\n";
  return xml;
}

void write_junit(const std::filesystem::path& path, const JunitInput& input) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (const auto written = process::write_file_atomic(path, junit_xml(input)); !written) {
    throw Error(fmt::format("cannot write the JUnit file {}: {}", path.string(), written.error()));
  }
}

}  // namespace uml
