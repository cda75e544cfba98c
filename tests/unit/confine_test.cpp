#include "confine.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using uml::ConfineRule;
namespace rights = uml::process::rights;
using uml::process::handled_access;

namespace {

const ConfineRule* find_rule(const std::vector<ConfineRule>& rules, const fs::path& path) {
  const auto it = std::find_if(rules.begin(), rules.end(),
                               [&](const ConfineRule& r) { return r.path == path; });
  return it == rules.end() ? nullptr : &*it;
}

uml::ConfineInput sample_input() {
  uml::ConfineInput input;
  input.kernel = "/k/linux";
  input.images = {"/img/root.img", "/img/data.img"};
  input.write_dirs = {"/w", "/w/u", "/dev/shm/uml-helper-abc"};
  return input;
}

}  // namespace

TEST_CASE("confinement rules: what UML needs, and no other host path") {
  const auto everything = [](const fs::path&) { return true; };
  auto input = sample_input();
  input.hostfs = "/share";
  const auto rules = uml::confine_rules(input, everything);

  for (const auto* dir : {"/usr", "/lib", "/lib64", "/bin", "/sbin"}) {
    const auto* rule = find_rule(rules, dir);
    REQUIRE(rule);
    CHECK(rule->access == rights::read_exec);
  }
  const auto* kernel = find_rule(rules, "/k/linux");
  REQUIRE(kernel);
  CHECK(kernel->access == (rights::read_file | rights::execute));
  // Base images are read under the COW: never written, never executed.
  for (const auto* image : {"/img/root.img", "/img/data.img"}) {
    const auto* rule = find_rule(rules, image);
    REQUIRE(rule);
    CHECK(rule->access == rights::read_file);
  }
  for (const auto* dir : {"/w", "/w/u", "/dev/shm/uml-helper-abc", "/share"}) {
    const auto* rule = find_rule(rules, dir);
    REQUIRE(rule);
    CHECK((rule->access & rights::write_file) != 0);
    CHECK((rule->access & rights::refer) != 0);
  }
  CHECK(find_rule(rules, "/proc")->access == rights::read);
  CHECK(find_rule(rules, "/sys")->access == rights::read);
  CHECK((find_rule(rules, "/dev")->access & rights::write_file) != 0);
  // Only ld.so.cache of /etc; nothing for /, /home, /tmp or the image's directory.
  CHECK(find_rule(rules, "/etc/ld.so.cache")->access == rights::read_file);
  for (const auto* denied : {"/", "/etc", "/home", "/tmp", "/img", "/root", "/k"}) {
    CHECK_FALSE(find_rule(rules, denied));
  }
}

TEST_CASE("confinement rules: no hostfs directory, missing system directories skipped") {
  const auto input = sample_input();
  const auto rules =
      uml::confine_rules(input, [](const fs::path& p) { return p != "/lib64" && p != "/sbin"; });
  CHECK_FALSE(find_rule(rules, "/lib64"));
  CHECK_FALSE(find_rule(rules, "/sbin"));
  CHECK(find_rule(rules, "/usr"));
  CHECK_FALSE(find_rule(rules, "/share"));
  // Only the boot's own directories are writable.
  std::vector<fs::path> writable;
  for (const auto& rule : rules) {
    if ((rule.access & rights::write_file) != 0 && rule.path != "/dev") {
      writable.push_back(rule.path);
    }
  }
  CHECK(writable == std::vector<fs::path>{"/w", "/w/u", "/dev/shm/uml-helper-abc"});
}

TEST_CASE("handled access rights follow the Landlock ABI") {
  CHECK(handled_access(0) == 0);
  CHECK(handled_access(1) == (1ULL << 13) - 1);
  CHECK((handled_access(1) & rights::refer) == 0);
  CHECK((handled_access(2) & rights::refer) != 0);
  CHECK((handled_access(2) & rights::truncate) == 0);
  CHECK((handled_access(3) & rights::truncate) != 0);
  CHECK((handled_access(4) & rights::ioctl_dev) == 0);
  CHECK((handled_access(5) & rights::ioctl_dev) != 0);
  CHECK(handled_access(7) == handled_access(5));
}

// A real ruleset applied in a forked child: the allowed directory is readable and
// writable, its sibling is not.
TEST_CASE("a confined child reaches the allowed directory and nothing beside it") {
  const auto support = uml::process::landlock_support();
  if (support.problem) {
    WARN("Landlock unavailable here: " << *support.problem);
    return;
  }
  char tmpl[] = "/tmp/uml-confine-test-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const fs::path root = tmpl;
  fs::create_directories(root / "allowed");
  fs::create_directories(root / "outside");
  std::ofstream(root / "outside/secret") << "secret\n";

  uml::ConfineInput input;
  input.kernel = "/bin/true";
  input.write_dirs = {root / "allowed"};
  const auto confinement = uml::confine(uml::confine_rules(input));
  REQUIRE(confinement.fd() >= 0);

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (uml::process::landlock_restrict_self(confinement.fd()) != 0) {
      ::_exit(10);
    }
    const int inside = ::open((root / "allowed/new").c_str(), O_WRONLY | O_CREAT, 0644);
    if (inside < 0) {
      ::_exit(11);
    }
    if (::open((root / "outside/secret").c_str(), O_RDONLY) >= 0 || errno != EACCES) {
      ::_exit(12);
    }
    if (::open((root / "outside/new").c_str(), O_WRONLY | O_CREAT, 0644) >= 0) {
      ::_exit(13);
    }
    if (::open("/etc/hostname", O_RDONLY) >= 0) {
      ::_exit(14);
    }
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(fs::exists(root / "allowed/new"));
  CHECK_FALSE(fs::exists(root / "outside/new"));
  fs::remove_all(root);
}
