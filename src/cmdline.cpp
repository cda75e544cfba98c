#include "cmdline.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "console.hpp"
#include "error.hpp"
#include "lpj.hpp"
#include "text.hpp"

namespace uml {

namespace {

// UML's ubd driver: MAX_DEV (arch/um/drivers/ubd_kern.c).
constexpr std::size_t max_ubd_disks = 16;

bool is_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool has_space(std::string_view text) {
  return text.find_first_of(" \t\n\r") != std::string_view::npos;
}

std::string encode_env(const std::vector<std::string>& env) {
  std::string lines;
  for (const auto& entry : env) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos || !is_env_name(std::string_view(entry).substr(0, eq))) {
      throw Error(
          fmt::format("--env {:?}: expected KEY=VALUE with KEY made of letters, digits "
                      "and '_'",
                      entry));
    }
    if (entry.find('\n') != std::string::npos) {
      throw Error(fmt::format("--env {}: values cannot contain a newline", entry.substr(0, eq)));
    }
    lines += entry;
    lines += '\n';
  }
  return base64_encode(lines);
}

void check_modules(const std::vector<std::string>& modules) {
  for (const auto& name : modules) {
    if (name.empty() || name.find_first_of(", \t\n/") != std::string::npos) {
      throw Error(
          fmt::format("--module {:?}: expected a module name (no commas, slashes or "
                      "spaces), as modprobe takes it",
                      name));
    }
  }
}

// Init splits UML_EXPECT at commas and matches each name: only the known ones.
void check_expect(const std::vector<std::string>& kinds) {
  for (const auto& kind : kinds) {
    if (!is_finding_kind(kind)) {
      throw Error(fmt::format("--expect-finding {:?}: not a kind of kernel finding (known: {})",
                              kind, fmt::join(finding_kinds(), ", ")));
    }
  }
}

void check_append(const std::vector<std::string>& append) {
  for (const auto& arg : append) {
    // The kernel splits its command line at spaces outside double quotes.
    if (arg.empty() || (has_space(arg) && arg.find('"') == std::string::npos)) {
      throw Error(
          fmt::format("--append {:?}: a kernel argument cannot be empty or contain "
                      "spaces (quote the value: name=\"a b\"; for the guest command "
                      "use --env)",
                      arg));
    }
  }
}

}  // namespace

std::size_t command_line_length(const std::vector<std::string>& args) {
  std::size_t length = default_console_arg.size() + 1;  // the NUL
  for (const auto& arg : args) {
    length += arg.size() + 1;  // the separating space
  }
  return length;
}

std::vector<std::string> kernel_arguments(const BootSpec& spec) {
  if (spec.disks.empty()) {
    throw Error("no root filesystem image (--rootfs)");
  }
  check_modules(spec.modules);
  check_append(spec.append);
  check_expect(spec.expect);

  std::vector<std::string> args;
  for (std::size_t i = 0; i < spec.disks.size(); ++i) {
    const auto& disk = spec.disks[i];
    for (const auto& path : {disk.cow.string(), disk.base.string()}) {
      // ubd's own syntax splits at commas; the kernel's at spaces.
      if (path.find_first_of(", \t\n\"") != std::string::npos) {
        throw Error(
            fmt::format("disk path {:?} contains a comma, quote or space, which UML's "
                        "ubd option cannot carry",
                        path));
      }
    }
    args.push_back(fmt::format("ubd{}={},{}", i, disk.cow.string(), disk.base.string()));
  }
  std::string coverage_device;
  if (spec.coverage_disk && spec.mode == Mode::Test) {
    const auto index = spec.disks.size();
    if (index >= max_ubd_disks) {
      throw Error(
          fmt::format("coverage needs a disk of its own, and UML has at most {} (ubd0 to "
                      "ubd{}): give fewer --disk images",
                      max_ubd_disks, max_ubd_disks - 1));
    }
    const auto path = spec.coverage_disk->string();
    if (path.find_first_of(", \t\n\"") != std::string::npos) {
      throw Error(fmt::format("coverage disk path {:?} contains a comma, quote or space", path));
    }
    args.push_back(fmt::format("ubd{}={}", index, path));
    coverage_device = fmt::format("ubd{}", static_cast<char>('a' + index));
  }
  args.insert(args.end(), {"root=/dev/ubda", "rw", "init=/.uml/init", "mem=" + spec.mem});
  if (spec.lpj && !sets_lpj(spec.append)) {
    args.push_back(fmt::format("lpj={}", *spec.lpj));
  }
  // con=null ssl=null first: an unset console channel would open an xterm.
  args.insert(args.end(), {"con=null", "ssl=null"});
  args.push_back(spec.mode == Mode::Test ? "con0=null,fd:1" : "con0=fd:0,fd:1");
  if (spec.mode != Mode::Test) {
    args.push_back("quiet");  // the shell's prompt, or the commands' output, is what counts
  }
  args.push_back("umid=" + spec.umid);
  args.push_back("uml_dir=" + spec.uml_dir.string());
  if (spec.hostfs) {
    if (has_space(spec.hostfs->string()) || spec.hostfs->string().find(',') != std::string::npos) {
      throw Error(fmt::format("--hostfs {}: the path cannot contain spaces or commas",
                              spec.hostfs->string()));
    }
    args.push_back("hostfs=" + spec.hostfs->string());
  } else if (spec.close_hostfs) {
    // hostfs mounts <hostfs=>/<option>; without hostfs= that is any host path. Below
    // /dev/null, a character device, every path (".." and absolute ones too) fails
    // with ENOTDIR on the host: no hostfs mount can succeed at all.
    args.push_back(std::string("hostfs=") + std::string(no_hostfs_root));
  }
  if (spec.time_travel) {
    args.push_back("time-travel");
  }
  args.insert(args.end(), spec.device_arguments.begin(), spec.device_arguments.end());
  if (spec.kunit) {
    args.push_back("kunit.enable=1");
  }
  // Unknown KEY=VALUE arguments reach init as environment variables (names without dots).
  args.push_back(spec.mode == Mode::Test  ? "UML_MODE=test"
                 : spec.mode == Mode::Run ? "UML_MODE=run"
                                          : "UML_MODE=script");
  args.push_back("UML_NONCE=" + spec.nonce);
  if (!spec.modules.empty()) {
    std::string joined;
    for (const auto& name : spec.modules) {
      joined += (joined.empty() ? "" : ",") + name;
    }
    args.push_back("UML_MODULES=" + joined);
  }
  if (spec.mode == Mode::Test) {
    args.push_back("UML_CMD=" + base64_encode(spec.command));
    if (!spec.expect.empty()) {
      std::string joined;
      for (const auto& kind : spec.expect) {
        joined += (joined.empty() ? "" : ",") + kind;
      }
      args.push_back("UML_EXPECT=" + joined);
    }
    if (spec.unload_check && !spec.modules.empty()) {
      args.push_back("UML_UNLOAD=1");
    }
    if (!coverage_device.empty()) {
      args.push_back("UML_COVERAGE=" + coverage_device);
    }
  }
  if (!spec.env.empty()) {
    args.push_back("UML_ENV=" + encode_env(spec.env));
  }
  if (spec.hostfs) {
    args.push_back("UML_HOSTFS=1");
  }
  args.insert(args.end(), spec.append.begin(), spec.append.end());

  const auto length = command_line_length(args);
  if (length > command_line_size) {
    throw Error(
        fmt::format("the kernel command line would be {} bytes, more than UML's limit of "
                    "{} (COMMAND_LINE_SIZE); shorten the command, --env values or paths "
                    "(the command and --env travel base64-encoded)",
                    length, command_line_size));
  }
  return args;
}

std::string command_line_text(const std::filesystem::path& kernel,
                              const std::vector<std::string>& args) {
  std::vector<std::string> argv{kernel.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return shell_join(argv);
}

}  // namespace uml
