#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "process/files.hpp"
#include "process/proc_table.hpp"
#include "process/supervise.hpp"

TEST_CASE("/proc/<pid>/stat lines, odd command names included") {
  const auto info =
      uml::process::parse_proc_stat("4242 (a (b) c) S 1 4240 4241 34816 4242 4194560 0");
  REQUIRE(info);
  CHECK(info->pid == 4242);
  CHECK(info->state == 'S');
  CHECK(info->ppid == 1);
  CHECK(info->session == 4241);
  CHECK_FALSE(uml::process::parse_proc_stat("garbage"));
  CHECK_FALSE(uml::process::parse_proc_stat("12 (x) S"));
}

TEST_CASE("session members are found by scanning /proc") {
  const auto members = uml::process::session_members(getsid(0));
  bool self = false;
  for (const auto& p : members) {
    self = self || p.pid == getpid();
    CHECK(p.session == getsid(0));
  }
  CHECK(self);
  CHECK(uml::process::session_members(999999999).empty());
}

TEST_CASE("killing one session reaps only its zombies: another child's exit status stays") {
  // Two children in sessions of their own, as UML and a device model are; both end.
  auto start = [](int status) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setsid();
      ::_exit(status);
    }
    return pid;
  };
  const pid_t uml = start(7);
  const pid_t model = start(0);
  REQUIRE(uml > 0);
  REQUIRE(model > 0);
  // Both are zombies now.
  for (const pid_t pid : {uml, model}) {
    siginfo_t info{};
    REQUIRE(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) == 0);
  }
  uml::process::keep_unreaped(model);
  uml::process::kill_session(model);
  uml::process::release_unreaped(model);
  int status = 0;
  REQUIRE(::waitpid(uml, &status, 0) == uml);  // not taken by the other session's cleanup
  CHECK(WEXITSTATUS(status) == 7);
  REQUIRE(::waitpid(model, &status, 0) == model);
}

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A helper-like process: forks, and the child supervises `sh -c script` as uml-helper
// supervises UML, with `leftover` for its guardian; the program's pid comes back on a
// pipe.
struct HelperProcess {
  pid_t pid = -1;
  pid_t session = -1;

  HelperProcess(const std::string& script, const fs::path& leftover) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      uml::process::LaunchSpec spec{"/bin/sh", {"-c", script}, std::nullopt, false};
      spec.leftovers = {{leftover, true}};
      spec.guardian_name = "test-guardian";
      try {
        uml::process::Supervisor run(spec);
        const pid_t program = run.pid();
        [[maybe_unused]] const auto n = ::write(fds[1], &program, sizeof program);
        while (run.next()) {
        }
      } catch (...) {
        ::_exit(2);
      }
      ::_exit(0);  // never back into Catch in the forked copy
    }
    ::close(fds[1]);
    REQUIRE(::read(fds[0], &session, sizeof session) == sizeof session);
    ::close(fds[0]);
  }

  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
  }
};

// Polls until `done()` or about `seconds` passed; returns done().
template <class F>
bool eventually(F done, int seconds) {
  for (int i = 0; i < seconds * 100 && !done(); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

fs::path scratch(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("uml-process-test-" + std::to_string(::getpid()));
  fs::create_directories(dir / name);
  std::ofstream(dir / name / "file") << "left over\n";
  return dir / name;
}

}  // namespace

TEST_CASE("a SIGKILLed helper's guardian empties UML's session and removes its leftovers") {
  const auto leftover = scratch("killed");
  // The background sleep has no parent-death signal (PR_SET_PDEATHSIG is not inherited
  // by fork), as UML's stubs: without the guardian it outlives the helper.
  HelperProcess helper("sleep 1000 & echo started; exec sleep 1000", leftover);
  REQUIRE(eventually([&] { return uml::process::session_members(helper.session).size() == 2; }, 5));
  // The guardian, below the helper, has the name LaunchSpec gave it.
  bool named = false;
  for (const auto& p : uml::process::descendants(helper.pid)) {
    named =
        named || uml::process::read_file("/proc/" + std::to_string(p.pid) + "/comm").value_or("") ==
                     "test-guardian\n";
  }
  CHECK(named);
  ::kill(helper.pid, SIGKILL);
  CHECK(WTERMSIG(helper.wait()) == SIGKILL);
  CHECK(eventually([&] { return uml::process::session_members(helper.session).empty(); }, 5));
  CHECK(eventually([&] { return !fs::exists(leftover); }, 5));
  for (const auto& p : uml::process::session_members(helper.session)) {
    ::kill(p.pid, SIGKILL);  // not left to run for 1000 s should the check fail
  }
}

TEST_CASE("after a normal end the guardian leaves the files to the helper and is gone") {
  const auto leftover = scratch("normal");
  // A guardian that outlived the helper would then be reparented here, and found below.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  HelperProcess helper("sleep 0.2", leftover);
  const int status = helper.wait();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(fs::exists(leftover / "file"));  // the helper's to remove, after its report
  // Reaped by the helper: no guardian (a process named as LaunchSpec says) is left.
  std::this_thread::sleep_for(100ms);
  for (const auto& p : uml::process::descendants(::getpid())) {
    const auto comm = uml::process::read_file("/proc/" + std::to_string(p.pid) + "/comm");
    INFO("process " << p.pid << " state " << p.state);
    CHECK(comm.value_or("") != "test-guardian\n");
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  fs::remove_all(leftover.parent_path());
}
