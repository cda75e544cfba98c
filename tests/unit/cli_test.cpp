#include "cli.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "error.hpp"

namespace fs = std::filesystem;

namespace {

// A fresh temporary directory with a fake kernel and image, removed with it.
class Dir {
 public:
  Dir() {
    std::string tmpl = (fs::temp_directory_path() / "cli-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
    write("linux", "not really a kernel\n");
    write("root.img", "not really an image\n");
    write("disk.img", "not really a disk\n");
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
  }
  std::string read(const std::string& name) const {
    std::ifstream in(path_ / name);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  fs::path path_;
};

std::vector<std::string> test_args(const Dir& dir, std::vector<std::string> more) {
  std::vector<std::string> args{"test", "--kernel", dir / "linux", "--rootfs", dir / "root.img"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// What main() makes of cli_main(): its status, or the code of the Error it throws.
int exit_status(const std::vector<std::string>& args) {
  std::vector<std::string> words{"uml-helper"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& word : words) {
    argv.push_back(word.data());
  }
  try {
    return uml::cli_main(static_cast<int>(argv.size()), argv.data());
  } catch (const uml::Error& e) {
    return uml::to_int(e.code());
  }
}

std::string error_of(const std::vector<std::string>& args) {
  try {
    uml::parse_command_line(args);
  } catch (const uml::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("cli: the words after -- reach the guest command exactly") {
  Dir dir;
  const auto parsed = uml::parse_command_line(test_args(
      dir, {"--", "tr", "-d", "[:space:]", "[a,b]", "a;b", "", "$HOME", "'\"", "b\\", "[", "]"}));
  REQUIRE(!parsed.exit_status);
  REQUIRE(parsed.command == uml::CommandLine::Command::Test);
  CHECK(parsed.test.command ==
        R"(tr -d '[:space:]' '[a,b]' 'a;b' '' '$HOME' ''\''"' 'b\' '[' ']')");
}

TEST_CASE("cli: gdb's words after -- are passed on exactly") {
  Dir dir;
  const auto parsed =
      uml::parse_command_line({"debug", "--kernel", dir / "linux", "--rootfs", dir / "root.img",
                               "--", "-ex", "print a[0]", "-ex", "[x,y]", ""});
  REQUIRE(!parsed.exit_status);
  CHECK(parsed.debug.gdb_args == std::vector<std::string>{"-ex", "print a[0]", "-ex", "[x,y]", ""});
}

TEST_CASE("cli: a boot description's argv words and env values arrive exactly") {
  Dir dir;
  dir.write("t.boot", "kernel=" + (dir / "linux") + "\nrootfs=" + (dir / "root.img") +
                          "\nenv=X=a;b [c]\nenv=EMPTY=\nargv=printf\nargv=<%s>\nargv=[:space:]\n"
                          "argv=\nargv=a;b\nargv=back\\\\slash\nargv=cr\\r\n");
  const auto parsed = uml::parse_command_line({"test", "--boot", dir / "t.boot"});
  REQUIRE(!parsed.exit_status);
  CHECK(parsed.test.env == std::vector<std::string>{"X=a;b [c]", "EMPTY="});
  CHECK(parsed.test.command == "printf '<%s>' '[:space:]' '' 'a;b' 'back\\slash' 'cr\r'");
}

TEST_CASE("cli: --command and a command after -- together are an error") {
  Dir dir;
  const auto parsed = uml::parse_command_line(test_args(dir, {"--command", "true", "--", "false"}));
  CHECK(parsed.exit_status == 2);
}

TEST_CASE("cli: test boots get a default timeout and --timeout 0 still means none") {
  Dir dir;
  CHECK(uml::parse_command_line(test_args(dir, {})).test.timeout == 600);
  CHECK(uml::parse_command_line(test_args(dir, {"--timeout", "0"})).test.timeout == 0);
  CHECK(uml::parse_command_line(test_args(dir, {"--timeout", "2.5"})).test.timeout == 2.5);
  // A KUnit discovery boot is a test boot too.
  CHECK(uml::parse_command_line(test_args(dir, {"--kunit-list", dir / "cases"})).test.timeout ==
        600);
}

TEST_CASE("cli: --timeout and --grace outside their range are errors (exit 2)") {
  Dir dir;
  for (const auto* bad : {"nan", "inf", "-1", "0.0001", "1e10", "-inf"}) {
    INFO(bad);
    CHECK(exit_status(test_args(dir, {"--timeout", bad, "--", "true"})) == 2);
    CHECK_THAT(error_of(test_args(dir, {"--timeout", bad})),
               Catch::Contains("--timeout") && Catch::Contains("0.001 to 31536000") &&
                   Catch::Contains("0 for none"));
  }
  for (const auto* bad : {"nan", "0", "-1", "0.0001", "1e10", "inf"}) {
    INFO(bad);
    CHECK(exit_status(test_args(dir, {"--grace", bad, "--", "true"})) == 2);
    CHECK_THAT(error_of(test_args(dir, {"--grace", bad})),
               Catch::Contains("--grace") && Catch::Contains("0.001 to 3600"));
  }
  CHECK(uml::parse_command_line(test_args(dir, {"--grace", "0.5"})).test.grace == 0.5);
  CHECK(uml::parse_command_line(test_args(dir, {"--timeout", "0.001"})).test.timeout == 0.001);
}

TEST_CASE("cli: --log, --junit or --kunit-list naming an input is refused (exit 2)") {
  Dir dir;
  const auto kernel = dir.read("linux");
  const auto image = dir.read("root.img");
  const auto disk = dir.read("disk.img");
  fs::create_symlink(dir / "root.img", dir / "link-to-image");
  for (const auto* option : {"--log", "--junit", "--kunit-list"}) {
    for (const auto& input : {dir / "linux", dir / "root.img", dir / "disk.img",
                              dir / "link-to-image", dir / "./sub/../root.img"}) {
      INFO(option << " " << input);
      fs::create_directories(dir / "sub");
      CHECK(exit_status(
                test_args(dir, {"--disk", dir / "disk.img", option, input, "--", "true"})) == 2);
      CHECK_THAT(error_of(test_args(dir, {"--disk", dir / "disk.img", option, input})),
                 Catch::Contains(option) && Catch::Contains("would be overwritten"));
    }
  }
  CHECK(dir.read("linux") == kernel);
  CHECK(dir.read("root.img") == image);
  CHECK(dir.read("disk.img") == disk);
  CHECK_THAT(error_of(test_args(dir, {"--log", dir / "out", "--junit", dir / "out"})),
             Catch::Contains("same file"));
  CHECK(error_of(test_args(dir, {"--log", dir / "log", "--junit", dir / "junit.xml"})) ==
        "no error");
}

TEST_CASE("cli: --expect-finding takes known kinds only (exit 2 with the list)") {
  Dir dir;
  auto parsed = uml::parse_command_line(
      test_args(dir, {"--expect-finding", "kasan", "--expect-finding", "atomic-sleep",
                      "--expect-finding", "kasan", "--", "true"}));
  REQUIRE(!parsed.exit_status);
  CHECK(parsed.test.expect_findings == std::vector<std::string>{"kasan", "atomic-sleep"});
  CHECK(parsed.test.command == "true");
  CHECK(uml::parse_command_line(test_args(dir, {})).test.expect_findings.empty());
  CHECK(exit_status(test_args(dir, {"--expect-finding", "kasn"})) == 2);
  CHECK(uml::parse_command_line(test_args(dir, {"--expect-finding", "KASAN"})).exit_status == 2);
  // Without the subcommand's option the boot file's key is left out for run.
  dir.write("t.boot", "kernel=" + (dir / "linux") + "\nrootfs=" + (dir / "root.img") +
                          "\nexpect-finding=ubsan\nexpect-finding=slab\nmodule-dir=" +
                          (dir / "mods") + "\nmodule-dir=/other\n");
  parsed = uml::parse_command_line({"test", "--boot", dir / "t.boot"});
  REQUIRE(!parsed.exit_status);
  CHECK(parsed.test.expect_findings == std::vector<std::string>{"ubsan", "slab"});
  CHECK(parsed.test.module_dirs == std::vector<std::string>{dir / "mods", "/other"});
  CHECK(!uml::parse_command_line({"run", "--boot", dir / "t.boot"}).exit_status);
  dir.write("bad.boot", "kernel=" + (dir / "linux") + "\nrootfs=" + (dir / "root.img") +
                            "\nexpect-finding=nope\n");
  CHECK(uml::parse_command_line({"test", "--boot", dir / "bad.boot"}).exit_status == 2);
}

TEST_CASE("cli: the unload check is on by default, off with --no-unload-check or unload-check=0") {
  Dir dir;
  CHECK(uml::parse_command_line(test_args(dir, {})).test.unload_check);
  CHECK_FALSE(uml::parse_command_line(test_args(dir, {"--no-unload-check"})).test.unload_check);
  CHECK(uml::parse_command_line(test_args(dir, {"--unload-check"})).test.unload_check);
  const auto boot = [&](const std::string& name, const std::string& value) {
    dir.write(name, "kernel=" + (dir / "linux") + "\nrootfs=" + (dir / "root.img") +
                        "\nunload-check=" + value + "\n");
    return dir / name;
  };
  CHECK_FALSE(uml::parse_command_line({"test", "--boot", boot("off.boot", "0")}).test.unload_check);
  CHECK(uml::parse_command_line({"test", "--boot", boot("on.boot", "1")}).test.unload_check);
  // The command line wins over the file, either way.
  CHECK(uml::parse_command_line({"test", "--boot", boot("off.boot", "0"), "--unload-check"})
            .test.unload_check);
  CHECK_FALSE(uml::parse_command_line({"test", "--boot", boot("on.boot", "1"), "--no-unload-check"})
                  .test.unload_check);
  // run and debug have no unload check: the key is left out.
  CHECK(!uml::parse_command_line({"run", "--boot", boot("off.boot", "0")}).exit_status);
}
