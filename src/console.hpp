#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace uml {

// A kernel event seen on the console, with its 0-based line number.
struct ConsoleEvent {
  std::size_t line = 0;
  std::string text;
};

// A report of one of the kernel's own checks (sanitizers, lock and memory debugging):
// a "finding" fails a test even when the guest command passed.
struct KernelFinding {
  ConsoleEvent event;  // the report's first line
  std::string kind;    // one of finding_kinds()
};

// The classes of findings, by short name: "kasan", "ubsan", "lockdep", "atomic-sleep",
// "refcount", "list", "debug-objects", "slab", "fortify", "kmemleak".
std::span<const std::string_view> finding_kinds();
bool is_finding_kind(std::string_view kind);
// A label for messages ("KASAN", "sleep in atomic context"); the name itself if unknown.
std::string_view describe_finding_kind(std::string_view kind);
// The class of finding whose report this console line (printk prefix stripped, trimmed)
// starts, if it starts one.
std::optional<std::string_view> finding_kind_of(std::string_view line);

// init's UML-EXPECT <nonce> <kind> confirmed|unconfirmed: whether the kernel's own log
// records (which no guest process can write) hold a report of that kind.
struct ExpectMarker {
  bool confirmed = false;   // what the last marker says (init prints it last)
  std::size_t markers = 0;  // how many; more than one: a guest process printed one
};

// init's UML-UNLOAD-FAILED <nonce> <module> <reason>: a test module it could not remove.
struct UnloadFailure {
  std::size_t line = 0;
  std::string module;  // [A-Za-z0-9_-]{1,64}
  std::string reason;  // at most max_unload_reason bytes
};
inline constexpr std::size_t max_unload_reason = 200;
inline constexpr std::size_t max_unload_failures = 64;

// What the console of one boot says, independent of how UML ended.
struct ConsoleFindings {
  bool booted = false;          // UML-BOOTED <nonce>
  std::size_t booted_line = 0;  // its line
  // UML-RESULT <nonce> <status>: the last one, which init prints after it killed every
  // other guest process; only a cross-check of UML's exit status (outcome.cpp).
  std::optional<int> result;
  std::size_t result_markers = 0;  // how many; more than one: a guest process printed one
  // UML-COMMAND <nonce> (the first): init starts the guest command. Output before it is
  // the kernel's and init's own; after it, any guest process may print anything.
  std::optional<std::size_t> command_offset;  // byte offset of its line
  // The guest rebooted: the kernel's "reboot: Restarting system", sysrq's "Resetting",
  // or a second UML-BOOTED (UML re-executes itself on a reboot and boots again).
  std::optional<std::string> reboot;
  std::optional<std::string> modprobe_failed;  // UML-MODPROBE-FAILED <nonce> <module>
  std::optional<std::string> setup_failed;     // UML-SETUP-FAILED <nonce> <what>
  std::vector<ConsoleEvent> panics;            // Kernel panic - not syncing
  std::vector<ConsoleEvent> oopses;            // Oops, BUG:, kernel BUG at
  // WARNING: CPU:, cut here; not those of a WARN that a finding's report is made of
  std::vector<ConsoleEvent> warnings;
  std::vector<KernelFinding> findings;  // KASAN, UBSAN, lockdep, ... (not oopses or warnings)
  // The last UML-EXPECT marker of each known kind (unknown kinds are ignored).
  std::map<std::string, ExpectMarker, std::less<>> expect;
  // Valid UML-UNLOAD-FAILED markers, the first max_unload_failures of them.
  std::vector<UnloadFailure> unload_failed;
  std::vector<std::string> hints;  // known causes, in words a user can act on
  bool kunit_disabled = false;     // "kunit: disabled" (a hint only for --kunit)
  bool powered_off = false;        // "reboot: Power down": the kernel finished
  std::size_t lines = 0;

  // The first line of a panic, oops, finding or (when counted) warning.
  std::optional<std::size_t> first_problem_line(bool count_warnings) const;
  // The first finding of this kind, if any.
  const KernelFinding* first_finding(std::string_view kind) const;
};

// Classifies console text. Only markers that carry this nonce count, so a guest command
// that prints a marker itself cannot fake a result.
ConsoleFindings classify_console(std::string_view console, std::string_view nonce);

// The part of the console output that came before the guest command started (the
// whole console when it never started): the kernel's boot and init's own work, where
// KUnit's built-in suites and those of modules init loads report. Guest processes
// print only after it, so KTAP there decides nothing.
std::string_view before_command(std::string_view console, const ConsoleFindings& findings);
std::string_view after_command(std::string_view console, const ConsoleFindings& findings);

// Byte offset of the first line with an init marker of this nonce ("UML-<NAME> <nonce>"):
// what comes before is the kernel's own boot; console.size() when there is none.
std::size_t init_output_start(std::string_view console, std::string_view nonce);

// Why this console line shows a reboot ("reboot: Restarting system", "sysrq: Resetting"),
// if it does.
std::optional<std::string> reboot_line(std::string_view line);

// Watches the console as it streams for a reboot (reboot_line, or a second init marker,
// UML-BOOTED <nonce> in `test`, UML-INPUT <nonce> in script mode), so the helper can
// stop UML before it boots again.
class RebootWatch {
 public:
  explicit RebootWatch(std::string_view nonce, std::string_view marker = "UML-BOOTED")
      : booted_(std::string(marker) + " " + std::string(nonce)) {}
  // True once a reboot was seen.
  bool feed(std::string_view chunk);

 private:
  bool line(std::string_view text);
  std::string booted_;
  std::string partial_;
  int boots_ = 0;
  bool seen_ = false;
};

// The console line without printk's "[    1.234567]" / "[    T1]" prefixes.
std::string_view strip_console_prefix(std::string_view line);

}  // namespace uml

namespace uml {

// The console as kept in memory: all of it up to a limit, then its first and last
// `half` bytes (markers and the boot sit at the start, results and crashes at the end),
// so a guest that floods the console cannot exhaust the host's memory. The log file
// still gets everything.
class ConsoleBuffer {
 public:
  explicit ConsoleBuffer(std::size_t half = 8 << 20) : half_(half) {}

  void append(std::string_view chunk);
  std::string text() const;
  std::size_t omitted() const { return omitted_; }

 private:
  std::size_t half_;
  std::string head_;
  std::string tail_;
  std::size_t omitted_ = 0;
};

// The guest's output in script mode (`run` with no terminal on stdin), as the helper
// passes it on: all of it but the UML-INPUT <nonce> marker line and the empty line its
// leading newline makes. The marker says the guest shell is ready for the commands.
class ScriptOutput {
 public:
  explicit ScriptOutput(std::string_view nonce);

  std::string feed(std::string_view chunk);  // what to pass on now
  std::string finish();                      // what was held back, at the end
  bool ready() const { return ready_; }

 private:
  std::string marker_;
  std::string held_;       // an unfinished line, until the marker is seen
  std::size_t blank_ = 0;  // empty lines held back: one may be the marker's
  bool ready_ = false;
};

}  // namespace uml
