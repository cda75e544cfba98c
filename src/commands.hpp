#pragma once

#include "options.hpp"

namespace uml {

// Each returns the process's exit status (an ExitCode, or the guest's status for run).
int run_test(const TestOptions& options);
int run_interactive(const RunOptions& options);
int run_doctor(const DoctorOptions& options);
// Each returns gdb's exit status.
int run_debug(const DebugOptions& options);
int run_attach(const AttachOptions& options);

}  // namespace uml
