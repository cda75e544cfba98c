#include "debug.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

#include "error.hpp"
#include "preflight.hpp"
#include "process/files.hpp"
#include "process/foreground.hpp"
#include "process/terminal.hpp"
#include "text.hpp"

namespace uml {

namespace fs = std::filesystem;

namespace {

// The arguments every gdb of the helper starts with.
std::vector<std::string> common_arguments(const GdbSetup& setup) {
  std::vector<std::string> args{"-q", "-x", setup.script.string()};
  if (!setup.module_dirs.empty()) {
    std::string command = "uml-module-path";
    for (const auto& dir : setup.module_dirs) {
      // Appended piecewise: `" " + std::string` trips g++ 12's -Wrestrict false positive at -O3.
      command += ' ';
      command += gdb_quote(fs::absolute(dir).string());
    }
    args.insert(args.end(), {"-ex", command});
  }
  return args;
}

}  // namespace

std::string gdb_quote(std::string_view word) {
  const bool plain = !word.empty() && word.find_first_of(" \t\n\"'\\") == std::string_view::npos;
  if (plain) {
    return std::string(word);
  }
  std::string quoted = "\"";
  for (const char c : word) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
    }
    quoted += c;
  }
  return quoted + "\"";
}

std::vector<std::string> gdb_debug_arguments(const GdbSetup& setup, const fs::path& kernel,
                                             const std::vector<std::string>& kernel_args) {
  auto args = common_arguments(setup);
  args.insert(args.end(), setup.user_args.begin(), setup.user_args.end());
  args.push_back("--args");
  args.push_back(kernel.string());
  args.insert(args.end(), kernel_args.begin(), kernel_args.end());
  return args;
}

std::vector<std::string> gdb_attach_arguments(const GdbSetup& setup, const fs::path& kernel,
                                              pid_t pid) {
  auto args = common_arguments(setup);
  // Explicit, before the user's commands: the modules loaded before gdb came.
  args.insert(args.end(), {"-ex", "uml-load-modules"});
  args.insert(args.end(), setup.user_args.begin(), setup.user_args.end());
  args.insert(args.end(), {"-p", std::to_string(pid), kernel.string()});
  return args;
}

fs::path find_gdb(const std::optional<fs::path>& given, const char* path_variable) {
  if (given) {
    if (!process::is_executable_file(*given)) {
      throw Error(fmt::format("--gdb {}: not an executable file", given->string()));
    }
    return fs::absolute(*given);
  }
  if (const auto found = process::find_on_path(
          "gdb", path_variable != nullptr ? path_variable : std::string_view())) {
    return fs::absolute(*found);
  }
  throw Error(
      "gdb was not found on PATH: install Debian's package 'gdb' (apt-get install gdb), or "
      "give its path with --gdb PATH");
}

fs::path find_gdb_script(const std::optional<fs::path>& given, const fs::path& helper_executable,
                         const fs::path& source_tree_script) {
  std::error_code ec;
  if (given) {
    if (!fs::is_regular_file(*given, ec)) {
      throw Error(fmt::format("--gdb-script {}: no such file", given->string()));
    }
    return fs::absolute(*given);
  }
  const auto installed = helper_executable.parent_path().parent_path() / "share" / "UserModeLinux" /
                         "templates" / "gdb" / "uml-gdb.py";
  for (const auto& candidate : {installed, source_tree_script}) {
    if (!candidate.empty() && fs::is_regular_file(candidate, ec)) {
      return candidate;
    }
  }
  throw Error(
      fmt::format("cannot find uml-gdb.py (looked for {} and {}); give it with --gdb-script "
                  "FILE (templates/gdb/uml-gdb.py of the UserModeLinux package)",
                  installed.string(), source_tree_script.string()));
}

std::string format_instance(const Instance& instance) {
  return fmt::format("pid={}\nkernel={}\numid={}\n", instance.pid, instance.kernel.string(),
                     instance.umid);
}

std::optional<Instance> parse_instance(std::string_view text) {
  Instance instance;
  bool has_pid = false;
  for (const auto line : split_lines(text)) {
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const auto key = line.substr(0, eq);
    const auto value = line.substr(eq + 1);
    if (key == "pid") {
      const auto [end, ec] =
          std::from_chars(value.data(), value.data() + value.size(), instance.pid);
      has_pid = ec == std::errc{} && end == value.data() + value.size() && instance.pid > 0;
    } else if (key == "kernel") {
      instance.kernel = std::string(value);
    } else if (key == "umid") {
      instance.umid = std::string(value);
    }
  }
  if (!has_pid || instance.kernel.empty()) {
    return std::nullopt;
  }
  return instance;
}

Instance running_instance(const fs::path& work_dir) {
  const auto file = work_dir / instance_file_name;
  const auto start_hint = fmt::format(
      "start one with the run target (cmake --build <build> --target <run target>) or "
      "'uml-helper run --work-dir {}', then attach",
      work_dir.string());
  const auto text = process::read_file(file);
  if (!text) {
    throw Error(fmt::format("no UML is running in {} ({}): {}", work_dir.string(), text.error(),
                            start_hint));
  }
  const auto instance = parse_instance(*text);
  if (!instance) {
    throw Error(fmt::format("{}: not an instance record (pid=..., kernel=...)", file.string()));
  }
  // The pid must still be that kernel: a stale record (a SIGKILLed helper) or a reused
  // pid must not send gdb to an unrelated process.
  std::error_code ec;
  auto exe = fs::read_symlink(fmt::format("/proc/{}/exe", instance->pid), ec).string();
  const bool alive = ::kill(instance->pid, 0) == 0 || errno == EPERM;
  constexpr std::string_view deleted = " (deleted)";
  const bool replaced = exe.ends_with(deleted);
  if (replaced) {
    exe.resize(exe.size() - deleted.size());
  }
  if (!alive || ec || exe != fs::weakly_canonical(instance->kernel, ec).string()) {
    throw Error(fmt::format("the UML recorded in {} (pid {}) is no longer running: {}",
                            file.string(), instance->pid, start_hint));
  }
  if (replaced) {
    throw Error(
        fmt::format("{} was rebuilt after the UML in {} (pid {}) started: its symbols "
                    "would not match; restart the guest, then attach",
                    instance->kernel.string(), work_dir.string(), instance->pid));
  }
  return *instance;
}

void InstanceRecord::write(const Instance& instance) {
  pid_ = instance.pid;
  [[maybe_unused]] const auto written =
      process::write_file_atomic(file_, format_instance(instance));
}

void InstanceRecord::remove() {
  if (pid_ == 0) {
    return;
  }
  if (const auto text = process::read_file(file_)) {
    if (const auto recorded = parse_instance(*text); recorded && recorded->pid == pid_) {
      std::error_code ec;
      fs::remove(file_, ec);
    }
  }
  pid_ = 0;
}

namespace {

fs::path helper_executable() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec);
}

}  // namespace

GdbSetup gdb_setup(const std::optional<fs::path>& script, const std::vector<fs::path>& module_dirs,
                   const std::vector<std::string>& user_args) {
  GdbSetup setup;
  setup.script = find_gdb_script(script, helper_executable(), UML_SOURCE_GDB_SCRIPT);
  for (const auto& dir : module_dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      throw Error(fmt::format("--module-dir {}: not a directory", dir.string()));
    }
    setup.module_dirs.push_back(fs::absolute(dir));
  }
  setup.user_args = user_args;
  return setup;
}

void warn_without_debug_info(const fs::path& kernel) {
  const auto config = read_kernel_config(kernel);
  if (config && config_value(config->text, "CONFIG_DEBUG_INFO") != "y") {
    fmt::print(stderr,
               "uml-helper: warning: {} was built without CONFIG_DEBUG_INFO (per {}): gdb "
               "will show no source lines, types or local variables. Add a fragment with "
               "CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y to the kernel "
               "(uml_add_kernel(... CONFIG_FRAGMENTS <file>)); the minimal configuration has "
               "it\n",
               kernel.string(), config->source);
  }
}

int run_gdb(const fs::path& gdb, const std::vector<std::string>& args,
            const std::optional<fs::path>& tmpdir, bool verbose) {
  if (verbose) {
    std::vector<std::string> argv{gdb.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    fmt::print(stderr, "uml-helper: {}\n", shell_join(argv));
  }
  ::setenv("SHELL", "/bin/sh", 1);
  process::ForegroundResult result;
  {
    process::TerminalGuard terminal;
    result = process::run_foreground(gdb, args, tmpdir);
  }
  if (result.leftovers > 0) {
    fmt::print(stderr,
               "uml-helper: gdb left {} process(es) running (a UML it detached from); "
               "stopped them\n",
               result.leftovers);
  }
  if (!result.survivors.empty()) {
    fmt::print(stderr, "uml-helper: warning: {} process(es) could not be killed\n",
               result.survivors.size());
  }
  return result.status;
}

}  // namespace uml
