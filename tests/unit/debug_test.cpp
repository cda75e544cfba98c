#include "debug.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "error.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using uml::GdbSetup;

namespace {

void write_file(const fs::path& path, bool executable) {
  std::ofstream(path) << "#!/bin/sh\n";
  fs::permissions(
      path, executable ? fs::perms::owner_all : fs::perms::owner_read | fs::perms::owner_write);
}

GdbSetup setup() {
  GdbSetup s;
  s.script = "/pkg/templates/gdb/uml-gdb.py";
  s.module_dirs = {"/b/_uml/module/hello", "/b/with space"};
  s.user_args = {"-batch", "-ex", "break hello_init"};
  return s;
}

}  // namespace

TEST_CASE("gdb_quote: plain words as they are, others double-quoted for gdb") {
  CHECK(uml::gdb_quote("/b/_uml/module/hello") == "/b/_uml/module/hello");
  CHECK(uml::gdb_quote("/b/with space") == "\"/b/with space\"");
  CHECK(uml::gdb_quote(R"(a"b\c)") == R"("a\"b\\c")");
  CHECK(uml::gdb_quote("") == "\"\"");
}

TEST_CASE("debug: our script and module path first, the user's options, then the kernel") {
  const auto args =
      uml::gdb_debug_arguments(setup(), "/k/linux", {"ubd0=a.cow,root.img", "mem=128M"});
  const std::vector<std::string> expected{"-q",
                                          "-x",
                                          "/pkg/templates/gdb/uml-gdb.py",
                                          "-ex",
                                          "uml-module-path /b/_uml/module/hello \"/b/with space\"",
                                          "-batch",
                                          "-ex",
                                          "break hello_init",
                                          "--args",
                                          "/k/linux",
                                          "ubd0=a.cow,root.img",
                                          "mem=128M"};
  CHECK(args == expected);
}

TEST_CASE("debug: no module directories, no uml-module-path") {
  GdbSetup s;
  s.script = "/s.py";
  const auto args = uml::gdb_debug_arguments(s, "/k/linux", {});
  CHECK(args == std::vector<std::string>{"-q", "-x", "/s.py", "--args", "/k/linux"});
}

TEST_CASE("attach: modules loaded now are loaded before the user's commands, then -p") {
  const auto args = uml::gdb_attach_arguments(setup(), "/k/linux", 4242);
  REQUIRE(args.size() == 13);
  CHECK(args[5] == "-ex");
  CHECK(args[6] == "uml-load-modules");
  CHECK(args[7] == "-batch");
  CHECK(std::vector<std::string>(args.end() - 3, args.end()) ==
        std::vector<std::string>{"-p", "4242", "/k/linux"});
}

TEST_CASE("instance records round-trip and reject incomplete ones") {
  const uml::Instance in{1234, "/k/linux", "uh1-abcd"};
  const auto text = uml::format_instance(in);
  CHECK(text == "pid=1234\nkernel=/k/linux\numid=uh1-abcd\n");
  const auto out = uml::parse_instance(text);
  REQUIRE(out);
  CHECK(out->pid == 1234);
  CHECK(out->kernel == "/k/linux");
  CHECK(out->umid == "uh1-abcd");
  CHECK_FALSE(uml::parse_instance("kernel=/k/linux\n"));
  CHECK_FALSE(uml::parse_instance("pid=12x\nkernel=/k/linux\n"));
  CHECK_FALSE(uml::parse_instance("pid=0\nkernel=/k/linux\n"));
  CHECK_FALSE(uml::parse_instance("pid=12\n"));
  CHECK_FALSE(uml::parse_instance(""));
}

TEST_CASE("running_instance: a clear error when nothing runs or the record is stale") {
  TempDir dir("debug-test");
  try {
    uml::running_instance(dir.path);
    FAIL("no error");
  } catch (const uml::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("no UML is running in") && Catch::Contains("start one"));
  }
  // This test process is alive but is not the recorded kernel.
  std::ofstream(dir.path / "instance") << uml::format_instance({::getpid(), "/k/linux", "x"});
  try {
    uml::running_instance(dir.path);
    FAIL("no error");
  } catch (const uml::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("is no longer running"));
  }
}

TEST_CASE("find_gdb: --gdb, else the first gdb on PATH, else an error naming the package") {
  TempDir dir("debug-test");
  const auto empty = dir.path / "empty";
  const auto bin = dir.path / "bin";
  fs::create_directories(empty);
  fs::create_directories(bin);
  write_file(bin / "gdb", true);
  const auto path = empty.string() + ":" + bin.string();
  CHECK(uml::find_gdb(std::nullopt, path.c_str()) == bin / "gdb");
  CHECK(uml::find_gdb(bin / "gdb", "") == bin / "gdb");
  CHECK_THROWS_WITH(uml::find_gdb(std::nullopt, empty.string().c_str()),
                    Catch::Contains("package 'gdb'") && Catch::Contains("--gdb"));
  CHECK_THROWS_WITH(uml::find_gdb(std::nullopt, nullptr), Catch::Contains("package 'gdb'"));
  write_file(empty / "gdb", false);  // not executable: skipped
  CHECK(uml::find_gdb(std::nullopt, path.c_str()) == bin / "gdb");
  CHECK_THROWS_WITH(uml::find_gdb(empty / "gdb", ""), Catch::Contains("not an executable"));
}

TEST_CASE("find_gdb_script: --gdb-script, else beside the installed helper, else the source tree") {
  TempDir dir("debug-test");
  const auto prefix = dir.path / "prefix";
  const auto installed = prefix / "share/UserModeLinux/templates/gdb/uml-gdb.py";
  const auto source = dir.path / "src/templates/gdb/uml-gdb.py";
  fs::create_directories(installed.parent_path());
  fs::create_directories(source.parent_path());
  write_file(source, false);
  const auto helper = prefix / "bin/uml-helper";
  CHECK(uml::find_gdb_script(std::nullopt, helper, source) == source);
  write_file(installed, false);
  CHECK(uml::find_gdb_script(std::nullopt, helper, source) == installed);
  CHECK(uml::find_gdb_script(source, helper, "") == source);
  CHECK_THROWS_WITH(uml::find_gdb_script(dir.path / "nope.py", helper, source),
                    Catch::Contains("--gdb-script"));
  CHECK_THROWS_WITH(uml::find_gdb_script(std::nullopt, dir.path / "x/bin/uml-helper", ""),
                    Catch::Contains("cannot find uml-gdb.py"));
}
