#include "affinity.hpp"

#include <catch2/catch.hpp>

// CPU numbers no real machine here has: the claims cannot collide with helpers that
// boot guests meanwhile (the names are machine-wide).
TEST_CASE("each CPU is claimed by one guest at a time, and freed with the claim") {
  const std::vector<int> cpus{4090, 4091};
  auto first = uml::CpuClaim::any(cpus, 4091);
  CHECK(first.cpu() == 4091);  // the CPU the process runs on comes first
  auto second = uml::CpuClaim::any(cpus, 4091);
  CHECK(second.cpu() == 4090);
  CHECK_FALSE(uml::CpuClaim::any(cpus, 4091).cpu());  // all taken: no pinning
  first = uml::CpuClaim();
  CHECK(uml::CpuClaim::any(cpus, std::nullopt).cpu() == 4091);
}

TEST_CASE("with a single allowed CPU there is nothing to claim") {
  CHECK_FALSE(uml::CpuClaim::any({4092}, 4092).cpu());
  CHECK_FALSE(uml::CpuClaim::any({}, std::nullopt).cpu());
  CHECK_FALSE(uml::allowed_cpus().empty());
}
