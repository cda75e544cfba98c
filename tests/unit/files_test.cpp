#include "process/files.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "process/capture.hpp"
#include "process/result.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using uml::process::Failure;
using uml::process::Result;
using namespace std::chrono_literals;

TEST_CASE("Result holds a value or the reason there is none") {
  const Result<std::string> good = std::string("text");
  REQUIRE(good);
  CHECK(*good == "text");
  CHECK(good->size() == 4);
  CHECK(good.value() == "text");
  CHECK(good.error().empty());

  const Result<std::string> bad = Failure{"why not"};
  CHECK_FALSE(bad);
  CHECK(bad.error() == "why not");
  CHECK(bad.value_or("fallback") == "fallback");
  CHECK_THROWS_WITH(bad.value(), "why not");

  const Result<void> done;
  CHECK(done);
  const Result<void> failed = Failure{"no room"};
  CHECK_FALSE(failed);
  CHECK(failed.error() == "no room");
  CHECK_THROWS_WITH(failed.value(), "no room");
}

TEST_CASE("read_file returns the contents, or says why it cannot") {
  const TempDir dir("files-test");
  std::ofstream(dir.path / "file", std::ios::binary) << std::string("a\0b\n", 4);
  const auto text = uml::process::read_file(dir.path / "file");
  REQUIRE(text);
  CHECK(*text == std::string("a\0b\n", 4));

  const auto missing = uml::process::read_file(dir.path / "missing");
  REQUIRE_FALSE(missing);
  CHECK(missing.error() ==
        "cannot open " + (dir.path / "missing").string() + ": No such file or directory");

  const auto directory = uml::process::read_file(dir.path);
  REQUIRE_FALSE(directory);
  CHECK(directory.error() == "cannot read " + dir.path.string() + ": Is a directory");
}

TEST_CASE("write_file_atomic replaces a file whole and leaves no temporary") {
  const TempDir dir("files-test");
  const auto file = dir.path / "record";
  REQUIRE(uml::process::write_file_atomic(file, "first\n"));
  CHECK(uml::process::read_file(file).value() == "first\n");
  REQUIRE(uml::process::write_file_atomic(file, "second\n"));
  CHECK(uml::process::read_file(file).value() == "second\n");
  REQUIRE(uml::process::write_file_atomic(file, ""));
  CHECK(uml::process::read_file(file).value().empty());
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);

  const auto nowhere = dir.path / "no-such-dir" / "file";
  const auto failed = uml::process::write_file_atomic(nowhere, "text");
  REQUIRE_FALSE(failed);
  CHECK_THAT(failed.error(), Catch::StartsWith("cannot create " + nowhere.string() + ".") &&
                                 Catch::EndsWith(".tmp: No such file or directory"));

  // A directory in the way: the rename fails, and the temporary goes.
  fs::create_directories(dir.path / "taken" / "inside");
  const auto renamed = uml::process::write_file_atomic(dir.path / "taken", "text");
  REQUIRE_FALSE(renamed);
  CHECK_THAT(renamed.error(), Catch::StartsWith("cannot rename "));
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 2);
}

TEST_CASE("capture_output returns what a command printed, or why it did not") {
  const auto echo = uml::process::capture_output("/bin/sh", {"-c", "echo out; echo err >&2"}, 5s);
  REQUIRE(echo);
  CHECK(*echo == "out\n");

  const auto failed = uml::process::capture_output("/bin/sh", {"-c", "echo x; exit 2"}, 5s);
  REQUIRE_FALSE(failed);
  CHECK(failed.error() == "`sh -c echo x; exit 2` exited with status 2");

  const auto killed = uml::process::capture_output("/bin/sh", {"-c", "kill -9 $$"}, 5s);
  REQUIRE_FALSE(killed);
  CHECK(killed.error() == "`sh -c kill -9 $$` was killed by signal 9");

  const auto started = std::chrono::steady_clock::now();
  const auto slow = uml::process::capture_output("/bin/sh", {"-c", "sleep 30"}, 300ms);
  REQUIRE_FALSE(slow);
  CHECK(slow.error() == "`sh -c sleep 30` timed out after 300 ms");
  CHECK(std::chrono::steady_clock::now() - started < 5s);

  const auto missing = uml::process::capture_output("/nonexistent/linux", {"--showconfig"}, 5s);
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error(), Catch::StartsWith("cannot start /nonexistent/linux: "));
}
