#include "confine.hpp"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "error.hpp"

namespace uml {

namespace fs = std::filesystem;

namespace {

// Everything beneath a directory the boot owns.
constexpr std::uint64_t all_rights = (1ULL << 16) - 1;

int create_ruleset(const landlock_ruleset_attr* attr, std::size_t size, std::uint32_t flags) {
  return static_cast<int>(::syscall(SYS_landlock_create_ruleset, attr, size, flags));
}

}  // namespace

std::uint64_t handled_access(int abi) {
  if (abi < 1) {
    return 0;
  }
  std::uint64_t handled = (1ULL << 13) - 1;  // ABI 1: EXECUTE .. MAKE_SYM
  if (abi >= 2) {
    handled |= rights::refer;
  }
  if (abi >= 3) {
    handled |= rights::truncate;
  }
  if (abi >= 5) {
    handled |= rights::ioctl_dev;
  }
  return handled;
}

std::vector<ConfineRule> confine_rules(const ConfineInput& input,
                                       const std::function<bool(const fs::path&)>& exists) {
  const auto present = [&](const fs::path& path) {
    if (exists) {
      return exists(path);
    }
    std::error_code ec;
    return fs::exists(path, ec);
  };
  std::vector<ConfineRule> rules;
  const auto add = [&](const fs::path& path, std::uint64_t allowed) {
    if (!path.empty() && present(path)) {
      rules.push_back({path, allowed});
    }
  };
  // The dynamic loader, libc and whatever else the kernel binary links.
  for (const auto* dir : {"/usr", "/lib", "/lib64", "/bin", "/sbin"}) {
    add(dir, rights::read_exec);
  }
  add("/etc/ld.so.cache", rights::read_file);
  // UML reads /proc (its own maps, cpuinfo) and /sys; it writes /dev/null and the
  // like and the console's terminal (ioctl), but makes nothing in /dev.
  add("/proc", rights::read);
  add("/sys", rights::read);
  add("/dev", rights::read | rights::write_file | rights::ioctl_dev);
  // Reboot re-executes the kernel.
  add(input.kernel, rights::read_file | rights::execute);
  // Under a COW file UML opens the base image read-only.
  for (const auto& image : input.images) {
    add(image, rights::read_file);
  }
  for (const auto& dir : input.write_dirs) {
    add(dir, all_rights);
  }
  if (input.hostfs) {
    add(*input.hostfs, all_rights);
  }
  return rules;
}

LandlockSupport landlock_support() {
  LandlockSupport support;
  const int abi = create_ruleset(nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi >= 1) {
    support.abi = abi;
    return support;
  }
  const int error = errno;
  support.problem =
      error == ENOSYS
          ? "this kernel has no Landlock (Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK)"
      : error == EOPNOTSUPP
          ? "Landlock is disabled (add landlock to the kernel's lsm= boot parameter)"
          : fmt::format("landlock_create_ruleset: {}", std::strerror(error));
  return support;
}

Confinement::Confinement(const std::vector<ConfineRule>& rules) {
  const auto support = landlock_support();
  if (support.problem) {
    unavailable_ = support.problem;
    return;
  }
  abi_ = support.abi;
  const auto handled = handled_access(abi_);
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = handled;
  fd_ = create_ruleset(&attr, sizeof attr, 0);  // O_CLOEXEC already
  if (fd_ < 0) {
    unavailable_ = fmt::format("landlock_create_ruleset: {}", std::strerror(errno));
    return;
  }
  for (const auto& rule : rules) {
    const int path_fd = ::open(rule.path.c_str(), O_PATH | O_CLOEXEC);
    if (path_fd < 0) {
      continue;  // gone since the rules were made: nothing to allow
    }
    struct stat st {};
    auto allowed = rule.access & handled;
    if (::fstat(path_fd, &st) == 0 && !S_ISDIR(st.st_mode)) {
      allowed &= rights::file_rights;  // directory rights on a file are EINVAL
    }
    landlock_path_beneath_attr beneath{};
    beneath.allowed_access = allowed;
    beneath.parent_fd = path_fd;
    const auto added = allowed == 0 ? 0
                                    : ::syscall(SYS_landlock_add_rule, fd_,
                                                LANDLOCK_RULE_PATH_BENEATH, &beneath, 0);
    const int error = errno;
    ::close(path_fd);
    if (added != 0) {
      ::close(fd_);
      fd_ = -1;
      throw Error(fmt::format("cannot confine UML to {}: landlock_add_rule: {}", rule.path.string(),
                              std::strerror(error)));
    }
  }
}

Confinement::~Confinement() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

int apply_confinement(int ruleset_fd) noexcept {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return errno;
  }
  if (::syscall(SYS_landlock_restrict_self, ruleset_fd, 0) != 0) {
    return errno;
  }
  return 0;
}

}  // namespace uml
