#include "process/affinity.hpp"

#include <catch2/catch.hpp>

// CPU numbers no real machine here has: the claims cannot collide with helpers that
// boot guests meanwhile (the names are machine-wide).
TEST_CASE("each CPU is claimed by one guest at a time, and freed with the claim") {
  const std::vector<int> cpus{4090, 4091};
  auto first = uml::process::CpuClaim::any("uml-helper", cpus, 4091);
  CHECK(first.cpu() == 4091);  // the CPU the process runs on comes first
  auto second = uml::process::CpuClaim::any("uml-helper", cpus, 4091);
  CHECK(second.cpu() == 4090);
  CHECK_FALSE(
      uml::process::CpuClaim::any("uml-helper", cpus, 4091).cpu());  // all taken: no pinning
  first = uml::process::CpuClaim();
  CHECK(uml::process::CpuClaim::any("uml-helper", cpus, std::nullopt).cpu() == 4091);
}

TEST_CASE("with a single allowed CPU there is nothing to claim") {
  CHECK_FALSE(uml::process::CpuClaim::any("uml-helper", {4092}, 4092).cpu());
  CHECK_FALSE(uml::process::CpuClaim::any("uml-helper", {}, std::nullopt).cpu());
  CHECK_FALSE(uml::process::allowed_cpus().empty());
}
