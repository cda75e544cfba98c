# Build-time steps of uml_add_kernel(). uml_add_kernel() writes a script per step
# that includes this file and calls uml_step_kernel() with the kernel's settings.
#
#   uml_step_kernel(ACTION build|savedefconfig|savefragment NAME <target>
#     MAKE <make> SOURCE_DIR <src> BUILD_DIR <obj> CC <cc>
#     MODE <mode> BASE_CONFIG <file> INPUTS_HASH <hash> [FRAGMENTS <file>...]
#     [JOBS <n>] [DEPFILE <file>] [STAMP <file>] [OUTPUT <file>]
#     [CACHE_DIR <dir>] [CACHE_MAX_SIZE <size>])
#
# build          (re)configure when the build directory lost its configuration (a
#                pruned cache), make the kernel with progress, write a depfile of every
#                file under the source tree that Kbuild recorded, touch the stamp, and
#                keep the cache under CACHE_MAX_SIZE
# savedefconfig  `make savedefconfig`, copied to OUTPUT
# savefragment   the symbols whose value differs from the configure-time .config,
#                written as a fragment to OUTPUT
include_guard(GLOBAL)
include("${CMAKE_CURRENT_LIST_DIR}/../UmlKbuild.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/cache.cmake")
set(_UML_PROGRESS_AWK "${CMAKE_CURRENT_LIST_DIR}/kbuild-progress.awk")

function(uml_step_kernel)
  cmake_parse_arguments(
    PARSE_ARGV
    0
    arg
    ""
    "ACTION;NAME;MAKE;SOURCE_DIR;BUILD_DIR;CC;MODE;BASE_CONFIG;INPUTS_HASH;JOBS;DEPFILE;STAMP;OUTPUT;CACHE_DIR;CACHE_MAX_SIZE"
    "FRAGMENTS")
  foreach(kw IN ITEMS ACTION NAME MAKE SOURCE_DIR BUILD_DIR CC)
    if(NOT arg_${kw})
      message(FATAL_ERROR "Internal error - uml_step_kernel: ${kw} is empty")
    endif()
  endforeach()
  _uml_kbuild_command(
    make_cmd
    MAKE "${arg_MAKE}"
    SOURCE_DIR "${arg_SOURCE_DIR}"
    BUILD_DIR "${arg_BUILD_DIR}"
    CC "${arg_CC}")
  if(arg_ACTION STREQUAL "build")
    _uml_kernel_build()
  elseif(arg_ACTION STREQUAL "savedefconfig")
    execute_process(COMMAND ${make_cmd} savedefconfig RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "make savedefconfig failed (${rc})")
    endif()
    file(COPY_FILE "${arg_BUILD_DIR}/defconfig" "${arg_OUTPUT}")
    message(STATUS "Saved ${arg_OUTPUT}; use it with CONFIG ${arg_OUTPUT}")
  elseif(arg_ACTION STREQUAL "savefragment")
    _uml_kernel_save_fragment("${arg_BUILD_DIR}" "${arg_OUTPUT}")
  else()
    message(FATAL_ERROR "Internal error - uml_step_kernel: unknown ACTION '${arg_ACTION}'")
  endif()
endfunction()

# The build action; reads the caller's arg_* and make_cmd.
macro(_uml_kernel_build)
  set(record "${arg_BUILD_DIR}/.uml/last-build.deps")
  # Configured at configure time; again here only if the build directory was pruned
  # from the cache (or removed by hand) since.
  _uml_kernel_configure(
    ${arg_NAME}
    MAKE "${arg_MAKE}"
    SOURCE_DIR "${arg_SOURCE_DIR}"
    BUILD_DIR "${arg_BUILD_DIR}"
    CC "${arg_CC}"
    MODE "${arg_MODE}"
    BASE_CONFIG "${arg_BASE_CONFIG}"
    FRAGMENTS "${arg_FRAGMENTS}"
    INPUTS_HASH "${arg_INPUTS_HASH}")
  _uml_cache_touch("${arg_SOURCE_DIR}") # an unpacked source in the cache is in use too
  # One Kbuild at a time per build directory: several projects may share it.
  file(LOCK "${arg_BUILD_DIR}/.uml/lock" TIMEOUT 7200 RESULT_VARIABLE lock_error)
  if(lock_error)
    message(FATAL_ERROR "cannot lock ${arg_BUILD_DIR}/.uml/lock: ${lock_error}")
  endif()
  # Once per step: the reuse check compares it, a real build records it.
  _uml_toolchain_fingerprint(toolchain "${arg_CC}")
  _uml_kernel_unchanged(unchanged)
  if(unchanged)
    message(STATUS "UML kernel in ${arg_BUILD_DIR} is up to date (built by another project)")
    file(TOUCH "${arg_STAMP}")
  else()
    _uml_make_jobs(jobs "${arg_JOBS}" DISTCC_CC "${arg_CC}")
    _uml_kbuild_environment("${arg_SOURCE_DIR}" "${arg_BUILD_DIR}" "${arg_CC}")
    _uml_ccache_stats(ccache_before "${arg_CC}")
    _uml_kbuild_with_progress(rc "${arg_BUILD_DIR}" "${arg_SOURCE_DIR}" "${arg_MODE}" ${make_cmd} -j${jobs})
    _uml_ccache_report("${arg_CC}" "${ccache_before}" SUMMARY "UML kernel")
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "UML kernel build failed (make exited with ${rc}); see the compiler output above.\n"
                          "Build directory: ${arg_BUILD_DIR}")
    endif()
    _uml_write_kernel_depfile()
    file(TOUCH "${arg_STAMP}")
  endif()
  file(LOCK "${arg_BUILD_DIR}/.uml/lock" RELEASE)
  if(arg_CACHE_DIR AND arg_CACHE_MAX_SIZE)
    uml_cache_prune(
      CACHE_DIR "${arg_CACHE_DIR}"
      MAX_SIZE "${arg_CACHE_MAX_SIZE}"
      KEEP "${arg_BUILD_DIR}"
      QUIET)
  endif()
endmacro()

# Runs Kbuild with each of its "  CC  file" lines prefixed by the progress:
# [ 42%] when the count of a whole build of this configuration is known (this
# directory's last cold build, else another kernel of the cache built from the same
# source and mode), else the running count. Returns make's exit status.
function(_uml_kbuild_with_progress out build_dir source_dir mode)
  set(count_file "${build_dir}/.uml/kbuild-lines")
  set(cold FALSE)
  if(NOT EXISTS "${build_dir}/linux")
    set(cold TRUE)
  endif()
  set(total 0)
  if(cold)
    # Kernels of the same source and mode built elsewhere in the same cache.
    get_filename_component(parent "${build_dir}" DIRECTORY)
    file(GLOB records "${count_file}" "${parent}/*/.uml/kbuild-lines")
    foreach(candidate IN LISTS records)
      file(READ "${candidate}" text)
      if(text MATCHES "^([0-9]+) ([^\n]*)\n([^\n]*)\n" AND CMAKE_MATCH_2 STREQUAL mode AND CMAKE_MATCH_3 STREQUAL
                                                                                           source_dir)
        set(total "${CMAKE_MATCH_1}")
        if(candidate STREQUAL count_file)
          break() # this directory's own record is the best estimate
        endif()
      endif()
    endforeach()
    if(total GREATER 0)
      message(STATUS "UML kernel: Kbuild has about ${total} steps to do (a whole build of this configuration)")
    else()
      message(STATUS "UML kernel: first build of this configuration, so no percentage: "
                     "Kbuild's steps are counted as they come")
    endif()
  endif()
  execute_process(COMMAND ${ARGN} COMMAND awk -v "total=${total}" -v "count_file=${build_dir}/.uml/kbuild-lines.new" -f
                                          "${_UML_PROGRESS_AWK}" RESULTS_VARIABLE results)
  list(GET results 0 rc)
  if(rc EQUAL 0 AND cold AND EXISTS "${build_dir}/.uml/kbuild-lines.new")
    file(READ "${build_dir}/.uml/kbuild-lines.new" lines)
    string(STRIP "${lines}" lines)
    file(WRITE "${count_file}" "${lines} ${mode}\n${source_dir}\n")
  endif()
  file(REMOVE "${build_dir}/.uml/kbuild-lines.new")
  set(${out} "${rc}" PARENT_SCOPE)
endfunction()

macro(_uml_write_kernel_depfile)
  set(src "${arg_SOURCE_DIR}")
  file(GLOB_RECURSE cmd_files LIST_DIRECTORIES false "${arg_BUILD_DIR}/*.cmd")
  set(deps "${src}/Makefile")
  set(dirs "")
  set(raw "")
  foreach(cmd_file IN LISTS cmd_files)
    # Two-space indented lines are the files fixdep recorded; deeper ones are
    # $(wildcard include/config/...) entries, covered by .config. The lines end
    # in backslashes, which file(STRINGS) would turn into escaped list separators.
    file(READ "${cmd_file}" content)
    string(REPLACE "\\\n" "\n" content "${content}")
    string(REGEX MATCHALL "\n  [^ $\n][^\n]*|\nsource_[^\n]*" lines "${content}")
    list(APPEND raw ${lines})
    get_filename_component(dir "${cmd_file}" DIRECTORY)
    list(APPEND dirs "${dir}")
  endforeach()
  # Most headers appear in hundreds of .cmd files: deduplicate before the
  # per-path work.
  list(REMOVE_DUPLICATES raw)
  foreach(line IN LISTS raw)
    string(REGEX REPLACE "^\nsource_[^ ]* := " "" path "${line}")
    string(STRIP "${path}" path)
    if(NOT IS_ABSOLUTE "${path}")
      set(path "${arg_BUILD_DIR}/${path}")
    endif()
    cmake_path(NORMAL_PATH path)
    cmake_path(IS_PREFIX src "${path}" under_source)
    if(under_source)
      list(APPEND deps "${path}")
    endif()
  endforeach()
  # The Makefiles of each directory Kbuild descended into decide what is built.
  list(REMOVE_DUPLICATES dirs)
  foreach(dir IN LISTS dirs)
    file(RELATIVE_PATH rel "${arg_BUILD_DIR}" "${dir}")
    foreach(name IN ITEMS Makefile Kbuild)
      cmake_path(APPEND src "${rel}" "${name}" OUTPUT_VARIABLE path)
      if(EXISTS "${path}")
        list(APPEND deps "${path}")
      endif()
    endforeach()
  endforeach()
  # Kconfig files: a change there can change the configuration.
  if(EXISTS "${arg_BUILD_DIR}/include/config/auto.conf.cmd")
    file(READ "${arg_BUILD_DIR}/include/config/auto.conf.cmd" content)
    string(REPLACE "\\\n" "\n" content "${content}")
    string(REGEX MATCHALL "\n\t[^\n]*" lines "${content}")
    foreach(line IN LISTS lines)
      string(STRIP "${line}" path)
      if(EXISTS "${src}/${path}")
        list(APPEND deps "${src}/${path}")
      endif()
    endforeach()
  endif()
  list(REMOVE_DUPLICATES deps)
  list(SORT deps)
  # For the next project that shares this build directory (_uml_kernel_unchanged).
  list(JOIN deps "\n" lines)
  file(WRITE "${record}.tmp" "${toolchain}\n${lines}\n")
  file(RENAME "${record}.tmp" "${record}")
  _uml_write_project_depfile("${deps}")
endmacro()

# The project's depfile: the kernel's files, plus its .config, so a menuconfig edit,
# or a build directory pruned from the cache, runs the step again (a missing input
# makes Ninja and Make run it; as a DEPENDS it would be an error).
function(_uml_write_project_depfile deps)
  list(APPEND deps "${arg_BUILD_DIR}/.config")
  _uml_write_depfile("${arg_DEPFILE}" "${arg_STAMP}" "${deps}")
endfunction()

# What Kconfig records of the toolchain in include/config/auto.conf.cmd, computed as
# the kernel's Makefile does: when one of these changes, Kbuild syncs the
# configuration again and may rebuild (a compiler upgrade, rustc now on PATH).
function(_uml_toolchain_fingerprint out cc_string)
  separate_arguments(cc UNIX_COMMAND "${cc_string}")
  execute_process(COMMAND env LC_ALL=C ${cc} --version OUTPUT_VARIABLE cc_version ERROR_QUIET)
  string(REGEX REPLACE "\n.*" "" cc_version "${cc_version}")
  set(rustc rustc)
  if(DEFINED ENV{RUSTC})
    set(rustc "$ENV{RUSTC}")
  endif()
  execute_process(COMMAND ${rustc} --version OUTPUT_VARIABLE rustc_version ERROR_QUIET)
  string(STRIP "${rustc_version}" rustc_version)
  set(text "toolchain: CC=${cc_string} | ${cc_version} | ${rustc_version}")
  foreach(
    var IN
    ITEMS LD
          NM
          OBJCOPY
          AR
          PAHOLE
          BINDGEN
          PYTHON3
          RUSTC
          LLVM
          CROSS_COMPILE)
    if(DEFINED ENV{${var}})
      string(APPEND text " | ${var}=$ENV{${var}}")
    endif()
  endforeach()
  string(REPLACE "\n" " " text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# Several projects share one build directory through UML_CACHE_DIR. A project's first
# build of it would run Kbuild's no-op walk and rescan ~4,000 .cmd files (~15 s, with
# the lock held) only to find what the project that built it last found. The kernel
# is unchanged when its .config, its linux and every file that project's depfile listed
# are older than that list, and the toolchain is the same: then the list is this
# project's depfile too.
function(_uml_kernel_unchanged out)
  set(${out} FALSE PARENT_SCOPE)
  if(NOT EXISTS "${record}" OR NOT EXISTS "${arg_BUILD_DIR}/linux")
    return()
  endif()
  foreach(file IN ITEMS "${arg_BUILD_DIR}/.config" "${arg_BUILD_DIR}/linux")
    if("${file}" IS_NEWER_THAN "${record}")
      return()
    endif()
  endforeach()
  file(STRINGS "${record}" deps)
  list(POP_FRONT deps recorded_toolchain)
  if(NOT recorded_toolchain STREQUAL toolchain OR NOT deps)
    return()
  endif()
  foreach(dep IN LISTS deps)
    # Also true when the file is gone, or as new as the list: then Kbuild decides.
    if("${dep}" IS_NEWER_THAN "${record}")
      return()
    endif()
  endforeach()
  _uml_write_project_depfile("${deps}")
  set(${out} TRUE PARENT_SCOPE)
endfunction()

function(_uml_kernel_save_fragment build_dir output)
  _uml_read_config("${build_dir}/.uml/config.generated" old_syms old_vals old_origins "")
  _uml_read_config("${build_dir}/.config" new_syms new_vals new_origins "")
  set(text "# Changes made to the kernel configuration after CMake generated it.\n"
           "# Add this file to CONFIG_FRAGMENTS to keep them.\n")
  set(count 0)
  foreach(sym val IN ZIP_LISTS new_syms new_vals)
    list(FIND old_syms "${sym}" index)
    set(old n)
    if(NOT index EQUAL -1)
      list(GET old_vals ${index} old)
    endif()
    if(NOT old STREQUAL val)
      math(EXPR count "${count} + 1")
      _uml_config_line(line "${sym}" "${val}")
      string(APPEND text "${line}\n")
    endif()
  endforeach()
  foreach(sym val IN ZIP_LISTS old_syms old_vals)
    if(NOT val STREQUAL "n" AND NOT sym IN_LIST new_syms)
      math(EXPR count "${count} + 1")
      _uml_config_line(line "${sym}" n)
      string(APPEND text "${line}\n")
    endif()
  endforeach()
  file(WRITE "${output}" ${text})
  message(STATUS "Saved ${count} changed symbol(s) to ${output}; add it to CONFIG_FRAGMENTS to keep them")
endfunction()
