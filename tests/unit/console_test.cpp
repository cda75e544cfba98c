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
      "[    0.200000][    T1] BUG: sleeping function called from invalid context\n"
      "------------[ cut here ]------------\n"
      "WARNING: CPU: 0 PID: 1 at drivers/foo.c:12 foo+0x10/0x20\n"
      "------------[ cut here ]------------\n"
      "kernel BUG at drivers/bar.c:3!\n"
      "guest says: there is a BUG: in my program\n"
      "Oops: general protection fault, probably for non-canonical address [#1]\n"
      "[    0.300000] Kernel panic - not syncing: Segfault with no mm\n",
      nonce);
  REQUIRE(found.oopses.size() == 3);
  CHECK(found.oopses[0].text == "BUG: sleeping function called from invalid context");
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
