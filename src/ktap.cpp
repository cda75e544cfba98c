#include "ktap.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "console.hpp"
#include "text.hpp"

namespace uml {

namespace {

constexpr std::size_t max_case_log = 100;

enum class Kind { Version, Subtest, Plan, Result, Other };

struct Line {
  Kind kind = Kind::Other;
  std::size_t indent = 0;
  std::string_view body;  // without indentation
  std::size_t plan = 0;
  bool ok = false;
  std::string_view name;
  std::string_view directive;
};

std::size_t leading_space(std::string_view text) {
  const auto n = text.find_first_not_of(" \t");
  return n == std::string_view::npos ? text.size() : n;
}

std::optional<std::size_t> parse_number(std::string_view& text) {
  std::size_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr == text.data()) {
    return std::nullopt;
  }
  text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
  return value;
}

bool is_version(std::string_view body) {
  for (const std::string_view tag : {"KTAP version ", "TAP version "}) {
    if (body.starts_with(tag)) {
      auto rest = body.substr(tag.size());
      return parse_number(rest) && trim(rest).empty();
    }
  }
  return false;
}

// "ok 1 - name # SKIP reason", "not ok 2 name".
bool parse_result(std::string_view body, Line& line) {
  if (body.starts_with("ok ")) {
    line.ok = true;
    body.remove_prefix(3);
  } else if (body.starts_with("not ok ")) {
    line.ok = false;
    body.remove_prefix(7);
  } else {
    return false;
  }
  if (!parse_number(body) || (!body.empty() && body[0] != ' ')) {
    return false;
  }
  body = trim(body);
  if (body.starts_with("- ")) {
    body.remove_prefix(2);
  }
  const auto hash = body.find('#');
  line.name = trim(body.substr(0, hash));
  line.directive =
      hash == std::string_view::npos ? std::string_view{} : trim(body.substr(hash + 1));
  return true;
}

bool is_skip(std::string_view directive) {
  return directive.size() >= 4 &&
         (directive.substr(0, 4) == "SKIP" || directive.substr(0, 4) == "skip");
}

class Parser {
 public:
  Parser(std::string_view console, KtapReport& report)
      : lines_(split_lines(console)), report_(report) {}

  void run() {
    while (pos_ < lines_.size()) {
      const auto text = strip_console_prefix(lines_[pos_]);
      const auto space = leading_space(text);
      if (is_version(trim(text.substr(space)))) {
        // Indentation before the document's version line is a prefix of all its lines.
        prefix_space_ = space;
        ++report_.documents;
        ++pos_;
        Suite top;
        top.top = true;
        parse_body(top);
      } else {
        ++pos_;
      }
    }
  }

 private:
  struct Suite {
    std::vector<std::string> path;  // names of the enclosing suites and this one
    std::string name;
    std::size_t indent = 0;
    std::optional<std::size_t> expected;
    std::size_t children = 0;
    std::size_t first_case = 0;  // index in report_.cases of its first leaf
    bool top = false;
  };

  enum class End { Complete, Closed, NewDocument, Eof };

  Line classify(std::size_t index) const {
    auto text = strip_console_prefix(lines_[index]);
    text.remove_prefix(std::min(leading_space(text), prefix_space_));
    Line line;
    line.indent = leading_space(text);
    line.body = trim(text.substr(line.indent));
    if (is_version(line.body)) {
      line.kind = Kind::Version;
    } else if (line.body.starts_with("# Subtest:")) {
      line.kind = Kind::Subtest;
      line.name = trim(line.body.substr(10));
    } else if (line.body.starts_with("1..")) {
      auto rest = line.body.substr(3);
      if (const auto n = parse_number(rest)) {
        line.kind = Kind::Plan;
        line.plan = *n;
      }
    } else if (parse_result(line.body, line)) {
      line.kind = Kind::Result;
    }
    return line;
  }

  void add_case(const Suite& suite, std::string name, CaseStatus status, std::string directive,
                std::vector<std::string> log) {
    KtapCase c;
    c.suites = suite.path;
    c.name = std::move(name);
    c.status = status;
    c.directive = std::move(directive);
    if (log.size() > max_case_log) {
      log.erase(log.begin(), log.end() - max_case_log);
    }
    c.log = std::move(log);
    report_.cases.push_back(std::move(c));
  }

  std::string suite_label(const Suite& suite) const {
    return suite.top ? std::string("top level") : fmt::format("suite {:?}", suite.name);
  }

  // The suite stopped before all its results: the ones still owed crashed. `abrupt`: it
  // never printed its own result either (the console ended, or a new document began).
  void record_missing(Suite& suite, std::vector<std::string>& log, std::string_view why,
                      bool abrupt) {
    if (suite.expected && suite.children < *suite.expected) {
      report_.errors.push_back(fmt::format("{}: {} of {} results missing ({})", suite_label(suite),
                                           *suite.expected - suite.children, *suite.expected, why));
      for (auto n = suite.children + 1; n <= *suite.expected; ++n) {
        add_case(suite, fmt::format("#{} (no result)", n), CaseStatus::Crashed, {},
                 n == suite.children + 1 ? log : std::vector<std::string>{});
      }
      suite.children = *suite.expected;
    } else if (abrupt && !suite.top && !has_crash_since(suite.first_case)) {
      report_.errors.push_back(
          fmt::format("{}: stopped without its result ({})", suite_label(suite), why));
      add_case(suite, "(unfinished)", CaseStatus::Crashed, {}, log);
    }
    log.clear();
  }

  bool has_crash_since(std::size_t first) const {
    for (auto i = first; i < report_.cases.size(); ++i) {
      if (report_.cases[i].status == CaseStatus::Crashed) {
        return true;
      }
    }
    return false;
  }

  // Parses a suite after its header lines: its plan, then its children until the plan
  // is complete or a line shows the suite has ended.
  End parse_body(Suite& suite) {
    suite.first_case = report_.cases.size();
    std::vector<std::string> log;
    while (pos_ < lines_.size()) {
      const auto line = classify(pos_);
      if (line.kind == Kind::Plan) {
        suite.expected = line.plan;
        ++pos_;
        break;
      }
      if (line.kind != Kind::Other) {
        break;
      }
      log.emplace_back(line.body);
      ++pos_;
    }
    while (true) {
      if (suite.expected && suite.children >= *suite.expected) {
        return End::Complete;
      }
      if (pos_ >= lines_.size()) {
        record_missing(suite, log, "the console ended", true);
        return End::Eof;
      }
      const auto line = classify(pos_);
      switch (line.kind) {
        case Kind::Other:
        case Kind::Plan:
          log.emplace_back(line.body);
          ++pos_;
          break;
        case Kind::Version:
          if (line.indent == 0) {
            // A new top-level document: whatever is open here never finished.
            record_missing(suite, log, "a new KTAP document started", true);
            return End::NewDocument;
          }
          [[fallthrough]];
        case Kind::Subtest: {
          const auto end = parse_child_suite(suite, line.indent, log);
          if (end == End::NewDocument || end == End::Eof) {
            record_missing(suite, log,
                           end == End::Eof ? "the console ended" : "a new KTAP document started",
                           true);
            return end;
          }
          break;
        }
        case Kind::Result:
          if (!suite.top && (line.indent < suite.indent ||
                             (!suite.expected && !suite.name.empty() && line.name == suite.name))) {
            record_missing(suite, log, "the suite's result came early", false);
            return End::Closed;
          }
          add_case(suite, std::string(line.name),
                   is_skip(line.directive) ? CaseStatus::Skipped
                   : line.ok               ? CaseStatus::Passed
                                           : CaseStatus::Failed,
                   std::string(line.directive), std::move(log));
          log.clear();
          ++suite.children;
          ++pos_;
          break;
      }
    }
  }

  End parse_child_suite(Suite& parent, std::size_t indent, std::vector<std::string>& parent_log) {
    Suite child;
    child.indent = indent;
    // Header: "KTAP version 1" and/or "# Subtest: name".
    if (classify(pos_).kind == Kind::Version) {
      ++pos_;
    }
    if (pos_ < lines_.size()) {
      const auto line = classify(pos_);
      if (line.kind == Kind::Subtest) {
        child.name = std::string(line.name);
        ++pos_;
      }
    }
    child.path = parent.path;
    child.path.push_back(child.name.empty() ? fmt::format("#{}", parent.children + 1) : child.name);
    parent_log.clear();
    const auto end = parse_body(child);
    ++parent.children;
    if (end == End::NewDocument || end == End::Eof) {
      return end;
    }
    // The child's own result line.
    std::vector<std::string> log;
    std::optional<Line> result;
    while (pos_ < lines_.size()) {
      const auto line = classify(pos_);
      if (line.kind == Kind::Result) {
        result = line;
        ++pos_;
        break;
      }
      if (line.kind != Kind::Other) {
        break;
      }
      log.emplace_back(line.body);
      ++pos_;
    }
    if (child.name.empty() && result) {
      // KTAP v1 without "# Subtest:": the suite is named by its result line.
      child.name = std::string(result->name);
      for (auto i = child.first_case; i < report_.cases.size(); ++i) {
        report_.cases[i].suites[parent.path.size()] = child.name;
      }
      child.path.back() = child.name;
    }
    const bool has_cases = report_.cases.size() > child.first_case;
    if (!result) {
      report_.errors.push_back(fmt::format("suite {:?}: no result line", child.name));
      if (!has_cases) {
        add_case(child, "(no result)", CaseStatus::Crashed, {}, std::move(log));
      }
      return End::Complete;
    }
    const auto status = is_skip(result->directive) ? CaseStatus::Skipped
                        : result->ok               ? CaseStatus::Passed
                                                   : CaseStatus::Failed;
    if (!has_cases) {
      // A suite without cases counts as one test with the suite's own result.
      auto leaf = child;
      leaf.path.pop_back();
      add_case(leaf, child.path.back(), status, std::string(result->directive), std::move(log));
    } else if (status == CaseStatus::Failed) {
      bool any_failed = false;
      for (auto i = child.first_case; i < report_.cases.size(); ++i) {
        const auto s = report_.cases[i].status;
        any_failed = any_failed || s == CaseStatus::Failed || s == CaseStatus::Crashed;
      }
      if (!any_failed) {
        // e.g. the suite's init or exit failed although every case passed.
        add_case(child, "(suite)", CaseStatus::Failed, std::string(result->directive),
                 std::move(log));
      }
    }
    return End::Complete;
  }

  std::vector<std::string_view> lines_;
  KtapReport& report_;
  std::size_t pos_ = 0;
  std::size_t prefix_space_ = 0;
};

}  // namespace

std::string_view to_string(CaseStatus status) {
  switch (status) {
    case CaseStatus::Passed:
      return "passed";
    case CaseStatus::Failed:
      return "failed";
    case CaseStatus::Skipped:
      return "skipped";
    case CaseStatus::Crashed:
      return "crashed";
  }
  return "unknown";
}

std::string KtapCase::suite() const {
  std::string out;
  for (const auto& s : suites) {
    out += (out.empty() ? "" : ".") + s;
  }
  return out;
}

std::string KtapCase::full_name() const {
  const auto s = suite();
  return s.empty() ? name : s + "." + name;
}

std::size_t KtapReport::count(CaseStatus status) const {
  std::size_t n = 0;
  for (const auto& c : cases) {
    n += c.status == status ? 1 : 0;
  }
  return n;
}

bool KtapReport::passed() const {
  return !cases.empty() && count(CaseStatus::Failed) == 0 && count(CaseStatus::Crashed) == 0;
}

std::string KtapReport::summary() const {
  return fmt::format("{} passed, {} failed, {} crashed, {} skipped", count(CaseStatus::Passed),
                     count(CaseStatus::Failed), count(CaseStatus::Crashed),
                     count(CaseStatus::Skipped));
}

KtapReport parse_ktap(std::string_view console) {
  KtapReport report;
  Parser(console, report).run();
  return report;
}

}  // namespace uml

namespace uml {

namespace {

bool selectable_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

void add_once(std::vector<std::string>& names, std::string_view name) {
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    names.emplace_back(name);
  }
}

}  // namespace

KunitListing parse_kunit_listing(std::string_view console) {
  KunitListing listing;
  std::vector<std::string> suites;
  bool listing_started = false;
  for (const auto raw : split_lines(console)) {
    const auto line = trim(strip_console_prefix(raw));
    if (line == "KTAP version 1") {
      listing_started = true;
      continue;
    }
    if (!listing_started || line.empty() || line.find(' ') != std::string_view::npos) {
      continue;
    }
    const auto dot = line.find('.');
    if (dot == std::string_view::npos) {
      if (selectable_name(line)) {
        add_once(suites, line);
      }
      continue;
    }
    const auto suite = line.substr(0, dot);
    if (std::find(suites.begin(), suites.end(), suite) == suites.end()) {
      continue;  // not after its suite's line: some other output
    }
    if (selectable_name(line.substr(dot + 1))) {
      add_once(listing.cases, line);
    } else {
      add_once(listing.unselectable, line);
    }
  }
  return listing;
}

}  // namespace uml
