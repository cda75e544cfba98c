#include "boot.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "boot_file.hpp"
#include "confine.hpp"
#include "coverage.hpp"
#include "cow.hpp"
#include "error.hpp"
#include "lpj.hpp"
#include "process/errors.hpp"
#include "process/files.hpp"
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

// The options, once --mem is known to be good: nothing is made before. More than the
// host's RAM is the caller's mistake (exit 2), not a host that cannot run UML.
const BootOptions& checked(const BootOptions& options) {
  const auto bytes = mem_bytes(options.mem);
  if (const auto meminfo = process::read_file("/proc/meminfo")) {
    if (const auto problem = mem_problem(bytes, *meminfo)) {
      throw Error(fmt::format("--mem {}: {}", options.mem, *problem));
    }
  }
  return options;
}

std::optional<process::Guardian> make_guardian() {
  try {
    return std::optional<process::Guardian>(std::in_place, std::vector<process::Leftover>{},
                                            "uml-guardian");
  } catch (const process::StartError& e) {
    throw Error(e.what(), ExitCode::Skipped);
  }
}

// A fresh directory (mode 0700) named after `pattern`, its trailing XXXXXX made random.
// With a guardian, announced to it before it is made, as Guardian::add asks, so that a
// SIGKILL at any moment leaves nothing; a name already taken is then an error rather
// than another try, since the guardian would remove that directory should the helper
// die. Throws Error with `code`.
fs::path make_private_dir(const std::string& pattern, process::Guardian* guardian,
                          std::string_view what, ExitCode code = ExitCode::Skipped) {
  std::string path = pattern;
  if (guardian == nullptr) {
    if (::mkdtemp(path.data()) == nullptr) {
      throw Error(fmt::format("cannot create {} ({}): {}", what, pattern, std::strerror(errno)),
                  code);
    }
    return path;
  }
  constexpr std::string_view placeholder = "XXXXXX";
  if (!path.ends_with(placeholder)) {
    throw Error(fmt::format("internal error: {} has no {} to replace", pattern, placeholder));
  }
  path.replace(path.size() - placeholder.size(), placeholder.size(),
               random_hex(placeholder.size()));
  guardian->add({{path, true}});
  if (::mkdir(path.c_str(), 0700) != 0) {
    throw Error(fmt::format("cannot create {} ({}): {}", what, path, std::strerror(errno)), code);
  }
  return path;
}

// UML's RLIMIT_FSIZE is the largest file it writes (its guest RAM or a COW file) plus
// this, so a guest's writes through hostfs cannot fill the host's disk or RAM with one
// file.
constexpr std::uint64_t file_size_margin = 64ULL << 20;

}  // namespace

std::uint64_t mem_bytes(const std::string& mem) {
  const auto bytes = parse_size(mem);
  if (!bytes) {
    throw Error(fmt::format("--mem {:?}: expected a size such as 128M, 1G or 65536K", mem));
  }
  return *bytes;
}

// --- the workspace -----------------------------------------------------------------------

Workspace::Workspace(const BootOptions& options, const std::optional<fs::path>& persist,
                     process::Guardian* guardian)
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
    dir_ = make_private_dir("/tmp/uml-helper-XXXXXX", guardian, "a work directory in /tmp",
                            ExitCode::Error);
    owns_dir_ = true;
  }
  umid_ = fmt::format("uh{}-{}", ::getpid(), random_hex(4));
  // Device models' sockets live there too, as <umid>-<name>.sock (bound first as
  // <...>.sock.l): a longer name than UML's own sockets makes the choice.
  std::size_t extra = 0;
  for (const auto& device : options.devices) {
    const auto name = std::min(device.find(':'), device.size());
    const auto socket = 1 + name + std::string_view(".sock.l").size();
    if (socket > 1 + longest_socket_name.size()) {
      extra = std::max(extra, socket - 1 - longest_socket_name.size());
    }
  }
  const auto choice = choose_uml_dir(dir_, umid_.size() + extra);
  uml_dir_fallback_ = choice.fallback;
  if (choice.fallback) {
    // A fresh private directory: a shared, predictable one could be another user's.
    uml_dir_ = make_private_dir(choice.dir.string(), guardian, "a directory for UML's sockets");
  } else {
    uml_dir_ = choice.dir;
    std::error_code ec;
    if (fs::create_directory(uml_dir_, ec) && guardian != nullptr) {
      guardian->add({{uml_dir_ / umid_, true}, {uml_dir_, false}});
    }
    // Private whatever the umask: UML's control socket lives there.
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
  if (options.coverage_dir) {
    coverage_disk_ = dir_ / fmt::format("{}-coverage.img", umid_);
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
  // The fallback is this boot's own directory; <work>/u is shared by the boots of a
  // work dir: only when empty.
  paths.push_back({uml_dir_, uml_dir_fallback_});
  if (!keep_cow_) {
    for (const auto& cow : temporary_cows_) {
      paths.push_back({cow, true});
    }
  }
  if (coverage_disk_) {
    paths.push_back({*coverage_disk_, true});
  }
  if (owns_dir_ && !keep_dir && !keep_cow_) {
    paths.push_back({dir_, true});
  }
  return paths;
}

// --- the boot ----------------------------------------------------------------------------

Boot::Boot(const BootOptions& options, const std::optional<fs::path>& persist)
    : options_(checked(options)), guardian_(make_guardian()), ws_(options, persist, &*guardian_) {
  devices_.emplace(parse_devices(options.devices, options.device_args), ws_.uml_dir(), ws_.umid(),
                   *guardian_);
}

void Boot::start_devices() {
  devices_->start(
      std::chrono::milliseconds(static_cast<long long>(options_.device_timeout * 1000)));
}

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
  // The helper makes the COW files sparse; the guest's writes fill them up to the size
  // of their images.
  for (const auto& disk : ws_.disks()) {
    std::error_code ec;
    if (fs::exists(disk.cow, ec)) {
      continue;
    }
    const auto dir = disk.cow.parent_path();
    const auto bytes = cow_file_size(fs::file_size(disk.base, ec));
    const auto same = std::find_if(input.cow_dirs.begin(), input.cow_dirs.end(),
                                   [&](const auto& entry) { return entry.first == dir; });
    if (same != input.cow_dirs.end()) {
      same->second += bytes;
    } else {
      input.cow_dirs.emplace_back(dir, bytes);
    }
  }
  report_ = preflight(input);

  // A kernel that lacks what was asked for, or is none, is the caller's error (exit 2),
  // not the host's: it must not pass for a skip.
  for (const auto& finding : report_.findings) {
    if (finding.severity == Severity::Fatal &&
        (finding.topic == "time-travel" || finding.caller_error)) {
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
  // --no-confine is for a guest that mounts host paths of its own choosing.
  spec.close_hostfs = !options_.no_confine;
  spec.append = options_.append;
  spec.env = options_.env;
  spec.modules = options_.modules;
  for (const auto& list : options_.module_lists) {
    const auto names = read_module_list(list);
    spec.modules.insert(spec.modules.end(), names.begin(), names.end());
  }
  spec.coverage_disk = ws_.coverage_disk();
  spec.device_arguments = devices_->kernel_arguments();
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
  launch.guardian = &*guardian_;
  // The helper makes the COW files, so that UML only opens them: Landlock then grants
  // exactly these files and no directory a create right (hostfs could fill it).
  std::uint64_t largest = mem_bytes(options_.mem);
  guardian_->add(ws_.leftovers());  // a temporary COW is removed from its first byte on
  for (const auto& disk : ws_.disks()) {
    create_cow_file(disk.cow, disk.base);
    std::error_code ec;
    largest = std::max<std::uint64_t>(largest, fs::file_size(disk.cow, ec));
  }
  if (const auto& disk = ws_.coverage_disk()) {
    create_data_disk(*disk, coverage_disk_size);
    largest = std::max<std::uint64_t>(largest, coverage_disk_size);
  }
  launch.max_file_size = largest + file_size_margin;
  // UML adds the gap between its end and the randomized start of its heap to the guest
  // RAM ("exec-shield gap", measured up to ~700 MB here; at most 1 GiB on x86-64): the
  // guest would have that much more host RAM than --mem. Without randomization it is 0.
  launch.fixed_layout = true;
  launch.randomized_file_slack = 1ULL << 30;
  launch.max_processes = max_uml_processes;
  // Confined with Landlock to what the boot needs, so hostfs (which runs in UML with the
  // user's rights) cannot reach other host paths. The guest RAM file goes to a private
  // directory inside the chosen RAM directory.
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
      input.uml_dir = ws_.uml_dir();
      for (const auto& disk : ws_.disks()) {
        input.images.push_back(disk.base);
        input.cows.push_back(disk.cow);
      }
      if (const auto& disk = ws_.coverage_disk()) {
        input.cows.push_back(*disk);  // read and write, exactly that file
      }
      if (report_.ram_dir) {
        own_tmpdir_ = make_private_dir((*report_.ram_dir / "uml-helper-XXXXXX").string(),
                                       &*guardian_, "a directory for the guest RAM");
        launch.tmpdir = own_tmpdir_;
        input.ram_dir = own_tmpdir_;
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
  launch.watch_fds = devices_->exit_fds();
  // One CPU for all of UML's processes, which hand control to each other through ptrace
  // thousands of times a second (see process/affinity.hpp and src/README.md).
  if (!options_.no_pin) {
    cpu_ = process::CpuClaim::any("uml-helper");
  }
  launch.cpu = cpu_.cpu().value_or(-1);
  return launch;
}

std::optional<std::string> process_cap_message(const process::RunFacts& facts) {
  if (!facts.too_many_processes) {
    return std::nullopt;
  }
  return fmt::format(
      "the guest made more than {} host processes (UML runs each guest process as one; a "
      "fork bomb?), so UML was stopped",
      max_uml_processes);
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
