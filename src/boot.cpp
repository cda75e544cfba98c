#include "boot.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "boot_file.hpp"
#include "confine.hpp"
#include "error.hpp"
#include "lpj.hpp"
#include "process/errors.hpp"
#include "text.hpp"

namespace uml {

namespace fs = std::filesystem;

namespace {

fs::path existing_file(const fs::path& path, std::string_view option) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) && !fs::is_block_file(path, ec)) {
    throw Error(fmt::format("{} {}: no such image file", option, path.string()));
  }
  return fs::absolute(path);
}

// The options, once --mem is known to be good: nothing is made before.
const BootOptions& checked(const BootOptions& options) {
  mem_bytes(options.mem);
  return options;
}

}  // namespace

std::uint64_t mem_bytes(const std::string& mem) {
  const auto bytes = parse_size(mem);
  if (!bytes) {
    throw Error(fmt::format("--mem {:?}: expected a size such as 128M, 1G or 65536K", mem));
  }
  return *bytes;
}

// --- the workspace -----------------------------------------------------------------------

Workspace::Workspace(const BootOptions& options, const std::optional<fs::path>& persist)
    : keep_cow_(options.keep_cow) {
  // Images first: a bad path must not leave directories behind.
  const auto rootfs = existing_file(options.rootfs, "--rootfs");
  std::vector<fs::path> disks;
  for (const auto& disk : options.disks) {
    disks.push_back(existing_file(disk, "--disk"));
  }
  if (options.work_dir) {
    dir_ = fs::absolute(*options.work_dir);
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) {
      throw Error(fmt::format("--work-dir {}: {}", dir_.string(), ec.message()));
    }
  } else {
    // /tmp rather than $TMPDIR: short paths keep UML's socket paths in bounds.
    std::string tmpl = "/tmp/uml-helper-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw Error(fmt::format("cannot create a work directory in /tmp: {}", std::strerror(errno)));
    }
    dir_ = tmpl;
    owns_dir_ = true;
  }
  umid_ = fmt::format("uh{}-{}", ::getpid(), random_hex(4));
  const auto choice = choose_uml_dir(dir_, umid_.size());
  uml_dir_ = choice.dir;
  uml_dir_fallback_ = choice.fallback;
  std::error_code ec;
  fs::create_directories(uml_dir_, ec);
  if (choice.fallback) {
    fs::permissions(uml_dir_, fs::perms::owner_all, ec);
  }

  disks_.push_back({rootfs, {}});
  if (persist) {
    disks_[0].cow = fs::absolute(*persist);
  } else {
    disks_[0].cow = dir_ / fmt::format("{}-ubd0.cow", umid_);
    temporary_cows_.push_back(disks_[0].cow);
  }
  for (const auto& disk : disks) {
    const auto cow = dir_ / fmt::format("{}-ubd{}.cow", umid_, disks_.size());
    disks_.push_back({disk, cow});
    temporary_cows_.push_back(cow);
  }
}

void Workspace::clean(bool keep_dir) {
  if (cleaned_) {
    return;
  }
  cleaned_ = true;
  process::remove_leftovers(leftovers(keep_dir));
}

std::vector<process::Leftover> Workspace::leftovers(bool keep_dir) const {
  std::vector<process::Leftover> paths{{uml_dir_ / umid_, true}};
  if (!uml_dir_fallback_) {
    paths.push_back({uml_dir_, false});  // only when empty
  }
  if (!keep_cow_) {
    for (const auto& cow : temporary_cows_) {
      paths.push_back({cow, true});
    }
  }
  if (owns_dir_ && !keep_dir && !keep_cow_) {
    paths.push_back({dir_, true});
  }
  return paths;
}

// --- the boot ----------------------------------------------------------------------------

Boot::Boot(const BootOptions& options, const std::optional<fs::path>& persist)
    : options_(checked(options)), ws_(options, persist) {}

Boot::~Boot() {
  if (!own_tmpdir_.empty()) {
    process::remove_leftovers({{own_tmpdir_, true}});
  }
}

bool Boot::check_host() {
  PreflightInput input;
  input.kernel = options_.kernel;
  input.mem_bytes = mem_bytes(options_.mem);
  input.uml_dir = ws_.uml_dir();
  input.umid_length = ws_.umid().size();
  input.uml_dir_fallback = ws_.uml_dir_fallback();
  input.time_travel = options_.time_travel;
  input.getenv = [](const char* name) { return std::getenv(name); };
  report_ = preflight(input);

  // A kernel that lacks what was asked for is the caller's error (exit 2), not the
  // host's: it must not pass for a skip.
  for (const auto& finding : report_.findings) {
    if (finding.severity == Severity::Fatal && finding.topic == "time-travel") {
      throw Error(finding.message);
    }
  }
  if (!report_.ok()) {
    fmt::print(stderr, "uml-helper: UML cannot run here:\n{}", report_.format(true));
    return false;
  }
  const auto problems = report_.format(false);
  if (!problems.empty()) {
    fmt::print(stderr, "uml-helper: warning:\n{}", problems);
  }
  if (ws_.uml_dir_fallback()) {
    fmt::print(stderr,
               "uml-helper: note: the work dir's path is too long for UML's sockets; using "
               "uml_dir={}\n",
               ws_.uml_dir().string());
  }
  return true;
}

BootSpec Boot::spec(Mode mode) const {
  BootSpec spec;
  spec.mode = mode;
  spec.disks = ws_.disks();
  spec.mem = options_.mem;
  if (options_.hostfs) {
    std::error_code ec;
    if (!fs::is_directory(*options_.hostfs, ec)) {
      throw Error(fmt::format("--hostfs {}: not a directory", options_.hostfs->string()));
    }
    spec.hostfs = fs::absolute(*options_.hostfs);
  }
  spec.append = options_.append;
  spec.env = options_.env;
  spec.modules = options_.modules;
  for (const auto& list : options_.module_lists) {
    const auto names = read_module_list(list);
    spec.modules.insert(spec.modules.end(), names.begin(), names.end());
  }
  spec.nonce = random_hex(16);
  spec.umid = ws_.umid();
  spec.uml_dir = ws_.uml_dir();
  spec.time_travel = options_.time_travel;
  // Time travel runs the delay loop in virtual time: the host's value means nothing.
  if (!options_.time_travel) {
    spec.lpj = cached_lpj(options_.kernel);
  }
  return spec;
}

process::LaunchSpec Boot::launch(const BootSpec& spec, const std::vector<std::string>& args) {
  process::LaunchSpec launch;
  launch.exe = options_.kernel;
  launch.args = args;
  launch.tmpdir = report_.ram_dir;
  // Confined with Landlock to what the boot needs, so hostfs (which runs in UML with the
  // user's rights) cannot reach other host paths. The guest RAM file goes to a private
  // directory inside the chosen RAM directory, which alone is writable there.
  if (!options_.no_confine) {
    const auto support = process::landlock_support();
    if (support.problem) {
      fmt::print(stderr,
                 "uml-helper: warning: Landlock unavailable: hostfs is not confined to {} "
                 "(the guest can mount any host path this user can reach): {}\n",
                 spec.hostfs ? spec.hostfs->string() : std::string("any directory"),
                 *support.problem);
    } else {
      ConfineInput input;
      input.kernel = fs::absolute(options_.kernel);
      input.hostfs = spec.hostfs;
      input.write_dirs = {ws_.dir(), ws_.uml_dir()};
      for (const auto& disk : ws_.disks()) {
        input.images.push_back(disk.base);
        input.write_dirs.push_back(disk.cow.parent_path());  // UML creates the COW file
      }
      if (report_.ram_dir) {
        std::string tmpl = (*report_.ram_dir / "uml-helper-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
          throw Error(fmt::format("cannot create a directory for the guest RAM in {}: {}",
                                  report_.ram_dir->string(), std::strerror(errno)),
                      ExitCode::Skipped);
        }
        own_tmpdir_ = tmpl;
        launch.tmpdir = own_tmpdir_;
        input.write_dirs.push_back(own_tmpdir_);
      }
      ruleset_.emplace(confine(confine_rules(input)));
      launch.ruleset_fd = ruleset_->fd();
    }
  }
  // What the boot leaves unless the helper removes it: the guardian's list.
  launch.leftovers = ws_.leftovers();
  if (!own_tmpdir_.empty()) {
    launch.leftovers.push_back({own_tmpdir_, true});
  }
  launch.guardian_name = "uml-guardian";
  // One CPU for all of UML's processes, which hand control to each other through ptrace
  // thousands of times a second (see process/affinity.hpp and src/README.md).
  if (!options_.no_pin) {
    cpu_ = process::CpuClaim::any("uml-helper");
  }
  launch.cpu = cpu_.cpu().value_or(-1);
  return launch;
}

process::Supervisor start_uml(const process::LaunchSpec& launch, std::chrono::milliseconds timeout,
                              std::chrono::milliseconds grace) {
  try {
    return process::Supervisor(launch, timeout, grace);
  } catch (const process::StartError& e) {
    throw Error(e.what(), ExitCode::Skipped);
  }
}

}  // namespace uml
