#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

// The text of a file in tests/unit/data.
inline std::string data_file(const std::string& name) {
  std::ifstream in(std::string(UNIT_DATA_DIR) + "/" + name, std::ios::binary);
  if (!in) {
    throw std::runtime_error("missing test data file " + name);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh directory under the temporary directory (uml-<name>-XXXXXX), removed with
// everything in it when the test ends.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(std::string_view name) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("uml-" + std::string(name) + "-XXXXXX"))
            .string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot create a temporary directory " + pattern);
    }
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};
