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
