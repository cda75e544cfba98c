#include "process/affinity.hpp"

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

namespace uml::process {

namespace {

// -1 when the name is taken (or sockets fail: then no pinning, nothing worse).
int claim_name(std::string_view scope, int cpu) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const auto name = fmt::format("{}/cpu/{}", scope, cpu);
  if (name.size() + 1 > sizeof address.sun_path) {
    return -1;
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
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

CpuClaim CpuClaim::any(std::string_view scope, const std::vector<int>& allowed,
                       std::optional<int> current) {
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
    if (const int fd = claim_name(scope, cpu); fd >= 0) {
      claim.cpu_ = cpu;
      claim.fd_ = fd;
      break;
    }
  }
  return claim;
}

CpuClaim CpuClaim::any(std::string_view scope) {
  const int current = ::sched_getcpu();
  return any(scope, allowed_cpus(), current >= 0 ? std::optional<int>(current) : std::nullopt);
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

}  // namespace uml::process
