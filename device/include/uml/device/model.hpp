#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "uml/device/vhost_user.hpp"

namespace uml::device {

// A model's command line: `<model> --socket PATH [model arguments...]`, as uml-helper
// starts it. The arguments after the socket are the model's own (CMake's
// uml_add_device(... ARGS ...)).
struct ModelCommandLine {
  std::string socket;
  std::vector<std::string> arguments;
};

// Builds the device from the model's own arguments; throws ModelError for bad ones.
using DeviceFactory = std::function<std::unique_ptr<VirtioDevice>(const ModelCommandLine&)>;

// A model's main(): parses the command line, builds the device, listens on the socket,
// serves the one connection UML makes, and returns the exit code (see error.hpp:
// 0 when UML closed the connection, 1 the model's own error, 2 usage, 3 the peer broke
// the protocol), each failure explained on stderr as "<model>: error: ...".
int run_model(int argc, char** argv, const DeviceFactory& make_device);

}  // namespace uml::device
