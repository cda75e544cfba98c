#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace uml {

// gcov data of the project's modules, out of a test's guest (--coverage-dir).
//
// The guest's init writes the kernel's .gcda files (/sys/kernel/debug/gcov/<object
// path>.gcda, CONFIG_GCOV_KERNEL) to a raw disk the helper gives it, in this form:
//   UML-COVERAGE 1\n
//   F <size> <object path>.gcda\n<size bytes>   (for each file)
//   END\n
// or "UML-COVERAGE 1\nNOGCOV\nEND\n" for a kernel without gcov. Every byte is the
// guest's: a file is kept only when its path names an object of a --module-dir
// (no "..", no other directory) whose .gcno exists here, and its header matches that
// .gcno (magic, version, stamp: the same build). The guest never names a host path.

// The raw disk's size: room for the data of many modules (a .gcda is a few KiB).
inline constexpr std::uint64_t coverage_disk_size = 8ULL << 20;

struct CoverageRecord {
  std::string path;  // as the guest wrote it: an object path ending in .gcda
  std::string data;
};

struct CoverageDump {
  bool found = false;  // init wrote the header and the end line
  bool kernel_has_gcov = false;
  std::vector<CoverageRecord> records;
  std::string problem;  // why found is false, or what was malformed
};

// Parses the disk's bytes. Never throws: malformed input gives found == false and a
// problem.
CoverageDump parse_coverage_dump(std::string_view bytes);

struct CoverageResult {
  enum class State { Saved, Missing, NoGcov } state = State::Missing;
  std::size_t saved = 0;
  std::vector<std::string> rejected;  // "<path>: <why>", at most a few
  std::string message;                // one line for the test's output
};

// Keeps the dump's files that belong to `object_dirs` (absolute module build
// directories) under out_dir/<object dir without its leading />/<relative path>.gcda,
// each with a copy of its .gcno, and writes out_dir/status ("saved N", "missing: why" or
// "no-gcov"), which the coverage report reads. Throws Error when out_dir cannot be
// written.
CoverageResult save_coverage(const CoverageDump& dump,
                             const std::vector<std::filesystem::path>& object_dirs,
                             const std::filesystem::path& out_dir);

// Makes out_dir empty for a new run (creating it); refuses a non-empty directory that
// has no status file (not one this helper wrote). Throws Error.
void prepare_coverage_dir(const std::filesystem::path& out_dir);

}  // namespace uml
