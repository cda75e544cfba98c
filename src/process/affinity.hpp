#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace uml::process {

// A CPU claimed for one program at a time, machine-wide, among the processes that claim
// CPUs in the same `scope`: parallel programs pinned to one CPU each then get different
// ones (LaunchSpec::cpu pins them).
//
// A claim is an abstract Unix socket bound to "<scope>/cpu/<n>": the kernel gives the
// name to one process at a time and frees it when that process ends, even by SIGKILL,
// so no lock file is ever left behind. Close-on-exec: the pinned program never holds it.
class CpuClaim {
 public:
  CpuClaim() = default;
  // Claims a CPU of `allowed`, trying `current` (the one this process runs on: the
  // scheduler placed it there at exec, on the idlest CPU) first. No CPU when there is
  // one CPU only (nothing to choose) or every CPU is claimed by other processes.
  static CpuClaim any(std::string_view scope, const std::vector<int>& allowed,
                      std::optional<int> current);
  // With this process's affinity mask and sched_getcpu().
  static CpuClaim any(std::string_view scope);

  ~CpuClaim();
  CpuClaim(CpuClaim&& other) noexcept;
  CpuClaim& operator=(CpuClaim&& other) noexcept;
  CpuClaim(const CpuClaim&) = delete;
  CpuClaim& operator=(const CpuClaim&) = delete;

  std::optional<int> cpu() const { return cpu_; }

 private:
  std::optional<int> cpu_;
  int fd_ = -1;
};

// The CPUs this process may run on.
std::vector<int> allowed_cpus();

}  // namespace uml::process
