#include "report.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "error.hpp"
#include "process/files.hpp"
#include "text.hpp"

namespace uml {

namespace fs = std::filesystem;

ConsoleLog::ConsoleLog(const fs::path& path, std::uint64_t limit) : path_(path), limit_(limit) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw Error(fmt::format("--log {}: {}", path.string(), std::strerror(errno)));
  }
}

ConsoleLog::~ConsoleLog() {
  if (dropped_ > 0 && !noted_) {
    write("");
  }
  ::close(fd_);
}

void ConsoleLog::console(std::string_view text) {
  const auto room = limit_ - kept_;
  if (text.size() > room) {
    dropped_ += text.size() - room;
    text = text.substr(0, room);
  }
  kept_ += text.size();
  put(text);
}

void ConsoleLog::write(std::string_view text) {
  if (dropped_ > 0 && !noted_) {
    noted_ = true;
    put(fmt::format("\numl-helper: console log truncated at {} bytes; {} more bytes not kept\n",
                    kept_, dropped_));
  }
  put(text);
}

void ConsoleLog::put(std::string_view text) {
  if (text.empty()) {
    return;
  }
  if (!process::write_all(fd_, text)) {
    if (!failed_) {
      fmt::print(stderr, "uml-helper: warning: cannot write {}: {}\n", path_.string(),
                 std::strerror(errno));
    }
    failed_ = true;  // keep supervising UML; the console is still in memory
  }
}

KunitEvidence kunit_evidence(std::string_view console, const ConsoleFindings& findings) {
  KunitEvidence evidence;
  evidence.report = parse_ktap(before_command(console, findings));
  evidence.after_command = parse_ktap(after_command(console, findings)).cases.size();
  return evidence;
}

void print_excerpt(const std::string& console, const ConsoleFindings& findings, bool warnings,
                   std::size_t tail) {
  const auto lines = split_lines(console);
  std::size_t first = lines.size() > tail ? lines.size() - tail : 0;
  const auto limit = std::max<std::size_t>(tail, 200);
  if (const auto problem = findings.first_problem_line(warnings)) {
    const auto from = *problem > 5 ? *problem - 5 : 0;
    if (lines.size() - from <= limit) {
      first = std::min(first, from);
    }
  } else if (findings.booted && lines.size() - findings.booted_line <= limit) {
    first = findings.booted_line;
  }
  fmt::print("---- console{} ----\n",
             first > 0 ? fmt::format(" (lines {}-{} of {})", first + 1, lines.size(), lines.size())
                       : std::string());
  // The guest's bytes, shown, not obeyed by the terminal (the log keeps them raw).
  for (auto i = first; i < lines.size(); ++i) {
    fmt::print("{}\n", terminal_safe(lines[i]));
  }
  fmt::print("---- end of console ----\n");
}

void add_run_details(Outcome& outcome, const process::SuperviseResult& run) {
  if (run.killed) {
    outcome.details.push_back(
        "UML was killed with SIGKILL (it had not stopped on SIGTERM, or a second signal came)");
  }
  if (run.leftovers > 0) {
    outcome.details.push_back(
        fmt::format("{} process(es) of UML's session outlived it and were killed", run.leftovers));
  }
  if (!run.survivors.empty()) {
    outcome.details.push_back(fmt::format(
        "warning: {} process(es) of UML's session could not be killed", run.survivors.size()));
  }
}

void print_verdict(const TestOptions& options, const Outcome& outcome, double seconds,
                   const std::string& console, const ConsoleFindings& findings) {
  if (outcome.code == ExitCode::Passed) {
    fmt::print("uml-helper: {}: {} ({:.2f} s)\n", options.name, terminal_safe(outcome.summary),
               seconds);
  } else {
    if (!options.verbose) {
      print_excerpt(console, findings, options.fail_on_warn, options.tail);
    }
    fmt::print("uml-helper: {}: FAILED ({}, exit {}): {} ({:.2f} s)\n", options.name,
               describe(outcome.code), to_int(outcome.code), terminal_safe(outcome.summary),
               seconds);
  }
  // Summaries and details quote console lines and KUnit names: the guest's bytes.
  for (const auto& line : outcome.details) {
    fmt::print("uml-helper:   {}\n", terminal_safe(line));
  }
}

void write_kunit_list(const fs::path& path, const KunitListing& listing) {
  for (const auto& name : listing.unselectable) {
    fmt::print(stderr,
               "uml-helper: warning: KUnit case {:?} left out: only letters, digits, '_' and '-' "
               "can be selected with kunit.filter_glob\n",
               name);
  }
  std::string text;
  for (const auto& name : listing.cases) {
    text += name + "\n";
  }
  if (const auto written = process::write_file_atomic(path, text); !written) {
    throw Error(fmt::format("--kunit-list {}: {}", path.string(), written.error()));
  }
}

}  // namespace uml
