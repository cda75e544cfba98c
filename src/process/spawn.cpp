#include "process/spawn.hpp"

#include <fcntl.h>

#include <algorithm>

#include "process/errors.hpp"

namespace uml::process {

boost::process::pipe cloexec_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw SystemError(errno_text("pipe2", errno));
  }
  return boost::process::pipe(fds[0], fds[1]);
}

void close_from(int first) {
  if (::close_range(static_cast<unsigned>(first), ~0U, 0) == 0) {
    return;
  }
  const long max = std::min(::sysconf(_SC_OPEN_MAX), 65536L);
  for (long fd = first; fd < max; ++fd) {
    ::close(static_cast<int>(fd));
  }
}

bool set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

bool drain(int fd, const std::function<void(std::string_view)>& sink, std::size_t limit) {
  char buffer[65536];
  std::size_t read = 0;
  while (read < limit) {
    const auto n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      read += static_cast<std::size_t>(n);
      if (sink) {
        sink(std::string_view(buffer, static_cast<std::size_t>(n)));
      }
      continue;
    }
    if (n == 0) {
      return false;
    }
    if (errno == EINTR) {
      continue;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
  return true;
}

}  // namespace uml::process
