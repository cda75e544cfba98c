#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace uml {

// The subcommands' options, as the command line (cli.cpp) fills them.

// Options shared by `run`, `test` and `debug`.
struct BootOptions {
  std::filesystem::path kernel;
  std::filesystem::path rootfs;
  std::vector<std::filesystem::path> disks;
  std::string mem = "128M";
  std::optional<std::filesystem::path> hostfs;
  std::vector<std::string> append;
  std::vector<std::string> env;
  std::vector<std::string> modules;
  std::vector<std::string> module_lists;  // files of module names (--modules-from)
  std::optional<std::filesystem::path> work_dir;
  bool time_travel = false;
  bool keep_cow = false;
  bool verbose = false;
  bool no_confine = false;  // run/test: UML without the Landlock ruleset
  bool no_pin = false;      // run/test: UML's processes on any CPU (affinity.hpp)
  // test: gcov data of the --module-dir objects goes here (coverage.hpp); the boot gets
  // a raw disk for init to write it to
  std::optional<std::filesystem::path> coverage_dir;
  // Device models (devices.hpp): --device NAME:VIRTIO_ID:PROGRAM, --device-arg NAME:ARG
  std::vector<std::string> devices;
  std::vector<std::string> device_args;
  double device_timeout = 10;  // seconds a model has to open its socket
};

struct RunOptions : BootOptions {
  std::optional<std::filesystem::path> persist;
};

struct TestOptions : BootOptions {
  std::string command = "true";
  std::string name = "uml-test";
  std::optional<std::filesystem::path> log;
  std::optional<std::filesystem::path> junit;
  // seconds, 0: none; a batch boot ends by default (a hung guest must not hang CI)
  double timeout = 600;
  double grace = 5;  // seconds from SIGTERM to SIGKILL
  bool kunit = false;
  bool fail_on_warn = false;
  std::optional<std::filesystem::path> kunit_list;  // where the listed cases go
  std::size_t tail = 60;
  // --expect-finding: kinds of kernel findings (console.hpp's finding_kinds()) the test
  // expects; it passes only when the kernel reported each of them.
  std::vector<std::string> expect_findings;
  bool unload_check = true;  // init removes the test's modules after the command
  // --module-dir: directories with the project's .ko files (debug info), for decode.hpp
  // and the objects whose gcov data --coverage-dir keeps
  std::vector<std::string> module_dirs;
};

struct DebugOptions : BootOptions {
  std::optional<std::string> command;  // a guest command, then poweroff; else a shell
  std::optional<std::filesystem::path> gdb;
  std::optional<std::filesystem::path> gdb_script;
  std::vector<std::filesystem::path> module_dirs;
  std::vector<std::string> gdb_args;  // after --
};

struct AttachOptions {
  std::filesystem::path work_dir;
  std::optional<std::filesystem::path> kernel;  // default: the one recorded by run
  std::optional<std::filesystem::path> gdb;
  std::optional<std::filesystem::path> gdb_script;
  std::vector<std::filesystem::path> module_dirs;
  std::vector<std::string> gdb_args;
  bool verbose = false;
};

struct DoctorOptions {
  std::optional<std::filesystem::path> kernel;
  std::string mem = "128M";
  std::optional<std::filesystem::path> work_dir;
  bool time_travel = false;
};

}  // namespace uml
