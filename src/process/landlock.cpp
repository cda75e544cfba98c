#include "process/landlock.hpp"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "process/errors.hpp"

namespace uml::process {

namespace {

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
          : errno_text("landlock_create_ruleset", error);
  return support;
}

LandlockRuleset::LandlockRuleset() {
  const auto support = landlock_support();
  if (support.problem) {
    unavailable_ = support.problem;
    return;
  }
  abi_ = support.abi;
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = handled_access(abi_);
  fd_ = create_ruleset(&attr, sizeof attr, 0);  // O_CLOEXEC already
  if (fd_ < 0) {
    unavailable_ = errno_text("landlock_create_ruleset", errno);
  }
}

LandlockRuleset::~LandlockRuleset() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

LandlockRuleset::LandlockRuleset(LandlockRuleset&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      abi_(other.abi_),
      unavailable_(std::move(other.unavailable_)) {}

LandlockRuleset& LandlockRuleset::operator=(LandlockRuleset&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
    abi_ = other.abi_;
    unavailable_ = std::move(other.unavailable_);
  }
  return *this;
}

Result<void> LandlockRuleset::allow(const std::filesystem::path& path, std::uint64_t access) {
  if (fd_ < 0) {
    return Failure{"landlock_add_rule: " + unavailable_.value_or("no ruleset")};
  }
  const int path_fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  if (path_fd < 0) {
    return {};  // gone since the rules were made: nothing to allow
  }
  struct stat st {};
  auto allowed = access & handled_access(abi_);
  if (::fstat(path_fd, &st) == 0 && !S_ISDIR(st.st_mode)) {
    allowed &= rights::file_rights;  // directory rights on a file are EINVAL
  }
  landlock_path_beneath_attr beneath{};
  beneath.allowed_access = allowed;
  beneath.parent_fd = path_fd;
  const auto added =
      allowed == 0 ? 0
                   : ::syscall(SYS_landlock_add_rule, fd_, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0);
  const int error = errno;
  ::close(path_fd);
  if (added != 0) {
    ::close(fd_);
    fd_ = -1;
    return Failure{errno_text("landlock_add_rule", error)};
  }
  return {};
}

int landlock_restrict_self(int ruleset_fd) noexcept {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return errno;
  }
  if (::syscall(SYS_landlock_restrict_self, ruleset_fd, 0) != 0) {
    return errno;
  }
  return 0;
}

}  // namespace uml::process
