// Fault tests: uml-helper against a fake `linux` (fake_linux.cpp) that hangs, panics,
// ignores SIGTERM or leaves processes behind. Each test checks the exit status and what
// was left afterwards: processes of the fake's session, its umid directory, COW files.

#define CATCH_CONFIG_MAIN
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
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

  Helper() { std::ofstream(rootfs) << "not really an image\n"; }

  std::vector<std::string> base_args(const std::string& mode, const std::string& sub = "test") {
    return {sub,          "--kernel",    FAKE_LINUX, "--rootfs",    rootfs.string(),
            "--work-dir", work.string(), "--append", "fake=" + mode};
  }

  bp::child start(const std::vector<std::string>& args) {
    auto environment = boost::this_process::environment();
    // In the work dir: the confined fake kernel may write nowhere else.
    environment["FAKE_RECORD"] = (work / "record").string();
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
    std::istringstream in(slurp(work / "record"));
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
  Helper h;
  h.work = h.dir / std::string(100, 'w');
  const auto r = h.run_mode("pass");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.err.find("too long for UML's sockets") != std::string::npos);
  const auto log = slurp(h.work / "console.log");
  CHECK(log.find("uml_dir=/tmp/uml-helper-") != std::string::npos);
  const auto umid = h.arg("umid");
  REQUIRE_FALSE(umid.empty());
  CHECK_FALSE(fs::exists(fs::path("/tmp") / ("uml-helper-" + std::to_string(getuid())) / umid));
  h.check_nothing_left();
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
