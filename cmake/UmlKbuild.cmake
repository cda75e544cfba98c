# The one place that knows Kbuild's command line and Kconfig's files. Used at
# configure time (uml_add_kernel, uml_add_module, uml_discover_kunit_tests) and
# by the build steps in steps/, which include this file in script mode: so a
# kernel, a module and a modules_install run the same make command.
include_guard(GLOBAL)

#[=======================================================================[.md
`_uml_kbuild_command(<out> MAKE <make> SOURCE_DIR <src> BUILD_DIR <obj> CC <cc>
[MODULE_DIR <dir>] [JOBS <n>] [ARGS <arg>...])`: the make command line for the
kernel in `<obj>` (built out of tree from `<src>`), or with `MODULE_DIR` for an
external module directory (`M=`). `CC` is the compiler string with its launcher
(`ccache gcc`): it is the host compiler too, so ccache serves Kbuild's host tools
and every target, menuconfig included, compiles them alike.
#]=======================================================================]
function(_uml_kbuild_command out)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "MAKE;SOURCE_DIR;BUILD_DIR;CC;MODULE_DIR;JOBS" "ARGS")
  foreach(kw IN ITEMS MAKE SOURCE_DIR BUILD_DIR CC)
    if(NOT arg_${kw})
      message(FATAL_ERROR "Internal error - _uml_kbuild_command: ${kw} is empty")
    endif()
  endforeach()
  set(command
      "${arg_MAKE}"
      -C
      "${arg_SOURCE_DIR}"
      "O=${arg_BUILD_DIR}"
      ARCH=um
      "CC=${arg_CC}"
      "HOSTCC=${arg_CC}")
  if(arg_MODULE_DIR)
    list(APPEND command "M=${arg_MODULE_DIR}")
  endif()
  if(arg_JOBS)
    list(APPEND command "-j${arg_JOBS}")
  endif()
  list(APPEND command ${arg_ARGS})
  set(${out} "${command}" PARENT_SCOPE)
endfunction()

# Kbuild's -j: a Makefile generator passes the user's -jN in MAKEFLAGS; Ninja
# passes nothing, so <default> (UML_KERNEL_JOBS) applies. Its "auto" is all cores, or
# with [DISTCC_CC <cc>], when that compiler string runs distcc (as the launcher or
# as ccache's prefix_command), the slot count distcc gives for its hosts (distcc -j)
# when larger: compiles then wait on the hosts it lists. Never fewer than the cores:
# behind ccache most compiles are local hits.
function(_uml_make_jobs out default)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "DISTCC_CC" "")
  if("$ENV{MAKEFLAGS}" MATCHES "(^| )-?j ?([0-9]+)")
    set(${out} "${CMAKE_MATCH_2}" PARENT_SCOPE)
    return()
  endif()
  if(default MATCHES "^[1-9][0-9]*$")
    set(${out} "${default}" PARENT_SCOPE)
    return()
  endif()
  cmake_host_system_information(RESULT jobs QUERY NUMBER_OF_LOGICAL_CORES)
  if(arg_DISTCC_CC)
    _uml_distcc_program(distcc "${arg_DISTCC_CC}")
    if(distcc)
      execute_process(
        COMMAND "${distcc}" -j
        OUTPUT_VARIABLE slots
        OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
        RESULT_VARIABLE rc)
      if(rc EQUAL 0 AND slots MATCHES "^[1-9][0-9]*$" AND slots GREATER jobs)
        message(STATUS "UML kernel: -j${slots}, the slots distcc's hosts offer (distcc -j; ${jobs} local cores)")
        set(jobs "${slots}")
      endif()
    endif()
  endif()
  set(${out} "${jobs}" PARENT_SCOPE)
endfunction()

# The launcher of compiler string <cc> (its first word, e.g. /usr/bin/ccache) when its
# name is <name>, else empty.
function(_uml_launcher out cc name)
  separate_arguments(words UNIX_COMMAND "${cc}")
  list(GET words 0 first)
  set(${out} "" PARENT_SCOPE)
  if(first MATCHES "(^|/)${name}$")
    set(${out} "${first}" PARENT_SCOPE)
  endif()
endfunction()

# The distcc program <cc> (the compiler string with its launcher) runs compiles
# through, directly or as ccache's prefix_command (CCACHE_PREFIX or ccache.conf);
# empty if none.
function(_uml_distcc_program out cc)
  set(${out} "" PARENT_SCOPE)
  _uml_launcher(distcc "${cc}" distcc)
  _uml_launcher(ccache "${cc}" ccache)
  if(distcc)
    set(${out} "${distcc}" PARENT_SCOPE)
  elseif(ccache)
    execute_process(COMMAND "${ccache}" --get-config prefix_command OUTPUT_VARIABLE prefix
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    separate_arguments(prefix UNIX_COMMAND "${prefix}")
    foreach(word IN LISTS prefix)
      if(word MATCHES "(^|/)distcc$")
        find_program(distcc_path "${word}" NO_CACHE)
        set(${out} "${distcc_path}" PARENT_SCOPE)
        break()
      endif()
    endforeach()
  endif()
endfunction()

# ccache's counters (ccache --print-stats) as a list of name=value, for the ccache of
# compiler string <cc>; empty when <cc> has no ccache launcher.
function(_uml_ccache_stats out cc)
  set(${out} "" PARENT_SCOPE)
  _uml_launcher(ccache "${cc}" ccache)
  if(NOT ccache)
    return()
  endif()
  execute_process(
    COMMAND "${ccache}" --print-stats
    OUTPUT_VARIABLE text
    ERROR_QUIET
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    return()
  endif()
  string(REGEX MATCHALL "[a-z_]+\t[0-9]+" pairs "${text}")
  list(TRANSFORM pairs REPLACE "\t" "=")
  set(${out} "${pairs}" PARENT_SCOPE)
endfunction()

# After a Kbuild run: with [SUMMARY <what>], how its compiles were served (from the
# counters before it and now); and a warning, not an error, when ccache's remote
# storage failed, since ccache then compiles locally and says nothing. The counters are
# the whole cache directory's: builds sharing it at the same time are counted too.
function(_uml_ccache_report cc before)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "SUMMARY" "")
  if(NOT before)
    return()
  endif()
  _uml_ccache_stats(after "${cc}")
  if(NOT after)
    return()
  endif()
  set(names
      direct_cache_hit
      preprocessed_cache_hit
      cache_miss
      remote_storage_hit
      remote_storage_write
      remote_storage_error
      remote_storage_timeout)
  foreach(name IN LISTS names)
    set(${name} 0)
    foreach(when IN ITEMS before after)
      set(entry ${${when}})
      list(FILTER entry INCLUDE REGEX "^${name}=")
      set(${when}_value 0)
      if(entry MATCHES "=([0-9]+)$")
        set(${when}_value "${CMAKE_MATCH_1}")
      endif()
    endforeach()
    math(EXPR ${name} "${after_value} - ${before_value}")
    if(${name} LESS 0)
      return() # the counters were zeroed (ccache -z) meanwhile: no account
    endif()
  endforeach()
  math(EXPR hits "${direct_cache_hit} + ${preprocessed_cache_hit}")
  math(EXPR local_hits "${hits} - ${remote_storage_hit}")
  math(EXPR compiles "${hits} + ${cache_miss}")
  if(compiles EQUAL 0)
    return()
  endif()
  math(EXPR failures "${remote_storage_error} + ${remote_storage_timeout}")
  if(NOT arg_SUMMARY AND failures EQUAL 0)
    return()
  endif()
  _uml_launcher(ccache "${cc}" ccache)
  execute_process(COMMAND "${ccache}" --get-config remote_storage OUTPUT_VARIABLE remote
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(arg_SUMMARY)
    set(line "${arg_SUMMARY}: ccache served ${hits} of ${compiles} compiles (${local_hits} local")
    if(remote)
      string(APPEND line ", ${remote_storage_hit} remote; ${remote_storage_write} written to the remote storage")
    endif()
    message(STATUS "${line}), ${cache_miss} compiled")
  endif()
  if(failures GREATER 0)
    # The URLs' users, passwords and bearer tokens are not printed.
    string(REGEX REPLACE "://[^/ |]*@" "://***@" remote "${remote}")
    string(REGEX REPLACE "(\\|bearer-token=)[^| ]*" "\\1***" remote "${remote}")
    message(
      WARNING "ccache's remote storage failed ${remote_storage_error} time(s) and timed out "
              "${remote_storage_timeout} time(s) during this build (remote_storage: ${remote}). The build "
              "went on with the local cache: what it could not fetch was compiled here, what it could not "
              "store is not shared. Check that the server is up and reachable from this machine, or unset "
              "CCACHE_REMOTE_STORAGE (ccache --get-config remote_storage shows the setting).")
  endif()
endfunction()

# The environment of every Kbuild run of a build step (script mode: it changes this
# process's environment, which make inherits).
# - A fixed build identity: rebuilds are reproducible and ccache hits on
#   init/version.c too.
# - ccache hits across build trees (a new build directory, another cache dir): by
#   default ccache hashes absolute paths and, because the kernel is built with -g, the
#   working directory, so a new tree missed on nearly every object. With a base
#   directory over the source and the build tree, paths are hashed relative to the
#   build directory, where every tree has the same layout. A hit's debug info may then
#   name the first tree as its compilation directory; the sources' names are relative,
#   and uml-gdb.py adds the build directory to gdb's source path, so gdb still finds
#   them. The user's own settings win.
# - Not for modules: on a hit ccache gives the dependency file of the first tree with
#   relative paths, and the module step reads its .cmd files for ninja's dependencies
#   and the fast path. So a module's objects hit across trees at the same paths only.
function(_uml_kbuild_environment source_dir build_dir cc)
  set(ENV{KBUILD_BUILD_TIMESTAMP} "Thu Jan  1 00:00:00 UTC 1970")
  set(ENV{KBUILD_BUILD_USER} "uml")
  set(ENV{KBUILD_BUILD_HOST} "uml")
  if(NOT cc MATCHES "(^|/)ccache( |$)")
    return()
  endif()
  set(base "")
  set(a "${source_dir}")
  # The deepest directory holding both.
  while(NOT a STREQUAL "/" AND NOT a STREQUAL "")
    cmake_path(IS_PREFIX a "${build_dir}" NORMALIZE holds_both)
    if(holds_both)
      set(base "${a}")
      break()
    endif()
    cmake_path(GET a PARENT_PATH a)
  endwhile()
  if(base STREQUAL "" OR base STREQUAL "/")
    return() # nothing in common but the root: relative paths would not match anyway
  endif()
  if(NOT DEFINED ENV{CCACHE_BASEDIR})
    set(ENV{CCACHE_BASEDIR} "${base}")
  endif()
  if(NOT DEFINED ENV{CCACHE_HASHDIR} AND NOT DEFINED ENV{CCACHE_NOHASHDIR})
    set(ENV{CCACHE_NOHASHDIR} "1")
  endif()
endfunction()

# A Make-style depfile: <target> depends on every path in <deps>.
function(_uml_write_depfile depfile target deps)
  string(REPLACE " " "\\ " text "${target}")
  string(APPEND text ":")
  foreach(dep IN LISTS deps)
    string(REPLACE " " "\\ " dep "${dep}")
    string(APPEND text " \\\n ${dep}")
  endforeach()
  file(WRITE "${depfile}" "${text}\n")
endfunction()

# Writes <content> to <path> unless it holds that already (its time then stays, so
# nothing that depends on it runs again); written whole or not at all.
function(_uml_write_if_different path content)
  if(EXISTS "${path}")
    file(READ "${path}" old)
    if(old STREQUAL content)
      return()
    endif()
  endif()
  file(WRITE "${path}.tmp" "${content}")
  file(RENAME "${path}.tmp" "${path}")
endfunction()

# Flags for the shell Kbuild hands them to: each single-quoted, make's $ escaped.
function(_uml_kbuild_quote_flags out)
  set(quoted "")
  foreach(flag IN LISTS ARGN)
    string(REPLACE "'" "'\\''" flag "${flag}")
    string(REPLACE "$" "$$" flag "${flag}")
    list(APPEND quoted "'${flag}'")
  endforeach()
  list(JOIN quoted " " quoted)
  set(${out} "${quoted}" PARENT_SCOPE)
endfunction()

#[=======================================================================[.md
`_uml_read_config(<file> <syms_var> <vals_var> <origins_var> [STRICT])`: reads a
Kconfig file (`.config` or fragment) into parallel lists: symbol without the
`CONFIG_` prefix, value (`n` for `# CONFIG_X is not set`), and `file:line`.
With `STRICT`, a line that is neither an assignment, a "not set" line, a comment
nor blank is a fatal error naming the file and line.
#]=======================================================================]
function(_uml_read_config file syms_var vals_var origins_var strict)
  file(READ "${file}" content)
  # Kconfig values may hold ';', which would split a CMake list.
  string(ASCII 31 sep)
  string(REPLACE ";" "${sep}" content "${content}")
  string(REPLACE "\n" ";" lines "${content}")
  set(syms "")
  set(vals "")
  set(origins "")
  set(line_no 0)
  foreach(line IN LISTS lines)
    math(EXPR line_no "${line_no} + 1")
    string(STRIP "${line}" line)
    if(line MATCHES "^CONFIG_([A-Za-z0-9_]+)=(.*)$")
      set(sym "${CMAKE_MATCH_1}")
      string(REPLACE "${sep}" ";" val "${CMAKE_MATCH_2}")
      if(val STREQUAL "")
        set(val n)
      endif()
    elseif(line MATCHES "^# CONFIG_([A-Za-z0-9_]+) is not set$")
      set(sym "${CMAKE_MATCH_1}")
      set(val n)
    elseif(line STREQUAL "" OR line MATCHES "^#")
      continue()
    elseif(strict)
      string(REPLACE "${sep}" ";" line "${line}")
      message(FATAL_ERROR "bad config fragment line ${file}:${line_no}: '${line}'\n"
                          "Each line must be CONFIG_NAME=value, '# CONFIG_NAME is not set', a comment or blank.")
    else()
      continue()
    endif()
    list(APPEND syms "${sym}")
    list(APPEND vals "${val}")
    list(APPEND origins "${file}:${line_no}")
  endforeach()
  set(${syms_var} "${syms}" PARENT_SCOPE)
  set(${vals_var} "${vals}" PARENT_SCOPE)
  set(${origins_var} "${origins}" PARENT_SCOPE)
endfunction()

# The value of CONFIG_<symbol> in a .config (the last assignment wins), or n.
function(_uml_config_value out config symbol)
  _uml_read_config("${config}" syms vals origins "")
  set(value n)
  foreach(sym val IN ZIP_LISTS syms vals)
    if(sym STREQUAL symbol)
      set(value "${val}")
    endif()
  endforeach()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# A symbol and value as Kconfig writes them.
function(_uml_config_line out sym val)
  if(val STREQUAL "n")
    set(${out} "# CONFIG_${sym} is not set" PARENT_SCOPE)
  else()
    set(${out} "CONFIG_${sym}=${val}" PARENT_SCOPE)
  endif()
endfunction()

function(_uml_run_make name what)
  execute_process(
    COMMAND ${ARGN}
    OUTPUT_VARIABLE output
    ERROR_VARIABLE output
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "uml_add_kernel(${name}): 'make ${what}' failed (${rc}):\n${output}")
  endif()
endfunction()

#[=======================================================================[.md
`_uml_kernel_configure(<name> MAKE <make> SOURCE_DIR <src> BUILD_DIR <obj> CC <cc>
MODE minimal|defconfig|file BASE_CONFIG <file> INPUTS_HASH <hash> [FRAGMENTS <f>...])`:
makes `<obj>/.config` from the mode and fragments when they changed since it was
last made (a menuconfig edit is kept until then), and verifies every requested
symbol. At configure time, and again by the kernel's build step when the build
directory was removed since (a pruned cache).
#]=======================================================================]
function(_uml_kernel_configure name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "MAKE;SOURCE_DIR;BUILD_DIR;CC;MODE;BASE_CONFIG;INPUTS_HASH" "FRAGMENTS")
  set(build_dir "${arg_BUILD_DIR}")
  set(meta "${build_dir}/.uml")
  file(MAKE_DIRECTORY "${meta}")
  file(
    LOCK "${meta}/lock"
    GUARD FUNCTION
    TIMEOUT 3600
    RESULT_VARIABLE lock_error)
  if(lock_error)
    message(FATAL_ERROR "uml_add_kernel(${name}): cannot lock ${meta}/lock: ${lock_error}")
  endif()
  # For the cache's least-recently-used pruning (steps/cache.cmake).
  file(TOUCH "${meta}/last-used")
  _uml_kbuild_command(
    make_cmd
    MAKE "${arg_MAKE}"
    SOURCE_DIR "${arg_SOURCE_DIR}"
    BUILD_DIR "${build_dir}"
    CC "${arg_CC}")

  set(previous_hash "")
  if(EXISTS "${meta}/config-inputs.sha256" AND EXISTS "${build_dir}/.config")
    file(READ "${meta}/config-inputs.sha256" previous_hash)
  endif()
  if(NOT previous_hash STREQUAL arg_INPUTS_HASH)
    # Keep a copy of hand edits (menuconfig) that the new inputs replace.
    if(EXISTS "${build_dir}/.config" AND EXISTS "${meta}/config.generated")
      file(SHA256 "${build_dir}/.config" now)
      file(SHA256 "${meta}/config.generated" generated)
      if(NOT now STREQUAL generated)
        file(COPY_FILE "${build_dir}/.config" "${build_dir}/.config.before-uml")
        message(WARNING "uml_add_kernel(${name}): CONFIG or fragments changed, so the kernel .config is "
                        "made anew; the previous one, with hand edits, is saved as ${build_dir}/.config.before-uml")
      endif()
    endif()
    file(REMOVE "${meta}/config-inputs.sha256")
    message(STATUS "Configuring UML kernel ${name} (${arg_MODE})")

    set(requested_files ${arg_FRAGMENTS})
    if(arg_MODE STREQUAL "minimal")
      # allnoconfig with every requested symbol forced: only what was asked for.
      set(allconfig "${meta}/allconfig")
      file(WRITE "${allconfig}" "")
      foreach(file IN LISTS arg_BASE_CONFIG arg_FRAGMENTS)
        file(READ "${file}" content)
        file(APPEND "${allconfig}" "${content}\n")
      endforeach()
      _uml_run_make(${name} "allnoconfig" ${make_cmd} "KCONFIG_ALLCONFIG=${allconfig}" allnoconfig)
      list(PREPEND requested_files "${arg_BASE_CONFIG}")
    else()
      if(arg_MODE STREQUAL "defconfig")
        _uml_run_make(${name} "defconfig" ${make_cmd} defconfig)
      else()
        file(COPY_FILE "${arg_BASE_CONFIG}" "${build_dir}/.config")
      endif()
      # Later assignments win in Kconfig, so appending the fragments merges them.
      foreach(file IN LISTS arg_FRAGMENTS)
        file(READ "${file}" content)
        file(APPEND "${build_dir}/.config" "\n${content}\n")
      endforeach()
      _uml_run_make(${name} "olddefconfig" ${make_cmd} olddefconfig)
    endif()
    _uml_verify_config(${name} "${build_dir}/.config" ${requested_files})
    file(COPY_FILE "${build_dir}/.config" "${meta}/config.generated")
    file(WRITE "${meta}/config-inputs.sha256" "${arg_INPUTS_HASH}")
  endif()
endfunction()

# The kernel release of a configured build directory (syncconfig first when
# include/config/auto.conf is missing or older than .config).
function(
  _uml_kernel_release
  out
  name
  make
  source_dir
  build_dir
  cc)
  _uml_kbuild_command(
    make_cmd
    MAKE "${make}"
    SOURCE_DIR "${source_dir}"
    BUILD_DIR "${build_dir}"
    CC "${cc}")
  file(
    LOCK "${build_dir}/.uml/lock"
    GUARD FUNCTION
    TIMEOUT 3600
    RESULT_VARIABLE lock_error)
  if(lock_error)
    message(FATAL_ERROR "uml_add_kernel(${name}): cannot lock ${build_dir}/.uml/lock: ${lock_error}")
  endif()
  if(NOT EXISTS "${build_dir}/include/config/auto.conf" OR "${build_dir}/.config" IS_NEWER_THAN
                                                           "${build_dir}/include/config/auto.conf")
    _uml_run_make(${name} "syncconfig" ${make_cmd} syncconfig)
  endif()
  execute_process(
    COMMAND ${make_cmd} -s kernelrelease
    OUTPUT_VARIABLE release
    OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR release STREQUAL "")
    message(FATAL_ERROR "uml_add_kernel(${name}): 'make kernelrelease' failed in ${build_dir}")
  endif()
  set(${out} "${release}" PARENT_SCOPE)
endfunction()

# Every symbol a config file asked for must have taken that value; a symbol can
# silently stay off when its dependencies are missing (BLK_DEV_UBD without BLK_DEV).
function(_uml_verify_config name config)
  # Later files override earlier ones, as in Kconfig itself.
  set(req_syms "")
  set(req_vals "")
  set(req_origins "")
  foreach(requested_file IN LISTS ARGN)
    _uml_read_config("${requested_file}" syms vals origins STRICT)
    foreach(
      sym
      val
      origin
      IN
      ZIP_LISTS
      syms
      vals
      origins)
      list(FIND req_syms "${sym}" index)
      if(NOT index EQUAL -1)
        list(REMOVE_AT req_syms ${index})
        list(REMOVE_AT req_vals ${index})
        list(REMOVE_AT req_origins ${index})
      endif()
      list(APPEND req_syms "${sym}")
      list(APPEND req_vals "${val}")
      list(APPEND req_origins "${origin}")
    endforeach()
  endforeach()

  _uml_read_config("${config}" result_syms result_vals result_origins "")
  set(problems "")
  foreach(
    sym
    val
    origin
    IN
    ZIP_LISTS
    req_syms
    req_vals
    req_origins)
    list(FIND result_syms "${sym}" index)
    if(index EQUAL -1)
      set(actual n)
    else()
      list(GET result_vals ${index} actual)
    endif()
    if(NOT actual STREQUAL val)
      _uml_config_line(wanted "${sym}" "${val}")
      _uml_config_line(got "${sym}" "${actual}")
      string(APPEND problems "\n  ${wanted} (${origin}): the result has ${got}")
    endif()
  endforeach()
  if(problems)
    message(
      FATAL_ERROR
        "uml_add_kernel(${name}): requested config symbols did not take their value:${problems}\n"
        "Usually a dependency is missing or the symbol does not exist in this kernel version: "
        "search for it in '${name}_menuconfig' (press /) to see what it depends on, and add that " "to the fragment.")
  endif()
endfunction()
