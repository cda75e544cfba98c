#include "text.hpp"

#include <catch2/catch.hpp>

using uml::base64_decode;
using uml::base64_encode;

TEST_CASE("base64 matches RFC 4648's test vectors and round-trips any bytes") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("fooba") == "Zm9vYmE=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  std::string all;
  for (int c = 0; c < 256; ++c) {
    all += static_cast<char>(c);
  }
  CHECK(base64_decode(base64_encode(all)) == all);
  CHECK(base64_decode("Zm9vYmE=") == "fooba");
  CHECK_FALSE(base64_decode("Zm9"));       // length
  CHECK_FALSE(base64_decode("Zm=v"));      // padding inside
  CHECK_FALSE(base64_decode("Zm9v!A=="));  // alphabet
}

TEST_CASE("shell quoting keeps each argument one word for sh -c") {
  CHECK(uml::shell_quote("grep") == "grep");
  CHECK(uml::shell_quote("/proc/modules") == "/proc/modules");
  CHECK(uml::shell_quote("") == "''");
  CHECK(uml::shell_quote("a b") == "'a b'");
  CHECK(uml::shell_quote("$HOME") == "'$HOME'");
  CHECK(uml::shell_quote("it's") == "'it'\\''s'");
  CHECK(uml::shell_join({"grep", "-q", "hello world", "/proc/modules"}) ==
        "grep -q 'hello world' /proc/modules");
}

TEST_CASE("memory sizes use UML's K/M/G syntax") {
  CHECK(uml::parse_size("128M") == 128ULL << 20);
  CHECK(uml::parse_size("1g") == 1ULL << 30);
  CHECK(uml::parse_size("65536K") == 64ULL << 20);
  CHECK(uml::parse_size("4096") == 4096);
  CHECK_FALSE(uml::parse_size("0"));
  CHECK_FALSE(uml::parse_size("12X"));
  CHECK_FALSE(uml::parse_size("M"));
  CHECK_FALSE(uml::parse_size("12MB"));
  CHECK_FALSE(uml::parse_size("99999999999999999999G"));
}

TEST_CASE("lines split at LF and CRLF and a last line without newline counts") {
  const auto lines = uml::split_lines("a\r\nb\n\nc");
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "a");
  CHECK(lines[1] == "b");
  CHECK(lines[2].empty());
  CHECK(lines[3] == "c");
  CHECK(uml::random_hex(16).size() == 16);
  CHECK(uml::random_hex(16) != uml::random_hex(16));
}

TEST_CASE("terminal_safe shows control characters instead of sending them to the terminal") {
  using uml::terminal_safe;
  CHECK(terminal_safe("plain\ttext\n") == "plain\ttext\n");
  CHECK(terminal_safe("line\r\n") == "line\r\n");  // a tty's line end is harmless
  CHECK(terminal_safe("x\033]52;c;ZXZpbA==\007y") == "x\\x1b]52;c;ZXZpbA==\\x07y");
  CHECK(terminal_safe("\033[2J\033]0;title\007") == "\\x1b[2J\\x1b]0;title\\x07");
  CHECK(terminal_safe("FAILED\rPASSED") == "FAILED\\x0dPASSED");
  CHECK(terminal_safe("del\x7f") == "del\\x7f");
  CHECK(terminal_safe("csi \xc2\x9b"
                      "2J") == "csi \\u009b2J");  // C1 CSI as UTF-8
  CHECK(terminal_safe("bad \x9b\xff") == "bad \\x9b\\xff");
  CHECK(terminal_safe("caf\xc3\xa9 \xe2\x82\xac") == "caf\xc3\xa9 \xe2\x82\xac");
  // No ESC byte ever comes out.
  std::string all;
  for (int c = 0; c < 256; ++c) {
    all += static_cast<char>(c);
  }
  CHECK(terminal_safe(all).find('\033') == std::string::npos);
}

TEST_CASE("TerminalSafeStream keeps sequences split between chunks whole") {
  uml::TerminalSafeStream stream;
  std::string out = stream.feed("caf\xc3");
  out += stream.feed("\xa9 line\r");
  out += stream.feed("\nnext\r");
  out += stream.feed("X\033");
  out += stream.finish();
  CHECK(out == "caf\xc3\xa9 line\r\nnext\\x0dX\\x1b");
}
