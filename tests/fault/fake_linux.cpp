// A stand-in for UML's `linux` for uml-helper's fault tests. It reads its command line
// as UML would (ubdN=, umid=, uml_dir=, UML_NONCE=, UML_CMD=, ...) and behaves as the
// kernel argument fake=<mode> says: pass, status:N, hang, panic, ... (see below).
// It creates the COW files and <uml_dir>/<umid>/ as UML does and removes the umid
// directory on a clean exit, so tests can check what the helper cleans up.
// $FAKE_RECORD names a file where it writes its pid, session, limits and children.

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "process/affinity.hpp"
#include "text.hpp"

namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> params;
std::vector<std::string> cows;
fs::path umid_dir;
std::string nonce;

void say(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

void record(const std::string& line) {
  if (const char* path = std::getenv("FAKE_RECORD")) {
    std::ofstream(path, std::ios::app) << line << "\n";
  }
}

void remove_umid_dir() {
  std::error_code ec;
  fs::remove_all(umid_dir, ec);
}

[[noreturn]] void finish(int status) {
  remove_umid_dir();
  say("reboot: Power down");
  std::exit(status);
}

extern "C" void on_term(int) {
  // UML's SIGTERM handling: clean up, then exit.
  remove_umid_dir();
  _exit(0);
}

[[noreturn]] void hang() {
  while (true) {
    pause();
  }
}

// Forks a process that sleeps; `own_group`: in a process group of its own (still in the
// session); `orphan`: its parent exits at once, so it is reparented.
void spawn_sleeper(bool own_group, bool orphan) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (own_group) {
      setpgid(0, 0);
    }
    if (orphan) {
      const pid_t inner = fork();
      if (inner != 0) {
        record("child=" + std::to_string(inner));
        _exit(0);
      }
    } else {
      record("child=" + std::to_string(getpid()));
    }
    signal(SIGTERM, SIG_IGN);  // only SIGKILL ends it
    hang();
  }
  if (orphan) {
    int status = 0;
    waitpid(pid, &status, 0);
  }
}

void print_ktap(bool pass) {
  say("KTAP version 1");
  say("1..0");
  say("hello: loading out-of-tree module taints kernel.");
  say("KTAP version 1");
  say("1..1");
  say("    KTAP version 1");
  say("    # Subtest: fake_suite");
  say("    # module: fake_test");
  say("    1..3");
  say("    ok 1 first_case");
  if (pass) {
    say("    ok 2 second_case");
  } else {
    say("    # second_case: EXPECTATION FAILED at fake_test.c:42");
    say("    Expected 1 + 1 == 3, but");
    say("    not ok 2 second_case");
  }
  say("    ok 3 third_case # SKIP not today");
  say(std::string(pass ? "ok" : "not ok") + " 1 fake_suite");
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--showconfig") {
      const char* tt = std::getenv("FAKE_TIME_TRAVEL");
      say("#\n# Linux/um 6.12.0-fake Kernel Configuration\n#\nCONFIG_UML=y");
      say(tt != nullptr && std::string(tt) == "1" ? "CONFIG_UML_TIME_TRAVEL_SUPPORT=y"
                                                  : "# CONFIG_UML_TIME_TRAVEL_SUPPORT is not set");
      return 0;
    }
    const auto eq = arg.find('=');
    params[eq == std::string::npos ? arg : arg.substr(0, eq)] =
        eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (arg.starts_with("ubd")) {
      const auto comma = arg.find(',');
      cows.push_back(arg.substr(eq + 1, comma - eq - 1));
    }
  }
  nonce = params["UML_NONCE"];
  const auto mode = params["fake"];

  signal(SIGTERM, on_term);
  umid_dir = fs::path(params["uml_dir"]) / params["umid"];
  fs::create_directories(umid_dir);
  std::ofstream(umid_dir / "pid") << getpid() << "\n";
  for (const auto& cow : cows) {
    // UML opens the COW file read-write (and would create a missing one).
    const int fd = open(cow.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    record("cow-open=" + std::string(fd >= 0 ? "ok" : std::strerror(errno)));
    if (fd >= 0) {
      close(fd);
    }
  }

  rlimit core{};
  getrlimit(RLIMIT_CORE, &core);
  int pdeathsig = 0;
  prctl(PR_GET_PDEATHSIG, &pdeathsig);
  const char* tmpdir = std::getenv("TMPDIR");
  std::string cpus;  // the CPUs it may run on, as the helper pinned it (or not)
  for (const int cpu : uml::process::allowed_cpus()) {
    cpus += (cpus.empty() ? "" : ",") + std::to_string(cpu);
  }
  std::string args;
  for (int i = 1; i < argc; ++i) {
    args += std::string(i > 1 ? " " : "") + argv[i];
  }
  const mode_t mask = umask(0);
  umask(mask);
  struct stat uml_dir_st {};
  stat(params["uml_dir"].c_str(), &uml_dir_st);
  rlimit fsize{};
  getrlimit(RLIMIT_FSIZE, &fsize);
  // UML's guest RAM file: O_TMPFILE in $TMPDIR, sized to mem=.
  std::string ram = "none";
  if (tmpdir != nullptr) {
    const int fd = open(tmpdir, O_CLOEXEC | O_RDWR | O_EXCL | O_TMPFILE, 0700);
    ram = fd >= 0 && ftruncate(fd, 1 << 20) == 0 ? "ok" : "failed";
    if (fd >= 0) {
      close(fd);
    }
  }
  const auto state =
      "FAKE-STATE pid=" + std::to_string(getpid()) + " sid=" + std::to_string(getsid(0)) +
      " core=" + std::to_string(core.rlim_cur) + " pdeathsig=" + std::to_string(pdeathsig) +
      " tmpdir=" + (tmpdir != nullptr ? tmpdir : "") + " cpus=" + cpus +
      " umask=" + std::to_string(mask) +
      " uml_dir_mode=" + std::to_string(uml_dir_st.st_mode & 07777) + " fsize=" +
      (fsize.rlim_cur == RLIM_INFINITY ? std::string("unlimited")
                                       : std::to_string(fsize.rlim_cur)) +
      " ram=" + ram;
  record(state);
  record("args=" + args);
  say("Linux version 6.12.0-fake (fake@fake)");
  say("Kernel command line: " + args);
  say(state);
  say("Run /.uml/init as init process");

  if (mode == "noboot") {
    say("VFS: Unable to mount root fs on unknown-block(98,0)");
    finish(1);
  }
  if (mode == "wrong-nonce") {
    say("UML-BOOTED deadbeefdeadbeef");
    say("UML-RESULT deadbeefdeadbeef 0");
    finish(0);
  }
  say("UML-BOOTED " + nonce);
  if (const auto cmd = uml::base64_decode(params["UML_CMD"])) {
    say("FAKE-CMD " + *cmd);
  }
  if (const auto env = uml::base64_decode(params["UML_ENV"])) {
    for (const auto line : uml::split_lines(*env)) {
      say("FAKE-ENV " + std::string(line));
    }
  }

  if (mode == "script") {
    // The guest of `run` without a terminal: ready, then the commands until ^D; the
    // exit status is how many lines came. A real tty would echo input that came early,
    // and hang up when the input pipe closes.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    pollfd early{STDIN_FILENO, POLLIN, 0};
    say(::poll(&early, 1, 0) > 0 ? "FAKE-EARLY-INPUT" : "FAKE-NO-EARLY-INPUT");
    say("\nUML-INPUT " + nonce);
    std::string input;
    char c = 0;
    while (::read(STDIN_FILENO, &c, 1) == 1 && c != '\x04') {
      input += c;
    }
    say(c == '\x04' ? "FAKE-INPUT-EOT" : "FAKE-INPUT-NO-EOT");
    const auto lines = uml::split_lines(input);
    for (const auto line : lines) {
      say("FAKE-INPUT " + std::string(line));
    }
    pollfd after{STDIN_FILENO, POLLIN, 0};
    ::poll(&after, 1, 100);
    say((after.revents & POLLHUP) != 0 ? "FAKE-INPUT-CLOSED" : "FAKE-INPUT-OPEN");
    finish(static_cast<int>(lines.size()));
  }
  if (mode == "pass" || mode.empty()) {
    say("UML-RESULT " + nonce + " 0");
    finish(0);
  }
  if (mode.starts_with("status:")) {
    const int status = std::stoi(mode.substr(7));
    say("UML-RESULT " + nonce + " " + std::to_string(status));
    finish(status);
  }
  if (mode == "fake-marker") {
    // The guest command prints a marker with a nonce of its own, then fails.
    say("UML-RESULT 0123456789abcdef 0");
    say("UML-RESULT " + nonce + " 1");
    finish(1);
  }
  if (mode == "modprobe-fail") {
    say("modprobe: module hello not found in modules.dep");
    say("UML-MODPROBE-FAILED " + nonce + " hello");
    finish(1);
  }
  if (mode == "hang") {
    hang();
  }
  if (mode == "probe") {
    // A hostile guest through hostfs: write each path of $FAKE_PROBE (':'-separated).
    std::string list = std::getenv("FAKE_PROBE") != nullptr ? std::getenv("FAKE_PROBE") : "";
    std::vector<std::string> paths;
    for (std::size_t at = 0; at <= list.size();) {
      const auto end = std::min(list.find(':', at), list.size());
      paths.push_back(list.substr(at, end - at));
      at = end + 1;
    }
    for (const auto& path : paths) {
      const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      const bool wrote = fd >= 0 && write(fd, "x", 1) == 1;
      say("FAKE-PROBE " + path + (wrote ? " written" : " denied"));
      if (fd >= 0) {
        close(fd);
      }
    }
    say("UML-RESULT " + nonce + " 0");
    finish(0);
  }
  if (mode == "fork-bomb") {
    // A guest fork bomb: UML makes a host process per guest process.
    for (int i = 0; i < 5000; ++i) {
      if (fork() == 0) {
        hang();
      }
    }
    hang();
  }
  if (mode == "raw-hang") {
    // UML in `run`: the console raw, then killed before it could restore it.
    termios modes{};
    if (tcgetattr(STDIN_FILENO, &modes) == 0) {
      cfmakeraw(&modes);
      tcsetattr(STDIN_FILENO, TCSANOW, &modes);
    }
    say("FAKE-RAW");
    hang();
  }
  if (mode == "hang-children") {
    spawn_sleeper(false, false);
    spawn_sleeper(true, false);
    hang();
  }
  if (mode == "leave-children") {
    spawn_sleeper(false, true);
    spawn_sleeper(true, true);
    say("UML-RESULT " + nonce + " 0");
    finish(0);  // the orphans keep the console pipe open
  }
  if (mode == "ignore-term") {
    signal(SIGTERM, SIG_IGN);
    hang();
  }
  if (mode == "panic") {
    spawn_sleeper(false, false);
    say("Kernel panic - not syncing: fake panic for the fault tests");
    // What UML's os_dump_core() does: SIGTERM to its process group, then abort().
    signal(SIGTERM, SIG_IGN);
    kill(0, SIGTERM);
    kill(0, SIGCONT);
    abort();
  }
  if (mode == "oops") {
    say("BUG: kernel NULL pointer dereference, address: 0000000000000000");
    say("Oops: 0002 [#1] PREEMPT");
    say("UML-RESULT " + nonce + " 0");
    finish(0);
  }
  if (mode == "warn") {
    say("------------[ cut here ]------------");
    say("WARNING: CPU: 0 PID: 1 at fake.c:12 fake_function+0x10/0x20");
    say("---[ end trace 0000000000000000 ]---");
    say("UML-RESULT " + nonce + " 0");
    finish(0);
  }
  if (mode == "kunit-pass" || mode == "kunit-fail") {
    print_ktap(mode == "kunit-pass");
    say("UML-RESULT " + nonce + " 0");
    finish(0);
  }
  if (mode == "flood") {
    // 24 MiB of console: more than the helper keeps in memory.
    const std::string line(1023, 'x');
    for (int i = 0; i < 24 * 1024; ++i) {
      say(line);
    }
    say("UML-RESULT " + nonce + " 0");
    finish(0);
  }
  say("fake linux: unknown mode " + mode);
  finish(2);
}
