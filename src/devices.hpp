#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "process/guardian.hpp"

namespace uml {

// A device model a boot starts: --device NAME:VIRTIO_ID:PROGRAM and its
// --device-arg NAME:ARG words.
struct DeviceOption {
  std::string name;  // [A-Za-z0-9_-], at most 32 characters
  std::uint32_t virtio_id = 0;
  std::filesystem::path program;
  std::vector<std::string> args;
};

// Parses the --device and --device-arg values; throws Error (exit 2) for a malformed
// one, a duplicate name, an argument for no device, or a program that is not executable.
std::vector<DeviceOption> parse_devices(const std::vector<std::string>& devices,
                                        const std::vector<std::string>& device_args);

// What a model's exit status means (device/include/uml/device/error.hpp).
std::string describe_model_exit(std::optional<int> exit_status, std::optional<int> signal);

// The device models of one boot, as the helper supervises UML: each started before UML in
// a session of its own (dies with the helper; the guardian kills it should the helper be
// SIGKILLed), its stdout and stderr in a log file, its socket in the boot's uml_dir (UML's
// Landlock rules reach exactly that directory); stopped after UML, and nothing of them
// left: no process, socket or log file.
class DeviceModels {
 public:
  DeviceModels(std::vector<DeviceOption> devices, const std::filesystem::path& socket_dir,
               const std::string& prefix, process::Guardian& guardian);
  ~DeviceModels();
  DeviceModels(const DeviceModels&) = delete;
  DeviceModels& operator=(const DeviceModels&) = delete;

  bool empty() const { return models_.empty(); }

  // Starts every model and waits until each listens on its socket. Throws Error with
  // ExitCode::DeviceFailed naming the model when one exits first or does not open its
  // socket within `timeout`; the models already started are stopped.
  void start(std::chrono::milliseconds timeout);

  // UML's arguments: virtio_uml.device=<socket>:<virtio id>, one per model.
  std::vector<std::string> kernel_arguments() const;

  // One pidfd per running model: readable once it ends (LaunchSpec::watch_fds).
  std::vector<int> exit_fds() const;

  // The model whose pidfd `fd` fired ended while UML ran: reaps it. Returns why that fails
  // the boot (it crashed, or exited non-zero), or nothing (it exited 0: UML closed its
  // socket).
  std::optional<std::string> ended_early(int fd);

  // After UML ended: each model has `grace` to end on its own (its socket closed), then is
  // stopped (SIGTERM, then SIGKILL). Returns the first failure: a model that exited
  // non-zero or by a signal, ended early with a failure, or had to be stopped.
  std::optional<std::string> stop(std::chrono::milliseconds grace = std::chrono::seconds(2));

  // Every model's output, each line prefixed "[device NAME] " (for the console log and,
  // on failure, the terminal), then removes the logs.
  std::string take_logs();

 private:
  struct Model {
    DeviceOption option;
    std::filesystem::path socket;
    std::filesystem::path log;
    pid_t pid = -1;
    int pidfd = -1;
    bool reaped = false;
    bool stopped = false;  // needed a signal from the helper
    std::optional<int> exit_status;
    std::optional<int> signal;
    std::optional<std::string> failure;
  };

  void reap(Model& model, bool wait);
  void kill(Model& model);
  std::string log_tail(const Model& model) const;

  std::vector<Model> models_;
  process::Guardian& guardian_;
};

}  // namespace uml
