#include "cmdline.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

#include "error.hpp"
#include "text.hpp"

using uml::BootSpec;
using uml::kernel_arguments;

namespace {

BootSpec spec() {
  BootSpec s;
  s.disks = {{"/img/root.img", "/w/uh1-ubd0.cow"}};
  s.nonce = "0123456789abcdef";
  s.umid = "uh1-abcd";
  s.uml_dir = "/w/u";
  s.command = "grep -q hello /proc/modules";
  return s;
}

bool has(const std::vector<std::string>& args, const std::string& arg) {
  return std::find(args.begin(), args.end(), arg) != args.end();
}

std::string value(const std::vector<std::string>& args, const std::string& key) {
  for (const auto& a : args) {
    if (a.starts_with(key + "=")) {
      return a.substr(key.size() + 1);
    }
  }
  return {};
}

}  // namespace

TEST_CASE("test mode: COW over the base, consoles without xterms, init protocol") {
  const auto args = kernel_arguments(spec());
  CHECK(args.front() == "ubd0=/w/uh1-ubd0.cow,/img/root.img");
  for (const auto* arg : {"root=/dev/ubda", "rw", "init=/.uml/init", "mem=128M", "con=null",
                          "ssl=null", "con0=null,fd:1", "umid=uh1-abcd", "uml_dir=/w/u",
                          "UML_MODE=test", "UML_NONCE=0123456789abcdef"}) {
    INFO(arg);
    CHECK(has(args, arg));
  }
  CHECK(uml::base64_decode(value(args, "UML_CMD")) == "grep -q hello /proc/modules");
  CHECK_FALSE(has(args, "quiet"));  // KTAP and module messages are pr_info
  CHECK(value(args, "UML_ENV").empty());
  CHECK(value(args, "UML_MODULES").empty());
  CHECK_FALSE(has(args, "time-travel"));
}

TEST_CASE("run mode: the terminal is the console, no command") {
  auto s = spec();
  s.mode = uml::Mode::Run;
  const auto args = kernel_arguments(s);
  CHECK(has(args, "con0=fd:0,fd:1"));
  CHECK(has(args, "UML_MODE=run"));
  CHECK(has(args, "quiet"));
  CHECK(value(args, "UML_CMD").empty());
}

TEST_CASE("script mode: the console reads the helper's pipe, init runs a plain shell") {
  auto s = spec();
  s.mode = uml::Mode::Script;
  const auto args = kernel_arguments(s);
  CHECK(has(args, "con0=fd:0,fd:1"));
  CHECK(has(args, "UML_MODE=script"));
  CHECK(has(args, "quiet"));
  CHECK(value(args, "UML_CMD").empty());
}

TEST_CASE("extra disks, modules, env, hostfs, KUnit, time-travel and appended arguments") {
  auto s = spec();
  s.disks.push_back({"/img/data.img", "/w/uh1-ubd1.cow"});
  s.modules = {"hello", "world"};
  s.env = {"A=1", "B=x y=z"};
  s.hostfs = "/src/share";
  s.kunit = true;
  s.time_travel = true;
  s.append = {"loglevel=8", "dyndbg=\"file hello.c +p\""};
  const auto args = kernel_arguments(s);
  CHECK(args[1] == "ubd1=/w/uh1-ubd1.cow,/img/data.img");
  CHECK(value(args, "UML_MODULES") == "hello,world");
  CHECK(uml::base64_decode(value(args, "UML_ENV")) == "A=1\nB=x y=z\n");
  CHECK(has(args, "hostfs=/src/share"));
  CHECK(has(args, "UML_HOSTFS=1"));
  CHECK(has(args, "kunit.enable=1"));
  CHECK(has(args, "time-travel"));
  // The user's arguments come last, so they can override the helper's.
  CHECK(args[args.size() - 2] == "loglevel=8");
  CHECK(args.back() == "dyndbg=\"file hello.c +p\"");
}

TEST_CASE("malformed values are refused with the option named") {
  auto bad_env = spec();
  bad_env.env = {"1A=x"};
  CHECK_THROWS_WITH(kernel_arguments(bad_env), Catch::Contains("--env"));
  bad_env.env = {"NOVALUE"};
  CHECK_THROWS_AS(kernel_arguments(bad_env), uml::Error);
  bad_env.env = {"A=line\nbreak"};
  CHECK_THROWS_WITH(kernel_arguments(bad_env), Catch::Contains("newline"));

  auto bad_module = spec();
  bad_module.modules = {"a,b"};
  CHECK_THROWS_WITH(kernel_arguments(bad_module), Catch::Contains("--module"));

  auto bad_append = spec();
  bad_append.append = {"a b"};
  CHECK_THROWS_WITH(kernel_arguments(bad_append), Catch::Contains("--append"));

  auto bad_path = spec();
  bad_path.disks[0].base = "/img/a,b.img";
  CHECK_THROWS_WITH(kernel_arguments(bad_path), Catch::Contains("comma"));

  auto no_disk = spec();
  no_disk.disks.clear();
  CHECK_THROWS_WITH(kernel_arguments(no_disk), Catch::Contains("--rootfs"));
}

TEST_CASE("UML's 4096-byte command line: the last byte that fits, and one more") {
  auto s = spec();
  s.command.clear();
  const auto base = uml::command_line_length(kernel_arguments(s));
  // UML_CMD grows by 4 base64 characters per 3 bytes of command.
  const auto room = uml::command_line_size - base;
  s.command = std::string(room / 4 * 3, 'x');
  const auto args = kernel_arguments(s);
  CHECK(uml::command_line_length(args) <= uml::command_line_size);
  CHECK(uml::command_line_length(args) > uml::command_line_size - 4);
  s.command += "xyz";
  CHECK_THROWS_WITH(kernel_arguments(s), Catch::Contains("limit of 4096"));
}

TEST_CASE("the length counts separators, the NUL and UML's own console=tty0") {
  CHECK(uml::command_line_length({}) == std::string("console=tty0").size() + 1);
  CHECK(uml::command_line_length({"a", "bc"}) == 13 + 2 + 3);
}

TEST_CASE("without --hostfs, hostfs gets a root below which no path resolves") {
  uml::BootSpec spec;
  spec.disks = {{"/img/root.img", "/w/c.cow"}};
  spec.umid = "u";
  spec.uml_dir = "/w/u";
  const auto args = uml::kernel_arguments(spec);
  CHECK(std::find(args.begin(), args.end(), "hostfs=/dev/null") != args.end());
  CHECK(std::find(args.begin(), args.end(), "UML_HOSTFS=1") == args.end());
  spec.hostfs = "/share";
  const auto with = uml::kernel_arguments(spec);
  CHECK(std::find(with.begin(), with.end(), "hostfs=/share") != with.end());
  CHECK(std::find(with.begin(), with.end(), "hostfs=/dev/null") == with.end());
  spec.hostfs.reset();
  spec.close_hostfs = false;  // --no-confine: the guest mounts what it likes
  const auto open = uml::kernel_arguments(spec);
  CHECK(std::none_of(open.begin(), open.end(),
                     [](const std::string& arg) { return arg.starts_with("hostfs="); }));
}

TEST_CASE("expected findings and the unload check reach init") {
  auto s = spec();
  auto args = kernel_arguments(s);
  CHECK(value(args, "UML_EXPECT").empty());
  CHECK(value(args, "UML_UNLOAD").empty());
  s.expect = {"kasan", "atomic-sleep"};
  s.unload_check = true;
  args = kernel_arguments(s);
  CHECK(value(args, "UML_EXPECT") == "kasan,atomic-sleep");
  CHECK(value(args, "UML_UNLOAD").empty());  // no modules to unload
  s.modules = {"buggy"};
  CHECK(value(kernel_arguments(s), "UML_UNLOAD") == "1");
  s.unload_check = false;
  CHECK(value(kernel_arguments(s), "UML_UNLOAD").empty());
  // Only test boots have a command, expectations and an unload check.
  s.unload_check = true;
  s.mode = uml::Mode::Run;
  args = kernel_arguments(s);
  CHECK(value(args, "UML_EXPECT").empty());
  CHECK(value(args, "UML_UNLOAD").empty());
  // init splits at commas: only known kinds go there.
  auto bad = spec();
  bad.expect = {"kasan,ubsan"};
  CHECK_THROWS_WITH(kernel_arguments(bad), Catch::Contains("--expect-finding"));
}

TEST_CASE("the coverage disk comes after the others, and init is told its name") {
  auto s = spec();
  CHECK(value(kernel_arguments(s), "UML_COVERAGE").empty());
  s.coverage_disk = "/w/cov.img";
  auto args = kernel_arguments(s);
  CHECK(value(args, "UML_COVERAGE") == "ubdb");
  CHECK(value(args, "ubd1") == "/w/cov.img");
  s.disks.push_back({"/img/extra.img", "/w/extra.cow"});
  args = kernel_arguments(s);
  CHECK(value(args, "UML_COVERAGE") == "ubdc");
  CHECK(value(args, "ubd2") == "/w/cov.img");
  // UML has 16 ubd devices: no room left for it is an error, not a missing disk.
  while (s.disks.size() < 16) {
    s.disks.push_back({"/img/extra.img", "/w/extra.cow"});
  }
  CHECK_THROWS_WITH(kernel_arguments(s), Catch::Contains("at most 16"));
  // Run boots save none.
  s.disks.resize(1);
  s.mode = uml::Mode::Run;
  CHECK(value(kernel_arguments(s), "UML_COVERAGE").empty());
}
