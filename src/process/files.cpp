#include "process/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <fmt/format.h>

#include "process/errors.hpp"

namespace uml::process {

namespace fs = std::filesystem;

Result<std::string> read_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Failure{errno_text("cannot open " + path.string(), errno)};
  }
  std::string text;
  char buffer[16384];
  while (true) {
    const auto n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      text.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int error = errno;
      ::close(fd);
      return Failure{errno_text("cannot read " + path.string(), error)};
    }
  }
  ::close(fd);
  return text;
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const auto n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

Result<void> write_file_atomic(const fs::path& path, std::string_view text) {
  const auto tmp = fs::path(fmt::format("{}.{}.tmp", path.string(), ::getpid()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    return Failure{errno_text("cannot create " + tmp.string(), errno)};
  }
  const bool written = write_all(fd, text);
  int error = errno;
  // Some file systems (NFS) report a failed write only when the file is closed.
  const bool closed = ::close(fd) == 0;
  if (written && !closed) {
    error = errno;
  }
  if (!written || !closed) {
    ::unlink(tmp.c_str());
    return Failure{errno_text("cannot write " + tmp.string(), error)};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error = errno;
    ::unlink(tmp.c_str());
    return Failure{
        errno_text(fmt::format("cannot rename {} to {}", tmp.string(), path.string()), error)};
  }
  return {};
}

bool is_executable_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

std::optional<fs::path> find_on_path(std::string_view name, std::string_view path_variable) {
  std::size_t start = 0;
  while (start <= path_variable.size()) {
    auto end = path_variable.find(':', start);
    if (end == std::string_view::npos) {
      end = path_variable.size();
    }
    const auto dir = path_variable.substr(start, end - start);
    const auto candidate = fs::path(dir.empty() ? "." : std::string(dir)) / std::string(name);
    if (is_executable_file(candidate)) {
      return candidate;
    }
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace uml::process
