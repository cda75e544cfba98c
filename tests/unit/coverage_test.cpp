#include "coverage.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "error.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using uml::CoverageResult;
using uml::parse_coverage_dump;
using uml::save_coverage;

namespace {

void write(const fs::path& path, const std::string& data) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// gcc's headers: magic, version, stamp (little-endian words as the bytes show them).
const std::string notes = std::string("oncg") + "B21*" + "STMP" + "rest of the notes";
const std::string data = std::string("adcg") + "B21*" + "STMP" + "counters";

std::string record(const std::string& path, const std::string& bytes) {
  return "F " + std::to_string(bytes.size()) + " " + path + "\n" + bytes;
}

std::string dump(const std::string& records) {
  return "UML-COVERAGE 1\n" + records + "END\n" + std::string(64, '\0');
}

}  // namespace

TEST_CASE("coverage dump: init's records parse, anything else is a problem") {
  const auto parsed =
      parse_coverage_dump(dump(record("/b/m/x.gcda", data) + record("/b/m/y.gcda", "")));
  REQUIRE(parsed.found);
  CHECK(parsed.kernel_has_gcov);
  REQUIRE(parsed.records.size() == 2);
  CHECK(parsed.records[0].path == "/b/m/x.gcda");
  CHECK(parsed.records[0].data == data);
  CHECK(parsed.records[1].data.empty());

  CHECK(!parse_coverage_dump("UML-COVERAGE 1\nNOGCOV\nEND\n").kernel_has_gcov);
  // A crash before init saved anything: the disk is all zeros.
  const auto zeros = parse_coverage_dump(std::string(4096, '\0'));
  CHECK(!zeros.found);
  CHECK_THAT(zeros.problem, Catch::Contains("saved none"));
  CHECK_THAT(parse_coverage_dump("garbage").problem, Catch::Contains("header"));
  // Cut short, a size past the end, a size that is no number, an unknown line.
  CHECK(!parse_coverage_dump("UML-COVERAGE 1\n" + record("/b/m/x.gcda", data)).found);
  CHECK(!parse_coverage_dump("UML-COVERAGE 1\nF 99999999 /b/m/x.gcda\nabc").found);
  CHECK(!parse_coverage_dump("UML-COVERAGE 1\nF -1 /b/m/x.gcda\nEND\n").found);
  CHECK(!parse_coverage_dump("UML-COVERAGE 1\nF 1x /b/m/x.gcda\nEND\n").found);
  CHECK(!parse_coverage_dump("UML-COVERAGE 1\nF 18446744073709551616 /x\nEND\n").found);
  CHECK(!parse_coverage_dump("UML-COVERAGE 1\nrm -rf /\nEND\n").found);
  CHECK(!parse_coverage_dump("UML-COVERAGE 1\n" + std::string(10000, 'F')).found);
}

TEST_CASE("coverage data is kept only for this build's objects, under the output directory") {
  TempDir tmp("coverage-test");
  const auto module = tmp.path / "build/_uml/module/bufdev";
  write(module / "bufdev.gcno", notes);
  write(module / "sub/part.gcno", notes);
  write(module / "stale.gcno", notes);
  write(module / "garbage.gcno", notes);
  write(tmp.path / "build/other.gcno", notes);
  write(module / "linked.gcda", "");
  fs::create_symlink(tmp.path / "build/other.gcno", module / "linked.gcno");
  const auto out = tmp.path / "out";
  uml::prepare_coverage_dir(out);
  CHECK_THAT(read(out / "status"), Catch::Contains("missing"));

  const auto m = module.string();
  const std::string records =
      record(m + "/bufdev.gcda", data) + record(m + "/sub/part.gcda", data) +
      // Hostile or foreign: outside the module, climbing out, a symlinked notes file, no
      // .gcno, not .gcda, another build's stamp, not gcov data at all.
      record(tmp.path.string() + "/build/other.gcda", data) +
      record(m + "/../../../other.gcda", data) + record(m + "/sub/../bufdev.gcda", data) +
      record(m + "//bufdev.gcda", data) + record(m + "/linked.gcda", data) +
      record(m + "/missing.gcda", data) + record(m + "/bufdev.gcno", data) +
      record(m + "/stale.gcda", std::string("adcg") + "B21*" + "OLD!") +
      record(m + "/garbage.gcda", "#!/bin/sh\nrm -rf ~\n") +
      // The same object again: written once, from its last record.
      record(m + "/bufdev.gcda", data);
  const auto result = save_coverage(parse_coverage_dump(dump(records)), {module}, out);
  CHECK(result.state == CoverageResult::State::Saved);
  CHECK(result.saved == 2);
  CHECK(result.rejected.size() == 5);  // the first few reasons are kept
  CHECK_THAT(result.message, Catch::Contains("2 data file(s)"));
  CHECK_THAT(result.message, Catch::Contains("ignored"));
  const auto kept = out / module.relative_path();
  CHECK(read(kept / "bufdev.gcda") == data);
  CHECK(read(kept / "bufdev.gcno") == notes);
  CHECK(read(kept / "sub/part.gcda") == data);
  CHECK(read(out / "status") == "saved 2\n" + (module.relative_path() / "bufdev.gcda").string() +
                                    "\n" + (module.relative_path() / "sub/part.gcda").string() +
                                    "\n");
  // Nothing else was written anywhere: only the two objects' files and the status.
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    files += entry.is_regular_file() ? 1 : 0;
  }
  CHECK(files == 5);
  CHECK(!fs::exists(tmp.path / "other.gcda"));

  // A rerun replaces the previous data.
  uml::prepare_coverage_dir(out);
  CHECK(!fs::exists(kept / "bufdev.gcda"));
}

TEST_CASE("missing coverage data is said, never an empty success") {
  TempDir tmp("coverage-test");
  const auto out = tmp.path / "out";
  uml::prepare_coverage_dir(out);
  auto result = save_coverage(parse_coverage_dump(std::string(512, '\0')), {tmp.path}, out);
  CHECK(result.state == CoverageResult::State::Missing);
  CHECK_THAT(result.message, Catch::Contains("no coverage data from this run"));
  CHECK_THAT(read(out / "status"), Catch::StartsWith("missing: the guest saved none"));
  result = save_coverage(parse_coverage_dump("UML-COVERAGE 1\nNOGCOV\nEND\n"), {tmp.path}, out);
  CHECK(result.state == CoverageResult::State::NoGcov);
  CHECK_THAT(result.message, Catch::Contains("CONFIG_GCOV_KERNEL"));
  CHECK(read(out / "status") == "no-gcov\n");
}

TEST_CASE("a directory the helper did not make is not emptied") {
  TempDir tmp("coverage-test");
  write(tmp.path / "precious.txt", "keep me");
  CHECK_THROWS_AS(uml::prepare_coverage_dir(tmp.path), uml::Error);
  CHECK(read(tmp.path / "precious.txt") == "keep me");
  write(tmp.path / "file", "x");
  CHECK_THROWS_AS(uml::prepare_coverage_dir(tmp.path / "file"), uml::Error);
  // A file named status is not enough: it must be one of the helper's.
  write(tmp.path / "status", "my notes\n");
  CHECK_THROWS_AS(uml::prepare_coverage_dir(tmp.path), uml::Error);
  CHECK(read(tmp.path / "precious.txt") == "keep me");
}

TEST_CASE("the coverage disk is read only at the size the helper made it") {
  TempDir tmp("coverage-test");
  const auto disk = tmp.path / "disk.img";
  write(disk, dump(""));
  CHECK_THAT(uml::read_coverage_disk(disk).problem, Catch::Contains("resized"));
  fs::resize_file(disk, uml::coverage_disk_size);
  const auto parsed = uml::read_coverage_disk(disk);
  CHECK(parsed.found);
  CHECK(parsed.records.empty());
  fs::resize_file(disk, uml::coverage_disk_size * 2);  // grown by the guest
  CHECK(!uml::read_coverage_disk(disk).found);
  fs::remove(disk);
  fs::create_symlink(tmp.path / "elsewhere", disk);
  CHECK(!uml::read_coverage_disk(disk).found);
}
