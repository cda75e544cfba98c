#include "boot_file.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "error.hpp"
#include "ktap.hpp"

namespace fs = std::filesystem;
using uml::OptionKind;

namespace {

// A file in a fresh temporary directory, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    std::string tmpl = (fs::temp_directory_path() / "boot-file-test-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    path_ = dir_ / "x.boot";
    std::ofstream(path_) << text;
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path dir_;
  fs::path path_;
};

// The options of `test` and `run` as the CLI declares them (a subset).
uml::OptionLookup lookup() {
  uml::OptionLookup l;
  l.kind = [](std::string_view sub, std::string_view name) -> std::optional<OptionKind> {
    if (name == "kernel" || name == "rootfs" || name == "mem" || name == "work-dir") {
      return OptionKind::Value;
    }
    if (name == "module" || name == "append") {
      return OptionKind::List;
    }
    if (name == "time-travel") {
      return OptionKind::Flag;
    }
    if (sub == "test" && (name == "timeout" || name == "command")) {
      return OptionKind::Value;
    }
    if (sub == "test" && name == "kunit") {
      return OptionKind::Flag;
    }
    return std::nullopt;
  };
  l.known = [](std::string_view name) {
    for (const auto* n : {"kernel", "rootfs", "mem", "work-dir", "module", "append", "time-travel",
                          "timeout", "command", "kunit"}) {
      if (name == n) {
        return true;
      }
    }
    return false;
  };
  return l;
}

}  // namespace

TEST_CASE("boot descriptions: key=value lines, comments, escapes") {
  const auto entries = uml::parse_boot_file(
      "# generated\n\nkernel=/k/linux\nappend=a=b\ncommand=echo 'x'\\necho \\\\y\nmem=\n",
      "x.boot");
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].key == "kernel");
  CHECK(entries[0].value == "/k/linux");
  CHECK(entries[0].line == 3);
  CHECK(entries[1].value == "a=b");  // only the first '=' splits
  CHECK(entries[2].value == "echo 'x'\necho \\y");
  CHECK(entries[3].value.empty());
}

TEST_CASE("boot descriptions: malformed lines are errors naming file and line") {
  CHECK_THROWS_WITH(uml::parse_boot_file("kernel=/k\nno equals sign\n", "d.boot"),
                    Catch::Contains("d.boot:2"));
  CHECK_THROWS_WITH(uml::parse_boot_file("Kernel=/k\n", "d.boot"), Catch::Contains("d.boot:1"));
  CHECK_THROWS_WITH(uml::parse_boot_file("command=a\\tb\n", "d.boot"),
                    Catch::Contains("bad escape"));
  CHECK_THROWS_WITH(uml::parse_boot_file("command=ends in \\\n", "d.boot"),
                    Catch::Contains("bad escape"));
}

TEST_CASE(
    "boot files: --boot puts the description's options before the command line's, which win") {
  TempFile file(
      "kernel=/k/linux\nrootfs=/r.img\nmem=256M\nmodule=a\nmodule=b\ntime-travel=1\n"
      "timeout=60\ncommand=true\n");
  const auto args = uml::expand_boot_files(
      {"test", "--boot", file.path(), "--mem", "1G", "--module", "c", "-v"}, lookup());
  const std::vector<std::string> expected{"test",
                                          "--kernel=/k/linux",
                                          "--rootfs=/r.img",
                                          "--module=a",
                                          "--module=b",
                                          "--time-travel",
                                          "--timeout=60",
                                          "--command=true",
                                          "--mem",
                                          "1G",
                                          "--module",
                                          "c",
                                          "-v"};
  CHECK(args == expected);
}

TEST_CASE("boot files: --boot leaves out options the subcommand does not have") {
  TempFile file("kernel=/k/linux\nrootfs=/r.img\ntimeout=60\ncommand=true\nkunit=1\n");
  const auto args = uml::expand_boot_files({"run", "--boot=" + file.path()}, lookup());
  const std::vector<std::string> expected{"run", "--kernel=/k/linux", "--rootfs=/r.img"};
  CHECK(args == expected);
}

TEST_CASE("boot files: a command on the command line replaces the description's") {
  TempFile file("kernel=/k\nrootfs=/r\nargv=grep\nargv=-q\nargv=x y\n");
  const auto from_file = uml::expand_boot_files({"test", "--boot", file.path()}, lookup());
  const std::vector<std::string> expected{"test", "--kernel=/k", "--rootfs=/r", "--",
                                          "grep", "-q",          "x y"};
  CHECK(from_file == expected);
  const auto own =
      uml::expand_boot_files({"test", "--boot", file.path(), "--command", "true"}, lookup());
  const std::vector<std::string> own_expected{"test", "--kernel=/k", "--rootfs=/r", "--command",
                                              "true"};
  CHECK(own == own_expected);
  const auto own_argv =
      uml::expand_boot_files({"test", "--boot", file.path(), "--", "false"}, lookup());
  const std::vector<std::string> argv_expected{"test", "--kernel=/k", "--rootfs=/r", "--", "false"};
  CHECK(own_argv == argv_expected);
}

TEST_CASE("boot files: a value that starts with '-' stays the option's value") {
  TempFile file("append=-x\n");
  const auto args = uml::expand_boot_files({"run", "--boot", file.path()}, lookup());
  CHECK(args == std::vector<std::string>{"run", "--append=-x"});
}

TEST_CASE("boot files: unknown keys, bad flags and missing files are errors") {
  TempFile unknown("kernel=/k\nkernal=/k\n");
  CHECK_THROWS_WITH(uml::expand_boot_files({"run", "--boot", unknown.path()}, lookup()),
                    Catch::Contains(":2: unknown key \"kernal\""));
  // One level of boot=: a description may include one (the package's generated device
  // lines), which may not include again.
  TempFile innermost("kernel=/k\n");
  TempFile inner("boot=" + innermost.path() + "\n");
  TempFile outer("boot=" + inner.path() + "\n");
  CHECK_THROWS_WITH(uml::expand_boot_files({"run", "--boot", outer.path()}, lookup()),
                    Catch::Contains("unknown key \"boot\""));
  CHECK(uml::expand_boot_files({"run", "--boot", inner.path()}, lookup()) ==
        std::vector<std::string>{"run", "--kernel=/k"});
  TempFile missing("boot=/nonexistent/devices.boot\n");
  CHECK_THROWS_WITH(uml::expand_boot_files({"run", "--boot", missing.path()}, lookup()),
                    Catch::Contains("cannot read"));
  TempFile flag("time-travel=maybe\n");
  CHECK_THROWS_WITH(uml::expand_boot_files({"run", "--boot", flag.path()}, lookup()),
                    Catch::Contains("takes 1 or 0"));
  TempFile off("time-travel=0\nkernel=/k\n");
  CHECK(uml::expand_boot_files({"run", "--boot", off.path()}, lookup()) ==
        std::vector<std::string>{"run", "--kernel=/k"});
  CHECK_THROWS_WITH(uml::expand_boot_files({"run", "--boot", "/nonexistent/x.boot"}, lookup()),
                    Catch::Contains("cannot read"));
  // Without --boot, nothing changes.
  const std::vector<std::string> plain{"run", "--kernel", "k"};
  CHECK(uml::expand_boot_files(plain, lookup()) == plain);
}

TEST_CASE("module lists: modules.order of 6.12 (.o) and 6.1 (.ko), or plain names") {
  TempFile order("/b/_uml/module/x/drv.o\n/b/_uml/module/x/sub/helper-mod.o\n\n");
  CHECK(uml::read_module_list(order.path()) == std::vector<std::string>{"drv", "helper-mod"});
  TempFile old_order("kernel/x/drv.ko\n");
  CHECK(uml::read_module_list(old_order.path()) == std::vector<std::string>{"drv"});
  TempFile names("a\nb_c\n");
  CHECK(uml::read_module_list(names.path()) == std::vector<std::string>{"a", "b_c"});
  TempFile bad("a;reboot\n");
  CHECK_THROWS_WITH(uml::read_module_list(bad.path()), Catch::Contains("is not a module"));
  CHECK_THROWS_WITH(uml::read_module_list("/nonexistent/modules.order"),
                    Catch::Contains("is the module built?"));
}

TEST_CASE("KUnit listing: cases after their suite's line, each once, odd names apart") {
  const auto listing = uml::parse_kunit_listing(
      "[    0.1] Run /.uml/init as init process\n"
      "ringbuf.not_a_case_yet\n"
      "[    0.2] KTAP version 1\n"
      "[    0.2] ringbuf\n"
      "[    0.2] ringbuf.push_pop\n"
      "ringbuf.wraps\n"
      "ringbuf.push_pop\n"
      "other.case_without_suite\n"
      "ringbuf.param[1]\n"
      "some text with spaces.x\n");
  CHECK(listing.cases == std::vector<std::string>{"ringbuf.push_pop", "ringbuf.wraps"});
  CHECK(listing.unselectable == std::vector<std::string>{"ringbuf.param[1]"});
}

TEST_CASE("boot files: a test's argv words become debug's --command, not gdb's arguments") {
  TempFile file("kernel=/k\nrootfs=/r\nargv=printf\nargv=<%s>\nargv=[a b]\n");
  auto l = lookup();
  const auto test_kind = l.kind;
  l.kind = [test_kind](std::string_view sub, std::string_view name) -> std::optional<OptionKind> {
    if (sub == "debug" && name == "command") {
      return OptionKind::Value;
    }
    return test_kind(sub == "debug" ? "run" : sub, name);
  };
  l.known = [known = l.known](std::string_view name) { return name == "command" || known(name); };
  // After `--` come gdb's own options; the guest command stays the description's.
  const auto args = uml::expand_boot_files({"debug", "--boot", file.path(), "--", "-ex", "run"}, l);
  const std::vector<std::string> expected{
      "debug", "--kernel=/k", "--rootfs=/r", "--command=printf '<%s>' '[a b]'", "--", "-ex", "run"};
  CHECK(args == expected);
  // --command given: it wins.
  const auto own = uml::expand_boot_files({"debug", "--boot", file.path(), "--command", "true"}, l);
  CHECK(own ==
        std::vector<std::string>{"debug", "--kernel=/k", "--rootfs=/r", "--command", "true"});
}
