# The kernel step's account of ccache and distcc, against fake ccache and distcc
# programs: Kbuild's -j from distcc's slots (only when distcc runs the compiles, only
# for auto, never over a Makefile generator's -jN, never from a distcc that prints
# nonsense), the "ccache served" line from the counters' difference, and the warning
# when the remote storage failed, without the URL's password.
#   -DPACKAGE_DIR -DWORK_DIR
cmake_minimum_required(VERSION 3.25)

if(DEFINED CASE)
  # One case, in a process of its own so that its messages can be checked.
  include("${PACKAGE_DIR}/cmake/UmlKbuild.cmake")
  set(cc "${WORK_DIR}/ccache /usr/bin/gcc")
  if(CASE STREQUAL "jobs")
    _uml_make_jobs(jobs "${DEFAULT}" DISTCC_CC "${cc}")
    message("jobs=${jobs}")
  elseif(CASE STREQUAL "report")
    file(READ "${WORK_DIR}/stats-before" before)
    string(REGEX MATCHALL "[a-z_]+\t[0-9]+" before "${before}")
    list(TRANSFORM before REPLACE "\t" "=")
    _uml_ccache_report("${cc}" "${before}" SUMMARY "UML kernel")
  endif()
  return()
endif()

unset(ENV{MAKEFLAGS}) # as under make test: its -jN would win over what is checked
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
# ccache: --print-stats from stats-after, --get-config from config-<key>.
file(
  WRITE "${WORK_DIR}/ccache"
  "#!/bin/sh
case \"$1\" in
--print-stats) cat '${WORK_DIR}/stats-after' ;;
--get-config) cat \"${WORK_DIR}/config-$2\" 2>/dev/null ;;
*) exit 1 ;;
esac
")
file(WRITE "${WORK_DIR}/distcc" "#!/bin/sh\n[ \"$1\" = -j ] && cat '${WORK_DIR}/distcc-slots'\n")
file(
  CHMOD
  "${WORK_DIR}/ccache"
  "${WORK_DIR}/distcc"
  PERMISSIONS
  OWNER_READ
  OWNER_WRITE
  OWNER_EXECUTE)

set(failures 0)
function(check what output pattern)
  if(output MATCHES "${pattern}")
    message(STATUS "ok: ${what}")
  else()
    message(SEND_ERROR "FAILED: ${what}: expected /${pattern}/ in:\n${output}")
  endif()
endfunction()
function(run_case out)
  execute_process(
    COMMAND "${CMAKE_COMMAND}" "-DPACKAGE_DIR=${PACKAGE_DIR}" "-DWORK_DIR=${WORK_DIR}" ${ARGN} -P
            "${CMAKE_CURRENT_LIST_FILE}"
    OUTPUT_VARIABLE output
    ERROR_VARIABLE output
    RESULT_VARIABLE rc)
  set(${out} "${output}" PARENT_SCOPE)
endfunction()

cmake_host_system_information(RESULT cores QUERY NUMBER_OF_LOGICAL_CORES)
file(WRITE "${WORK_DIR}/distcc-slots" "24\n")
file(REMOVE "${WORK_DIR}/config-prefix_command")
run_case(out -DCASE=jobs -DDEFAULT=auto)
check("without distcc, auto is the cores" "${out}" "jobs=${cores}\n")
file(WRITE "${WORK_DIR}/config-prefix_command" "${WORK_DIR}/distcc\n")
run_case(out -DCASE=jobs -DDEFAULT=auto)
check("ccache's prefix_command distcc: auto is distcc's 24 slots" "${out}"
      "-j24, the slots distcc's hosts offer.*jobs=24\n")
run_case(out -DCASE=jobs -DDEFAULT=5)
check("a number in UML_KERNEL_JOBS wins over distcc" "${out}" "^jobs=5\n$")
set(ENV{MAKEFLAGS} "-j3")
run_case(out -DCASE=jobs -DDEFAULT=auto)
check("a Makefile generator's -j3 wins over distcc" "${out}" "^jobs=3\n$")
unset(ENV{MAKEFLAGS})
file(WRITE "${WORK_DIR}/distcc-slots" "1\n")
run_case(out -DCASE=jobs -DDEFAULT=auto)
check("distcc's slots fewer than the cores leave the cores" "${out}" "^jobs=${cores}\n$")
file(WRITE "${WORK_DIR}/distcc-slots" "lots\n")
run_case(out -DCASE=jobs -DDEFAULT=auto)
check("a distcc that prints no number leaves the cores" "${out}" "^jobs=${cores}\n$")

# The counters before and after a build: 10 hits (4 of them remote), 3 misses.
file(WRITE "${WORK_DIR}/stats-before"
     "cache_miss\t100\ndirect_cache_hit\t50\npreprocessed_cache_hit\t5\nremote_storage_hit\t1\n")
file(
  WRITE "${WORK_DIR}/stats-after"
  "cache_miss\t103\ndirect_cache_hit\t58\npreprocessed_cache_hit\t7\nremote_storage_hit\t5\nremote_storage_write\t6\n"
  "remote_storage_error\t0\nremote_storage_timeout\t0\n")
file(WRITE "${WORK_DIR}/config-remote_storage" "redis://builder:s3cret@cache.example:6379|connect-timeout=500\n")
run_case(out -DCASE=report)
check("the summary counts the build's own compiles" "${out}"
      "ccache served 10 of 13 compiles \\(6 local, 4 remote; 6 written to the remote storage\\), 3 compiled")
check("no warning while the remote storage works" "${out}" "^[^W]*$")
file(
  WRITE "${WORK_DIR}/stats-after"
  "cache_miss\t103\ndirect_cache_hit\t58\npreprocessed_cache_hit\t7\nremote_storage_hit\t5\nremote_storage_write\t6\n"
  "remote_storage_error\t2\nremote_storage_timeout\t1\n")
run_case(out -DCASE=report)
check("a failing remote storage is a warning" "${out}"
      "CMake Warning.*remote storage failed 2 time\\(s\\) and timed out 1")
string(REPLACE "\n" " " flat "${out}")
string(REGEX REPLACE " +" " " flat "${flat}")
check("the warning names the storage without its password" "${flat}" "redis://\\*\\*\\*@cache.example:6379")
if(out MATCHES "s3cret")
  message(SEND_ERROR "FAILED: the warning printed the remote storage's password:\n${out}")
endif()
file(WRITE "${WORK_DIR}/config-remote_storage"
     "redis://u:p@ss@cache.example http://cache.example/x|bearer-token=t0ken|connect-timeout=9\n")
run_case(out -DCASE=report)
string(REPLACE "\n" " " flat "${out}")
string(REGEX REPLACE " +" " " flat "${flat}")
check("a password with an @ is hidden whole" "${flat}" "redis://\\*\\*\\*@cache.example ")
check("a bearer token is hidden" "${flat}" "bearer-token=\\*\\*\\*\\|connect-timeout=9")
if(out MATCHES "t0ken|p@ss|ss@")
  message(SEND_ERROR "FAILED: the warning printed a secret:\n${out}")
endif()
file(WRITE "${WORK_DIR}/config-remote_storage" "")
file(WRITE "${WORK_DIR}/stats-after" "garbage\n")
run_case(out -DCASE=report)
check("counters that cannot be read give no account and no error" "${out}" "^$")
