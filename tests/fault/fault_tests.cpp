// Fault tests: uml-helper against a fake `linux` (fake_linux.cpp) that hangs, panics,
// ignores SIGTERM or leaves processes behind. Each test checks the exit status and what
// was left afterwards: processes of the fake's session, its umid directory, COW files.

#define CATCH_CONFIG_MAIN
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/process.hpp>
#include <catch2/catch.hpp>

#include "process/affinity.hpp"
#include "process/proc_table.hpp"

namespace bp = boost::process;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh directory per test, named after it.
fs::path test_dir() {
  auto name = Catch::getResultCapture().getCurrentTestName();
  for (auto& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      c = '-';
    }
  }
  const auto dir = fs::path(FAULT_WORK_DIR) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

struct Result {
  int status = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
  double seconds = 0;
};

struct Helper {
  fs::path dir = test_dir();
  fs::path work = dir / "work";
  fs::path rootfs = dir / "root.img";
  std::map<std::string, std::string> env;
  std::optional<std::string> input;  // the helper's stdin (a file); else /dev/null

  // The fake's record: in the --hostfs directory, which the confined fake may write
  // (the work dir it may not).
  fs::path shared = dir / "shared";

  Helper() {
    std::ofstream(rootfs) << "not really an image\n";
    fs::create_directories(shared);
  }

  std::vector<std::string> base_args(const std::string& mode, const std::string& sub = "test") {
    return {sub,           "--kernel", FAKE_LINUX,      "--rootfs", rootfs.string(), "--work-dir",
            work.string(), "--hostfs", shared.string(), "--append", "fake=" + mode};
  }

  bp::child start(const std::vector<std::string>& args) {
    auto environment = boost::this_process::environment();
    environment["FAKE_RECORD"] = (shared / "record").string();
    for (const auto& [key, value] : env) {
      environment[key] = value;
    }
    if (input) {
      std::ofstream(dir / "stdin") << *input;
      return bp::child(bp::exe = UML_HELPER, bp::args = args, environment,
                       bp::std_out > (dir / "stdout").string(),
                       bp::std_err > (dir / "stderr").string(),
                       bp::std_in < (dir / "stdin").string());
    }
    return bp::child(bp::exe = UML_HELPER, bp::args = args, environment,
                     bp::std_out > (dir / "stdout").string(),
                     bp::std_err > (dir / "stderr").string(), bp::std_in < bp::null);
  }

  Result finish(bp::child& child, std::chrono::steady_clock::time_point started) {
    child.wait();
    Result r;
    const int native = child.native_exit_code();
    r.status = WIFEXITED(native) ? WEXITSTATUS(native) : 128 + WTERMSIG(native);
    r.out = slurp(dir / "stdout");
    r.err = slurp(dir / "stderr");
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return r;
  }

  Result run(const std::vector<std::string>& args) {
    const auto started = std::chrono::steady_clock::now();
    auto child = start(args);
    return finish(child, started);
  }

  Result run_mode(const std::string& mode, std::vector<std::string> extra = {}) {
    auto args = base_args(mode);
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }

  std::vector<std::string> record() const {
    std::vector<std::string> lines;
    std::istringstream in(slurp(shared / "record"));
    for (std::string line; std::getline(in, line);) {
      lines.push_back(line);
    }
    return lines;
  }

  // A value from the FAKE-STATE line, e.g. "sid".
  std::string state(const std::string& key) const {
    for (const auto& line : record()) {
      if (line.starts_with("FAKE-STATE ")) {
        const auto pos = line.find(" " + key + "=");
        if (pos != std::string::npos) {
          const auto start = pos + key.size() + 2;
          return line.substr(start, line.find(' ', start) - start);
        }
      }
    }
    return {};
  }

  pid_t fake_pid() const { return std::stoi(state("pid")); }

  // A kernel argument the fake got, e.g. "umid".
  std::string arg(const std::string& key) const {
    for (const auto& line : record()) {
      if (line.starts_with("args=")) {
        const auto args = " " + line.substr(5) + " ";
        const auto pos = args.find(" " + key + "=");
        if (pos != std::string::npos) {
          const auto start = pos + key.size() + 2;
          return args.substr(start, args.find(' ', start) - start);
        }
      }
    }
    return {};
  }

  std::vector<pid_t> children() const {
    std::vector<pid_t> pids;
    for (const auto& line : record()) {
      if (line.starts_with("child=")) {
        pids.push_back(std::stoi(line.substr(6)));
      }
    }
    return pids;
  }

  // Waits until the fake has written its state (it is running).
  void wait_for_fake() const {
    for (int i = 0; i < 500 && state("pid").empty(); ++i) {
      std::this_thread::sleep_for(10ms);
    }
    REQUIRE_FALSE(state("pid").empty());
  }

  std::vector<fs::path> files_in(const fs::path& d, const std::string& suffix) const {
    std::vector<fs::path> found;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(d, ec)) {
      if (entry.path().string().ends_with(suffix)) {
        found.push_back(entry.path());
      }
    }
    return found;
  }

  // Nothing of the run is left: no process of the fake's session, no umid directory
  // (work/u/<umid>), no COW file.
  void check_nothing_left() const {
    const auto sid = std::stoi(state("sid"));
    CHECK(sid == fake_pid());
    CHECK(uml::process::session_members(sid).empty());
    for (const pid_t child : children()) {
      INFO("child " << child);
      CHECK(!alive(child));
    }
    CHECK(files_in(work, ".cow").empty());
    CHECK(files_in(work, "/pid").empty());
  }

  static bool alive(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    if (text.empty()) {
      return false;
    }
    const auto info = uml::process::parse_proc_stat(text);
    return info && info->state != 'Z' && info->state != 'X';
  }
};

}  // namespace

TEST_CASE("passing command: exit 0, session, limits and TMPDIR as UML needs them") {
  Helper h;
  const auto r = h.run_mode("pass");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("passed") != std::string::npos);
  CHECK(h.state("sid") == h.state("pid"));  // a session of its own
  CHECK(h.state("core") == "0");
  CHECK(h.state("pdeathsig") == std::to_string(SIGKILL));
  CHECK_FALSE(h.state("tmpdir").empty());
  const auto log = slurp(h.work / "console.log");
  CHECK(log.find("con=null ssl=null con0=null,fd:1") != std::string::npos);
  CHECK(log.find("init=/.uml/init") != std::string::npos);
  h.check_nothing_left();
}

TEST_CASE("failing command: exit 1 with the guest's status in the message and JUnit") {
  Helper h;
  const auto junit = h.dir / "junit.xml";
  const auto r = h.run_mode("status:3", {"--junit", junit.string(), "--name", "t1"});
  INFO(r.out << r.err);
  CHECK(r.status == 1);
  CHECK(r.out.find("failed with status 3") != std::string::npos);
  CHECK(r.out.find("---- console") != std::string::npos);
  CHECK(r.out.find("console log: " + (h.work / "console.log").string()) != std::string::npos);
  const auto xml = slurp(junit);
  CHECK(xml.find("<failure message=\"command failed (exit 1): the guest command failed with "
                 "status 3\"") != std::string::npos);
  CHECK(xml.find("testcase classname=\"t1\" name=\"t1\"") != std::string::npos);
  h.check_nothing_left();
}

TEST_CASE("the command after -- reaches the guest quoted for sh -c, with --env") {
  Helper h;
  auto args = h.base_args("pass");
  args.insert(args.end(), {"--env", "GREETING=a b", "--", "sh", "-c", "echo \"$1\"", "x", "it's"});
  const auto r = h.run(args);
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  const auto log = slurp(h.work / "console.log");
  CHECK(log.find("FAKE-CMD sh -c 'echo \"$1\"' x 'it'\\''s'") != std::string::npos);
  CHECK(log.find("FAKE-ENV GREETING=a b") != std::string::npos);
}

TEST_CASE("a marker printed with another nonce does not count") {
  Helper h;
  const auto r = h.run_mode("fake-marker");
  CHECK(r.status == 1);
  const auto r2 = Helper().run_mode("wrong-nonce");
  INFO(r2.out);
  CHECK(r2.status == 6);
  CHECK(r2.out.find("no UML-BOOTED marker") != std::string::npos);
}

TEST_CASE("boot failure and module failure: exit 6 with a hint") {
  Helper h;
  const auto r = h.run_mode("noboot");
  INFO(r.out);
  CHECK(r.status == 6);
  CHECK(r.out.find("hint: the root image could not be mounted") != std::string::npos);
  const auto m = Helper().run_mode("modprobe-fail");
  CHECK(m.status == 6);
  CHECK(m.out.find("module \"hello\" could not be loaded") != std::string::npos);
}

TEST_CASE("timeout: SIGTERM stops UML, nothing is left") {
  Helper h;
  const auto r = h.run_mode("hang", {"--timeout", "1"});
  INFO(r.out << r.err);
  CHECK(r.status == 124);
  CHECK(r.seconds < 4);
  h.check_nothing_left();
}

TEST_CASE("timeout: every process of UML's session is killed, other process groups too") {
  Helper h;
  const auto r = h.run_mode("hang-children", {"--timeout", "1", "--grace", "1"});
  INFO(r.out << r.err);
  CHECK(r.status == 124);
  REQUIRE(h.children().size() == 2);
  h.check_nothing_left();
}

TEST_CASE("processes that outlive UML are killed after it ends") {
  Helper h;
  const auto r = h.run_mode("leave-children");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("outlived it and were killed") != std::string::npos);
  CHECK(r.seconds < 4);  // the orphans held the console pipe: not waited for
  REQUIRE(h.children().size() == 2);
  h.check_nothing_left();
}

TEST_CASE("a UML that ignores SIGTERM gets SIGKILL after the grace period") {
  Helper h;
  const auto r = h.run_mode("ignore-term", {"--timeout", "1", "--grace", "1"});
  INFO(r.out << r.err);
  CHECK(r.status == 124);
  CHECK(r.seconds >= 1.9);
  CHECK(r.seconds < 5);
  CHECK(r.out.find("UML was killed with SIGKILL") != std::string::npos);
  h.check_nothing_left();
  // A SIGKILLed UML leaves its umid directory; the helper removed it.
  CHECK_FALSE(fs::exists(h.work / "u"));
}

TEST_CASE("panic: kill(0, SIGTERM) does not reach the helper or the test and exit 4") {
  Helper h;
  // The helper runs in this test's process group: a SIGTERM to it would end both.
  const auto r = h.run_mode("panic");
  INFO(r.out << r.err);
  CHECK(r.status == 4);
  CHECK(r.out.find("kernel panic: Kernel panic - not syncing: fake panic") != std::string::npos);
  h.check_nothing_left();
}

TEST_CASE("SIGKILL to the helper: PR_SET_PDEATHSIG kills UML") {
  Helper h;
  const auto started = std::chrono::steady_clock::now();
  auto child = h.start(h.base_args("hang"));
  h.wait_for_fake();
  const pid_t fake = h.fake_pid();
  CHECK(Helper::alive(fake));
  ::kill(child.id(), SIGKILL);
  const auto r = h.finish(child, started);
  CHECK(r.status == 128 + SIGKILL);
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = !Helper::alive(fake);
    std::this_thread::sleep_for(10ms);
  }
  CHECK(gone);
}

TEST_CASE("SIGKILL to the helper: the guardian kills UML's session and removes its files") {
  Helper h;
  const auto started = std::chrono::steady_clock::now();
  // The fake's sleepers have no parent-death signal (as UML's stubs): only the guardian
  // can end them once the helper is gone.
  auto child = h.start(h.base_args("hang-children"));
  h.wait_for_fake();
  for (int i = 0; i < 500 && h.children().size() < 2; ++i) {
    std::this_thread::sleep_for(10ms);  // the fake records its sleepers after its state
  }
  REQUIRE(h.children().size() == 2);
  REQUIRE_FALSE(h.files_in(h.work, ".cow").empty());
  ::kill(child.id(), SIGKILL);
  const auto r = h.finish(child, started);
  CHECK(r.status == 128 + SIGKILL);
  const auto sid = std::stoi(h.state("sid"));
  const auto umid_dir = fs::path(h.arg("uml_dir")) / h.arg("umid");
  auto clean = [&] {
    return uml::process::session_members(sid).empty() && h.files_in(h.work, ".cow").empty() &&
           !fs::exists(umid_dir);
  };
  for (int i = 0; i < 500 && !clean(); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  h.check_nothing_left();
  CHECK_FALSE(fs::exists(umid_dir));
  CHECK(fs::exists(h.work / "console.log"));  // the work dir is the caller's: kept
  uml::process::kill_session(sid);            // should a check have failed: not left hanging
}

TEST_CASE("SIGINT to the helper: UML stopped, cleaned up, exit 130") {
  Helper h;
  const auto started = std::chrono::steady_clock::now();
  auto child = h.start(h.base_args("hang-children"));
  h.wait_for_fake();
  ::kill(child.id(), SIGINT);
  const auto r = h.finish(child, started);
  INFO(r.out << r.err);
  CHECK(r.status == 130);
  CHECK(r.out.find("interrupted by SIGINT") != std::string::npos);
  h.check_nothing_left();
}

TEST_CASE("SIGTERM to the helper: exit 143 and a second signal kills at once") {
  Helper h;
  const auto started = std::chrono::steady_clock::now();
  auto child = h.start(h.base_args("ignore-term"));
  h.wait_for_fake();
  ::kill(child.id(), SIGTERM);
  std::this_thread::sleep_for(200ms);
  ::kill(child.id(), SIGTERM);
  const auto r = h.finish(child, started);
  INFO(r.out << r.err);
  CHECK(r.status == 143);
  CHECK(r.seconds < 3);  // not the 5 s grace period
  h.check_nothing_left();
}

TEST_CASE("kernel oops fails and a WARNING fails only with --fail-on-warn") {
  CHECK(Helper().run_mode("oops").status == 3);
  const auto warn = Helper().run_mode("warn");
  CHECK(warn.status == 0);
  CHECK(warn.out.find("kernel warning(s), not counted") != std::string::npos);
  CHECK(Helper().run_mode("warn", {"--fail-on-warn"}).status == 3);
}

TEST_CASE("KUnit: results parsed past the empty boot plan and JUnit has one case per KUnit case") {
  Helper h;
  const auto junit = h.dir / "junit.xml";
  const auto pass = h.run_mode("kunit-pass", {"--kunit", "--junit", junit.string()});
  INFO(pass.out);
  CHECK(pass.status == 0);
  CHECK(pass.out.find("KUnit: 2 passed, 0 failed, 0 crashed, 1 skipped") != std::string::npos);
  const auto xml = slurp(junit);
  CHECK(xml.find("name=\"first_case\"") != std::string::npos);
  CHECK(xml.find("<skipped message=\"SKIP not today\"") != std::string::npos);
  const auto log = slurp(h.work / "console.log");
  CHECK(log.find("kunit.enable=1") != std::string::npos);

  Helper f;
  const auto fail = f.run_mode("kunit-fail", {"--kunit", "--junit", junit.string()});
  CHECK(fail.status == 5);
  CHECK(fail.out.find("failed: fake_suite.second_case") != std::string::npos);
  CHECK(slurp(junit).find("EXPECTATION FAILED at fake_test.c:42") != std::string::npos);
}

TEST_CASE("time-travel: a kernel without support is refused, clearly") {
  Helper h;
  const auto r = h.run_mode("pass", {"--time-travel"});
  INFO(r.out << r.err);
  CHECK(r.status == 2);  // the kernel lacks what was asked for: an error, never a skip
  CHECK(r.err.find("uml-helper: error: --time-travel: the kernel was built without "
                   "CONFIG_UML_TIME_TRAVEL_SUPPORT") != std::string::npos);

  Helper ok;
  ok.env["FAKE_TIME_TRAVEL"] = "1";
  const auto r2 = ok.run_mode("pass", {"--time-travel"});
  CHECK(r2.status == 0);
  CHECK(slurp(ok.work / "console.log").find(" time-travel ") != std::string::npos);
}

TEST_CASE("COW files: one per disk, removed afterwards unless --keep-cow") {
  Helper h;
  const auto disk = h.dir / "disk.img";
  std::ofstream(disk) << "disk\n";
  const auto r = h.run_mode("pass", {"--disk", disk.string()});
  CHECK(r.status == 0);
  const auto log = slurp(h.work / "console.log");
  CHECK(log.find("-ubd1.cow," + disk.string()) != std::string::npos);
  h.check_nothing_left();

  Helper keep;
  CHECK(keep.run_mode("pass", {"--keep-cow"}).status == 0);
  CHECK(keep.files_in(keep.work, ".cow").size() == 1);
}

TEST_CASE("a work dir too long for UML's sockets falls back to a short uml_dir") {
  // Issue #12: the old fallback, /tmp/uml-helper-<uid>, was predictable: another user
  // could make it first (mode 0777, or a symlink) and get the mconsole socket. Made
  // here as such a trap when it does not exist; it must not be used.
  const fs::path trap = fs::path("/tmp") / ("uml-helper-" + std::to_string(getuid()));
  std::error_code ec;
  const bool made_trap = fs::create_directory(trap, ec);
  if (made_trap) {
    fs::permissions(trap, fs::perms::all, ec);
  }
  Helper h;
  h.work = h.dir / std::string(100, 'w');
  const auto r = h.run_mode("pass");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.err.find("too long for UML's sockets") != std::string::npos);
  const auto uml_dir = h.arg("uml_dir");
  INFO("uml_dir=" << uml_dir);
  CHECK(uml_dir.starts_with("/tmp/uml-"));
  CHECK(fs::path(uml_dir) != trap);
  CHECK(h.state("uml_dir_mode") == std::to_string(0700));  // private while UML ran
  CHECK_FALSE(fs::exists(uml_dir));                        // this boot's own: removed
  h.check_nothing_left();
  if (made_trap) {
    fs::remove(trap, ec);
  }
}

TEST_CASE("a flood of console output: all of it in the log, the verdict still right") {
  Helper h;
  const auto r = h.run_mode("flood");
  CHECK(r.status == 0);
  CHECK(fs::file_size(h.work / "console.log") > 24u * 1024 * 1024);
}

TEST_CASE("a host problem gives exit 125 and the findings") {
  Helper h;
  const auto not_exec = h.dir / "linux";
  std::ofstream(not_exec) << "#!/bin/sh\n";
  fs::permissions(not_exec, fs::perms::owner_read | fs::perms::owner_write);
  const auto r = h.run({"test", "--kernel", not_exec.string(), "--rootfs", h.rootfs.string(),
                        "--work-dir", h.work.string()});
  CHECK(r.status == 125);
  CHECK(r.err.find("UML cannot run here") != std::string::npos);
  CHECK(r.err.find("FAIL  kernel:") != std::string::npos);
  CHECK(r.err.find("not executable") != std::string::npos);
  CHECK(h.files_in(h.work, ".cow").empty());
}

TEST_CASE("bad arguments give exit 2 and uml-helper: error") {
  Helper h;
  const auto bad_env = h.run_mode("pass", {"--env", "1X=y"});
  CHECK(bad_env.status == 2);
  CHECK(bad_env.err.find("uml-helper: error: --env") != std::string::npos);
  const auto long_cmd = h.run_mode("pass", {"--command", std::string(4000, 'e')});
  CHECK(long_cmd.status == 2);
  CHECK(long_cmd.err.find("limit of 4096") != std::string::npos);
  const auto usage = h.run({"test", "--rootfs", h.rootfs.string()});
  CHECK(usage.status == 2);
  CHECK(usage.err.find("--kernel is required") != std::string::npos);
  const auto missing_image = h.run({"test", "--kernel", FAKE_LINUX, "--rootfs",
                                    (h.dir / "none.img").string(), "--work-dir", h.work.string()});
  CHECK(missing_image.status == 2);
  CHECK(missing_image.err.find("--rootfs") != std::string::npos);
  CHECK_FALSE(fs::exists(h.work / "u"));  // nothing made for a run that never started
}

TEST_CASE("doctor prints one finding per check and agrees with its exit status") {
  Helper h;
  const auto r = h.run({"doctor", "--kernel", FAKE_LINUX, "--mem", "64M"});
  INFO(r.out << r.err);
  for (const auto* topic : {"kernel:", "guest RAM:", "ptrace:", "uml_dir:"}) {
    CHECK(r.out.find(topic) != std::string::npos);
  }
  CHECK(r.out.find("UML 6.12.0-fake") != std::string::npos);
  const bool failed = r.out.find("FAIL") != std::string::npos;
  CHECK(r.status == (failed ? 125 : 0));

  const auto missing = h.run({"doctor", "--kernel", (h.dir / "nope").string()});
  CHECK(missing.status == 125);
  CHECK(missing.out.find("FAIL  kernel:") != std::string::npos);
}

TEST_CASE("run: the guest's status is the exit status") {
  Helper h;
  const auto r = h.run(h.base_args("status:5", "run"));
  INFO(r.out << r.err);
  CHECK(r.status == 5);
  const auto args = h.arg("con0");
  CHECK(args == "fd:0,fd:1");
  CHECK(h.arg("UML_MODE") == "script");  // stdin is /dev/null here, no terminal
  h.check_nothing_left();

  Helper p;
  const auto panic = p.run(p.base_args("panic", "run"));
  CHECK(panic.status == 4);
  CHECK(panic.err.find("UML aborted (kernel panic)") != std::string::npos);
  p.check_nothing_left();
}

TEST_CASE("run without a terminal: stdin's commands reach the guest once it is ready") {
  for (const std::string text : {"echo one\nexit 2\n", "echo one\nexit 2"}) {
    Helper h;
    h.input = text;
    const auto r = h.run(h.base_args("script", "run"));
    INFO(r.out << r.err);
    CHECK(h.arg("UML_MODE") == "script");
    CHECK(r.err.find("stdin is not a terminal") != std::string::npos);
    CHECK(r.out.find("FAKE-NO-EARLY-INPUT") != std::string::npos);
    // The last line is ended before ^D, which ends the input only at a line's start.
    CHECK(r.out.find("FAKE-INPUT-EOT\nFAKE-INPUT echo one\nFAKE-INPUT exit 2\n") !=
          std::string::npos);
    CHECK(r.out.find("FAKE-INPUT-OPEN") != std::string::npos);
    CHECK(r.out.find("UML-INPUT") == std::string::npos);  // the marker is the helper's
    CHECK(r.status == 2);
    h.check_nothing_left();
  }

  Helper empty;  // /dev/null: the guest shell gets end of file at once and powers off
  const auto r = empty.run(empty.base_args("script", "run"));
  INFO(r.out << r.err);
  CHECK(r.out.find("FAKE-INPUT-EOT") != std::string::npos);
  CHECK(r.status == 0);
}

TEST_CASE("run --persist keeps its COW file, the base image untouched") {
  Helper h;
  const auto cow = h.dir / "keep.cow";
  auto args = h.base_args("status:0", "run");
  args.insert(args.end(), {"--persist", cow.string()});
  const auto before = fs::last_write_time(h.rootfs);
  CHECK(h.run(args).status == 0);
  CHECK(fs::exists(cow));
  CHECK(h.arg("ubd0") == cow.string() + "," + h.rootfs.string());
  CHECK(fs::last_write_time(h.rootfs) == before);
}

TEST_CASE("UML runs on the one CPU the helper claimed, or on any with --no-pin") {
  std::string allowed;
  for (const int cpu : uml::process::allowed_cpus()) {
    allowed += (allowed.empty() ? "" : ",") + std::to_string(cpu);
  }
  {
    Helper h;
    const auto r = h.run_mode("pass");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    const auto log = slurp(h.work / "console.log");
    const std::string pinned = "# uml-helper: UML runs on CPU ";
    if (const auto at = log.find(pinned); at != std::string::npos) {
      const auto cpu = log.substr(at + pinned.size(), log.find('\n', at) - at - pinned.size());
      CHECK(h.state("cpus") == cpu);
    } else {
      // Only when there is nothing to choose from, or every CPU has a guest meanwhile.
      CHECK(log.find("# uml-helper: UML runs on any CPU") != std::string::npos);
      CHECK(h.state("cpus") == allowed);
    }
  }
  {
    Helper h;
    const auto r = h.run_mode("pass", {"--no-pin"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(h.state("cpus") == allowed);
    CHECK(slurp(h.work / "console.log").find("# uml-helper: UML runs on any CPU") !=
          std::string::npos);
  }
}

// --- issue #12: a host the guest cannot reach, runs that leave nothing -------------------

TEST_CASE("persist: UML may write its COW file and nothing beside it") {
  Helper h;
  const auto build = h.dir / "build";  // as uml_add_run's --persist: in the build tree
  fs::create_directories(build);
  std::ofstream(build / "sentinel") << "build.ninja\n";
  const auto cow = build / "run.cow";
  h.env["FAKE_PROBE"] = (build / "sentinel").string() + ":" + (build / "new").string() + ":" +
                        (h.work / "new").string() + ":" + cow.string();
  auto args = h.base_args("probe", "run");
  args.insert(args.end(), {"--persist", cow.string()});
  const auto r = h.run(args);
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("FAKE-PROBE " + (build / "sentinel").string() + " denied") != std::string::npos);
  CHECK(r.out.find("FAKE-PROBE " + (build / "new").string() + " denied") != std::string::npos);
  CHECK(r.out.find("FAKE-PROBE " + (h.work / "new").string() + " denied") != std::string::npos);
  CHECK(r.out.find("FAKE-PROBE " + cow.string() + " written") != std::string::npos);
  CHECK(slurp(build / "sentinel") == "build.ninja\n");
  CHECK_FALSE(fs::exists(build / "new"));
  // UML found its COW file made, in UML's own format (magic "MOOO", version 3).
  CHECK(slurp(h.shared / "record").find("cow-open=ok") != std::string::npos);
  CHECK((fs::status(cow).permissions() & (fs::perms::group_all | fs::perms::others_all)) ==
        fs::perms::none);
}

TEST_CASE("no hostfs route to /dev or the work dir or the RAM dir and the RAM file still works") {
  Helper h;
  const auto ram = h.dir / "ram";  // TMPDIR: where the guest RAM goes
  fs::create_directories(ram);
  h.env["TMPDIR"] = ram.string();
  const auto shm = fs::path("/dev/shm") / ("uml-fault-probe-" + std::to_string(getpid()));
  h.env["FAKE_PROBE"] = shm.string() + ":" + (h.work / "fill").string() + ":" +
                        (ram / "fill").string() + ":" + (h.shared / "allowed").string();
  const auto r = h.run_mode("probe");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  const auto log = slurp(h.work / "console.log");
  for (const auto& path : {shm, h.work / "fill", ram / "fill"}) {
    CHECK(log.find("FAKE-PROBE " + path.string() + " denied") != std::string::npos);
    CHECK_FALSE(fs::exists(path));
  }
  CHECK(log.find("FAKE-PROBE " + (h.shared / "allowed").string() + " written") !=
        std::string::npos);
  CHECK(h.state("ram") == "ok");  // O_TMPFILE needs no create right
  // A file-size limit bounds what any one file can take, above the RAM and COW files.
  CHECK(h.state("fsize") != "unlimited");
  std::error_code ec;
  fs::remove(shm, ec);
  CHECK(fs::is_empty(ram));
}

TEST_CASE("without --hostfs, hostfs's root is a path below which nothing resolves") {
  Helper h;
  const auto r = h.run({"test", "--kernel", FAKE_LINUX, "--rootfs", h.rootfs.string(), "--work-dir",
                        h.work.string(), "--append", "fake=pass"});
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(slurp(h.work / "console.log").find(" hostfs=/dev/null ") != std::string::npos);
}

TEST_CASE("under umask 000 the socket dir, COW files and UML's own files stay private") {
  Helper h;
  const mode_t old = ::umask(0);
  const auto r = h.run_mode("pass", {"--keep-cow"});
  ::umask(old);
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(h.state("umask") == std::to_string(077));  // what UML makes: sockets, umid dir
  CHECK(h.state("uml_dir_mode") == std::to_string(0700));
  const auto cows = h.files_in(h.work, ".cow");
  REQUIRE(cows.size() == 1);
  CHECK((fs::status(cows[0]).permissions() & fs::perms::mask) ==
        (fs::perms::owner_read | fs::perms::owner_write));
}

TEST_CASE("a kernel that is no ELF file is the caller's error (exit 2), not a skip") {
  Helper h;
  const auto script = h.dir / "linux";
  std::ofstream(script) << "#!/bin/sh\necho not a kernel\n";
  fs::permissions(script, fs::perms::owner_all);
  const auto r = h.run({"test", "--kernel", script.string(), "--rootfs", h.rootfs.string(),
                        "--work-dir", h.work.string()});
  INFO(r.out << r.err);
  CHECK(r.status == 2);
  CHECK(r.err.find("not an ELF executable: is this the UML kernel `linux`") != std::string::npos);
  CHECK_FALSE(fs::exists(h.work / "u"));
}

TEST_CASE("mem above the host's RAM is the caller's error (exit 2) naming the limit") {
  Helper h;
  const auto r = h.run_mode("pass", {"--mem", "100000G"});
  INFO(r.out << r.err);
  CHECK(r.status == 2);
  CHECK(r.err.find("--mem 100000G: ") != std::string::npos);
  CHECK(r.err.find("is more than this host's RAM (MemTotal ") != std::string::npos);
  CHECK(r.err.find("use a --mem of at most") != std::string::npos);
  CHECK_FALSE(fs::exists(h.work));  // nothing made
}

TEST_CASE("a work dir whose filesystem cannot hold the COW files: a clear host error") {
  if (!fs::exists("/usr/bin/unshare") || std::system("unshare -Urm true 2>/dev/null") != 0) {
    WARN("SKIPPED: needs an unprivileged user+mount namespace (unshare -Urm) for a small tmpfs");
    return;
  }
  Helper h;
  // A 4 MiB image, a 1 MiB filesystem for the work dir.
  fs::resize_file(h.rootfs, 4 << 20);
  const auto script = "mount -t tmpfs -o size=1m tmpfs '" + h.work.string() + "' && exec \"$@\"";
  fs::create_directories(h.work);
  auto args = h.base_args("pass");
  args.insert(args.begin(), {"-Urm", "sh", "-c", script, "sh", UML_HELPER});
  auto environment = boost::this_process::environment();
  environment["FAKE_RECORD"] = (h.shared / "record").string();
  bp::child child(bp::exe = "/usr/bin/unshare", bp::args = args, environment,
                  bp::std_out > (h.dir / "stdout").string(),
                  bp::std_err > (h.dir / "stderr").string(), bp::std_in < bp::null);
  const auto r = h.finish(child, std::chrono::steady_clock::now());
  INFO(r.out << r.err);
  CHECK(r.status == 125);
  CHECK(r.err.find("the filesystem has") != std::string::npos);
  CHECK(r.err.find("free space there, or use --work-dir on a filesystem with room") !=
        std::string::npos);
  CHECK(h.record().empty());  // UML never started
}

TEST_CASE("a fork bomb in the guest is stopped at the process cap, nothing left") {
  Helper h;
  std::atomic<bool> done{false};
  std::atomic<std::size_t> peak{0};
  std::thread watch([&] {
    pid_t sid = 0;
    while (!done) {
      if (sid == 0 && !h.state("sid").empty()) {
        sid = std::stoi(h.state("sid"));
      }
      if (sid != 0) {
        peak = std::max<std::size_t>(peak, uml::process::session_members(sid).size());
      }
      std::this_thread::sleep_for(20ms);
    }
  });
  const auto r = h.run_mode("fork-bomb", {"--timeout", "30"});
  done = true;
  watch.join();
  INFO(r.out << r.err << "peak " << peak);
  CHECK(r.status == 1);
  CHECK(r.out.find("the guest made more than 500 host processes") != std::string::npos);
  CHECK(r.seconds < 10);
  // The cap plus what one 100 ms round lets a bomb add: ~500 more on a quiet machine,
  // ~700 seen under a parallel test suite (the old and new helpers alike).
  CHECK(peak < 2000);
  h.check_nothing_left();
}

namespace {

// The state letter of a process, or 0 when it is gone.
char state_of(pid_t pid) {
  const auto text = slurp("/proc/" + std::to_string(pid) + "/stat");
  const auto info = uml::process::parse_proc_stat(text);
  return info ? info->state : 0;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::istringstream in(
      slurp("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children"));
  std::vector<pid_t> pids;
  for (pid_t child = 0; in >> child;) {
    pids.push_back(child);
  }
  return pids;
}

}  // namespace

// SIGKILL at moments of the helper's first milliseconds, caught by watching it: as soon
// as it has a child, while its ptrace probe child is stopped, and as soon as the guest
// RAM's directory exists.
TEST_CASE("SIGKILL in the helper's first milliseconds leaves no process and no directory") {
  for (const std::string moment : {"first child", "ptrace probe", "RAM dir"}) {
    bool caught = false;
    for (int attempt = 0; attempt < 30 && !caught; ++attempt) {
      Helper h;
      INFO(moment << ", attempt " << attempt);
      const auto ram = h.dir / "ram";
      fs::create_directories(ram);
      auto environment = boost::this_process::environment();
      environment["TMPDIR"] = ram.string();
      environment["FAKE_RECORD"] = (h.shared / "record").string();
      bp::ipstream out;  // a pipe, as ctest and ninja read the helper's output
      bp::child child(UML_HELPER, bp::args = h.base_args("hang"), environment, bp::std_out > out,
                      bp::std_err > bp::null, bp::std_in < bp::null);
      pid_t probe = 0;
      const auto until = std::chrono::steady_clock::now() + 3s;
      while (!caught && std::chrono::steady_clock::now() < until && child.running()) {
        if (moment == "first child") {
          // Its first child at once (the guardian, or the ptrace probe before it stops:
          // a probe that outlives the helper there stops for ever, holding stdout).
          if (const auto children = children_of(child.id()); !children.empty()) {
            ::kill(child.id(), SIGKILL);
            probe = children.back();
            caught = true;
          }
        } else if (moment == "ptrace probe") {
          for (const pid_t c : children_of(child.id())) {
            const char state = state_of(c);
            if (state == 't' || state == 'T') {
              ::kill(child.id(), SIGKILL);
              probe = c;
              caught = true;
            }
          }
        } else {
          std::error_code ec;
          if (!fs::is_empty(ram, ec)) {
            ::kill(child.id(), SIGKILL);
            caught = true;
          }
        }
      }
      ::kill(child.id(), SIGKILL);
      child.wait();
      // End of file soon: nothing the helper started holds its stdout.
      std::atomic<bool> eof{false};
      std::thread reader([&] {
        std::string line;
        while (std::getline(out, line)) {
        }
        eof = true;
      });
      for (int i = 0; i < 300 && !eof; ++i) {
        std::this_thread::sleep_for(10ms);
      }
      if (probe != 0) {
        for (int i = 0; i < 300 && state_of(probe) != 0 && state_of(probe) != 'Z'; ++i) {
          std::this_thread::sleep_for(10ms);
        }
        const char left = state_of(probe);
        CHECK((left == 0 || left == 'Z'));  // no stopped orphan
        ::kill(probe, SIGKILL);             // should it have lingered: the test still ends
      }
      CHECK(eof);
      reader.join();
      const auto clean = [&] {
        std::error_code ec;
        return fs::is_empty(ram, ec) && !fs::exists(h.work / "u") &&
               h.files_in(h.work, ".cow").empty();
      };
      for (int i = 0; i < 500 && !clean(); ++i) {
        std::this_thread::sleep_for(10ms);
      }
      CHECK(clean());
      if (!h.state("sid").empty()) {
        const auto sid = std::stoi(h.state("sid"));
        uml::process::kill_session(sid);
      }
    }
    if (!caught) {
      WARN("the helper was never caught at the " << moment << " (too fast here): not tested");
    }
  }
}

TEST_CASE("SIGKILL of an interactive run: the guardian restores the terminal") {
  int master = -1;
  int slave = -1;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
  termios before{};
  REQUIRE(::tcgetattr(slave, &before) == 0);
  Helper h;
  auto environment = boost::this_process::environment();
  environment["FAKE_RECORD"] = (h.shared / "record").string();
  const auto args = h.base_args("raw-hang", "run");
  FILE* tty = ::fdopen(::dup(slave), "r+");
  REQUIRE(tty != nullptr);
  bp::child child(UML_HELPER, bp::args = args, environment, bp::std_in<tty, bp::std_out> tty,
                  bp::std_err > bp::null);
  std::fclose(tty);
  h.wait_for_fake();
  termios during{};
  for (int i = 0; i < 300; ++i) {
    ::tcgetattr(slave, &during);
    if ((during.c_lflag & ICANON) == 0) {
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  CHECK((during.c_lflag & ICANON) == 0);  // the fake made it raw
  ::kill(child.id(), SIGKILL);
  child.wait();
  termios after{};
  for (int i = 0; i < 500; ++i) {
    ::tcgetattr(slave, &after);
    if ((after.c_lflag & ICANON) != 0) {
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  CHECK(after.c_lflag == before.c_lflag);
  CHECK(after.c_iflag == before.c_iflag);
  CHECK(after.c_oflag == before.c_oflag);
  const auto sid = std::stoi(h.state("sid"));
  for (int i = 0; i < 500 && !uml::process::session_members(sid).empty(); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(uml::process::session_members(sid).empty());
  uml::process::kill_session(sid);
  ::close(master);
  ::close(slave);
}
