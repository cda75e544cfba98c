# Build-time steps of uml_add_kernel(), run as `cmake -DUML_ACTION=... -P kernel.cmake`.
#
# build          make the kernel, then write a depfile of every file under the
#                source tree that Kbuild recorded, and touch the stamp
# savedefconfig  `make savedefconfig`, copied to UML_OUTPUT
# savefragment   the symbols whose value differs from the configure-time .config,
#                written as a fragment to UML_OUTPUT
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/../cmake/UmlConfigFile.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/build_common.cmake")

foreach(var IN ITEMS UML_ACTION UML_SOURCE_DIR UML_BUILD_DIR UML_CC UML_MAKE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "kernel.cmake: ${var} is not set")
  endif()
endforeach()

set(make_cmd
    "${UML_MAKE}"
    -C
    "${UML_SOURCE_DIR}"
    O=${UML_BUILD_DIR}
    ARCH=um
    "CC=${UML_CC}"
    "HOSTCC=${UML_CC}")

# A fixed build identity, so rebuilds are reproducible and ccache hits on
# init/version.c too.
set(ENV{KBUILD_BUILD_TIMESTAMP} "Thu Jan  1 00:00:00 UTC 1970")
set(ENV{KBUILD_BUILD_USER} "uml")
set(ENV{KBUILD_BUILD_HOST} "uml")

# One Kbuild at a time per build directory: several projects may share it
# through UML_CACHE_DIR.
file(LOCK "${UML_BUILD_DIR}/.uml/lock" TIMEOUT 7200 RESULT_VARIABLE lock_error)
if(lock_error)
  message(FATAL_ERROR "cannot lock ${UML_BUILD_DIR}/.uml/lock: ${lock_error}")
endif()

function(write_kernel_depfile depfile stamp)
  set(src "${UML_SOURCE_DIR}")
  file(GLOB_RECURSE cmd_files LIST_DIRECTORIES false "${UML_BUILD_DIR}/*.cmd")
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
      set(path "${UML_BUILD_DIR}/${path}")
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
    file(RELATIVE_PATH rel "${UML_BUILD_DIR}" "${dir}")
    foreach(name IN ITEMS Makefile Kbuild)
      cmake_path(APPEND src "${rel}" "${name}" OUTPUT_VARIABLE path)
      if(EXISTS "${path}")
        list(APPEND deps "${path}")
      endif()
    endforeach()
  endforeach()
  # Kconfig files: a change there can change the configuration.
  if(EXISTS "${UML_BUILD_DIR}/include/config/auto.conf.cmd")
    file(READ "${UML_BUILD_DIR}/include/config/auto.conf.cmd" content)
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
  uml_write_depfile("${depfile}" "${stamp}" "${deps}")
  # For the next project that shares this build directory (see kernel_unchanged).
  list(JOIN deps "\n" lines)
  file(WRITE "${record}.tmp" "${toolchain}\n${lines}\n")
  file(RENAME "${record}.tmp" "${record}")
endfunction()

# What Kconfig records of the toolchain in include/config/auto.conf.cmd, computed as
# the kernel's Makefile does: when one of these changes, Kbuild syncs the
# configuration again and may rebuild (a compiler upgrade, rustc now on PATH).
function(toolchain_fingerprint out)
  separate_arguments(cc UNIX_COMMAND "${UML_CC}")
  execute_process(COMMAND env LC_ALL=C ${cc} --version OUTPUT_VARIABLE cc_version ERROR_QUIET)
  string(REGEX REPLACE "\n.*" "" cc_version "${cc_version}")
  set(rustc rustc)
  if(DEFINED ENV{RUSTC})
    set(rustc "$ENV{RUSTC}")
  endif()
  execute_process(COMMAND ${rustc} --version OUTPUT_VARIABLE rustc_version ERROR_QUIET)
  string(STRIP "${rustc_version}" rustc_version)
  set(text "toolchain: CC=${UML_CC} | ${cc_version} | ${rustc_version}")
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
function(kernel_unchanged out)
  set(${out} FALSE PARENT_SCOPE)
  if(NOT EXISTS "${record}" OR NOT EXISTS "${UML_BUILD_DIR}/linux")
    return()
  endif()
  foreach(file IN ITEMS "${UML_BUILD_DIR}/.config" "${UML_BUILD_DIR}/linux")
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
  uml_write_depfile("${UML_DEPFILE}" "${UML_STAMP}" "${deps}")
  set(${out} TRUE PARENT_SCOPE)
endfunction()

# ccache hits across build trees (a new build directory, another UML_CACHE_DIR):
# by default ccache hashes absolute paths and, because the kernel is built with
# -g, the working directory, so a new tree missed on nearly every object. With a
# base directory over the source and the build tree, paths are hashed relative
# to the build directory, where every tree has the same layout. The compilation
# directory recorded in a hit's debug info may then be the first tree's; the
# sources' names are relative, and uml-gdb.py adds this build directory to gdb's
# source path, so gdb still finds them. The user's own settings win.
function(uml_ccache_across_trees)
  if(NOT UML_CC MATCHES "(^|/)ccache( |$)")
    return()
  endif()
  set(base "")
  set(a "${UML_SOURCE_DIR}")
  set(b "${UML_BUILD_DIR}")
  # The deepest directory holding both.
  while(NOT a STREQUAL "/" AND NOT a STREQUAL "")
    cmake_path(IS_PREFIX a "${b}" holds_both NORMALIZE)
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

set(record "${UML_BUILD_DIR}/.uml/last-build.deps")
if(UML_ACTION STREQUAL "build")
  # Once per step: the reuse check compares it, a real build records it.
  toolchain_fingerprint(toolchain)
  kernel_unchanged(unchanged)
  if(unchanged)
    message(STATUS "UML kernel in ${UML_BUILD_DIR} is up to date (built by another project)")
    file(TOUCH "${UML_STAMP}")
    return()
  endif()
  uml_make_jobs(jobs "${UML_JOBS}")
  uml_ccache_across_trees()
  execute_process(COMMAND ${make_cmd} -j${jobs} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "UML kernel build failed (make exited with ${rc}); see the compiler output above.\n"
                        "Build directory: ${UML_BUILD_DIR}")
  endif()
  write_kernel_depfile("${UML_DEPFILE}" "${UML_STAMP}")
  file(TOUCH "${UML_STAMP}")
elseif(UML_ACTION STREQUAL "savedefconfig")
  execute_process(COMMAND ${make_cmd} savedefconfig RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "make savedefconfig failed (${rc})")
  endif()
  file(COPY_FILE "${UML_BUILD_DIR}/defconfig" "${UML_OUTPUT}")
  message(STATUS "Saved ${UML_OUTPUT}; use it with CONFIG ${UML_OUTPUT}")
elseif(UML_ACTION STREQUAL "savefragment")
  _uml_read_config("${UML_BUILD_DIR}/.uml/config.generated" old_syms old_vals old_origins "")
  _uml_read_config("${UML_BUILD_DIR}/.config" new_syms new_vals new_origins "")
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
      if(val STREQUAL "n")
        string(APPEND text "# CONFIG_${sym} is not set\n")
      else()
        string(APPEND text "CONFIG_${sym}=${val}\n")
      endif()
    endif()
  endforeach()
  foreach(sym val IN ZIP_LISTS old_syms old_vals)
    if(NOT val STREQUAL "n" AND NOT sym IN_LIST new_syms)
      math(EXPR count "${count} + 1")
      string(APPEND text "# CONFIG_${sym} is not set\n")
    endif()
  endforeach()
  file(WRITE "${UML_OUTPUT}" ${text})
  message(STATUS "Saved ${count} changed symbol(s) to ${UML_OUTPUT}; add it to CONFIG_FRAGMENTS to keep them")
else()
  message(FATAL_ERROR "kernel.cmake: unknown UML_ACTION '${UML_ACTION}'")
endif()
