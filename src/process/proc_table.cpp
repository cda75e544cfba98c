#include "process/proc_table.hpp"

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <sstream>
#include <string>
#include <thread>

#include "process/files.hpp"

namespace uml::process {

std::optional<ProcessInfo> parse_proc_stat(std::string_view stat) {
  // "pid (comm) state ppid pgrp session ..."; comm may hold spaces and parentheses.
  const auto open = stat.find(" (");
  const auto close = stat.rfind(") ");
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  ProcessInfo info;
  if (std::from_chars(stat.data(), stat.data() + open, info.pid).ec != std::errc{}) {
    return std::nullopt;
  }
  std::istringstream rest{std::string(stat.substr(close + 2))};
  pid_t pgrp = 0;
  if (!(rest >> info.state >> info.ppid >> pgrp >> info.session)) {
    return std::nullopt;
  }
  return info;
}

std::vector<ProcessInfo> list_processes() {
  std::vector<ProcessInfo> processes;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) {
    return processes;
  }
  while (const auto* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string_view::npos) {
      continue;
    }
    if (const auto stat = read_file("/proc/" + std::string(name) + "/stat")) {
      if (const auto info = parse_proc_stat(*stat)) {
        processes.push_back(*info);
      }
    }
  }
  ::closedir(dir);
  return processes;
}

std::vector<ProcessInfo> session_members(pid_t session) {
  std::vector<ProcessInfo> members;
  for (const auto& p : list_processes()) {
    if (p.session == session && p.state != 'Z' && p.state != 'X') {
      members.push_back(p);
    }
  }
  return members;
}

std::size_t signal_session(pid_t session, int sig) {
  // The process group first (the session leader's), then every member that left it.
  ::kill(-session, sig);
  const auto members = session_members(session);
  for (const auto& p : members) {
    ::kill(p.pid, sig);
  }
  return members.size();
}

std::vector<ProcessInfo> kill_session(pid_t session, std::chrono::milliseconds limit) {
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + limit;
  while (true) {
    signal_session(session, SIGKILL);
    reap_session_zombies(session);
    auto members = session_members(session);
    if (members.empty() || Clock::now() >= end) {
      return members;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::vector<ProcessInfo> descendants(pid_t ancestor) {
  const auto processes = list_processes();
  std::vector<ProcessInfo> result;
  std::vector<pid_t> parents{ancestor};
  // Breadth first: each round adds the children of the previous round.
  while (!parents.empty()) {
    std::vector<pid_t> next;
    for (const auto& p : processes) {
      if (std::find(parents.begin(), parents.end(), p.ppid) != parents.end()) {
        result.push_back(p);
        next.push_back(p.pid);
      }
    }
    parents = std::move(next);
  }
  return result;
}

namespace {

// The helper is single-threaded: a plain list.
std::vector<pid_t>& kept_children() {
  static std::vector<pid_t> kept;
  return kept;
}

bool is_kept(pid_t pid) {
  const auto& kept = kept_children();
  return std::find(kept.begin(), kept.end(), pid) != kept.end();
}

}  // namespace

void keep_unreaped(pid_t pid) {
  kept_children().push_back(pid);
}

void release_unreaped(pid_t pid) {
  std::erase(kept_children(), pid);
}

void reap_session_zombies(pid_t session) {
  for (const auto& p : list_processes()) {
    if (p.ppid == ::getpid() && p.state == 'Z' && p.session == session && p.pid != session &&
        !is_kept(p.pid)) {
      ::waitpid(p.pid, nullptr, WNOHANG);
    }
  }
}

void reap_children(pid_t keep) {
  for (const auto& p : list_processes()) {
    if (p.ppid == ::getpid() && p.state == 'Z' && p.pid != keep && !is_kept(p.pid)) {
      ::waitpid(p.pid, nullptr, WNOHANG);
    }
  }
}

void reap_zombie_children() {
  if (kept_children().empty()) {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    return;
  }
  reap_children(0);
}

}  // namespace uml::process
