#include "confine.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <catch2/catch.hpp>

#include "cow.hpp"
#include "error.hpp"

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
  input.cows = {"/w/uh1-ubd0.cow", "/persist/my.cow"};
  input.uml_dir = "/w/u";
  input.ram_dir = "/dev/shm/uml-helper-abc";
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
  for (const auto* dir : {"/w/u", "/share"}) {
    const auto* rule = find_rule(rules, dir);
    REQUIRE(rule);
    CHECK(rule->access == rights::all);
  }
  // The COW files exactly (the helper made them), never their directories (issue #12:
  // --persist's directory is the build tree); the RAM dir without any create right.
  for (const auto* cow : {"/w/uh1-ubd0.cow", "/persist/my.cow"}) {
    const auto* rule = find_rule(rules, cow);
    REQUIRE(rule);
    CHECK(rule->access == (rights::read_file | rights::write_file | rights::truncate));
  }
  CHECK(find_rule(rules, "/dev/shm/uml-helper-abc")->access ==
        (rights::read | rights::write_file | rights::truncate));
  for (const auto* denied : {"/w", "/persist", "/dev", "/dev/shm"}) {
    CHECK_FALSE(find_rule(rules, denied));
  }
  // UML's pty check opens a pair; /dev/pts cannot be listed or written beside.
  CHECK(find_rule(rules, "/dev/pts")->access ==
        (rights::read_file | rights::write_file | rights::ioctl_dev));
  CHECK(find_rule(rules, "/dev/null")->access == (rights::read_file | rights::write_file));
  CHECK(find_rule(rules, "/dev/urandom")->access == rights::read_file);
  CHECK(find_rule(rules, "/proc")->access == rights::read);
  CHECK(find_rule(rules, "/sys")->access == rights::read);
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
    const bool device =
        rule.path == "/dev/null" || rule.path == "/dev/ptmx" || rule.path == "/dev/pts";
    if ((rule.access & rights::write_file) != 0 && !device) {
      writable.push_back(rule.path);
    }
  }
  CHECK(writable == std::vector<fs::path>{"/w/uh1-ubd0.cow", "/persist/my.cow", "/w/u",
                                          "/dev/shm/uml-helper-abc"});
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
  input.uml_dir = root / "allowed";
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

// UML's COW format (arch/um/drivers/cow_user.c): the helper makes the file, UML opens it.
TEST_CASE("COW files: UML's version-3 header, sparse, private, an existing one kept") {
  char tmpl[] = "/tmp/uml-cow-test-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const fs::path dir = tmpl;
  const auto base = dir / "root.img";
  { std::ofstream(base) << std::string(3 * 512 + 7, 'b'); }
  const mode_t old = ::umask(0);
  uml::create_cow_file(dir / "a.cow", base);
  ::umask(old);
  // Header 4128 bytes -> bitmap at 8192; 4 sectors -> 1 byte of bitmap; data at 12288.
  CHECK(uml::cow_file_size(3 * 512 + 7) == 12288 + 3 * 512 + 7);
  CHECK(fs::file_size(dir / "a.cow") == uml::cow_file_size(3 * 512 + 7));
  CHECK((fs::status(dir / "a.cow").permissions() & fs::perms::mask) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  std::ifstream in(dir / "a.cow", std::ios::binary);
  std::string header(4128, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header.size()));
  CHECK(header.substr(0, 8) == std::string("OOOM\0\0\0\3", 8));           // big-endian magic, v3
  CHECK(header.substr(12, 8) == std::string("\0\0\0\0\0\0\x06\x07", 8));  // size 1543
  CHECK(header.substr(20, 4) == std::string("\0\0\x02\0", 4));            // sector 512
  CHECK(header.substr(24, 4) == std::string("\0\0\x10\0", 4));            // align 4096
  CHECK(header.substr(32, base.string().size()) == fs::canonical(base).string());

  // --persist: its data is the point; only made private.
  fs::permissions(dir / "a.cow", fs::perms::all);
  { std::ofstream(dir / "a.cow", std::ios::app) << "data"; }
  const auto size = fs::file_size(dir / "a.cow");
  uml::create_cow_file(dir / "a.cow", base);
  CHECK(fs::file_size(dir / "a.cow") == size);
  CHECK((fs::status(dir / "a.cow").permissions() & fs::perms::mask) == fs::perms::owner_all);

  CHECK_THROWS_AS(uml::create_cow_file(dir / "b.cow", dir / "missing.img"), uml::Error);
  fs::remove_all(dir);
}
