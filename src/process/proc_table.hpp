#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

namespace uml::process {

// One line of /proc/<pid>/stat.
struct ProcessInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t session = 0;
  char state = '?';
};

std::optional<ProcessInfo> parse_proc_stat(std::string_view stat);

// Every process in /proc, zombies included.
std::vector<ProcessInfo> list_processes();

// Every process of a session except zombies (they are dead already).
std::vector<ProcessInfo> session_members(pid_t session);

// Sends sig to the session's process group, then to every process of the session that
// left it; returns how many processes the session has.
std::size_t signal_session(pid_t session, int sig);

// SIGKILLs the session's processes until none is left (or `limit` passes), reaping the
// zombies of that session that are this process's children, but not its leader (its
// owner reaps it) and no other session's: a child of another session (UML, while a device
// model's session is killed) keeps its exit status for its owner. Returns the ones that
// survived.
std::vector<ProcessInfo> kill_session(pid_t session,
                                      std::chrono::milliseconds limit = std::chrono::seconds(5));

// The processes below `ancestor` (children, their children, ...), from /proc.
std::vector<ProcessInfo> descendants(pid_t ancestor);

// Reaps the zombies of `session` that are this process's children, except its leader
// and the children kept with keep_unreaped().
void reap_session_zombies(pid_t session);

// Reaps the zombies that are this process's children (orphans reparented to it, a child
// subreaper), except `keep`, which its owner (e.g. Boost.Process) reaps itself, and the
// children kept with keep_unreaped().
void reap_children(pid_t keep);

// Reaps every child that has ended, without waiting, except those kept with
// keep_unreaped().
void reap_zombie_children();

// A child whose owner reaps it itself, for its exit status (a device model: how it ended
// is part of the verdict): the reaping above leaves it alone until release_unreaped().
void keep_unreaped(pid_t pid);
void release_unreaped(pid_t pid);

}  // namespace uml::process
