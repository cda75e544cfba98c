# The kernel cache's list and prune (cmake/steps/cache.cmake) on a made-up cache:
# entries removed least recently used first until the cache fits the size, an entry
# in use (its lock held by another process) and a KEEP entry never, a bad size named.
#   -DPACKAGE_DIR -DWORK_DIR
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/../e2e/common.cmake")
include("${PACKAGE_DIR}/cmake/steps/cache.cmake")

set(cache "${WORK_DIR}/cache")
file(REMOVE_RECURSE "${WORK_DIR}")
string(REPEAT "0123456789abcdef" 65536 one_mib) # 1 MiB of real data (du counts blocks)

# <path> of <mib> MiB, last used <days> ago.
function(entry kind name mib days)
  if(kind STREQUAL "kernel")
    set(dir "${cache}/kernel/${name}")
    file(MAKE_DIRECTORY "${dir}/.uml")
    set(marker "${dir}/.uml/last-used")
  elseif(kind STREQUAL "source")
    set(dir "${cache}/src/${name}")
    file(MAKE_DIRECTORY "${dir}")
    file(TOUCH "${dir}/.uml-unpacked")
    set(marker "${dir}/.uml-last-used")
  else()
    set(dir "${cache}/debian/${name}.tar")
    set(marker "${dir}.used")
  endif()
  set(data "${dir}/data")
  if(kind STREQUAL "debian")
    set(data "${dir}")
  endif()
  file(WRITE "${data}" "")
  foreach(i RANGE 1 ${mib})
    file(APPEND "${data}" "${one_mib}")
  endforeach()
  file(TOUCH "${marker}")
  execute_process(COMMAND touch -d "${days} days ago" "${marker}")
endfunction()

entry(kernel linux-6.12-aaaa 3 30) # oldest
entry(kernel linux-6.12-bbbb 3 20) # in use: its lock is held
entry(source linux-source-6.12-cccc 2 10)
entry(debian bookworm-minbase-dddd 1 5)
entry(kernel linux-6.1-eeee 3 1) # newest
entry(kernel linux-6.12-ffff 3 40) # oldest of all, but KEEP

# Another process holds the lock of one kernel, as a configure or build would.
set(holder "${WORK_DIR}/hold-lock.cmake")
file(WRITE "${holder}"
     "file(LOCK [==[${cache}/kernel/linux-6.12-bbbb/.uml/lock]==])\nfile(TOUCH [==[${WORK_DIR}/locked]==])\n"
     "execute_process(COMMAND sleep 60)\n")
execute_process(COMMAND sh -c "'${CMAKE_COMMAND}' -P '${holder}' >/dev/null 2>&1 & echo $!" OUTPUT_VARIABLE holder_pid)
string(STRIP "${holder_pid}" holder_pid)
foreach(i RANGE 100)
  if(EXISTS "${WORK_DIR}/locked")
    break()
  endif()
  execute_process(COMMAND sleep 0.1)
endforeach()
expect("the other process holds the lock" EXISTS "${WORK_DIR}/locked")
file(TOUCH "${cache}/kernel/linux-6.12-bbbb/.uml/last-used")
execute_process(COMMAND touch -d "20 days ago" "${cache}/kernel/linux-6.12-bbbb/.uml/last-used")

execute_process(COMMAND "${CMAKE_COMMAND}" -DACTION=list "-DCACHE_DIR=${cache}" -P
                        "${PACKAGE_DIR}/cmake/steps/cache.cmake" OUTPUT_VARIABLE listing ERROR_VARIABLE listing)
message("${listing}")
expect("list shows every entry with its size and last use" listing MATCHES
       "3 MiB\tused 30 day\\(s\\) ago\tkernel\tkernel/linux-6.12-aaaa")
expect(
  "...sources and Debian roots too"
  listing
  MATCHES
  "source\tsrc/linux-source-6.12-cccc"
  AND
  listing
  MATCHES
  "debian\tdebian/")
expect("...newest first" listing MATCHES "linux-6.1-eeee.*linux-6.12-aaaa")

# 15 MiB in all; down to 10 MiB: the oldest go first (ffff is kept, bbbb is in use),
# so aaaa (3) and the source (2) and the Debian root (1) go; eeee, the newest, stays.
uml_cache_prune(CACHE_DIR "${cache}" MAX_SIZE 10M KEEP "${cache}/kernel/linux-6.12-ffff")
execute_process(COMMAND kill ${holder_pid})
expect("the least recently used kernel is gone" NOT EXISTS "${cache}/kernel/linux-6.12-aaaa")
expect("a KEEP kernel stays, however old" EXISTS "${cache}/kernel/linux-6.12-ffff/data")
expect("a kernel in use stays" EXISTS "${cache}/kernel/linux-6.12-bbbb/data")
expect(
  "the next oldest entries went until the cache fit"
  NOT
  EXISTS
  "${cache}/src/linux-source-6.12-cccc"
  AND
  NOT
  EXISTS
  "${cache}/debian/bookworm-minbase-dddd.tar")
expect("the most recently used kernel stays" EXISTS "${cache}/kernel/linux-6.1-eeee/data")
file(GLOB leftovers "${cache}/*/*.deleting")
expect("no half-removed entry is left" NOT leftovers)

# Within the size: nothing goes.
uml_cache_prune(CACHE_DIR "${cache}" MAX_SIZE 1G)
expect("within the size nothing is removed" EXISTS "${cache}/kernel/linux-6.1-eeee/data")

# A bad size is named.
execute_process(
  COMMAND "${CMAKE_COMMAND}" -DACTION=prune "-DCACHE_DIR=${cache}" -DMAX_SIZE=lots -P
          "${PACKAGE_DIR}/cmake/steps/cache.cmake"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
expect(
  "MAX_SIZE lots is refused, naming it"
  NOT
  rc
  EQUAL
  0
  AND
  out
  MATCHES
  "MAX_SIZE 'lots' is not a size")
