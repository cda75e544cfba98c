#include "uml/device/model.hpp"

#include <signal.h>

#include <cstdio>
#include <exception>
#include <string_view>

#include "uml/device/error.hpp"

namespace uml::device {

namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

ModelCommandLine parse(int argc, char** argv) {
  ModelCommandLine line;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--socket") {
      if (i + 1 == argc)
        throw UsageError("--socket needs a path");
      line.socket = argv[++i];
    } else if (arg.starts_with("--socket=")) {
      line.socket = std::string(arg.substr(9));
    } else {
      line.arguments.emplace_back(arg);
    }
  }
  if (line.socket.empty())
    throw UsageError("--socket PATH is required (uml-helper passes it)");
  return line;
}

}  // namespace

int run_model(int argc, char** argv, const DeviceFactory& make_device) {
  const std::string name = argc > 0 ? argv[0] : "model";
  // UML may go away between a notification and the next: an error, not a signal.
  ::signal(SIGPIPE, SIG_IGN);
  try {
    const ModelCommandLine line = parse(argc, argv);
    std::unique_ptr<VirtioDevice> device = make_device(line);
    if (!device)
      throw ModelError("the model made no device");
    Backend backend(*device);
    backend.serve(accept_one(line.socket));
    return kExitDisconnected;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: error: %s\nusage: %s --socket PATH [model arguments]\n", name.c_str(),
                 e.what(), name.c_str());
    return kExitUsage;
  } catch (const ProtocolError& e) {
    std::fprintf(stderr, "%s: error: protocol: %s\n", name.c_str(), e.what());
    return kExitProtocolError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", name.c_str(), e.what());
    return kExitModelError;
  }
}

}  // namespace uml::device
