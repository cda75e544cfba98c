#include "affinity.hpp"

#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace uml {

namespace {

// -1 when the name is taken (or sockets fail: then no pinning, nothing worse).
int claim_name(int cpu) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const auto name = fmt::format("uml-helper/cpu/{}", cpu);
  // Abstract: sun_path starts with a NUL; the name's length is in the address length.
  std::memcpy(address.sun_path + 1, name.data(), name.size());
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) {
    return cpus;
  }
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) {
      cpus.push_back(cpu);
    }
  }
  return cpus;
}

CpuClaim CpuClaim::any(const std::vector<int>& allowed, std::optional<int> current) {
  CpuClaim claim;
  if (allowed.size() < 2) {
    return claim;
  }
  std::vector<int> order;
  if (current && std::find(allowed.begin(), allowed.end(), *current) != allowed.end()) {
    order.push_back(*current);
  }
  for (const int cpu : allowed) {
    if (!current || cpu != *current) {
      order.push_back(cpu);
    }
  }
  for (const int cpu : order) {
    if (const int fd = claim_name(cpu); fd >= 0) {
      claim.cpu_ = cpu;
      claim.fd_ = fd;
      break;
    }
  }
  return claim;
}

CpuClaim CpuClaim::any() {
  const int current = ::sched_getcpu();
  return any(allowed_cpus(), current >= 0 ? std::optional<int>(current) : std::nullopt);
}

CpuClaim::~CpuClaim() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

CpuClaim::CpuClaim(CpuClaim&& other) noexcept
    : cpu_(std::exchange(other.cpu_, std::nullopt)), fd_(std::exchange(other.fd_, -1)) {}

CpuClaim& CpuClaim::operator=(CpuClaim&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    cpu_ = std::exchange(other.cpu_, std::nullopt);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

}  // namespace uml
