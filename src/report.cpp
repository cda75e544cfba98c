#include "report.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "decode.hpp"
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

namespace {

// The first console line print_excerpt shows.
std::size_t excerpt_first(const std::vector<std::string_view>& lines,
                          const ConsoleFindings& findings, bool warnings, std::size_t tail) {
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
  return first;
}

// The line of the kernel report that decided a failed verdict: the event decide() quoted
// in the summary ("kernel oops/BUG: <its line>"), else the first kernel report.
std::optional<std::size_t> deciding_line(const Outcome& outcome, const ConsoleFindings& findings,
                                         bool fail_on_warn) {
  std::vector<const ConsoleEvent*> events;
  for (const auto* list : {&findings.oopses, &findings.panics, &findings.warnings}) {
    if (!list->empty()) {
      events.push_back(&list->front());
    }
  }
  for (const auto& finding : findings.findings) {
    events.push_back(&finding.event);
  }
  std::optional<std::size_t> quoted;
  for (const auto* event : events) {
    if (!event->text.empty() && outcome.summary.ends_with(event->text) &&
        (!quoted || event->line < *quoted)) {
      quoted = event->line;
    }
  }
  return quoted ? quoted : findings.first_problem_line(fail_on_warn);
}

// The lines [begin, end) of the report that starts at `line`: back over the register
// dump UML prints before it panics ("RIP: 0033:f+0x1/0x2"), on to its end marker
// ("---[ end trace", "---[ end Kernel panic", KASAN's "=====" rule), at most 400 lines.
std::pair<std::size_t, std::size_t> report_range(const std::vector<std::string_view>& lines,
                                                 std::size_t line) {
  static constexpr std::string_view dump[] = {
      "Modules linked in:", "Pid:", "RIP:", "RSP:", "RAX:", "RDX:", "RBP:", "R10:", "R13:"};
  auto begin = line;
  while (begin > 0 && line - begin < 24) {
    const auto text = trim(strip_console_prefix(lines[begin - 1]));
    const auto in_dump = std::any_of(std::begin(dump), std::end(dump),
                                     [&](std::string_view p) { return text.starts_with(p); });
    if (!in_dump) {
      break;
    }
    --begin;
  }
  auto end = line + 1;
  for (; end < lines.size() && end - line < 400; ++end) {
    const auto text = trim(strip_console_prefix(lines[end]));
    if (text.size() >= 20 && text.find_first_not_of('=') == std::string_view::npos) {
      break;
    }
    if (text.starts_with("---[ end ")) {
      ++end;
      break;
    }
  }
  return {begin, std::min(end, lines.size())};
}

// "f at file.c:42", the innermost function of a decoded frame (else the frame as printed).
std::string short_frame(const FrameLine& frame, const FrameDecoding& decoding) {
  if (decoding.empty()) {
    return frame.text();
  }
  const auto& inner = decoding.front();
  auto text = inner.file == "??" ? fmt::format("{} in {}", inner.function, frame.text())
                                 : fmt::format("{} at {}", inner.function,
                                               fs::path(inner.file).filename().string());
  if (inner.file != "??" && inner.line > 0) {
    text += fmt::format(":{}", inner.line);
  }
  if (decoding.size() > 1) {
    text += fmt::format(" (inlined into {})", decoding.back().function);
  }
  return text;
}

// Decodes the frame lines of the deciding report (first: they name the first project
// frame) and of the excerpt [shown, end of console).
FailureTrace decode_lines(const std::vector<std::string_view>& lines, std::size_t shown,
                          std::optional<std::pair<std::size_t, std::size_t>> report,
                          const DecodeSetup& setup) {
  FailureTrace trace;
  std::vector<std::size_t> where;
  std::vector<FrameLine> frames;
  std::set<std::size_t> taken;
  auto collect = [&](std::size_t from, std::size_t to) {
    for (auto i = from; i < to; ++i) {
      if (taken.contains(i)) {
        continue;
      }
      if (auto frame = parse_frame_line(lines[i])) {
        taken.insert(i);
        where.push_back(i);
        frames.push_back(std::move(*frame));
      }
    }
  };
  if (report) {
    collect(report->first, report->second);
  }
  const auto report_frames = frames.size();
  collect(shown, lines.size());
  if (frames.empty()) {
    return trace;
  }
  const auto decoded = decode_frames(frames, setup);
  trace.notes = decoded.notes;
  for (std::size_t k = 0; k < frames.size(); ++k) {
    if (!decoded.frames[k].empty()) {
      trace.annotations[where[k]] = describe(decoded.frames[k]);
    }
  }
  // UML marks every frame "?" unless it has frame pointers: a "?" frame at offset 0 is a
  // stale function pointer on the stack, one past it likely a return address.
  auto first_in = [&](auto accept) -> std::optional<std::size_t> {
    for (std::size_t k = 0; k < report_frames; ++k) {
      if (decoded.project[k] && accept(frames[k])) {
        return k;
      }
    }
    return std::nullopt;
  };
  auto first = first_in([](const FrameLine& f) { return f.reliable; });
  if (!first) {
    first = first_in([](const FrameLine& f) { return f.offset != 0; });
  }
  if (first) {
    trace.first_project_frame = short_frame(frames[*first], decoded.frames[*first]);
  }
  return trace;
}

void print_frame_notes(const std::vector<std::string>& notes) {
  for (const auto& note : notes) {
    fmt::print("uml-helper: note: {}\n", terminal_safe(note));
  }
}

}  // namespace

FailureTrace decode_failure_trace(std::string_view console, const ConsoleFindings& findings,
                                  const Outcome& outcome, bool fail_on_warn, std::size_t tail,
                                  const DecodeSetup& setup) {
  const auto lines = split_lines(console);
  const auto shown = excerpt_first(lines, findings, fail_on_warn, tail);
  std::optional<std::pair<std::size_t, std::size_t>> report;
  if (const auto line = deciding_line(outcome, findings, fail_on_warn);
      line && *line < lines.size()) {
    report = report_range(lines, *line);
  }
  return decode_lines(lines, shown, report, setup);
}

void print_excerpt(const std::string& console, const ConsoleFindings& findings, bool warnings,
                   std::size_t tail, const FrameAnnotations* frames) {
  const auto lines = split_lines(console);
  const auto first = excerpt_first(lines, findings, warnings, tail);
  fmt::print("---- console{} ----\n",
             first > 0 ? fmt::format(" (lines {}-{} of {})", first + 1, lines.size(), lines.size())
                       : std::string());
  // The guest's bytes, shown, not obeyed by the terminal (the log keeps them raw).
  for (auto i = first; i < lines.size(); ++i) {
    fmt::print("{}\n", terminal_safe(lines[i]));
    if (frames != nullptr) {
      if (const auto it = frames->find(i); it != frames->end()) {
        for (const auto& text : it->second) {
          fmt::print("      {}\n", terminal_safe(text));
        }
      }
    }
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
                   const std::string& console, const ConsoleFindings& findings,
                   const FailureTrace* trace) {
  const bool passed = outcome.code == ExitCode::Passed;
  if (trace != nullptr) {
    if (!options.verbose) {
      print_excerpt(console, findings, options.fail_on_warn, options.tail, &trace->annotations);
    } else if (!trace->annotations.empty()) {
      // The console was shown live, undecoded: its frames again, with their decoding.
      fmt::print("---- decoded stack frames ----\n");
      const auto lines = split_lines(console);
      for (const auto& [line, texts] : trace->annotations) {
        fmt::print("{}\n", terminal_safe(lines[line]));
        for (const auto& text : texts) {
          fmt::print("      {}\n", terminal_safe(text));
        }
      }
      fmt::print("---- end of decoded stack frames ----\n");
    }
    print_frame_notes(trace->notes);
  } else if (!passed && !options.verbose) {
    print_excerpt(console, findings, options.fail_on_warn, options.tail);
  }
  if (passed) {
    fmt::print("uml-helper: {}: {} ({:.2f} s)\n", options.name, terminal_safe(outcome.summary),
               seconds);
  } else {
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
