#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uml {

// A boot description (`uml-helper <command> --boot FILE`): the options of one boot,
// written by the CMake package at generate time, one per line:
//
//   # comment
//   kernel=/path/to/linux
//   module=hello
//   append=loglevel=8
//   time-travel=1
//
// A key is a long option of the subcommands without its dashes; the value runs to the
// end of the line, exactly as written (spaces, ';', brackets, an empty value), with
// "\n" for a newline, "\r" for a carriage return and "\\" for a backslash. A list
// option takes one line per value; a flag takes 1/0 (true/false, on/off, yes/no).
// `argv` lines are a test's command and its arguments (what follows `--`), one word
// each, passed on after `--` untouched by the option parser.
struct BootEntry {
  std::string key;
  std::string value;
  std::size_t line = 0;
};

// The entries of a description; throws Error naming the file and line of a malformed one.
std::vector<BootEntry> parse_boot_file(std::string_view text, std::string_view file_name);

enum class OptionKind { Flag, Value, List };

// What the command line parser knows of an option `--<name>`.
struct OptionLookup {
  // std::nullopt: the subcommand has no such option.
  std::function<std::optional<OptionKind>(std::string_view subcommand, std::string_view name)> kind;
  // Whether any subcommand has it (else the key is a mistake).
  std::function<bool(std::string_view name)> known;
};

// args (argv without argv[0], the subcommand first) with each `--boot FILE` replaced
// by the options the file holds, before the command line's own: a single-value option
// given on the command line replaces the file's, lists add up. Options the subcommand
// does not have are left out, so one description serves run, test and debug alike. A
// command given on the command line (`--command`, or `--` for test) replaces the
// description's; debug gets the `argv` words as `--command` (its `--` is gdb's). Throws Error
// for an unreadable or malformed file, or a key no subcommand knows.
std::vector<std::string> expand_boot_files(const std::vector<std::string>& args,
                                           const OptionLookup& options);

// Module names from a file in Kbuild's modules.order form (one .o or .ko path per line:
// 6.12 lists .o, 6.1 .ko) or a plain list of names, in order. Throws Error when it cannot
// be read or a line is not a module.
std::vector<std::string> read_module_list(const std::string& path);

}  // namespace uml
