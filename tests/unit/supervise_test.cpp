#include "process/supervise.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "process/errors.hpp"
#include "process/proc_table.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using uml::process::LaunchSpec;
using uml::process::Supervisor;

namespace {

LaunchSpec shell(const std::string& script) {
  return LaunchSpec{"/bin/sh", {"-c", script}, std::nullopt, false};
}

// Every output event until the run is over.
std::string output_of(Supervisor& run) {
  std::string output;
  while (const auto event = run.next()) {
    CHECK_FALSE(event->output.empty());
    output += event->output;
  }
  return output;
}

// This process's stdin reads `text` while it lives.
class StdinFrom {
 public:
  explicit StdinFrom(const std::string& text) {
    char name[] = "/tmp/uml-supervise-test-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::unlink(name);
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::lseek(fd, 0, SEEK_SET);
    saved_ = ::dup(STDIN_FILENO);
    ::dup2(fd, STDIN_FILENO);
    ::close(fd);
  }
  ~StdinFrom() {
    ::dup2(saved_, STDIN_FILENO);
    ::close(saved_);
  }
  StdinFrom(const StdinFrom&) = delete;
  StdinFrom& operator=(const StdinFrom&) = delete;

 private:
  int saved_ = -1;
};

}  // namespace

TEST_CASE("the supervisor's events are the program's output, then how it ended") {
  Supervisor run(shell("echo out; echo err >&2; exit 3"));
  CHECK(run.pid() > 0);
  CHECK(output_of(run) == "out\nerr\n");
  CHECK_FALSE(run.next());  // over stays over
  const auto& result = run.result();
  CHECK(result.pid == run.pid());
  CHECK(result.facts.exit_status == 3);
  CHECK_FALSE(result.facts.killed_by);
  CHECK_FALSE(result.facts.timed_out);
  CHECK_FALSE(result.facts.helper_signal);
  CHECK_FALSE(result.killed);
  CHECK(result.leftovers == 0);
  CHECK(result.seconds > 0);
  CHECK(uml::process::session_members(result.pid).empty());
}

TEST_CASE("the supervisor kills what outlives the program in its session") {
  Supervisor run(shell("sleep 100 & echo started"));
  CHECK(output_of(run) == "started\n");
  CHECK(run.result().facts.exit_status == 0);
  CHECK(run.result().leftovers == 1);
  CHECK(run.result().survivors.empty());
  CHECK(uml::process::session_members(run.pid()).empty());
}

TEST_CASE("the timeout stops the program with SIGTERM, SIGKILL after the grace period") {
  {
    Supervisor run(shell("echo waiting; exec sleep 30"), 200ms, 5s);
    CHECK(output_of(run) == "waiting\n");
    CHECK(run.result().facts.timed_out);
    CHECK(run.result().facts.killed_by == SIGTERM);
    CHECK_FALSE(run.result().killed);
    CHECK(run.result().seconds < 5);
  }
  {
    // SIGTERM ignored, by the shell and (inherited) by its sleeps.
    Supervisor run(shell("trap '' TERM; while :; do sleep 0.05; done"), 200ms, 300ms);
    CHECK(output_of(run).empty());
    CHECK(run.result().facts.timed_out);
    CHECK(run.result().facts.killed_by == SIGKILL);
    CHECK(run.result().killed);
    CHECK(uml::process::session_members(run.pid()).empty());
  }
}

TEST_CASE("a signal to the helper stops the program, then the signals are the caller's again") {
  struct sigaction before {};
  ::sigaction(SIGTERM, nullptr, &before);
  Supervisor run(shell("echo ready; exec sleep 30"), 0ms, 5s);
  std::string output;
  while (const auto event = run.next()) {
    if (output.empty()) {
      ::kill(::getpid(), SIGTERM);  // comes through the self-pipe, as a byte
    }
    output += event->output;
  }
  CHECK(output == "ready\n");
  CHECK(run.result().facts.helper_signal == SIGTERM);
  CHECK(run.result().facts.killed_by == SIGTERM);
  struct sigaction after {};
  ::sigaction(SIGTERM, nullptr, &after);
  CHECK(after.sa_handler == before.sa_handler);
}

TEST_CASE("forwarded input reaches the program once enabled, ended by ^D on a line of its own") {
  const StdinFrom input("hello");  // no newline at its end
  auto spec = shell("echo ready; head -c 7");
  spec.forward_input = true;
  Supervisor run(spec);
  std::string output;
  while (const auto event = run.next()) {
    output += event->output;
    if (output.find("ready\n") != std::string::npos) {
      run.enable_input();
    }
  }
  CHECK(output == "ready\nhello\n\x04");
  CHECK(run.result().facts.exit_status == 0);
}

TEST_CASE("a program that cannot be started is a StartError") {
  CHECK_THROWS_AS(Supervisor(LaunchSpec{"/nonexistent/program", {}, std::nullopt, false}),
                  uml::process::StartError);
}

TEST_CASE("a supervisor given up before the end kills the program's session") {
  pid_t pid = 0;
  {
    Supervisor run(shell("echo started; sleep 100 & exec sleep 100"));
    pid = run.pid();
    REQUIRE(run.next());
  }
  CHECK(uml::process::session_members(pid).empty());
}

TEST_CASE("above max_processes the whole session is killed at once and the run says so") {
  auto spec = shell("i=0; while [ $i -lt 60 ]; do sleep 30 & i=$((i+1)); done; sleep 30");
  spec.max_processes = 20;
  Supervisor run(spec, 20s);
  output_of(run);
  const auto& result = run.result();
  CHECK(result.facts.too_many_processes);
  CHECK(result.facts.peak_processes > 20);
  CHECK(result.seconds < 5);  // not the sleeps', not the timeout's
  CHECK(uml::process::session_members(result.pid).empty());

  auto calm = shell("sleep 0.3 & sleep 0.3 & wait");
  calm.max_processes = 20;
  Supervisor quiet(calm);
  output_of(quiet);
  CHECK_FALSE(quiet.result().facts.too_many_processes);
  CHECK(quiet.result().facts.exit_status == 0);
}

TEST_CASE("the program runs under umask 077 and the file-size limit it was given") {
  auto spec = shell("umask; ulimit -f; ulimit -H -f");
  spec.max_file_size = 1024 * 1024;
  const mode_t old = ::umask(0);
  Supervisor run(spec);
  ::umask(old);
  // ulimit -f counts 512-byte blocks (POSIX sh, dash).
  CHECK(output_of(run) == "0077\n2048\n2048\n");
}
