#pragma once

#include <stdexcept>
#include <string>

namespace uml::device {

// The peer (UML, driven by the guest) broke the vhost-user or virtio protocol: a
// malformed message, a descriptor outside guest memory, a ring index that ran ahead.
// The guest is not trusted, so this is an expected outcome, not a crash: run_model()
// reports it and exits with kExitProtocolError.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The model itself cannot go on: a bad command line or data file, a socket that cannot
// be made. run_model() exits with kExitModelError.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Exit codes of a model process (run_model()); uml-helper names them in its verdict.
inline constexpr int kExitDisconnected = 0;   // UML closed the socket: the boot ended
inline constexpr int kExitModelError = 1;     // the model's own failure (ModelError, ...)
inline constexpr int kExitUsage = 2;          // bad command line
inline constexpr int kExitProtocolError = 3;  // the peer broke the protocol

}  // namespace uml::device
