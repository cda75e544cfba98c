#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "console.hpp"
#include "decode.hpp"
#include "ktap.hpp"
#include "options.hpp"
#include "outcome.hpp"
#include "process/supervise.hpp"

namespace uml {

// The console log of a `test` boot: the console's bytes, as they come, up to a limit,
// and the helper's own "# uml-helper: ..." lines.
class ConsoleLog {
 public:
  // A guest that prints for ever within a long timeout must not fill the host's disk.
  static constexpr std::uint64_t default_limit = std::uint64_t{64} << 20;

  // Creates (truncates) the file and its directory; throws Error (--log PATH: why).
  explicit ConsoleLog(const std::filesystem::path& path, std::uint64_t limit = default_limit);
  ~ConsoleLog();
  ConsoleLog(const ConsoleLog&) = delete;
  ConsoleLog& operator=(const ConsoleLog&) = delete;

  // Console output: kept up to the limit of console bytes, the rest counted. (The
  // helper still reads and classifies all of it.)
  void console(std::string_view text);
  // The helper's own lines; the first after a truncation is preceded by the note
  // "uml-helper: console log truncated at N bytes; M more bytes not kept".
  // A write that fails is reported once, then ignored: UML is still supervised and the
  // console is still in memory.
  void write(std::string_view text);

 private:
  void put(std::string_view text);
  std::filesystem::path path_;
  int fd_ = -1;
  bool failed_ = false;
  std::uint64_t limit_;
  std::uint64_t kept_ = 0;     // console bytes written
  std::uint64_t dropped_ = 0;  // console bytes over the limit
  bool noted_ = false;         // the truncation note is written
};

// The KUnit results a `test --kunit` boot may count: KTAP from before the guest command
// started (before_command); how many cases came after it, not counted, to say why.
struct KunitEvidence {
  KtapReport report;
  std::size_t after_command = 0;
};
KunitEvidence kunit_evidence(std::string_view console, const ConsoleFindings& findings);

// Lines printed under console line N (0-based): a decoded stack frame (decode.hpp).
using FrameAnnotations = std::map<std::size_t, std::vector<std::string>>;

// Prints the part of the console that explains a failure: from just before the first
// kernel crash, else the guest command's output (after UML-BOOTED), else the last
// `tail` lines; with `frames`, each decoded frame line followed by its decoding.
void print_excerpt(const std::string& console, const ConsoleFindings& findings, bool warnings,
                   std::size_t tail, const FrameAnnotations* frames = nullptr);

// The stack frames of a failed test's console, decoded: those print_excerpt shows, and
// those of the kernel report that decided the verdict (the oops, panic or, with
// --fail-on-warn, warning decide() ranked first), in which the first frame in a module
// of setup.module_dirs is the first project frame ("f at file.c:42"): its first reliable
// frame, else (UML without frame pointers prints every frame with "?") its first "?"
// frame past a function's start.
struct FailureTrace {
  FrameAnnotations annotations;
  std::vector<std::string> notes;  // what could not be decoded, and why
  std::optional<std::string> first_project_frame;
};
FailureTrace decode_failure_trace(std::string_view console, const ConsoleFindings& findings,
                                  const Outcome& outcome, bool fail_on_warn, std::size_t tail,
                                  const DecodeSetup& setup);

// What the supervision adds to a verdict: SIGKILL needed, processes that outlived UML.
void add_run_details(Outcome& outcome, const process::SuperviseResult& run);

// The verdict of a `test` boot on stdout: "<name>: <summary> (<s> s)", or on failure
// the console excerpt (unless it was shown live: then its decoded stack frames) and
// "<name>: FAILED (...): <summary>[; first project frame: f at file.c:42]"; then the
// details. Stack frames are decoded against options.kernel and the .ko files in the
// module dirs; the first project frame is the first frame in one of those modules
// inside the kernel report that decided the verdict.
void print_verdict(const TestOptions& options, const Outcome& outcome, double seconds,
                   const std::string& console, const ConsoleFindings& findings,
                   const FailureTrace* trace);

// The cases a kunit.action=list boot listed, one "<suite>.<case>" per line, written
// whole or not at all; names that kunit.filter_glob could not select are left out, with
// a warning. Throws Error.
void write_kunit_list(const std::filesystem::path& path, const KunitListing& listing);

}  // namespace uml
