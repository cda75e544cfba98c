// A device model that goes wrong on purpose, for the reliability rows (rows_devices.py).
// A PCI device (the kernel's virtio id) that misbehaves as its --mode says:
//   serve       a plain PCI device (the control row)
//   exit-early  exits 1 before listening
//   never-listen  never opens its socket
//   crash       serves the handshake, then dies of SIGSEGV at the guest's first command
//   hang        serves the handshake, then stops answering (the guest's reads time out)
//   garbage     answers the first request with garbage bytes, then waits for the end
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "uml/device/error.hpp"
#include "uml/device/model.hpp"
#include "uml/device/pci.hpp"

namespace {

using namespace uml::device;

class Hostile : public PciDevice {
 public:
  Hostile(std::string mode) : PciDevice({0x1234, 0xbad0, 0xff0000}), mode_(std::move(mode)) {
    set_bar(0, 4096, nullptr, nullptr);
  }
  void queue_kicked(Backend& backend, unsigned queue) override {
    if (mode_ == "crash") {
      std::fprintf(stderr, "hostile model: crashing now, as asked\n");
      std::fflush(stderr);
      ::raise(SIGSEGV);
    }
    if (mode_ == "hang") {
      std::fprintf(stderr, "hostile model: hanging now, as asked\n");
      std::fflush(stderr);
      for (;;)
        ::pause();
    }
    PciDevice::queue_kicked(backend, queue);
  }

 private:
  std::string mode_;
};

std::string mode_of(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--mode") == 0)
      return argv[i + 1];
  }
  return "serve";
}

std::string socket_of(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--socket") == 0)
      return argv[i + 1];
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = mode_of(argc, argv);
  if (mode == "exit-early") {
    std::fprintf(stderr, "hostile model: exiting before listening, as asked\n");
    return 1;
  }
  if (mode == "never-listen") {
    for (;;)
      ::pause();
  }
  if (mode == "garbage") {
    const int connection = accept_one(socket_of(argc, argv));
    char buffer[4096];
    if (::read(connection, buffer, sizeof buffer) > 0) {
      std::memset(buffer, 0xa5, sizeof buffer);
      [[maybe_unused]] auto n = ::send(connection, buffer, 64, MSG_NOSIGNAL);
    }
    while (::read(connection, buffer, sizeof buffer) > 0) {
    }
    return 0;
  }
  return run_model(argc, argv, [&](const ModelCommandLine&) { return std::make_unique<Hostile>(mode); });
}
