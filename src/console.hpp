#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uml {

// A kernel event seen on the console, with its 0-based line number.
struct ConsoleEvent {
  std::size_t line = 0;
  std::string text;
};

// What the console of one boot says, independent of how UML ended.
struct ConsoleFindings {
  bool booted = false;                         // UML-BOOTED <nonce>
  std::size_t booted_line = 0;                 // its line
  std::optional<int> result;                   // UML-RESULT <nonce> <status>
  std::optional<std::string> modprobe_failed;  // UML-MODPROBE-FAILED <nonce> <module>
  std::optional<std::string> setup_failed;     // UML-SETUP-FAILED <nonce> <what>
  std::vector<ConsoleEvent> panics;            // Kernel panic - not syncing
  std::vector<ConsoleEvent> oopses;            // Oops, BUG:, kernel BUG at
  std::vector<ConsoleEvent> warnings;          // WARNING: CPU:, cut here
  std::vector<std::string> hints;              // known causes, in words a user can act on
  bool kunit_disabled = false;                 // "kunit: disabled" (a hint only for --kunit)
  bool powered_off = false;                    // "reboot: Power down": the kernel finished
  std::size_t lines = 0;

  // The first line of a panic, oops or (when counted) warning.
  std::optional<std::size_t> first_problem_line(bool count_warnings) const;
};

// Classifies console text. Only markers that carry this nonce count, so a guest command
// that prints a marker itself cannot fake a result.
ConsoleFindings classify_console(std::string_view console, std::string_view nonce);

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
