#include "boot_file.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "error.hpp"
#include "process/files.hpp"
#include "text.hpp"

namespace uml {

namespace {

bool valid_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::optional<std::string> unescape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\\') {
      out += value[i];
      continue;
    }
    if (i + 1 == value.size()) {
      return std::nullopt;
    }
    const char next = value[++i];
    if (next == 'n') {
      out += '\n';
    } else if (next == 'r') {
      out += '\r';  // a line's own trailing \r is dropped (split_lines), an escaped one kept
    } else if (next == '\\') {
      out += '\\';
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<bool> parse_bool(std::string_view value) {
  for (const auto* yes : {"1", "true", "on", "yes", "TRUE", "ON", "YES"}) {
    if (value == yes) {
      return true;
    }
  }
  for (const auto* no : {"0", "false", "off", "no", "FALSE", "OFF", "NO", ""}) {
    if (value == no) {
      return false;
    }
  }
  return std::nullopt;
}

}  // namespace

std::vector<BootEntry> parse_boot_file(std::string_view text, std::string_view file_name) {
  std::vector<BootEntry> entries;
  std::size_t number = 0;
  for (const auto raw : split_lines(text)) {
    ++number;
    const auto line = trim(raw);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const auto eq = line.find('=');
    const auto key = line.substr(0, eq);
    if (eq == std::string_view::npos || !valid_key(key)) {
      throw Error(
          fmt::format("{}:{}: expected key=value (an option name such as kernel or module), "
                      "got {:?}",
                      file_name, number, std::string(line)));
    }
    // The value is kept as written after '=': only the line's end was trimmed.
    auto value = unescape(raw.substr(raw.find('=') + 1));
    if (!value) {
      throw Error(
          fmt::format("{}:{}: bad escape in the value of {} (only \\n, \\r and \\\\ are allowed)",
                      file_name, number, std::string(key)));
    }
    entries.push_back({std::string(key), std::move(*value), number});
  }
  return entries;
}

std::vector<std::string> expand_boot_files(const std::vector<std::string>& args,
                                           const OptionLookup& options) {
  if (args.empty() || args.front().starts_with('-')) {
    return args;
  }
  const std::string subcommand = args.front();
  // The command line's own options, and whether it gives a command of its own.
  std::vector<std::string> rest;
  std::vector<std::string> files;
  std::vector<std::string> given;  // option names the command line has
  bool own_command = false;
  // Only test's words after `--` are its command; debug's and attach's are gdb's.
  const bool dash_is_command = subcommand == "test";
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--") {
      own_command = own_command || dash_is_command;
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (arg == "--boot" && i + 1 < args.size()) {
      files.push_back(args[++i]);
      continue;
    }
    if (arg.starts_with("--boot=")) {
      files.push_back(arg.substr(7));
      continue;
    }
    if (arg == "--command" || arg.starts_with("--command=")) {
      own_command = true;
    }
    if (arg.starts_with("--")) {
      given.push_back(arg.substr(
          2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2));
    }
    rest.push_back(arg);
  }
  if (files.empty()) {
    return args;
  }

  std::vector<std::string> expanded{subcommand};
  std::vector<std::string> argv;
  // A description may include one more (`boot=FILE`: what the package generates with
  // generator expressions, the device models' paths); that one may not include again.
  std::vector<std::pair<std::string, bool>> queue;  // path, included
  for (const auto& file : files) {
    queue.emplace_back(file, false);
  }
  for (std::size_t index = 0; index < queue.size(); ++index) {
    const auto [file, included] = queue[index];
    const auto text = process::read_file(file);
    if (!text) {
      throw Error(
          fmt::format("--boot {}: cannot read the boot description ({}; was the project "
                      "configured and generated?)",
                      file, text.error()));
    }
    for (const auto& entry : parse_boot_file(*text, file)) {
      const auto where = fmt::format("{}:{}", file, entry.line);
      if (entry.key == "argv") {
        argv.push_back(entry.value);
        continue;
      }
      if (entry.key == "boot" && !included) {
        queue.emplace_back(entry.value, true);
        continue;
      }
      if (entry.key == "boot" || !options.known(entry.key)) {
        throw Error(fmt::format("{}: unknown key {:?}", where, entry.key));
      }
      const auto kind = options.kind(subcommand, entry.key);
      if (!kind) {
        continue;  // another subcommand's option (a test's timeout when booting it with run)
      }
      if (entry.key == "command" && own_command) {
        continue;
      }
      if (*kind == OptionKind::Value &&
          std::find(given.begin(), given.end(), entry.key) != given.end()) {
        continue;  // the command line's value wins
      }
      if (*kind == OptionKind::Flag) {
        const auto on = parse_bool(entry.value);
        if (!on) {
          throw Error(fmt::format("{}: {} takes 1 or 0, not {:?}", where, entry.key, entry.value));
        }
        if (*on) {
          expanded.push_back("--" + entry.key);
        }
      } else {
        // One argument, so a value that starts with '-' is still the value.
        expanded.push_back(fmt::format("--{}={}", entry.key, entry.value));
      }
    }
  }
  const bool add_argv = !argv.empty() && !own_command && options.kind(subcommand, "command");
  if (add_argv && !dash_is_command) {
    // debug: the test's command, quoted for sh -c as test quotes it.
    expanded.push_back("--command=" + shell_join(argv));
  }
  expanded.insert(expanded.end(), rest.begin(), rest.end());
  if (add_argv && dash_is_command) {
    expanded.push_back("--");
    expanded.insert(expanded.end(), argv.begin(), argv.end());
  }
  return expanded;
}

std::vector<std::string> read_module_list(const std::string& path) {
  const auto text = process::read_file(path);
  if (!text) {
    throw Error(fmt::format("--modules-from {}: cannot read it ({}; is the module built?)", path,
                            text.error()));
  }
  std::vector<std::string> names;
  for (const auto raw : split_lines(*text)) {
    auto line = trim(raw);
    if (line.empty()) {
      continue;
    }
    if (const auto slash = line.rfind('/'); slash != std::string_view::npos) {
      line.remove_prefix(slash + 1);
    }
    for (const std::string_view suffix : {".ko", ".o"}) {
      if (line.ends_with(suffix)) {
        line.remove_suffix(suffix.size());
        break;
      }
    }
    const bool valid = !line.empty() && std::all_of(line.begin(), line.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    });
    if (!valid) {
      throw Error(fmt::format("--modules-from {}: {:?} is not a module", path, std::string(raw)));
    }
    names.emplace_back(line);
  }
  return names;
}

}  // namespace uml
