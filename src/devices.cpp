#include "devices.hpp"

#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <fstream>
#include <thread>

#include <boost/process.hpp>
#include <fmt/format.h>

#include "error.hpp"
#include "outcome.hpp"
#include "process/files.hpp"
#include "process/proc_table.hpp"
#include "process/spawn.hpp"

namespace uml {

namespace fs = std::filesystem;
namespace bp = boost::process;
using Clock = std::chrono::steady_clock;

namespace {

// A model's log file at most (RLIMIT_FSIZE), and how much of its end the test's log gets.
constexpr std::uint64_t max_model_log = 16ULL << 20;
constexpr std::size_t max_model_log_shown = 256 * 1024;

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// Lines of text, the last `count` of them.
std::string last_lines(const std::string& text, std::size_t count) {
  std::size_t start = text.size();
  if (start > 0 && text[start - 1] == '\n') {
    --start;
  }
  for (std::size_t seen = 0; start > 0; --start) {
    if (text[start - 1] == '\n' && ++seen == count) {
      break;
    }
  }
  return text.substr(start);
}

}  // namespace

std::vector<DeviceOption> parse_devices(const std::vector<std::string>& devices,
                                        const std::vector<std::string>& device_args) {
  std::vector<DeviceOption> parsed;
  for (const auto& value : devices) {
    const auto first = value.find(':');
    const auto second = first == std::string::npos ? first : value.find(':', first + 1);
    if (second == std::string::npos) {
      throw Error(fmt::format("--device {:?}: expected NAME:VIRTIO_ID:PROGRAM", value));
    }
    DeviceOption option;
    option.name = value.substr(0, first);
    if (!valid_name(option.name)) {
      throw Error(fmt::format("--device {:?}: the name must be 1 to 32 letters, digits, '_' or '-'",
                              value));
    }
    const auto id_text = std::string_view(value).substr(first + 1, second - first - 1);
    const auto [end, ec] =
        std::from_chars(id_text.data(), id_text.data() + id_text.size(), option.virtio_id);
    if (ec != std::errc{} || end != id_text.data() + id_text.size() || id_text.empty()) {
      throw Error(
          fmt::format("--device {:?}: the virtio id {:?} is not a number (34: I2C, "
                      "the kernel's CONFIG_UML_PCI_OVER_VIRTIO_DEVICE_ID: PCI)",
                      value, std::string(id_text)));
    }
    option.program = value.substr(second + 1);
    if (!process::is_executable_file(option.program)) {
      throw Error(fmt::format("--device {}: the model {:?} is not an executable file", option.name,
                              option.program.string()));
    }
    option.program = fs::absolute(option.program);
    if (std::any_of(parsed.begin(), parsed.end(),
                    [&](const DeviceOption& other) { return other.name == option.name; })) {
      throw Error(fmt::format("--device {}: two devices with this name", option.name));
    }
    parsed.push_back(std::move(option));
  }
  for (const auto& value : device_args) {
    const auto colon = value.find(':');
    const auto name = value.substr(0, std::min(colon, value.size()));
    const auto device = std::find_if(parsed.begin(), parsed.end(),
                                     [&](const DeviceOption& d) { return d.name == name; });
    if (colon == std::string::npos || device == parsed.end()) {
      throw Error(
          fmt::format("--device-arg {:?}: expected NAME:ARGUMENT for a --device NAME", value));
    }
    device->args.push_back(value.substr(colon + 1));
  }
  return parsed;
}

std::string describe_model_exit(std::optional<int> exit_status, std::optional<int> signal) {
  if (signal) {
    return fmt::format("was killed by {}{}", signal_name(*signal),
                       *signal == SIGSEGV || *signal == SIGABRT || *signal == SIGBUS ||
                               *signal == SIGFPE || *signal == SIGILL
                           ? " (it crashed)"
                           : "");
  }
  switch (exit_status.value_or(-1)) {
    case 0:
      return "exited normally";
    case 1:
      return "failed (exit 1: the model's own error)";
    case 2:
      return "was started with a bad command line (exit 2)";
    case 3:
      return "stopped: the guest broke the device protocol (exit 3)";
    default:
      return fmt::format("exited with status {}", exit_status.value_or(-1));
  }
}

DeviceModels::DeviceModels(std::vector<DeviceOption> devices, const fs::path& socket_dir,
                           const std::string& prefix, process::Guardian& guardian)
    : guardian_(guardian) {
  for (auto& option : devices) {
    Model model;
    model.socket = socket_dir / fmt::format("{}-{}.sock", prefix, option.name);
    model.log = socket_dir / fmt::format("{}-{}.log", prefix, option.name);
    // sockaddr_un's sun_path: 108 bytes with the NUL, and the model first binds
    // <path>.l (see accept_one()); UML's command line takes no ':'.
    if (model.socket.string().size() > 105) {
      throw Error(
          fmt::format("the socket path of device {} ({}) is longer than a model's Unix "
                      "socket allows (105 bytes): use a shorter --work-dir",
                      option.name, model.socket.string()));
    }
    if (model.socket.string().find_first_of(": \t\n,") != std::string::npos) {
      throw Error(
          fmt::format("the socket path of device {} ({}) contains ':', ',' or a space, "
                      "which UML's virtio_uml.device= cannot carry",
                      option.name, model.socket.string()));
    }
    model.option = std::move(option);
    models_.push_back(std::move(model));
  }
}

DeviceModels::~DeviceModels() {
  for (auto& model : models_) {
    if (model.pid > 0 && !model.reaped) {
      kill(model);
    }
    if (model.pidfd >= 0) {
      ::close(model.pidfd);
    }
    std::error_code ec;
    fs::remove(model.socket, ec);
    fs::remove(model.log, ec);
  }
}

void DeviceModels::start(std::chrono::milliseconds timeout) {
  for (auto& model : models_) {
    // Before they exist: should the helper die, the guardian removes them.
    guardian_.add({{model.socket, false}, {model.log, false}});
    std::vector<std::string> args{"--socket", model.socket.string()};
    args.insert(args.end(), model.option.args.begin(), model.option.args.end());
    process::SessionSetup setup(::getpid(), false, -1, guardian_.fd(), -1);
    // The guest drives what a model logs: its log (read back into the test's log) stays
    // bounded; past it, the model's writes fail instead of filling the disk.
    setup.max_file_size = max_model_log;
    try {
      bp::child child(bp::exe = model.option.program.string(), bp::args = args,
                      (bp::std_out & bp::std_err) > model.log, bp::std_in < bp::null, setup);
      model.pid = child.id();
      child.detach();  // reaped here (keep_unreaped), for its exit status
    } catch (const bp::process_error& e) {
      throw Error(fmt::format("device {}: cannot start {}: {}", model.option.name,
                              model.option.program.string(), e.what()),
                  ExitCode::DeviceFailed);
    }
    process::keep_unreaped(model.pid);
    model.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, model.pid, 0));
    if (model.pidfd < 0) {
      // Without it a model's crash would go unseen until UML ends.
      throw Error(fmt::format("device {}: pidfd_open: {} (Linux 5.3 or later is needed to "
                              "watch a model)",
                              model.option.name, std::strerror(errno)),
                  ExitCode::DeviceFailed);
    }
  }
  for (auto& model : models_) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      struct stat st {};
      if (::lstat(model.socket.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
        break;
      }
      reap(model, false);
      if (model.reaped) {
        throw Error(
            fmt::format("device {}: the model {} {} before it opened its socket{}",
                        model.option.name, model.option.program.string(),
                        describe_model_exit(model.exit_status, model.signal), log_tail(model)),
            ExitCode::DeviceFailed);
      }
      if (Clock::now() >= deadline) {
        kill(model);
        throw Error(fmt::format("device {}: the model {} did not open its socket {} within {} s (a "
                                "model listens on the path its --socket argument gives, e.g. with "
                                "uml::device::run_model()){}",
                                model.option.name, model.option.program.string(),
                                model.socket.string(), timeout.count() / 1000.0, log_tail(model)),
                    ExitCode::DeviceFailed);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

std::vector<std::string> DeviceModels::kernel_arguments() const {
  std::vector<std::string> args;
  for (const auto& model : models_) {
    args.push_back(
        fmt::format("virtio_uml.device={}:{}", model.socket.string(), model.option.virtio_id));
  }
  return args;
}

std::vector<int> DeviceModels::exit_fds() const {
  std::vector<int> fds;
  for (const auto& model : models_) {
    if (model.pidfd >= 0 && !model.reaped) {
      fds.push_back(model.pidfd);
    }
  }
  return fds;
}

void DeviceModels::reap(Model& model, bool wait) {
  if (model.reaped || model.pid <= 0) {
    return;
  }
  // Ended? Looked at without reaping: while the zombie holds its pid, the session's id
  // cannot name another process.
  siginfo_t info{};
  int rc;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(model.pid), &info,
                  WEXITED | WNOWAIT | (wait ? 0 : WNOHANG));
  } while (rc < 0 && errno == EINTR);
  if (rc != 0 || info.si_pid != model.pid) {
    return;
  }
  // Whatever the model started dies with it, then the model is reaped.
  process::kill_session(model.pid);
  int status = 0;
  while (::waitpid(model.pid, &status, 0) < 0 && errno == EINTR) {
  }
  model.reaped = true;
  process::release_unreaped(model.pid);
  if (WIFEXITED(status)) {
    model.exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    model.signal = WTERMSIG(status);
  }
}

void DeviceModels::kill(Model& model) {
  if (model.reaped || model.pid <= 0) {
    return;
  }
  model.stopped = true;
  process::signal_session(model.pid, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  while (Clock::now() < deadline) {
    reap(model, false);
    if (model.reaped) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  process::signal_session(model.pid, SIGKILL);
  reap(model, true);
}

std::optional<std::string> DeviceModels::ended_early(int fd) {
  for (auto& model : models_) {
    if (model.pidfd != fd) {
      continue;
    }
    reap(model, true);
    if (model.signal || model.exit_status.value_or(0) != 0) {
      model.failure =
          fmt::format("device {}: the model {} while the guest ran{}", model.option.name,
                      describe_model_exit(model.exit_status, model.signal), log_tail(model));
    }
    return model.failure;
  }
  return std::nullopt;
}

std::optional<std::string> DeviceModels::stop(std::chrono::milliseconds grace) {
  const auto deadline = Clock::now() + grace;
  for (auto& model : models_) {
    while (!model.reaped && Clock::now() < deadline) {
      pollfd p{model.pidfd, POLLIN, 0};
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      ::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count())));
      reap(model, false);
    }
    reap(model, false);  // it may have ended just as the grace ran out
    if (!model.reaped) {
      kill(model);
      if (!model.failure) {
        model.failure = fmt::format(
            "device {}: the model did not end when UML closed its socket (hung?); stopped "
            "with {}{}",
            model.option.name, model.signal ? signal_name(*model.signal) : "a signal",
            log_tail(model));
      }
    } else if (!model.failure && (model.signal || model.exit_status.value_or(0) != 0)) {
      model.failure =
          fmt::format("device {}: the model {}{}", model.option.name,
                      describe_model_exit(model.exit_status, model.signal), log_tail(model));
    }
  }
  for (const auto& model : models_) {
    if (model.failure) {
      return model.failure;
    }
  }
  return std::nullopt;
}

namespace {

// The last `limit` bytes of a model's log (it may be up to max_model_log long), with a
// note of what was left out before them.
std::optional<std::string> read_log_end(const fs::path& log, std::size_t limit) {
  std::ifstream in(log, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
  const auto start = size > limit ? size - limit : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string text(size - start, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (start > 0) {
    const auto line = text.find('\n');
    text = fmt::format("({} bytes of earlier output left out)\n", start) +
           (line == std::string::npos ? text : text.substr(line + 1));  // from a whole line
  }
  return text;
}

}  // namespace

std::string DeviceModels::log_tail(const Model& model) const {
  const auto text = read_log_end(model.log, 4096);
  if (!text || text->empty()) {
    return "";
  }
  auto tail = last_lines(*text, 3);
  std::replace(tail.begin(), tail.end(), '\n', '|');  // the summary is one line
  return fmt::format("; its last output: {}", tail);
}

std::string DeviceModels::take_logs() {
  std::string all;
  for (const auto& model : models_) {
    const auto text = read_log_end(model.log, max_model_log_shown);
    if (!text) {
      continue;
    }
    std::size_t start = 0;
    while (start < text->size()) {
      const auto end = std::min(text->find('\n', start), text->size());
      all += fmt::format("[device {}] {}\n", model.option.name,
                         std::string_view(*text).substr(start, end - start));
      start = end + 1;
    }
    std::error_code ec;
    fs::remove(model.log, ec);
  }
  return all;
}

}  // namespace uml
