#include "process/capture.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <fmt/format.h>

#include "process/errors.hpp"
#include "process/proc_table.hpp"
#include "process/spawn.hpp"

namespace uml::process {

namespace bp = boost::process;

namespace {

// "`name args...`", for messages.
std::string describe(const std::filesystem::path& exe, const std::vector<std::string>& args) {
  std::string text = exe.filename().string();
  for (const auto& arg : args) {
    text += ' ';
    text += arg;
  }
  return "`" + text + "`";
}

}  // namespace

Result<std::string> capture_output(const std::filesystem::path& exe,
                                   const std::vector<std::string>& args,
                                   std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  std::optional<bp::pipe> out;
  try {
    out.emplace(cloexec_pipe());
  } catch (const SystemError& e) {
    return Failure{e.what()};
  }
  std::error_code ec;
  bp::child child(bp::exe = exe.string(), bp::args = args, bp::std_out > *out,
                  bp::std_err > bp::null, bp::std_in < bp::null, SessionSetup(::getpid()), ec);
  if (ec) {
    return Failure{fmt::format("cannot start {}: {}", exe.string(), ec.message())};
  }
  const int fd = out->native_source();
  set_nonblocking(fd);
  std::string text;
  const auto end = Clock::now() + timeout;
  bool open = true;
  while (open && Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 50);
    open = drain(fd, [&](std::string_view chunk) { text += chunk; });
  }
  if (open) {
    kill_session(child.id());
  }
  child.wait(ec);
  if (open) {
    return Failure{fmt::format("{} timed out after {} ms", describe(exe, args), timeout.count())};
  }
  if (ec) {
    return Failure{fmt::format("{}: waitpid: {}", describe(exe, args), ec.message())};
  }
  const int status = child.native_exit_code();
  if (WIFSIGNALED(status)) {
    return Failure{
        fmt::format("{} was killed by signal {}", describe(exe, args), WTERMSIG(status))};
  }
  if (child.exit_code() != 0) {
    return Failure{fmt::format("{} exited with status {}", describe(exe, args), child.exit_code())};
  }
  return text;
}

}  // namespace uml::process
