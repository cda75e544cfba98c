#include "confine.hpp"

#include <fmt/format.h>

#include "error.hpp"

namespace uml {

namespace fs = std::filesystem;
namespace rights = process::rights;

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
  // Only what UML opens in /dev (its stdio is inherited, not opened): a hostfs route
  // into /dev (the user's /dev/shm files, terminals) stays closed.
  add("/dev/null", rights::read_file | rights::write_file);
  add("/dev/random", rights::read_file);
  add("/dev/urandom", rights::read_file);
  // UML's pty SIGIO check opens a pty pair at boot; when it cannot, UML falls back to a
  // polling workaround that loses a terminal's typed-ahead input (measured). hostfs
  // gains nothing by it: a device file seen through hostfs is the guest's own device
  // (init_special_inode), and /dev/pts cannot be listed.
  add("/dev/ptmx", rights::read_file | rights::write_file | rights::ioctl_dev);
  add("/dev/pts", rights::read_file | rights::write_file | rights::ioctl_dev);
  // Reboot re-executes the kernel.
  add(input.kernel, rights::read_file | rights::execute);
  // Under a COW file UML opens the base image read-only.
  for (const auto& image : input.images) {
    add(image, rights::read_file);
  }
  // The COW files themselves, not their directories: the helper made them.
  for (const auto& cow : input.cows) {
    add(cow, rights::read_file | rights::write_file | rights::truncate);
  }
  // <umid>/ with its pid file and mconsole socket.
  add(input.uml_dir, rights::all);
  add(input.ram_dir, rights::read | rights::write_file | rights::truncate);
  if (input.hostfs) {
    add(*input.hostfs, rights::all);
  }
  return rules;
}

process::LandlockRuleset confine(const std::vector<ConfineRule>& rules) {
  process::LandlockRuleset ruleset;
  if (ruleset.fd() < 0) {
    return ruleset;
  }
  for (const auto& rule : rules) {
    if (const auto added = ruleset.allow(rule.path, rule.access); !added) {
      throw Error(fmt::format("cannot confine UML to {}: {}", rule.path.string(), added.error()));
    }
  }
  return ruleset;
}

}  // namespace uml
