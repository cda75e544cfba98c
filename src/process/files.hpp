#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "process/result.hpp"

namespace uml::process {

// A whole file's contents, or why it cannot be read
// ("cannot open /x: No such file or directory", "cannot read /d: Is a directory").
Result<std::string> read_file(const std::filesystem::path& path);

// Writes all of text to fd, retrying after signals; false (errno set) when the
// descriptor fails.
bool write_all(int fd, std::string_view text);

// Writes a file whole or not at all, as a reader sees it: the text goes to a temporary
// beside it (<path>.<pid>.tmp: parallel writers do not share one), which is then
// renamed over path. On failure the temporary is removed and the error says why.
// The directory must exist. Mode 0666 less the umask, as a shell's `>` makes it.
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view text);

// A regular file this process may execute.
bool is_executable_file(const std::filesystem::path& path);

// The first executable `name` in the directories of `path_variable` (a PATH value; an
// empty entry is the current directory), or nothing.
std::optional<std::filesystem::path> find_on_path(std::string_view name,
                                                  std::string_view path_variable);

}  // namespace uml::process
