#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace uml {

// Options shared by `run` and `test`.
struct BootOptions {
  std::filesystem::path kernel;
  std::filesystem::path rootfs;
  std::vector<std::filesystem::path> disks;
  std::string mem = "128M";
  std::optional<std::filesystem::path> hostfs;
  std::vector<std::string> append;
  std::vector<std::string> env;
  std::vector<std::string> modules;
  std::optional<std::filesystem::path> work_dir;
  bool time_travel = false;
  bool keep_cow = false;
  bool verbose = false;
};

struct RunOptions : BootOptions {
  std::optional<std::filesystem::path> persist;
};

struct TestOptions : BootOptions {
  std::string command = "true";
  std::string name = "uml-test";
  std::optional<std::filesystem::path> log;
  std::optional<std::filesystem::path> junit;
  double timeout = 0;  // seconds, 0: none
  double grace = 5;    // seconds from SIGTERM to SIGKILL
  bool kunit = false;
  bool fail_on_warn = false;
  std::size_t tail = 60;
};

struct DoctorOptions {
  std::optional<std::filesystem::path> kernel;
  std::string mem = "128M";
  std::optional<std::filesystem::path> work_dir;
  bool time_travel = false;
};

// Each returns the process's exit status (an ExitCode, or the guest's status for run).
int run_test(const TestOptions& options);
int run_interactive(const RunOptions& options);
int run_doctor(const DoctorOptions& options);

}  // namespace uml
