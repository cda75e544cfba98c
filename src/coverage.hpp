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

// The disk file's bytes, read only when it is still a regular file of exactly
// coverage_disk_size bytes (UML could grow it up to its file size limit); else a dump
// with found == false saying why.
CoverageDump read_coverage_disk(const std::filesystem::path& disk);

struct CoverageResult {
  enum class State { Saved, Missing, NoGcov } state = State::Missing;
  std::size_t saved = 0;
  std::vector<std::string> rejected;  // "<path>: <why>", at most a few
  std::string message;                // one line for the test's output
};

// Keeps the dump's files that belong to `object_dirs` (absolute module build
// directories) under out_dir/<object dir without its leading />/<relative path>.gcda,
// each with a copy of its .gcno (a path the guest wrote twice: its last record), and
// writes out_dir/status, which the coverage report reads: "saved N" and the N .gcda
// paths relative to out_dir, one a line; "missing: why"; or "no-gcov". Never throws:
// a file that cannot be written makes the status "missing: <why>".
CoverageResult save_coverage(const CoverageDump& dump,
                             const std::vector<std::filesystem::path>& object_dirs,
                             const std::filesystem::path& out_dir);

// Makes out_dir empty for a new run (creating it), its status "missing: the run did not
// finish" until save_coverage; refuses a non-empty directory without a status file of
// this helper's (its first line "saved N", "missing: ..." or "no-gcov"). Throws Error.
void prepare_coverage_dir(const std::filesystem::path& out_dir);

}  // namespace uml
