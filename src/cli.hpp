#pragma once

namespace uml {

// Parses the command line (CLI11) and runs the chosen subcommand; returns the exit status.
int cli_main(int argc, char** argv);

}  // namespace uml
