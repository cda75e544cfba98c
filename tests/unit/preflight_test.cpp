#include "preflight.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;

TEST_CASE("uml_dir: the work dir's when UML's socket paths fit, else a short one") {
  CHECK(uml::socket_path_length("/w/u", 10) == 4 + 1 + 10 + 1 + 8);
  const auto short_choice = uml::choose_uml_dir("/tmp/work", 13);
  CHECK(short_choice.dir == "/tmp/work/u");
  CHECK_FALSE(short_choice.fallback);

  const auto long_dir = fs::path("/") / std::string(90, 'd');
  const auto fallback = uml::choose_uml_dir(long_dir, 13);
  CHECK(fallback.fallback);
  // A mkdtemp template: a fresh private directory per boot, never a predictable shared
  // one (issue #12).
  CHECK(fallback.dir == fs::path("/tmp/uml-XXXXXX"));
  CHECK(uml::socket_path_length(fallback.dir, 13) <= uml::max_socket_path);
  // The limit itself: 107 characters fit (108 with the NUL), 108 do not.
  const auto edge = fs::path("/") / std::string(107 - 1 - 1 - 13 - 1 - 8, 'e');
  CHECK(uml::socket_path_length(edge / "u", 13) == 109);
  CHECK(uml::socket_path_length(edge, 13) == 107);
}

TEST_CASE("guest RAM directories are tried in UML's order") {
  std::map<std::string, std::string> env{{"TMPDIR", "/a"}, {"TEMP", "/c"}, {"TMP", ""}};
  const auto candidates = uml::ram_dir_candidates([&](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
  REQUIRE(candidates.size() == 4);  // an empty $TMP is skipped
  CHECK(candidates[0].label == "$TMPDIR");
  CHECK(candidates[0].dir == "/a");
  CHECK(candidates[1].label == "$TEMP");
  CHECK(candidates[2].dir == "/dev/shm");
  CHECK(candidates[3].dir == "/tmp");
}

TEST_CASE("a guest RAM directory must exist, allow exec mmap and have room") {
  CHECK(uml::ram_dir_problem("/nonexistent-dir", 1 << 20) == "not a directory");
  const auto dir = fs::temp_directory_path();
  CHECK_FALSE(uml::ram_dir_problem(dir, 4096));
  const auto huge = uml::ram_dir_problem(dir, 1ULL << 60);
  REQUIRE(huge);
  CHECK(huge->find("free, less than mem=") != std::string::npos);
}

TEST_CASE("config values from a .config") {
  const std::string config =
      "CONFIG_UML=y\n# CONFIG_UML_TIME_TRAVEL_SUPPORT is not set\nCONFIG_NR_CPUS_RANGE_END=1\n";
  CHECK(uml::config_value(config, "CONFIG_UML") == "y");
  CHECK(uml::config_value(config, "CONFIG_UML_TIME_TRAVEL_SUPPORT").empty());
  CHECK(uml::config_value(config, "CONFIG_NR_CPUS_RANGE_END") == "1");
}

TEST_CASE("the report is fatal when any finding is, and prints what it found") {
  uml::PreflightReport report;
  report.findings.push_back({uml::Severity::Ok, "ptrace", "works"});
  report.findings.push_back({uml::Severity::Note, "guest RAM", "skipped $TMPDIR"});
  CHECK(report.ok());
  CHECK(report.format(true) == "  ok    ptrace: works\n  note  guest RAM: skipped $TMPDIR\n");
  CHECK(report.format(false).empty());
  report.findings.push_back({uml::Severity::Fatal, "kernel", "missing"});
  CHECK_FALSE(report.ok());
  CHECK(report.format(false) == "  FAIL  kernel: missing\n");
}

TEST_CASE("mem above MemTotal is refused, naming the limit") {
  const std::string meminfo = "MemTotal:        2048000 kB\nMemFree:  100 kB\n";
  CHECK_FALSE(uml::mem_problem(128ULL << 20, meminfo));
  CHECK_FALSE(uml::mem_problem(2048000ULL * 1024, meminfo));
  const auto problem = uml::mem_problem(100000ULL << 30, meminfo);
  REQUIRE(problem);
  CHECK(problem->find("is more than this host's RAM (MemTotal ") != std::string::npos);
  CHECK(problem->find("use a --mem of at most ") != std::string::npos);
  CHECK_FALSE(uml::mem_problem(100000ULL << 30, "no such line\n"));
}

TEST_CASE("a kernel file that is no ELF executable is named as such") {
  char tmpl[] = "/tmp/uml-preflight-test-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const fs::path dir = tmpl;
  std::ofstream(dir / "script") << "#!/bin/sh\n";
  const auto problem = uml::kernel_format_problem(dir / "script");
  REQUIRE(problem);
  CHECK(problem->find("not an ELF executable: is this the UML kernel `linux`") !=
        std::string::npos);
  CHECK_FALSE(uml::kernel_format_problem("/bin/sh"));  // an ELF file passes
  fs::remove_all(dir);
}

TEST_CASE("a filesystem too small for the COW files is a host problem with the fix") {
  CHECK_FALSE(uml::cow_space_problem("/w", 100, 100));
  const auto problem = uml::cow_space_problem("/w", 64ULL << 20, 1ULL << 20);
  REQUIRE(problem);
  CHECK(problem->find("/w: the filesystem has ") != std::string::npos);
  CHECK(problem->find("free, less than the COW files may grow to") != std::string::npos);
  CHECK(problem->find("use --work-dir on a filesystem with room") != std::string::npos);
}
