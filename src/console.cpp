#include "console.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>
#include <utility>

#include "text.hpp"

namespace uml {

namespace {

bool starts_with_any(std::string_view text, std::initializer_list<std::string_view> prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](std::string_view p) { return text.starts_with(p); });
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

bool is_oops_line(std::string_view line) {
  return starts_with_any(line, {"Oops:", "BUG:", "kernel BUG at", "Unable to handle kernel",
                                "general protection fault"});
}

// The words after `marker` in the line, if the marker occurs and carries the nonce.
std::optional<std::string_view> marker_argument(std::string_view line, std::string_view marker,
                                                std::string_view nonce) {
  // Kernel messages can share a console line with the guest's output, so the marker
  // may start anywhere; later occurrences are tried too.
  for (auto pos = line.find(marker); pos != std::string_view::npos;
       pos = line.find(marker, pos + 1)) {
    auto rest = line.substr(pos + marker.size());
    if (!rest.starts_with(' ')) {
      continue;
    }
    rest.remove_prefix(1);
    if (!rest.starts_with(nonce)) {
      continue;
    }
    rest.remove_prefix(nonce.size());
    if (rest.empty()) {
      return rest;
    }
    if (rest[0] != ' ') {
      continue;  // a longer nonce that merely starts like ours
    }
    return trim(rest);
  }
  return std::nullopt;
}

std::string first_word(std::string_view text) {
  return std::string(text.substr(0, text.find_first_of(" \t")));
}

// Letters, digits, '_' and '-', 1 to 64 of them: a module name as init prints it.
bool is_module_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

bool is_identifier(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// At most `max` bytes of text, not cutting a UTF-8 sequence in two.
std::string_view truncate_utf8(std::string_view text, std::size_t max) {
  if (text.size() <= max) {
    return text;
  }
  auto end = max;
  for (int back = 0; back < 3 && end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80;
       ++back) {
    --end;
  }
  return text.substr(0, end);
}

struct FindingKind {
  std::string_view name;
  std::string_view label;
  // Its reports are WARN()s: a WARNING: CPU: header right before or after the finding's
  // own line (UML prints the WARNING line first, architectures with a BUG trap last).
  bool warns;
};

constexpr std::array finding_table{
    FindingKind{"kasan", "KASAN", false},
    FindingKind{"ubsan", "UBSAN", false},
    FindingKind{"lockdep", "lockdep", false},
    FindingKind{"atomic-sleep", "sleep in atomic context", false},
    FindingKind{"refcount", "refcount", true},
    FindingKind{"list", "list corruption", true},
    FindingKind{"debug-objects", "debug objects", true},
    FindingKind{"slab", "slab (SLUB debug)", true},
    FindingKind{"fortify", "fortify", true},
    FindingKind{"kmemleak", "kmemleak", false},
};

constexpr auto finding_names = [] {
  std::array<std::string_view, finding_table.size()> names{};
  for (std::size_t i = 0; i < finding_table.size(); ++i) {
    names[i] = finding_table[i].name;
  }
  return names;
}();

const FindingKind* find_kind(std::string_view name) {
  const auto it = std::find_if(finding_table.begin(), finding_table.end(),
                               [&](const FindingKind& k) { return k.name == name; });
  return it == finding_table.end() ? nullptr : &*it;
}

// lockdep's report headers (kernel/locking/lockdep.c, 6.1 and 6.12), each printed by
// pr_warn between "=====" rules.
bool is_lockdep_header(std::string_view line) {
  if (starts_with_any(
          line,
          {"WARNING: possible circular locking dependency detected",
           "WARNING: possible recursive locking detected",
           "WARNING: possible irq lock inversion dependency detected",
           "WARNING: inconsistent lock state", "WARNING: Nested lock was not taken",
           "WARNING: bad unlock balance detected!", "WARNING: held lock freed!",
           "WARNING: lock held when returning to user space!", "WARNING: suspicious RCU usage",
           // DEBUG_SPINLOCK (lockdep selects it): spinlock_debug.c
           "BUG: spinlock ", "BUG: rwlock "})) {
    return true;
  }
  // "WARNING: %s-safe -> %s-unsafe lock order detected", "WARNING: %s/%d still has locks
  // held!" (a task exits holding a lock).
  return line.starts_with("WARNING: ") && line.size() < 200 &&
         ((contains(line, "-safe -> ") && line.ends_with("-unsafe lock order detected")) ||
          line.ends_with(" still has locks held!"));
}

// SLUB's slab_bug(): "BUG <cache> (Not tainted): <what>" or "BUG <cache> (Tainted: ...".
bool is_slab_header(std::string_view line) {
  if (line.starts_with("BUG ")) {
    const auto rest = line.substr(4);
    const auto paren = rest.find(" (");
    if (paren == std::string_view::npos || paren == 0 || paren > 96) {
      return false;
    }
    const auto name = rest.substr(0, paren);
    const auto after = rest.substr(paren + 2);
    return name.find_first_of(" \t") == std::string_view::npos &&
           (after.starts_with("Not tainted): ") || after.starts_with("Tainted: "));
  }
  // mm/slab_common.c: WARN(err, "%s %s: Slab cache still has objects ...", __func__, name)
  return line.starts_with("kmem_cache_destroy ") && line.size() < 400 &&
         contains(line, ": Slab cache still has objects");
}

// FORTIFY_SOURCE: 6.12's __fortify_report "<func>: detected buffer overflow: ..." and
// "<op>: detected field-spanning write ..."; 6.1's "detected buffer overflow in <func>".
bool is_fortify_header(std::string_view line) {
  if (line.starts_with("detected buffer overflow in ")) {
    return true;
  }
  const auto colon = line.find(": detected ");
  if (colon == std::string_view::npos || !is_identifier(line.substr(0, colon))) {
    return false;
  }
  const auto what = line.substr(colon + 2);
  return what.starts_with("detected buffer overflow: ") ||
         what.starts_with("detected field-spanning write");
}

}  // namespace

std::span<const std::string_view> finding_kinds() {
  return finding_names;
}

bool is_finding_kind(std::string_view kind) {
  return find_kind(kind) != nullptr;
}

std::string_view describe_finding_kind(std::string_view kind) {
  const auto* k = find_kind(kind);
  return k != nullptr ? k->label : kind;
}

std::optional<std::string_view> finding_kind_of(std::string_view line) {
  if (line.starts_with("BUG: KASAN: ")) {
    return "kasan";
  }
  // lib/ubsan.c: "UBSAN: <what> in <file>:<line>:<col>" (6.1 and 6.12; older kernels
  // "UBSAN: Undefined behaviour in ...").
  if (line.starts_with("UBSAN: ")) {
    return "ubsan";
  }
  if (is_lockdep_header(line)) {
    return "lockdep";
  }
  // kernel/sched/core.c (__might_resched, __schedule_bug, __cant_sleep, __cant_migrate)
  // and kernel/workqueue.c (process_one_work).
  if (starts_with_any(line,
                      {"BUG: sleeping function called from invalid context",
                       "BUG: scheduling while atomic", "BUG: workqueue leaked atomic",
                       "BUG: assuming atomic context", "BUG: assuming non migratable context"})) {
    return "atomic-sleep";
  }
  // lib/refcount.c: "refcount_t: underflow; use-after-free.", "refcount_t: saturated; ..."
  if (line.starts_with("refcount_t: ")) {
    return "refcount";
  }
  // lib/list_debug.c (CHECK_DATA_CORRUPTION: a WARN, or pr_err then BUG()).
  if (starts_with_any(line,
                      {"list_add corruption", "list_del corruption", "list_add double add"})) {
    return "list";
  }
  // lib/debugobjects.c (pr_fmt "ODEBUG: "), but not its informational lines.
  if (line.starts_with("ODEBUG: ") &&
      !starts_with_any(
          line, {"ODEBUG: selftest passed", "ODEBUG: Out of memory", "ODEBUG: out of memory"})) {
    return "debug-objects";
  }
  if (is_slab_header(line)) {
    return "slab";
  }
  if (is_fortify_header(line)) {
    return "fortify";
  }
  // mm/kmemleak.c: an object's report (to the console with kmemleak.verbose, or as read
  // from /sys/kernel/debug/kmemleak), and the scan's "N new suspected memory leaks".
  if (line.starts_with("unreferenced object 0x") ||
      line.starts_with("kmemleak: unreferenced object 0x") ||
      (line.starts_with("kmemleak: ") && line.size() < 200 &&
       contains(line, " new suspected memory leaks"))) {
    return "kmemleak";
  }
  return std::nullopt;
}

namespace {

// A WARN belongs to a finding's report when the finding's line follows its header within
// this many lines (UML: "WARNING: CPU:" first, then the message), ...
constexpr std::size_t warn_lines_before_finding = 3;
// ... or, for a finding whose report is a WARN, when the header follows the finding
// within this many lines and no "---[ end trace" came between (a BUG trap prints the
// message first).
constexpr std::size_t warn_lines_after_finding = 60;

// Whether any of the sorted line numbers lies in [from, to).
bool any_in(const std::vector<std::size_t>& sorted, std::size_t from, std::size_t to) {
  const auto it = std::lower_bound(sorted.begin(), sorted.end(), from);
  return it != sorted.end() && *it < to;
}

// Drops the warnings that are part of a finding's report: a finding is counted once.
void drop_finding_warnings(ConsoleFindings& found, const std::vector<std::size_t>& end_traces) {
  if (found.findings.empty() || found.warnings.empty()) {
    return;
  }
  std::vector<std::size_t> all;  // every finding's line, sorted (they come in order)
  std::vector<std::size_t> warn_based;
  for (const auto& f : found.findings) {
    all.push_back(f.event.line);
    if (const auto* k = find_kind(f.kind); k != nullptr && k->warns) {
      warn_based.push_back(f.event.line);
    }
  }
  std::erase_if(found.warnings, [&](const ConsoleEvent& w) {
    // A finding just after the WARN header, in the same report.
    const auto next = std::upper_bound(all.begin(), all.end(), w.line);
    if (next != all.end() && *next - w.line <= warn_lines_before_finding &&
        !any_in(end_traces, w.line, *next)) {
      return true;
    }
    // A WARN-type finding shortly before, whose report has not ended.
    const auto after = std::upper_bound(warn_based.begin(), warn_based.end(), w.line);
    if (after != warn_based.begin()) {
      const auto f = *(after - 1);
      return w.line - f <= warn_lines_after_finding && !any_in(end_traces, f, w.line);
    }
    return false;
  });
}

struct Hint {
  std::string_view needle;
  std::string_view advice;
};

constexpr std::array hints{
    Hint{"mtime mismatch",
         "the base image changed after the COW file was made (a COW file is tied "
         "to its base's size and mtime): delete the COW file"},
    Hint{"Size mismatch",
         "the base image changed after the COW file was made (a COW file is tied "
         "to its base's size and mtime): delete the COW file"},
    Hint{"Backing file mismatch", "the COW file was made for another base image: delete it"},
    Hint{"VFS: Unable to mount root fs",
         "the root image could not be mounted: it must be an ext4 image and the kernel needs "
         "CONFIG_BLK_DEV_UBD and CONFIG_EXT4_FS"},
    Hint{"Requested init ",
         "the init program could not be run: the image needs the package's /.uml/init "
         "and /.uml/busybox (images made by uml_add_rootfs have them)"},
    Hint{"No working init found",
         "the image has no runnable /.uml/init (images made by uml_add_rootfs have it, with "
         "the static /.uml/busybox it runs on)"},
    Hint{"Attempted to kill init", "the guest's init exited; /.uml/init must end by powering off"},
    Hint{"must be not mounted noexec",
         "the guest RAM directory is mounted noexec: set TMPDIR to a directory that allows exec"},
    Hint{"Using a channel type which is configured out of UML",
         "the kernel lacks a console channel uml-helper uses (CONFIG_NULL_CHAN, CONFIG_FD_CHAN)"},
    Hint{"is already in use by pid", "the umid is in use by another UML"},
};

}  // namespace

std::optional<std::size_t> ConsoleFindings::first_problem_line(bool count_warnings) const {
  std::optional<std::size_t> first;
  auto consider_line = [&](std::size_t line) {
    if (!first || line < *first) {
      first = line;
    }
  };
  auto consider = [&](const std::vector<ConsoleEvent>& events) {
    if (!events.empty()) {
      consider_line(events.front().line);
    }
  };
  consider(panics);
  consider(oopses);
  if (!findings.empty()) {
    consider_line(findings.front().event.line);
  }
  if (count_warnings) {
    consider(warnings);
  }
  return first;
}

const KernelFinding* ConsoleFindings::first_finding(std::string_view kind) const {
  const auto it = std::find_if(findings.begin(), findings.end(),
                               [&](const KernelFinding& f) { return f.kind == kind; });
  return it == findings.end() ? nullptr : &*it;
}

std::string_view strip_console_prefix(std::string_view line) {
  // printk's "[    0.123456] ", with CONFIG_PRINTK_CALLER also "[    T1]".
  bool stripped = false;
  while (line.starts_with('[')) {
    const auto close = line.find(']');
    if (close == std::string_view::npos || close > 24) {
      break;
    }
    const auto inside = line.substr(1, close - 1);
    if (inside.find_first_not_of(" 0123456789.TC") != std::string_view::npos) {
      break;
    }
    line.remove_prefix(close + 1);
    stripped = true;
  }
  if (stripped && line.starts_with(' ')) {
    line.remove_prefix(1);
  }
  return line;
}

ConsoleFindings classify_console(std::string_view console, std::string_view nonce) {
  ConsoleFindings found;
  const auto lines = split_lines(console);
  found.lines = lines.size();
  std::vector<std::size_t> end_traces;  // "---[ end trace" lines: a report ends there
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto raw = lines[i];
    const auto line = trim(strip_console_prefix(raw));
    if (!nonce.empty()) {
      if (!found.booted && marker_argument(raw, "UML-BOOTED", nonce)) {
        found.booted = true;
        found.booted_line = i;
      }
      if (const auto arg = marker_argument(raw, "UML-BOOTED", nonce);
          arg && found.booted_line != i && !found.reboot) {
        found.reboot = "the guest booted a second time (UML-BOOTED again)";
      }
      if (!found.command_offset && marker_argument(raw, "UML-COMMAND", nonce)) {
        found.command_offset = static_cast<std::size_t>(raw.data() - console.data());
      }
      // The last marker counts: init prints its own after every other guest process is
      // dead, so nothing a guest process printed can come after it.
      if (const auto arg = marker_argument(raw, "UML-RESULT", nonce)) {
        ++found.result_markers;
        int status = 0;
        const auto word = first_word(*arg);
        const auto [ptr, ec] = std::from_chars(word.data(), word.data() + word.size(), status);
        if (ec == std::errc{} && ptr == word.data() + word.size()) {
          found.result = status;
        }
      }
      if (!found.modprobe_failed) {
        if (const auto arg = marker_argument(raw, "UML-MODPROBE-FAILED", nonce)) {
          found.modprobe_failed = first_word(*arg);
        }
      }
      if (!found.setup_failed) {
        if (const auto arg = marker_argument(raw, "UML-SETUP-FAILED", nonce)) {
          found.setup_failed = std::string(*arg);
        }
      }
      // The last marker of a kind counts: init prints its own after every other guest
      // process is dead. A status other than "confirmed" counts as unconfirmed.
      if (const auto arg = marker_argument(raw, "UML-EXPECT", nonce)) {
        const auto kind = first_word(*arg);
        if (is_finding_kind(kind)) {
          auto& marker = found.expect[kind];
          ++marker.markers;
          marker.confirmed = trim(std::string_view(*arg).substr(kind.size())) == "confirmed";
        }
      }
      if (const auto arg = marker_argument(raw, "UML-UNLOAD-FAILED", nonce);
          arg && found.unload_failed.size() < max_unload_failures) {
        const auto module = first_word(*arg);
        if (is_module_name(module)) {
          const auto reason = trim(std::string_view(*arg).substr(module.size()));
          found.unload_failed.push_back(
              {i, module, std::string(truncate_utf8(reason, max_unload_reason))});
        }
      }
    }
    // The panic message is distinctive enough to count anywhere in a line; the others
    // must start the (prefix-stripped) line, so guest output that merely mentions
    // "BUG:" mid-sentence does not fail a test.
    if (line == "reboot: Power down") {
      found.powered_off = true;
    }
    if (!found.reboot) {
      found.reboot = reboot_line(raw);
    }
    if (contains(raw, "---[ end trace")) {
      end_traces.push_back(i);
    }
    // A finding's first line is not also an oops ("BUG: KASAN: " starts with "BUG:").
    if (contains(raw, "Kernel panic - not syncing")) {
      found.panics.push_back({i, std::string(line)});
    } else if (const auto kind = finding_kind_of(line)) {
      found.findings.push_back({{i, std::string(line)}, std::string(*kind)});
    } else if (is_oops_line(line)) {
      found.oopses.push_back({i, std::string(line)});
    } else if (contains(raw, "WARNING: CPU:")) {
      found.warnings.push_back({i, std::string(line)});
    } else if (contains(raw, "------------[ cut here ]------------")) {
      // WARN and BUG both start with this line; count it only when what follows is
      // neither (a warning whose next line got lost or garbled).
      const auto next = i + 1 < lines.size() ? lines[i + 1] : std::string_view{};
      const auto next_line = trim(strip_console_prefix(next));
      if (!contains(next, "WARNING: CPU:") && !is_oops_line(next_line) &&
          !contains(next, "Kernel panic - not syncing")) {
        found.warnings.push_back({i, std::string(line)});
      }
    }
    if (contains(raw, "kunit: disabled")) {
      found.kunit_disabled = true;
    }
    for (const auto& hint : hints) {
      if (contains(raw, hint.needle) &&
          std::find(found.hints.begin(), found.hints.end(), hint.advice) == found.hints.end()) {
        found.hints.emplace_back(hint.advice);
      }
    }
  }
  drop_finding_warnings(found, end_traces);
  return found;
}

std::string_view before_command(std::string_view console, const ConsoleFindings& findings) {
  return findings.command_offset ? console.substr(0, *findings.command_offset) : console;
}

std::string_view after_command(std::string_view console, const ConsoleFindings& findings) {
  return findings.command_offset ? console.substr(*findings.command_offset) : std::string_view{};
}

std::size_t init_output_start(std::string_view console, std::string_view nonce) {
  if (nonce.empty()) {
    return console.size();
  }
  // "UML-<NAME> <nonce>": the kernel's own echo of the command line has UML_NONCE=<nonce>.
  for (auto pos = console.find(nonce); pos != std::string_view::npos;
       pos = console.find(nonce, pos + 1)) {
    if (pos == 0 || console[pos - 1] != ' ') {
      continue;
    }
    const auto line_start = console.rfind('\n', pos);
    const auto from = line_start == std::string_view::npos ? 0 : line_start + 1;
    const auto name = console.substr(from, pos - 1 - from);
    const auto at = name.rfind("UML-");
    if (at != std::string_view::npos &&
        name.substr(at + 4).find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ-") ==
            std::string_view::npos) {
      return from;
    }
  }
  return console.size();
}

std::optional<std::string> reboot_line(std::string_view raw) {
  // kernel/reboot.c's kernel_restart (reboot(2), `reboot -f`) and sysrq's 'b'.
  const auto line = trim(strip_console_prefix(raw));
  if (line.starts_with("reboot: Restarting system") || line == "sysrq: Resetting") {
    return std::string(line);
  }
  return std::nullopt;
}

bool RebootWatch::line(std::string_view text) {
  if (reboot_line(text)) {
    return true;
  }
  // A second boot's init: the kernel's line was lost (or printed at a quieter level).
  if (text.find(booted_) != std::string_view::npos) {
    return ++boots_ > 1;
  }
  return false;
}

bool RebootWatch::feed(std::string_view chunk) {
  if (seen_) {
    return true;
  }
  partial_.append(chunk);
  std::size_t start = 0;
  for (auto nl = partial_.find('\n'); nl != std::string::npos; nl = partial_.find('\n', start)) {
    if (line(std::string_view(partial_).substr(start, nl - start))) {
      seen_ = true;
    }
    start = nl + 1;
  }
  partial_.erase(0, start);
  if (partial_.size() > 4096) {
    partial_.erase(0, partial_.size() - 4096);  // a line that long is no kernel line
  }
  return seen_;
}

}  // namespace uml

namespace uml {

void ConsoleBuffer::append(std::string_view chunk) {
  if (head_.size() < half_) {
    const auto n = std::min(chunk.size(), half_ - head_.size());
    head_.append(chunk.substr(0, n));
    chunk.remove_prefix(n);
  }
  tail_.append(chunk);
  if (tail_.size() > 2 * half_) {
    const auto drop = tail_.size() - half_;
    tail_.erase(0, drop);
    omitted_ += drop;
  }
}

std::string ConsoleBuffer::text() const {
  if (omitted_ == 0) {
    return head_ + tail_;
  }
  return head_ + "\n[uml-helper: " + std::to_string(omitted_) + " bytes of console omitted]\n" +
         tail_;
}

}  // namespace uml

namespace uml {

ScriptOutput::ScriptOutput(std::string_view nonce) : marker_("UML-INPUT " + std::string(nonce)) {}

std::string ScriptOutput::feed(std::string_view chunk) {
  if (ready_) {
    return std::string(chunk);
  }
  held_.append(chunk);
  std::string out;
  std::size_t start = 0;
  for (auto end = held_.find('\n'); end != std::string::npos && !ready_;
       end = held_.find('\n', start)) {
    auto line = std::string_view(held_).substr(start, end - start);
    const auto whole = std::string_view(held_).substr(start, end + 1 - start);
    start = end + 1;
    if (line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      ++blank_;
      continue;
    }
    if (line == marker_) {
      ready_ = true;
      blank_ -= std::min<std::size_t>(blank_, 1);
    }
    out.append(blank_, '\n');
    blank_ = 0;
    if (!ready_) {
      out.append(whole);
    }
  }
  held_.erase(0, start);
  if (ready_) {
    out.append(blank_, '\n');
    blank_ = 0;
    out += std::exchange(held_, {});
  }
  return out;
}

std::string ScriptOutput::finish() {
  std::string out(blank_, '\n');
  blank_ = 0;
  return out + std::exchange(held_, {});
}

}  // namespace uml
