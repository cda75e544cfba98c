#include "coverage.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "error.hpp"
#include "process/files.hpp"

namespace uml {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view dump_header = "UML-COVERAGE 1\n";
constexpr std::size_t max_line = 4200;      // "F <size> " and a path of PATH_MAX
constexpr std::size_t max_records = 10000;  // far more objects than a project has
constexpr std::size_t max_components = 64;
constexpr std::size_t max_rejections_kept = 5;

// A line from `at` (without its newline), at most max_line long; advances `at`.
std::optional<std::string_view> next_line(std::string_view bytes, std::size_t& at) {
  const auto end = bytes.find('\n', at);
  if (end == std::string_view::npos || end - at > max_line) {
    return std::nullopt;
  }
  const auto line = bytes.substr(at, end - at);
  at = end + 1;
  return line;
}

// A path component the build can have made: printable ASCII, no '/' or '\', not "."
// or "..".
bool plain_component(std::string_view part) {
  if (part.empty() || part == "." || part == "..") {
    return false;
  }
  return std::all_of(part.begin(), part.end(),
                     [](char c) { return c > ' ' && c < 0x7f && c != '\\' && c != '/'; });
}

// The part of `path` below `dir` when it is one, made of plain components.
std::optional<std::string> relative_below(std::string_view path, const std::string& dir) {
  if (path.size() <= dir.size() + 1 || !path.starts_with(dir) || path[dir.size()] != '/') {
    return std::nullopt;
  }
  const auto rest = path.substr(dir.size() + 1);
  std::size_t count = 0;
  std::size_t start = 0;
  while (true) {
    const auto slash = rest.find('/', start);
    const auto part =
        rest.substr(start, slash == std::string_view::npos ? rest.npos : slash - start);
    if (!plain_component(part) || ++count > max_components) {
      return std::nullopt;
    }
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  return std::string(rest);
}

std::optional<std::array<char, 12>> gcno_header(const fs::path& gcno) {
  std::ifstream in(gcno, std::ios::binary);
  std::array<char, 12> header{};
  if (!in.read(header.data(), header.size())) {
    return std::nullopt;
  }
  return header;
}

void write_file(const fs::path& path, std::string_view data) {
  if (const auto written = process::write_file_atomic(path, data); !written) {
    throw Error(fmt::format("--coverage-dir: {}", written.error()));
  }
}

// Why the guest's record is not kept, or nothing when it is (then `gcno` and `rel`).
std::optional<std::string> check_record(const CoverageRecord& record,
                                        const std::vector<fs::path>& object_dirs, fs::path& gcno,
                                        fs::path& dir, std::string& rel) {
  if (!record.path.ends_with(".gcda")) {
    return "not a .gcda file";
  }
  bool matched = false;
  for (const auto& candidate : object_dirs) {
    if (auto below = relative_below(record.path, candidate.string())) {
      dir = candidate;
      rel = std::move(*below);
      matched = true;
      break;
    }
  }
  if (!matched) {
    return "not below a module directory of this test";
  }
  gcno = dir / (rel.substr(0, rel.size() - 5) + ".gcno");
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(gcno, ec))) {
    return "no .gcno beside the object (not an object of this build)";
  }
  const auto header = gcno_header(gcno);
  if (!header || std::string_view(header->data(), 4) != "oncg") {
    return fmt::format("{} is not a gcov notes file", gcno.string());
  }
  if (record.data.size() < 12 || std::string_view(record.data).substr(0, 4) != "adcg") {
    return "not gcov data (bad magic)";
  }
  if (std::string_view(record.data).substr(4, 8) != std::string_view(header->data() + 4, 8)) {
    return "made by another build of the object (gcov version or stamp differs from its .gcno)";
  }
  return std::nullopt;
}

}  // namespace

CoverageDump parse_coverage_dump(std::string_view bytes) {
  CoverageDump dump;
  if (!bytes.starts_with(dump_header)) {
    dump.problem =
        bytes.find_first_not_of('\0') == std::string_view::npos
            ? "the guest saved none (the kernel stopped before init could: see the test's log)"
            : "the data disk does not start with init's header";
    return dump;
  }
  dump.kernel_has_gcov = true;
  std::size_t at = dump_header.size();
  while (true) {
    const auto line = next_line(bytes, at);
    if (!line) {
      dump.problem = "the data is cut short or malformed (no end line)";
      return dump;
    }
    if (*line == "END") {
      dump.found = true;
      return dump;
    }
    if (*line == "NOGCOV") {
      dump.kernel_has_gcov = false;
      continue;
    }
    if (!line->starts_with("F ") || dump.records.size() >= max_records) {
      dump.problem = "the data has a malformed line";
      return dump;
    }
    const auto rest = line->substr(2);
    const auto space = rest.find(' ');
    std::size_t size = 0;
    const auto digits = rest.substr(0, space);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
    if (space == std::string_view::npos || digits.empty() || ec != std::errc() ||
        end != digits.data() + digits.size() || size > bytes.size() - at) {
      dump.problem = "the data has a malformed or oversized record";
      return dump;
    }
    dump.records.push_back(
        {std::string(rest.substr(space + 1)), std::string(bytes.substr(at, size))});
    at += size;
  }
}

CoverageDump read_coverage_disk(const fs::path& disk) {
  CoverageDump dump;
  const int fd = ::open(disk.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::uint64_t>(st.st_size) != coverage_disk_size) {
    dump.problem = fd < 0 ? fmt::format("cannot read the data disk: {}", std::strerror(errno))
                          : "the data disk is no longer what the helper made (resized)";
    if (fd >= 0) {
      ::close(fd);
    }
    return dump;
  }
  std::string bytes(coverage_disk_size, '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      break;
    }
    done += static_cast<std::size_t>(got);
  }
  ::close(fd);
  bytes.resize(done);
  return parse_coverage_dump(bytes);
}

namespace {

// A status file of this helper's: its first line is one of the three forms.
bool is_status_file(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line.starts_with("saved ") || line.starts_with("missing: ") || line == "no-gcov";
}

}  // namespace

void prepare_coverage_dir(const fs::path& out_dir) {
  std::error_code ec;
  const auto status = out_dir / "status";
  if (fs::exists(out_dir, ec)) {
    if (!fs::is_directory(out_dir, ec)) {
      throw Error(fmt::format("--coverage-dir {}: not a directory", out_dir.string()));
    }
    if (!fs::is_empty(out_dir, ec) && !is_status_file(status)) {
      throw Error(fmt::format(
          "--coverage-dir {}: the directory has files and no status file of uml-helper's, so "
          "it is not one the helper made; give a new or empty directory (its contents are "
          "replaced at every run)",
          out_dir.string()));
    }
    // The status last: a helper killed half-way leaves a directory it still accepts.
    for (const auto& entry : fs::directory_iterator(out_dir, ec)) {
      if (entry.path().filename() != "status") {
        fs::remove_all(entry.path(), ec);
        if (ec) {
          throw Error(fmt::format("--coverage-dir: cannot remove {}: {}", entry.path().string(),
                                  ec.message()));
        }
      }
    }
  }
  fs::create_directories(out_dir, ec);
  if (ec) {
    throw Error(fmt::format("--coverage-dir {}: {}", out_dir.string(), ec.message()));
  }
  write_file(status, "missing: the run did not finish\n");
}

namespace {

CoverageResult save_coverage_files(const CoverageDump& dump,
                                   const std::vector<fs::path>& object_dirs,
                                   const fs::path& out_dir) {
  CoverageResult result;
  if (!dump.found) {
    result.message = fmt::format("no coverage data from this run: {}", dump.problem);
    write_file(out_dir / "status", fmt::format("missing: {}\n", dump.problem));
    return result;
  }
  if (!dump.kernel_has_gcov) {
    result.state = CoverageResult::State::NoGcov;
    result.message =
        "no coverage data: the kernel has no gcov (/sys/kernel/debug/gcov is missing; build "
        "it with COVERAGE, i.e. CONFIG_GCOV_KERNEL=y)";
    write_file(out_dir / "status", "no-gcov\n");
    return result;
  }
  result.state = CoverageResult::State::Saved;
  // A path the guest wrote more than once: its last record, written once.
  std::map<std::string_view, const CoverageRecord*> last;
  for (const auto& record : dump.records) {
    last[record.path] = &record;
  }
  std::string saved_list;
  for (const auto& [path, kept] : last) {
    const auto& record = *kept;
    fs::path gcno;
    fs::path dir;
    std::string rel;
    if (const auto why = check_record(record, object_dirs, gcno, dir, rel)) {
      if (result.rejected.size() < max_rejections_kept) {
        // The guest's path, shown escaped: it may hold anything but a newline.
        result.rejected.push_back(fmt::format("{:?}: {}", record.path.substr(0, 200), *why));
      }
      continue;
    }
    const auto relative = dir.relative_path() / rel;
    const auto target = out_dir / relative;
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    write_file(target, record.data);
    fs::copy_file(gcno, target.parent_path() / gcno.filename(),
                  fs::copy_options::overwrite_existing, ec);
    if (ec) {
      throw Error(fmt::format("--coverage-dir: cannot copy {}: {}", gcno.string(), ec.message()));
    }
    ++result.saved;
    saved_list += relative.string() + "\n";
  }
  result.message = fmt::format("coverage: {} data file(s) of the project's modules saved to {}",
                               result.saved, out_dir.string());
  if (!result.rejected.empty()) {
    result.message +=
        fmt::format("; ignored what the guest wrote for {}", fmt::join(result.rejected, "; "));
  }
  write_file(out_dir / "status", fmt::format("saved {}\n{}", result.saved, saved_list));
  return result;
}

}  // namespace

CoverageResult save_coverage(const CoverageDump& dump, const std::vector<fs::path>& object_dirs,
                             const fs::path& out_dir) {
  try {
    return save_coverage_files(dump, object_dirs, out_dir);
  } catch (const std::exception& e) {
    CoverageResult result;
    result.message = fmt::format("no coverage data from this run: {}", e.what());
    std::ofstream(out_dir / "status", std::ios::trunc) << "missing: " << e.what() << "\n";
    return result;
  }
}

}  // namespace uml
