#include "lpj.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <regex>

#include <fmt/format.h>

#include "console.hpp"
#include "process/files.hpp"
#include "text.hpp"

namespace fs = std::filesystem;

namespace uml {

std::optional<std::uint64_t> calibrated_lpj(std::string_view console) {
  // "Calibrating delay loop... 7302.34 BogoMIPS (lpj=36511744)"; a preset value
  // prints "Calibrating delay loop (skipped) preset value.." instead.
  static const std::regex line(R"(Calibrating delay loop\.\.\. [0-9.]+ BogoMIPS \(lpj=([0-9]+)\))");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_search(console.begin(), console.end(), match, line)) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto text = match[1].str();
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min_lpj || value > max_lpj) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::uint64_t> calibrated_lpj(std::string_view console, std::string_view nonce) {
  return calibrated_lpj(console.substr(0, init_output_start(console, nonce)));
}

std::optional<fs::path> lpj_cache_file() {
  const auto non_empty = [](const char* name) -> const char* {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? value : nullptr;
  };
  if (const char* dir = non_empty("UML_HELPER_CACHE_DIR")) {
    return fs::path(dir) / "lpj";
  }
  if (const char* dir = non_empty("XDG_CACHE_HOME")) {
    return fs::path(dir) / "uml-helper" / "lpj";
  }
  if (const char* home = non_empty("HOME")) {
    return fs::path(home) / ".cache" / "uml-helper" / "lpj";
  }
  return std::nullopt;
}

namespace {

std::string read_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("model name")) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        return std::string(trim(std::string_view(line).substr(colon + 1)));
      }
    }
  }
  return "unknown";
}

// Read once: a boot looks its kernel up before and records it after.
const std::string& cpu_model() {
  static const std::string model = read_cpu_model();
  return model;
}

// Tabs and newlines would break the line format.
std::string field(std::string text) {
  for (auto& c : text) {
    if (c == '\t' || c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return text;
}

std::string key_suffix(const LpjKey& key) {
  return fmt::format("\t{}\t{}\t{}\t{}", key.size, key.mtime_ns, field(key.cpu), field(key.kernel));
}

}  // namespace

std::optional<LpjKey> lpj_key(const fs::path& kernel) {
  std::error_code ec;
  const auto real = fs::canonical(kernel, ec);
  if (ec) {
    return std::nullopt;
  }
  LpjKey key;
  key.kernel = real.string();
  struct stat st {};
  if (::stat(real.c_str(), &st) != 0) {
    return std::nullopt;
  }
  key.size = static_cast<std::uintmax_t>(st.st_size);
  key.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  key.cpu = cpu_model();
  return key;
}

std::optional<std::uint64_t> find_lpj(std::string_view cache, const LpjKey& key) {
  const auto suffix = key_suffix(key);
  for (const auto line : split_lines(cache)) {
    const auto tab = line.find('\t');
    if (tab == std::string_view::npos || line.substr(tab) != suffix) {
      continue;
    }
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + tab, value);
    if (ec == std::errc{} && end == line.data() + tab && value > 0) {
      return value;
    }
  }
  return std::nullopt;
}

std::string update_lpj(std::string_view cache, const LpjKey& key, std::uint64_t lpj,
                       std::size_t keep) {
  std::vector<std::string_view> others;
  // A calibration can only come out low (UML lost the CPU while counting), never
  // high: the largest value seen for the same kernel and CPU is the truest.
  if (const auto old = find_lpj(cache, key)) {
    const auto base = std::min(*old, max_lpj);  // no overflow from a damaged cache
    lpj = std::clamp(lpj, base, base * 2);
  }
  const auto kernel = field(key.kernel);
  for (const auto line : split_lines(cache)) {
    const auto tab = line.find('\t');
    if (tab == std::string_view::npos) {
      continue;
    }
    // Any older line of the same kernel file goes: it was rebuilt or moved CPUs.
    const auto last_tab = line.rfind('\t');
    if (line.substr(last_tab + 1) == kernel) {
      continue;
    }
    others.push_back(line);
  }
  if (others.size() + 1 > keep) {
    others.erase(others.begin(), others.end() - static_cast<std::ptrdiff_t>(keep - 1));
  }
  std::string text;
  for (const auto line : others) {
    text.append(line).append("\n");
  }
  text += fmt::format("{}{}\n", lpj, key_suffix(key));
  return text;
}

std::optional<std::uint64_t> cached_lpj(const fs::path& kernel) {
  try {
    // One boot in 16 calibrates anyway, so a value measured while the host was
    // busy (too low) is soon replaced by a better one.
    if (random_hex(1) == "0") {
      return std::nullopt;
    }
    const auto file = lpj_cache_file();
    const auto key = lpj_key(kernel);
    if (!file || !key) {
      return std::nullopt;
    }
    const auto cache = process::read_file(*file);
    return cache ? find_lpj(*cache, *key) : std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
}

void remember_lpj(const fs::path& kernel, std::string_view console, std::string_view nonce) {
  try {
    const auto lpj = calibrated_lpj(console, nonce);
    const auto file = lpj_cache_file();
    const auto key = lpj_key(kernel);
    if (!lpj || !file || !key) {
      return;
    }
    std::error_code ec;
    fs::create_directories(file->parent_path(), ec);
    const auto old = process::read_file(*file);
    // Written whole and renamed into place: parallel tests may update it at once;
    // the last one wins, and each wrote a value of its own.
    [[maybe_unused]] const auto written =
        process::write_file_atomic(*file, update_lpj(old ? *old : std::string(), *key, *lpj));
  } catch (...) {
    // Not remembered: the next boot calibrates again.
  }
}

bool sets_lpj(const std::vector<std::string>& append) {
  for (const auto& arg : append) {
    if (arg.starts_with("lpj=")) {
      return true;
    }
  }
  return false;
}

}  // namespace uml
