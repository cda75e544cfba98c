# Build-time steps of uml_add_module(), run as `cmake -DUML_ACTION=... -P module.cmake`.
#
# build                   Kbuild M= build of one module directory; then a depfile of
#                         the module's own sources and headers (kernel files are
#                         covered by the kernel's stamp) and its compile commands
# merge-compile-commands  the modules' compile commands plus CMake's own entries
#                         into compile_commands.json
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/build_common.cmake")

# JSON string literal for a value (paths and compiler command lines).
function(json_string out value)
  string(REPLACE "\\" "\\\\" value "${value}")
  string(REPLACE "\"" "\\\"" value "${value}")
  string(REPLACE "\t" "\\t" value "${value}")
  set(${out} "\"${value}\"" PARENT_SCOPE)
endfunction()

# GCC options the kernel uses that clang does not know. clangd and other
# clang-based IDE engines report each as an error and then misread the file,
# so the compile database for tools leaves them out (the build keeps them).
set(gcc_only_flags
    -fno-allow-store-data-races
    -fconserve-stack
    "-ftrivial-auto-var-init=[a-z]+"
    -mrecord-mcount
    -fno-ipa-sra
    "-mindirect-branch=[-a-z]+"
    -mindirect-branch-register
    "-mfunction-return=[-a-z]+"
    "-fzero-call-used-regs=[-a-z]+"
    "-fmin-function-alignment=[0-9]+"
    "-fstrict-flex-arrays=[0-9]+"
    "-mpreferred-stack-boundary=[0-9]+"
    -fsanitize=bounds-strict
    -mskip-rax-setup
    -fno-var-tracking-assignments
    -femit-struct-debug-baseonly
    "-fplugin=[^ ]+"
    "-fplugin-arg-[^ ]+")

function(drop_gcc_only_flags out command)
  foreach(flag IN LISTS gcc_only_flags)
    string(REGEX REPLACE " ${flag}( |$)" " " command "${command}")
    # Twice: adjacent matches share the space between them.
    string(REGEX REPLACE " ${flag}( |$)" " " command "${command}")
  endforeach()
  set(${out} "${command}" PARENT_SCOPE)
endfunction()

# The files and commands Kbuild recorded in the module's .cmd files.
function(scan_module_cmd_files)
  separate_arguments(cc_words UNIX_COMMAND "${UML_CC}")
  list(GET cc_words -1 compiler)
  file(GLOB_RECURSE cmd_files LIST_DIRECTORIES false "${UML_MODULE_DIR}/.*.o.cmd")
  set(deps "")
  set(entries "")
  foreach(cmd_file IN LISTS cmd_files)
    # Lines end in backslashes, which file(STRINGS) would turn into escaped
    # list separators: read the whole file and join continuations.
    file(READ "${cmd_file}" content)
    string(REPLACE "\\\n" "\n" content "${content}")
    set(command "")
    if(content MATCHES "^(saved)?cmd_[^ \n]* := ([^\n]*)")
      set(command "${CMAKE_MATCH_2}")
    endif()
    set(source "")
    if(content MATCHES "\nsource_[^ \n]* := ([^\n]*)")
      set(source "${CMAKE_MATCH_1}")
    endif()
    string(REGEX MATCHALL "\n  [^ $\n][^\n]*" lines "${content}")
    foreach(path IN LISTS source lines)
      string(STRIP "${path}" path)
      if(NOT IS_ABSOLUTE "${path}")
        set(path "${UML_KERNEL_DIR}/${path}")
      endif()
      cmake_path(NORMAL_PATH path)
      # Kernel files change only with the kernel, whose stamp the module depends on.
      cmake_path(IS_PREFIX UML_KERNEL_SOURCE_DIR "${path}" in_kernel_source)
      cmake_path(IS_PREFIX UML_KERNEL_DIR "${path}" in_kernel_build)
      if(NOT in_kernel_source AND NOT in_kernel_build)
        list(APPEND deps "${path}")
      endif()
    endforeach()
    # Compile commands of the module's own sources: not the generated .mod.c,
    # nor kernel files Kbuild adds to every module (scripts/module-common.c).
    if(NOT source OR NOT command OR source MATCHES "\\.mod\\.c$")
      continue()
    endif()
    if(NOT IS_ABSOLUTE "${source}")
      set(source "${UML_KERNEL_DIR}/${source}")
    endif()
    cmake_path(IS_PREFIX UML_KERNEL_SOURCE_DIR "${source}" in_kernel_source)
    if(NOT in_kernel_source)
      # Kbuild compiled the link in the build tree; an IDE opens the real file.
      file(REAL_PATH "${source}" real_source)
      string(REPLACE "${source}" "${real_source}" command "${command}")
      string(REGEX REPLACE " *;.*$" "" command "${command}")
      # Without the launcher (ccache): IDEs want the compiler first.
      string(REPLACE "${UML_CC} " "${compiler} " command "${command}")
      drop_gcc_only_flags(command "${command}")
      string(STRIP "${command}" command)
      json_string(dir_json "${UML_KERNEL_DIR}")
      json_string(file_json "${real_source}")
      json_string(command_json "${command}")
      list(APPEND entries "{\"directory\": ${dir_json}, \"file\": ${file_json}, \"command\": ${command_json}}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES deps)
  set(deps "${deps}" PARENT_SCOPE)
  set(entries "${entries}" PARENT_SCOPE)
endfunction()

function(write_if_different path content)
  if(EXISTS "${path}")
    file(READ "${path}" old)
    if(old STREQUAL content)
      return()
    endif()
  endif()
  file(WRITE "${path}.tmp" "${content}")
  file(RENAME "${path}.tmp" "${path}")
endfunction()

if(UML_ACTION STREQUAL "build")
  uml_make_jobs(jobs "${UML_JOBS}")
  set(extra "")
  if(UML_EXTRA_SYMBOLS)
    set(extra "KBUILD_EXTRA_SYMBOLS=${UML_EXTRA_SYMBOLS}")
  endif()
  execute_process(COMMAND "${UML_MAKE}" -C "${UML_KERNEL_DIR}" ARCH=um "CC=${UML_CC}" "HOSTCC=${UML_CC}"
                          M=${UML_MODULE_DIR} ${extra} -j${jobs} modules RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "UML module build failed in ${UML_MODULE_DIR} (make exited with ${rc}); "
                        "see the compiler output above.")
  endif()
  scan_module_cmd_files()
  list(APPEND deps "${UML_MODULE_DIR}/Kbuild" "${UML_MODULE_DIR}/Makefile")
  set(existing "")
  foreach(dep IN LISTS deps)
    if(EXISTS "${dep}")
      list(APPEND existing "${dep}")
    endif()
  endforeach()
  uml_write_depfile("${UML_DEPFILE}" "${UML_STAMP}" "${existing}")
  list(JOIN entries ",\n " entries)
  write_if_different("${UML_COMPDB}" "[\n ${entries}\n]\n")
  file(TOUCH "${UML_STAMP}")
elseif(UML_ACTION STREQUAL "merge-compile-commands")
  set(entries "")
  # Keep what CMake itself wrote (CMAKE_EXPORT_COMPILE_COMMANDS), minus entries
  # of an earlier merge, recognised by their kernel build directory.
  if(EXISTS "${UML_OUTPUT}")
    file(READ "${UML_OUTPUT}" existing)
    string(JSON count ERROR_VARIABLE json_error LENGTH "${existing}")
    if(json_error)
      set(count 0)
    endif()
    if(count GREATER 0)
      math(EXPR last "${count} - 1")
      foreach(index RANGE ${last})
        string(JSON entry GET "${existing}" ${index})
        string(JSON directory GET "${entry}" directory)
        if(NOT directory IN_LIST UML_KERNEL_DIRS)
          list(APPEND entries "${entry}")
        endif()
      endforeach()
    endif()
  endif()
  foreach(fragment IN LISTS UML_FRAGMENTS)
    if(EXISTS "${fragment}")
      file(READ "${fragment}" content)
      string(JSON count LENGTH "${content}")
      if(count GREATER 0)
        math(EXPR last "${count} - 1")
        foreach(index RANGE ${last})
          string(JSON entry GET "${content}" ${index})
          list(APPEND entries "${entry}")
        endforeach()
      endif()
    endif()
  endforeach()
  list(JOIN entries ",\n" entries)
  write_if_different("${UML_OUTPUT}" "[\n${entries}\n]\n")
  file(TOUCH "${UML_STAMP}")
else()
  message(FATAL_ERROR "module.cmake: unknown UML_ACTION '${UML_ACTION}'")
endif()
