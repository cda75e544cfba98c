#include "console.hpp"

#include <unistd.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "process/files.hpp"
#include "report.hpp"
#include "support.hpp"
#include "text.hpp"

using uml::classify_console;

namespace {

constexpr auto nonce = "0123456789abcdef";

// The nonce uml-helper put on a real boot's kernel command line.
std::string nonce_of(const std::string& console) {
  const auto pos = console.find("UML_NONCE=");
  return console.substr(pos + 10, 16);
}

// A console log as uml-helper writes it, without its own "# uml-helper:" lines.
std::string console_of(const std::string& log_name) {
  const auto log = data_file(log_name);
  std::string console;
  for (const auto line : uml::split_lines(log)) {
    if (!line.starts_with("# uml-helper:")) {
      console += std::string(line) + "\n";
    }
  }
  return console;
}

}  // namespace

TEST_CASE("markers count only with this boot's nonce") {
  const auto found = classify_console(
      "UML-BOOTED 0123456789abcdef\n"
      "UML-RESULT fedcba9876543210 0\n"   // printed by the guest command
      "UML-RESULT 0123456789abcdef0 0\n"  // a longer nonce that starts like ours
      "UML-RESULT 0123456789abcdef 3\n",
      nonce);
  CHECK(found.booted);
  CHECK(found.result == 3);
  const auto foreign = classify_console("UML-BOOTED ffff\nUML-RESULT ffff 0\n", nonce);
  CHECK_FALSE(foreign.booted);
  CHECK_FALSE(foreign.result);
}

TEST_CASE("a marker sharing its line with other console output still counts") {
  const auto found = classify_console(
      "[    1.000000] UML-BOOTED 0123456789abcdef\n"
      "partial output without newlineUML-RESULT 0123456789abcdef 42\r\n",
      nonce);
  CHECK(found.booted);
  CHECK(found.result == 42);
  CHECK_FALSE(classify_console("UML-RESULT 0123456789abcdef x\n", nonce).result);
}

TEST_CASE("module and setup failures") {
  const auto found = classify_console(
      "UML-MODPROBE-FAILED 0123456789abcdef hello\nUML-SETUP-FAILED 0123456789abcdef hostfs\n",
      nonce);
  CHECK(found.modprobe_failed == "hello");
  CHECK(found.setup_failed == "hostfs");
}

TEST_CASE("kernel panics, oopses and warnings, with printk prefixes") {
  const auto found = classify_console(
      "[    0.100000] ok line\n"
      "[    0.200000][    T1] BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
      "------------[ cut here ]------------\n"
      "WARNING: CPU: 0 PID: 1 at drivers/foo.c:12 foo+0x10/0x20\n"
      "------------[ cut here ]------------\n"
      "kernel BUG at drivers/bar.c:3!\n"
      "guest says: there is a BUG: in my program\n"
      "Oops: general protection fault, probably for non-canonical address [#1]\n"
      "[    0.300000] Kernel panic - not syncing: Segfault with no mm\n",
      nonce);
  REQUIRE(found.oopses.size() == 3);
  CHECK(found.oopses[0].text == "BUG: kernel NULL pointer dereference, address: 0000000000000000");
  CHECK(found.oopses[0].line == 1);
  CHECK(found.oopses[1].text == "kernel BUG at drivers/bar.c:3!");
  REQUIRE(found.warnings.size() == 1);  // one WARN: cut-here and WARNING count once
  CHECK(found.warnings[0].line == 3);
  REQUIRE(found.panics.size() == 1);
  CHECK(found.panics[0].text == "Kernel panic - not syncing: Segfault with no mm");
  CHECK(found.first_problem_line(false) == 1);
  CHECK(found.first_problem_line(true) == 1);
}

TEST_CASE("a cut-here line alone is a warning and known problems give hints") {
  const auto found = classify_console(
      "------------[ cut here ]------------\n"
      "garbled\n"
      "mtime mismatch (1 vs 2) of COW header vs backing file\n",
      nonce);
  CHECK(found.warnings.size() == 1);
  REQUIRE(found.hints.size() == 1);
  CHECK(found.hints[0].find("delete the COW file") != std::string::npos);
}

TEST_CASE("a real boot that passed") {
  const auto console = console_of("uml-6.12-pass.log");
  const auto found = classify_console(console, nonce_of(console));
  CHECK(found.booted);
  CHECK(found.result == 0);
  CHECK(found.panics.empty());
  CHECK(found.oopses.empty());
  CHECK(found.warnings.empty());
  CHECK(found.findings.empty());
  CHECK(found.expect.empty());
  CHECK(found.unload_failed.empty());
  CHECK(found.hints.empty());
  CHECK_FALSE(classify_console(console, "fedcba9876543210").booted);
}

TEST_CASE("a real panic: init could not run") {
  const auto console = console_of("uml-6.12-panic.log");
  const auto found = classify_console(console, nonce_of(console));
  CHECK_FALSE(found.booted);
  REQUIRE(found.panics.size() == 1);
  CHECK(found.panics[0].text.starts_with("Kernel panic - not syncing: Requested init"));
  REQUIRE(found.hints.size() == 1);
  CHECK(found.hints[0].find("/.uml/init") != std::string::npos);
}

TEST_CASE("a real boot whose module did not load") {
  const auto console = console_of("uml-6.12-modprobe-failed.log");
  const auto found = classify_console(console, nonce_of(console));
  CHECK(found.booted);
  CHECK(found.modprobe_failed == "nosuchmod");
  CHECK_FALSE(found.result);
}

TEST_CASE("printk prefixes are stripped, other brackets kept") {
  CHECK(uml::strip_console_prefix("[    0.060000] text") == "text");
  CHECK(uml::strip_console_prefix("[    0.060000][    T1] text") == "text");
  CHECK(uml::strip_console_prefix("[ cut here ]") == "[ cut here ]");
  CHECK(uml::strip_console_prefix("plain") == "plain");
}

TEST_CASE("the console buffer keeps head and tail of a flood") {
  uml::ConsoleBuffer buffer(10);
  buffer.append("UML-BOOTED");
  CHECK(buffer.text() == "UML-BOOTED");
  for (int i = 0; i < 10; ++i) {
    buffer.append("xxxxxxxxxx");
  }
  buffer.append("UML-RESULT");
  const auto text = buffer.text();
  CHECK(text.starts_with("UML-BOOTED"));
  CHECK(text.ends_with("UML-RESULT"));
  CHECK(buffer.omitted() > 0);
  CHECK(text.find("bytes of console omitted") != std::string::npos);
  CHECK(text.size() < 80);
}

TEST_CASE("script output: the UML-INPUT marker is taken out, wherever chunks split it") {
  const std::string console =
      std::string("warning: early\n\nUML-INPUT ") + nonce + "\nhi-there\nno newline yet";
  for (std::size_t split = 0; split <= console.size(); ++split) {
    INFO("split at " << split);
    uml::ScriptOutput output(nonce);
    auto out = output.feed(console.substr(0, split));
    out += output.feed(console.substr(split));
    CHECK(output.ready());
    CHECK(out + output.finish() == "warning: early\nhi-there\nno newline yet");
  }
}

TEST_CASE("script output: not ready before the marker, nor on another nonce's marker") {
  uml::ScriptOutput output(nonce);
  CHECK(output.feed("\n\nUML-INPUT 1111111111111111\r\nline\r\n") ==
        "\n\nUML-INPUT 1111111111111111\r\nline\r\n");
  CHECK_FALSE(output.ready());
  CHECK(output.feed("partial") == "");
  CHECK(output.finish() == "partial");
}

TEST_CASE("script output: after the marker everything passes as it is, blank lines too") {
  uml::ScriptOutput output(nonce);
  CHECK(output.feed(std::string("\nUML-INPUT ") + nonce + "\r\n\n\nUML-INPUT x\n") ==
        "\n\nUML-INPUT x\n");
  CHECK(output.feed("\n\n") == "\n\n");
}

TEST_CASE("the last result marker counts, the others are counted") {
  // A guest process printed a marker with the real nonce; init's own comes last.
  const auto found = classify_console(
      "UML-BOOTED 0123456789abcdef\n"
      "UML-COMMAND 0123456789abcdef\n"
      "UML-RESULT 0123456789abcdef 0\n"
      "\n"
      "UML-RESULT 0123456789abcdef 1\n",
      nonce);
  REQUIRE(found.result);
  CHECK(*found.result == 1);
  CHECK(found.result_markers == 2);
}

TEST_CASE("KTAP counts only before init's UML-COMMAND marker") {
  const std::string console =
      "KTAP version 1\n1..0\n"
      "UML-BOOTED 0123456789abcdef\n"
      "x UML-COMMAND 0123456789abcdef\n"
      "KTAP version 1\n1..1\nok 1 fake\n"
      "UML-COMMAND 0123456789abcdef\n";  // a guest's copy: only the first counts
  const auto found = classify_console(console, nonce);
  REQUIRE(found.command_offset);
  CHECK(uml::before_command(console, found) ==
        "KTAP version 1\n1..0\nUML-BOOTED 0123456789abcdef\n");
  CHECK(uml::after_command(console, found).starts_with("x UML-COMMAND"));
  // The fake case is not a result; it is counted to say why.
  const auto evidence = uml::kunit_evidence(console, found);
  CHECK(evidence.report.cases.empty());
  CHECK(evidence.after_command == 1);
  // No marker: the command never started, all of the console is the kernel's and init's.
  const std::string boot_only = "KTAP version 1\n1..1\nok 1 a\n";
  const auto unstarted = classify_console(boot_only, nonce);
  CHECK(uml::before_command(boot_only, unstarted) == boot_only);
}

TEST_CASE("a reboot is seen in the console and while it streams") {
  CHECK(classify_console("[    1.0] reboot: Restarting system\n", nonce).reboot ==
        "reboot: Restarting system");
  CHECK(classify_console("sysrq: Resetting\n", nonce).reboot);
  CHECK_FALSE(classify_console("reboot: Power down\n", nonce).reboot);
  CHECK_FALSE(classify_console("echo reboot: Restarting system\n", nonce).reboot);
  CHECK(classify_console(
            "UML-BOOTED 0123456789abcdef\nLinux version\nUML-BOOTED 0123456789abcdef\n", nonce)
            .reboot);

  uml::RebootWatch watch(nonce);
  CHECK_FALSE(watch.feed("UML-BOOTED 0123456789abcdef\nok\nreboot: Restart"));
  CHECK(watch.feed("ing system\n"));
  uml::RebootWatch twice(nonce);
  CHECK_FALSE(twice.feed("UML-BOOTED 0123456789abcdef\n"));
  CHECK(twice.feed("Linux version 6.12\nUML-BOOTED 0123456789abcdef\n"));
}

TEST_CASE("init's output starts at its first marker, not at the nonce on the command line") {
  const std::string console =
      "Kernel command line: UML_NONCE=0123456789abcdef init=/.uml/init\n"
      "Calibrating delay loop... 1.00 BogoMIPS (lpj=5000)\n"
      "\n"
      "UML-BOOTED 0123456789abcdef\n";
  CHECK(uml::init_output_start(console, nonce) == console.find("UML-BOOTED"));
  CHECK(uml::init_output_start("no markers", nonce) == 10);
}

TEST_CASE("the console log stops at its limit and says how much it left out") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("console-log-test-" + std::to_string(::getpid()));
  const auto path = dir / "console.log";
  {
    uml::ConsoleLog log(path, 10);
    log.write("# uml-helper: start\n");
    log.console("0123456");
    log.console("789abcdef");  // 6 bytes over
    log.console(std::string(1000, 'x'));
    log.write("# uml-helper: verdict\n");
  }
  const auto text = uml::process::read_file(path);
  REQUIRE(text);
  CHECK(*text ==
        "# uml-helper: start\n0123456789\numl-helper: console log truncated at 10 bytes; 1006 "
        "more bytes not kept\n# uml-helper: verdict\n");
  std::filesystem::remove_all(dir);
}

namespace {

// One finding's report as 6.12 prints it on UML (format strings from the kernel source).
struct Report {
  std::string_view kind;
  std::string_view text;
  std::size_t header;  // the line of the finding
};

constexpr Report reports[] = {
    {"kasan",
     "[   12.345678] ==================================================================\n"
     "[   12.345900] BUG: KASAN: slab-use-after-free in buggy_uaf+0x5c/0x90 [buggy]\n"
     "[   12.346000] Read of size 4 at addr 0000000061a3c010 by task insmod/35\n"
     "[   12.346100] \n"
     "[   12.346200] CPU: 0 UID: 0 PID: 35 Comm: insmod Tainted: G           O       6.12.38 #1\n"
     "[   12.346400] Stack:\n"
     "[   12.347000] Allocated by task 35:\n"
     "[   12.347100] Freed by task 35:\n"
     "[   12.347300] Memory state around the buggy address:\n"
     "[   12.347400] ==================================================================\n",
     1},
    {"ubsan",
     "------------[ cut here ]------------\n"
     "UBSAN: array-index-out-of-bounds in /x/buggy.c:40:14\n"
     "index 10 is out of range for type 'int [10]'\n"
     "CPU: 0 UID: 0 PID: 35 Comm: insmod Tainted: G           O       6.12.38 #1\n"
     "---[ end trace ]---\n",
     1},
    {"ubsan",  // 6.1
     "================================================================================\n"
     "UBSAN: shift-out-of-bounds in /x/buggy.c:12:9\n"
     "shift exponent 40 is too large for 32-bit type 'int'\n"
     "================================================================================\n",
     1},
    {"lockdep",
     "\n"
     "======================================================\n"
     "WARNING: possible circular locking dependency detected\n"
     "6.12.38 #1 Tainted: G           O\n"
     "------------------------------------------------------\n"
     "insmod/35 is trying to acquire lock:\n",
     2},
    {"lockdep",
     "=============================\n"
     "WARNING: suspicious RCU usage\n"
     "6.12.38 #1 Tainted: G           O\n",
     1},
    {"lockdep",
     "========================================================\n"
     "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected\n",
     1},
    {"atomic-sleep",
     "BUG: sleeping function called from invalid context at mm/slab_common.c:1234\n"
     "in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 35, name: insmod\n"
     "preempt_count: 1, expected: 0\n",
     0},
    {"atomic-sleep", "BUG: scheduling while atomic: insmod/35/0x00000002\n", 0},
    {"refcount",
     "------------[ cut here ]------------\n"
     "WARNING: CPU: 0 PID: 35 at lib/refcount.c:28 refcount_warn_saturate+0x13d/0x170\n"
     "refcount_t: underflow; use-after-free.\n"
     "Modules linked in: buggy(O)\n"
     "CPU: 0 UID: 0 PID: 35 Comm: insmod Tainted: G           O       6.12.38 #1\n"
     "---[ end trace 0000000000000000 ]---\n",
     2},
    {"list",
     "------------[ cut here ]------------\n"
     "WARNING: CPU: 0 PID: 35 at lib/list_debug.c:32 __list_add_valid_or_report+0x7c/0xa0\n"
     "list_add corruption. next->prev should be prev (000000006a0), but was 0000000000000000. "
     "(next=000000006b0).\n"
     "---[ end trace 0000000000000000 ]---\n",
     2},
    {"list", "list_del corruption, 000000006a1b2c30->next is LIST_POISON1 (dead000000000100)\n", 0},
    {"debug-objects",
     "------------[ cut here ]------------\n"
     "WARNING: CPU: 0 PID: 35 at lib/debugobjects.c:514 debug_print_object+0x9a/0xc0\n"
     "ODEBUG: free active (active state 0) object: 000000006a1b2c30 object type: timer_list "
     "hint: buggy_timer_fn+0x0/0x10 [buggy]\n",
     2},
    {"slab",
     "=============================================================================\n"
     "BUG kmalloc-64 (Tainted: G           O      ): Object already free\n"
     "-----------------------------------------------------------------------------\n"
     "\n"
     "Allocated in buggy_init+0x2b/0x60 [buggy] age=0 cpu=0 pid=35\n",
     1},
    {"slab", "BUG kmalloc-64 (Not tainted): Poison overwritten\n", 0},
    {"fortify",
     "------------[ cut here ]------------\n"
     "WARNING: CPU: 0 PID: 35 at lib/string_helpers.c:1032 __fortify_report+0x45/0x60\n"
     "memcpy: detected buffer overflow: 20 byte write of buffer size 16\n",
     2},
    {"fortify", "detected buffer overflow in strcpy\n", 0},  // 6.1
    {"fortify",
     "memcpy: detected field-spanning write (size 20) of single field \"&p->a\" at "
     "/x/buggy.c:30 (size 16)\n",
     0},
    {"kmemleak",
     "kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)\n"
     "unreferenced object 0x000000006a4f1200 (size 64):\n"
     "  comm \"insmod\", pid 35, jiffies 4294937602\n",
     0},
};

}  // namespace

TEST_CASE("findings: each class from its report, neither an oops nor a warning") {
  for (const auto& report : reports) {
    INFO(report.text);
    const auto found = classify_console(report.text, nonce);
    REQUIRE(!found.findings.empty());
    CHECK(found.findings.front().kind == report.kind);
    CHECK(found.findings.front().event.line == report.header);
    CHECK(found.oopses.empty());
    CHECK(found.warnings.empty());
    CHECK(found.panics.empty());
    CHECK(found.first_problem_line(true) == report.header);
    CHECK(uml::is_finding_kind(report.kind));
  }
  const auto kmemleak = classify_console(reports[std::size(reports) - 1].text, nonce);
  CHECK(kmemleak.findings.size() == 2);  // the summary line and the object's report
  const auto kasan = classify_console(reports[0].text, nonce);
  REQUIRE(kasan.findings.size() == 1);
  CHECK(kasan.findings[0].event.text ==
        "BUG: KASAN: slab-use-after-free in buggy_uaf+0x5c/0x90 [buggy]");
  CHECK(kasan.first_finding("kasan") == &kasan.findings[0]);
  CHECK(kasan.first_finding("ubsan") == nullptr);
}

TEST_CASE("findings: the kinds, their labels, and lines that only look like them") {
  const auto kinds = uml::finding_kinds();
  CHECK(std::vector<std::string_view>(kinds.begin(), kinds.end()) ==
        std::vector<std::string_view>{"kasan", "ubsan", "lockdep", "atomic-sleep", "refcount",
                                      "list", "debug-objects", "slab", "fortify", "kmemleak"});
  CHECK(uml::describe_finding_kind("kasan") == "KASAN");
  CHECK(uml::describe_finding_kind("atomic-sleep") == "sleep in atomic context");
  CHECK(uml::describe_finding_kind("slab") == "slab (SLUB debug)");
  CHECK(uml::describe_finding_kind("nonsense") == "nonsense");
  CHECK_FALSE(uml::is_finding_kind("KASAN"));
  for (const auto* line : {
           "guest says: BUG: KASAN: slab-use-after-free in x",  // mid-sentence
           "my refcount_t: underflow",
           "================================================================================",
           "ODEBUG: selftest passed",
           "ODEBUG: Out of memory. ODEBUG disabled",
           "BUG kmalloc-64 is fine",
           "BUG a b (Not tainted): x",          // no cache name has a space
           "a b: detected buffer overflow: 1",  // not a function name
           "kmemleak: Kernel memory leak detector initialized (mem pool available: 15979)",
           "WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2",
       }) {
    INFO(line);
    CHECK_FALSE(uml::finding_kind_of(line));
  }
  // A finding that starts with "BUG:" is not an oops; other BUG: lines still are.
  const auto found = classify_console(
      "BUG: KASAN: null-ptr-deref in f+0x1/0x2\nBUG: unable to handle page fault\n", nonce);
  REQUIRE(found.findings.size() == 1);
  REQUIRE(found.oopses.size() == 1);
  CHECK(found.oopses[0].line == 1);
}

TEST_CASE("findings: a WARN that is a finding's report is not counted as a warning too") {
  // Architectures with a BUG trap print the message first, then the WARNING: CPU: line.
  const auto trap_order = classify_console(
      "------------[ cut here ]------------\n"
      "refcount_t: addition on 0; use-after-free.\n"
      "WARNING: CPU: 0 PID: 35 at lib/refcount.c:25 refcount_warn_saturate+0x9c/0x170\n"
      "Modules linked in: buggy(O)\n"
      "---[ end trace 0000000000000000 ]---\n"
      // A WARN of its own after the report ended: counted.
      "------------[ cut here ]------------\n"
      "WARNING: CPU: 0 PID: 35 at drivers/foo.c:12 foo+0x10/0x20\n",
      nonce);
  REQUIRE(trap_order.findings.size() == 1);
  CHECK(trap_order.findings[0].kind == "refcount");
  REQUIRE(trap_order.warnings.size() == 1);
  CHECK(trap_order.warnings[0].line == 6);

  // SLUB's leak report, then kmem_cache_destroy's WARN tens of lines later.
  std::string slab =
      "BUG leak_cache (Tainted: G           O      ): Objects remaining on "
      "__kmem_cache_shutdown()\n";
  for (int i = 0; i < 30; ++i) {
    slab += " dump_stack_lvl+0x2e/0x40\n";
  }
  slab +=
      "------------[ cut here ]------------\n"
      "WARNING: CPU: 0 PID: 40 at mm/slab_common.c:548 kmem_cache_destroy+0x15a/0x170\n"
      "kmem_cache_destroy leak_cache: Slab cache still has objects when called from "
      "buggy_exit+0x11/0x20 [buggy]\n";
  const auto leak = classify_console(slab, nonce);
  CHECK(leak.findings.size() == 2);
  CHECK(leak.warnings.empty());
  CHECK(leak.oopses.empty());

  // A finding that is no WARN (KASAN) does not swallow a later, separate warning.
  const auto separate = classify_console(
      std::string(reports[0].text) + "WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2\n", nonce);
  CHECK(separate.warnings.size() == 1);
}

TEST_CASE("UML-EXPECT: the last marker of each known kind counts") {
  const auto found = classify_console(
      "UML-EXPECT 0123456789abcdef kasan confirmed\n"  // forged by the command
      "UML-EXPECT fedcba9876543210 ubsan confirmed\n"  // another nonce
      "UML-EXPECT 0123456789abcdef nonsense confirmed\n"
      "UML-EXPECT 0123456789abcdef lockdep confirmed\n"
      "UML-EXPECT 0123456789abcdef kasan unconfirmed\n"  // init's, last
      "UML-EXPECT 0123456789abcdef lockdep confirmed, really\n",
      nonce);
  REQUIRE(found.expect.size() == 2);
  CHECK_FALSE(found.expect.at("kasan").confirmed);
  CHECK(found.expect.at("kasan").markers == 2);
  CHECK_FALSE(found.expect.at("lockdep").confirmed);  // anything but "confirmed" is not
  CHECK(found.expect.count("ubsan") == 0);
}

TEST_CASE("UML-UNLOAD-FAILED: nonce-checked, names validated, reasons bounded") {
  const std::string long_reason(300, 'r');
  std::string console =
      "UML-UNLOAD-FAILED 0123456789abcdef buggy refcnt=1 holders=none\n"
      "UML-UNLOAD-FAILED fedcba9876543210 other refcnt=1\n"
      "UML-UNLOAD-FAILED 0123456789abcdef bad/name x\n"
      "UML-UNLOAD-FAILED 0123456789abcdef bad\x1b[2Jname x\n"
      "UML-UNLOAD-FAILED 0123456789abcdef " +
      std::string(65, 'a') +
      " too long\n"
      "UML-UNLOAD-FAILED 0123456789abcdef " +
      std::string(64, 'a') +
      "\n"
      "UML-UNLOAD-FAILED 0123456789abcdef my-mod_2 " +
      long_reason + "\n";
  auto found = classify_console(console, nonce);
  REQUIRE(found.unload_failed.size() == 3);
  CHECK(found.unload_failed[0].module == "buggy");
  CHECK(found.unload_failed[0].reason == "refcnt=1 holders=none");
  CHECK(found.unload_failed[0].line == 0);
  CHECK(found.unload_failed[1].module == std::string(64, 'a'));
  CHECK(found.unload_failed[1].reason.empty());
  CHECK(found.unload_failed[2].module == "my-mod_2");
  CHECK(found.unload_failed[2].reason.size() == uml::max_unload_reason);
  // A reason is not cut inside a UTF-8 sequence.
  found = classify_console(
      "UML-UNLOAD-FAILED 0123456789abcdef m " + std::string(199, 'x') + "\xc3\xa9tail\n", nonce);
  REQUIRE(found.unload_failed.size() == 1);
  CHECK(found.unload_failed[0].reason == std::string(199, 'x'));
  // A flood keeps a bounded number.
  std::string flood;
  for (int i = 0; i < 1000; ++i) {
    flood += "UML-UNLOAD-FAILED 0123456789abcdef m x\n";
  }
  CHECK(classify_console(flood, nonce).unload_failed.size() == uml::max_unload_failures);
}
