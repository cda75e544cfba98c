#include "lpj.hpp"

#include <catch2/catch.hpp>

#include "cmdline.hpp"

namespace {

uml::LpjKey key(std::string kernel, std::int64_t mtime = 100) {
  return {std::move(kernel), 1234, mtime, "AMD EPYC"};
}

uml::BootSpec spec_with(std::optional<std::uint64_t> lpj, std::vector<std::string> append = {}) {
  uml::BootSpec spec;
  spec.disks.push_back({"/img/root.img", "/work/root.cow"});
  spec.nonce = "00";
  spec.umid = "u";
  spec.uml_dir = "/work/u";
  spec.lpj = lpj;
  spec.append = std::move(append);
  return spec;
}

int count_lpj(const std::vector<std::string>& args) {
  int n = 0;
  for (const auto& arg : args) {
    n += arg.starts_with("lpj=") ? 1 : 0;
  }
  return n;
}

}  // namespace

TEST_CASE("the delay-loop calibration is read from a console that calibrated") {
  CHECK(uml::calibrated_lpj("x\nCalibrating delay loop... 7302.34 BogoMIPS (lpj=36511744)\ny") ==
        36511744u);
  // A boot with lpj= preset says so and measures nothing.
  CHECK_FALSE(uml::calibrated_lpj(
      "Calibrating delay loop (skipped) preset value.. 7302.34 BogoMIPS (lpj=36511744)"));
  CHECK_FALSE(uml::calibrated_lpj("Calibrating delay loop... 0.00 BogoMIPS (lpj=0)"));
  CHECK_FALSE(uml::calibrated_lpj("no such line"));
}

TEST_CASE("the lpj cache finds a kernel only by its path, size, mtime and CPU") {
  std::string cache = uml::update_lpj("", key("/k/linux"), 111);
  cache = uml::update_lpj(cache, key("/other/linux"), 222);
  CHECK(uml::find_lpj(cache, key("/k/linux")) == 111u);
  CHECK(uml::find_lpj(cache, key("/other/linux")) == 222u);
  CHECK_FALSE(uml::find_lpj(cache, key("/k/linux", 101)));  // rebuilt
  auto other_cpu = key("/k/linux");
  other_cpu.cpu = "Intel";
  CHECK_FALSE(uml::find_lpj(cache, other_cpu));
  CHECK_FALSE(uml::find_lpj("garbage\n\t\n12x\t1234\t100\tAMD EPYC\t/k/linux\n", key("/k/linux")));
}

TEST_CASE("updating the lpj cache replaces the kernel's line and keeps it bounded") {
  std::string cache = uml::update_lpj("", key("/k/linux", 1), 111);
  cache = uml::update_lpj(cache, key("/k/linux", 2), 333);  // the kernel was rebuilt
  CHECK(uml::find_lpj(cache, key("/k/linux", 2)) == 333u);
  CHECK_FALSE(uml::find_lpj(cache, key("/k/linux", 1)));
  for (int i = 0; i < 10; ++i) {
    cache = uml::update_lpj(cache, key("/k" + std::to_string(i)), 10 + i, 4);
  }
  CHECK(std::count(cache.begin(), cache.end(), '\n') == 4);
  CHECK(uml::find_lpj(cache, key("/k9")) == 19u);
  CHECK_FALSE(uml::find_lpj(cache, key("/k0")));
}

TEST_CASE("a cached lpj goes on the kernel command line unless the user set one") {
  CHECK(count_lpj(uml::kernel_arguments(spec_with(std::nullopt))) == 0);
  const auto args = uml::kernel_arguments(spec_with(36511744));
  CHECK(std::find(args.begin(), args.end(), "lpj=36511744") != args.end());
  // --append lpj=0 makes the kernel calibrate again; the user's value is the only one.
  const auto user = uml::kernel_arguments(spec_with(36511744, {"lpj=0"}));
  CHECK(count_lpj(user) == 1);
  CHECK(std::find(user.begin(), user.end(), "lpj=0") != user.end());
}

TEST_CASE("a lower calibration of the same kernel does not replace a higher one") {
  std::string cache = uml::update_lpj("", key("/k/linux"), 36000000);
  cache = uml::update_lpj(cache, key("/k/linux"), 18000000);  // measured on a busy host
  CHECK(uml::find_lpj(cache, key("/k/linux")) == 36000000u);
  cache = uml::update_lpj(cache, key("/k/linux"), 36500000);
  CHECK(uml::find_lpj(cache, key("/k/linux")) == 36500000u);
}

TEST_CASE("only the kernel's own calibration, before init's first marker, counts") {
  constexpr auto nonce = "0123456789abcdef";
  const std::string kernel =
      "Kernel command line: UML_NONCE=0123456789abcdef\n"
      "Calibrating delay loop... 7302.34 BogoMIPS (lpj=36511744)\n";
  CHECK(uml::calibrated_lpj(kernel + "\nUML-BOOTED 0123456789abcdef\n", nonce) == 36511744u);
  // A boot with lpj= preset prints no calibration; a guest process prints a fake one.
  const std::string poisoned =
      "Calibrating delay loop (skipped) preset value.. 7302.34 BogoMIPS (lpj=36511744)\n"
      "\nUML-BOOTED 0123456789abcdef\n\nUML-COMMAND 0123456789abcdef\n"
      "Calibrating delay loop... 99999999.99 BogoMIPS (lpj=99999999999)\n";
  CHECK_FALSE(uml::calibrated_lpj(poisoned, nonce));
  // Values no calibration gives.
  CHECK_FALSE(uml::calibrated_lpj("Calibrating delay loop... 0.01 BogoMIPS (lpj=1)"));
  CHECK_FALSE(uml::calibrated_lpj("Calibrating delay loop... 1.0 BogoMIPS (lpj=999999999999999)"));
}

TEST_CASE("a new maximum is at most twice the cached value") {
  std::string cache = uml::update_lpj("", key("/k/linux"), 36000000);
  cache = uml::update_lpj(cache, key("/k/linux"), 36000000000ULL);  // one odd boot
  CHECK(uml::find_lpj(cache, key("/k/linux")) == 72000000u);
}
