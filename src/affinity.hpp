#pragma once

#include <optional>
#include <vector>

namespace uml {

// A UML guest is one virtual CPU whose kernel process and stub processes hand control
// to each other through ptrace thousands of times a second. Spread over several host
// CPUs each hand-over is a cross-CPU wake-up (an IPI, costly in a VM): a boot measured
// 0.21 s unpinned and 0.12 s with every process on one CPU, with a third less CPU time.
// So the helper pins UML to one CPU, a different one for each guest running at once.
//
// A claim is an abstract Unix socket bound to "uml-helper/cpu/<n>": the kernel gives
// the name to one process at a time and frees it when that process ends, even by
// SIGKILL, so no lock file is ever left behind. Close-on-exec: UML never holds it.
class CpuClaim {
 public:
  CpuClaim() = default;
  // Claims a CPU of this process's affinity mask, trying the one it runs on first
  // (the scheduler placed it there at exec, on the idlest CPU). No CPU when the mask
  // has one CPU only (nothing to choose) or every CPU is claimed by other guests.
  static CpuClaim any(const std::vector<int>& allowed, std::optional<int> current);
  static CpuClaim any();  // with this process's mask and sched_getcpu()

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

}  // namespace uml
