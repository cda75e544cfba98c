#include "process.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

TEST_CASE("/proc/<pid>/stat lines, odd command names included") {
  const auto info = uml::parse_proc_stat("4242 (a (b) c) S 1 4240 4241 34816 4242 4194560 0");
  REQUIRE(info);
  CHECK(info->pid == 4242);
  CHECK(info->state == 'S');
  CHECK(info->ppid == 1);
  CHECK(info->session == 4241);
  CHECK_FALSE(uml::parse_proc_stat("garbage"));
  CHECK_FALSE(uml::parse_proc_stat("12 (x) S"));
}

TEST_CASE("session members are found by scanning /proc") {
  const auto members = uml::session_members(getsid(0));
  bool self = false;
  for (const auto& p : members) {
    self = self || p.pid == getpid();
    CHECK(p.session == getsid(0));
  }
  CHECK(self);
  CHECK(uml::session_members(999999999).empty());
}
