#pragma once

#include <fstream>
#include <sstream>
#include <string>

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
