#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace uml {

// What every gdb the helper starts gets: templates/gdb/uml-gdb.py and where the
// project's .ko files are.
struct GdbSetup {
  std::filesystem::path script;                    // uml-gdb.py
  std::vector<std::filesystem::path> module_dirs;  // for uml-module-path
  std::vector<std::string> user_args;              // gdb options given after --
};

// gdb's argv (without argv[0]) to start `kernel args...` under gdb:
// -q -x <script> [-ex 'uml-module-path ...'] <user args> --args <kernel> <args...>
std::vector<std::string> gdb_debug_arguments(const GdbSetup& setup,
                                             const std::filesystem::path& kernel,
                                             const std::vector<std::string>& kernel_args);

// gdb's argv to attach to a running UML: -q -x <script> [-ex 'uml-module-path ...']
// -ex uml-load-modules <user args> -p <pid> <kernel>
std::vector<std::string> gdb_attach_arguments(const GdbSetup& setup,
                                              const std::filesystem::path& kernel, pid_t pid);

// A word for gdb's own argument splitting (gdb.string_to_argv): double-quoted with
// backslashes before '"' and '\' when it holds anything but plain characters.
std::string gdb_quote(std::string_view word);

// `given`, else gdb on PATH. Throws Error naming Debian's gdb package when there is none.
std::filesystem::path find_gdb(const std::optional<std::filesystem::path>& given,
                               const char* path_variable);

// `given` (checked), else uml-gdb.py where the helper is installed
// (<prefix>/bin/uml-helper -> <prefix>/share/UserModeLinux/templates/gdb/uml-gdb.py),
// else the source tree's copy the helper was built from. Throws Error when none exists.
std::filesystem::path find_gdb_script(const std::optional<std::filesystem::path>& given,
                                      const std::filesystem::path& helper_executable,
                                      const std::filesystem::path& source_tree_script);

// A running `uml-helper run`, recorded in <work-dir>/instance for `uml-helper attach`.
struct Instance {
  pid_t pid = 0;
  std::filesystem::path kernel;
  std::string umid;
};

inline constexpr std::string_view instance_file_name = "instance";

// "pid=<pid>\nkernel=<path>\numid=<umid>\n"
std::string format_instance(const Instance& instance);
// std::nullopt when the text is not a complete instance record.
std::optional<Instance> parse_instance(std::string_view text);

// The instance recorded in `work_dir`, checked to be running that kernel. Throws Error
// saying how to start one when there is none.
Instance running_instance(const std::filesystem::path& work_dir);

// Records the running UML in <work-dir>/instance for `uml-helper attach` while it lives.
class InstanceRecord {
 public:
  explicit InstanceRecord(std::filesystem::path file) : file_(std::move(file)) {}
  ~InstanceRecord() { remove(); }
  InstanceRecord(const InstanceRecord&) = delete;
  InstanceRecord& operator=(const InstanceRecord&) = delete;

  // Written whole or not at all; a failure is ignored (attach then says no instance
  // runs; the boot itself is fine).
  void write(const Instance& instance);
  // Only our own record: another run in the same work dir may have replaced it.
  void remove();

 private:
  std::filesystem::path file_;
  pid_t pid_ = 0;
};

// The GdbSetup of the options: uml-gdb.py found (find_gdb_script), the --module-dir
// directories checked. Throws Error.
GdbSetup gdb_setup(const std::optional<std::filesystem::path>& script,
                   const std::vector<std::filesystem::path>& module_dirs,
                   const std::vector<std::string>& user_args);

// A warning when the kernel was built without CONFIG_DEBUG_INFO: gdb then knows
// functions but no source lines, types or locals.
void warn_without_debug_info(const std::filesystem::path& kernel);

// Runs gdb in the foreground on this terminal (process::run_foreground), its terminal
// modes restored afterwards, with SHELL=/bin/sh (gdb starts the kernel through $SHELL
// and quotes its arguments for a POSIX shell); reports what gdb left running. Returns
// gdb's exit status.
int run_gdb(const std::filesystem::path& gdb, const std::vector<std::string>& args,
            const std::optional<std::filesystem::path>& tmpdir, bool verbose);

}  // namespace uml
