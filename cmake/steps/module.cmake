# Build-time steps of uml_add_module(). uml_add_module() writes a script per module
# that includes this file and calls uml_step_module(); the compile database target
# calls uml_step_merge_compile_commands().
#
#   uml_step_module(NAME <target> MAKE <make> KERNEL_SOURCE_DIR <src> KERNEL_DIR <obj>
#     CC <cc> MODULE_DIR <dir> [MODULE_NAMES <ko>...] [EXTRA_SYMBOLS <symvers>...]
#     [VARIABLES <NAME=value>...] [KCPPFLAGS <flags>] [KCFLAGS <flags>]
#     [MIRROR_SOURCE <dir> MIRROR_ANCHOR <dir> MIRROR_ROOT <dir> [MIRROR_EXCLUDE <dir>...]]
#     JOBS <n> DEPFILE <file> STAMP <file> COMPDB <file> [COVERAGE ON])
#       Kbuild M= build of one module directory (a KBUILD_DIR is linked into
#       MODULE_DIR first, see _uml_mirror_kbuild_dir); then a depfile of the module's
#       own sources and headers (kernel files are covered by the kernel's stamp) and
#       its compile commands
#   uml_step_merge_compile_commands(FRAGMENTS <file>... KERNEL_DIRS <dir>... OUTPUT <file> STAMP <file>)
#       the modules' compile commands plus CMake's own entries into compile_commands.json
include_guard(GLOBAL)
include("${CMAKE_CURRENT_LIST_DIR}/../UmlKbuild.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/cache.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/kbuild_fast_path.cmake")

# JSON string literal for a value (paths and compiler command lines).
function(_uml_json_string out value)
  string(REPLACE "\\" "\\\\" value "${value}")
  string(REPLACE "\"" "\\\"" value "${value}")
  string(REPLACE "\t" "\\t" value "${value}")
  set(${out} "\"${value}\"" PARENT_SCOPE)
endfunction()

# GCC options the kernel uses that clang does not know. clangd and other
# clang-based IDE engines report each as an error and then misread the file,
# so the compile database for tools leaves them out (the build keeps them).
set(_UML_GCC_ONLY_FLAGS
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
    # CFLAGS_GCOV (modules against a COVERAGE kernel)
    -fno-tree-loop-im
    "-fplugin=[^ ]+"
    "-fplugin-arg-[^ ]+")

function(_uml_drop_gcc_only_flags out command)
  foreach(flag IN LISTS _UML_GCC_ONLY_FLAGS)
    string(REGEX REPLACE " ${flag}( |$)" " " command "${command}")
    # Twice: adjacent matches share the space between them.
    string(REGEX REPLACE " ${flag}( |$)" " " command "${command}")
  endforeach()
  set(${out} "${command}" PARENT_SCOPE)
endfunction()

# The files and commands Kbuild recorded in the module's .cmd files.
function(_uml_scan_module_cmd_files)
  separate_arguments(cc_words UNIX_COMMAND "${arg_CC}")
  list(GET cc_words -1 compiler)
  file(GLOB_RECURSE cmd_files LIST_DIRECTORIES false "${arg_MODULE_DIR}/.*.o.cmd")
  set(deps "")
  set(entries "")
  foreach(cmd_file IN LISTS cmd_files)
    _uml_fast_path_read_cmd(rec "${cmd_file}")
    if(NOT rec_ok)
      # Kbuild's own format, but more than fixdep wrote (genksyms' CRCs): the
      # dependencies are still fixdep's.
      file(READ "${cmd_file}" rec_text)
      set(rec_source "")
      if(rec_text MATCHES "\nsource_[^ \n]* := ([^\n]*)")
        set(rec_source "${CMAKE_MATCH_1}")
      endif()
      set(rec_command "")
      if(rec_text MATCHES "^(saved)?cmd_[^ \n]* := ([^\n]*)")
        _uml_make_cmd_to_shell(rec_command "${CMAKE_MATCH_2}")
      endif()
    endif()
    _uml_cmd_own_deps(own "${rec_text}" "${rec_source}" "${arg_KERNEL_SOURCE_DIR}" "${arg_KERNEL_DIR}")
    list(APPEND deps ${own})
    # Compile commands of the module's own sources: not the generated .mod.c,
    # nor kernel files Kbuild adds to every module (scripts/module-common.c).
    set(source "${rec_source}")
    set(command "${rec_command}")
    if(NOT source OR NOT command OR source MATCHES "\\.mod\\.c$")
      continue()
    endif()
    if(NOT IS_ABSOLUTE "${source}")
      set(source "${arg_KERNEL_DIR}/${source}")
    endif()
    cmake_path(IS_PREFIX arg_KERNEL_SOURCE_DIR "${source}" in_kernel_source)
    if(NOT in_kernel_source)
      # Kbuild compiled the link in the build tree; an IDE opens the real file.
      file(REAL_PATH "${source}" real_source)
      string(REPLACE "${source}" "${real_source}" command "${command}")
      string(REGEX REPLACE " *;.*$" "" command "${command}")
      # Without the launcher (ccache): IDEs want the compiler first.
      string(REPLACE "${arg_CC} " "${compiler} " command "${command}")
      _uml_drop_gcc_only_flags(command "${command}")
      string(STRIP "${command}" command)
      _uml_json_string(dir_json "${arg_KERNEL_DIR}")
      _uml_json_string(file_json "${real_source}")
      _uml_json_string(command_json "${command}")
      list(APPEND entries "{\"directory\": ${dir_json}, \"file\": ${file_json}, \"command\": ${command_json}}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES deps)
  set(deps "${deps}" PARENT_SCOPE)
  set(entries "${entries}" PARENT_SCOPE)
endfunction()

# Kbuild's outputs in a module directory: never linked (a host build's objects
# would pass for up to date ones), and hidden directories (.git, .uml-build).
set(_UML_KBUILD_OUTPUTS "\\.(o|ko|mod|a|dwo|order|symvers|cmd|d|tmp|gcno|gcda)$|\\.mod\\.c$|^\\.cache\\.mk$")

# Makes MODULE_DIR a tree of links to MIRROR_SOURCE: its directories as real ones
# (Kbuild writes objects there), its files as symbolic links, links that lost their
# file removed. On the way down from MIRROR_ANCHOR, the other entries of each
# directory are linked too, so `../include` from the module reaches what it reaches
# in the source tree.
function(_uml_mirror_kbuild_dir source anchor root exclude)
  file(RELATIVE_PATH rel "${anchor}" "${source}")
  set(level "${anchor}")
  set(mirror "${root}")
  string(REPLACE "/" ";" parts "${rel}")
  foreach(part IN LISTS parts)
    file(MAKE_DIRECTORY "${mirror}")
    file(
      GLOB entries
      LIST_DIRECTORIES true
      RELATIVE "${level}"
      "${level}/*")
    foreach(entry IN LISTS entries)
      if(NOT entry STREQUAL part
         AND NOT "${level}/${entry}" IN_LIST exclude
         AND NOT EXISTS "${mirror}/${entry}"
         AND NOT IS_SYMLINK "${mirror}/${entry}")
        file(CREATE_LINK "${level}/${entry}" "${mirror}/${entry}" SYMBOLIC)
      endif()
    endforeach()
    set(level "${level}/${part}")
    set(mirror "${mirror}/${part}")
  endforeach()

  # The module directory itself: find prunes hidden and excluded directories.
  set(prune -name ".?*" -type d)
  foreach(dir IN LISTS exclude)
    list(APPEND prune -o -path "${dir}")
  endforeach()
  execute_process(COMMAND find "${source}" -mindepth 1 "(" ${prune} ")" -prune -o "(" -type d -printf "d %P\n" ")" -o
                          -printf "f %P\n" OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "uml_add_module: cannot list ${source}")
  endif()
  string(REPLACE "\n" ";" listing "${listing}")
  set(wanted "")
  file(MAKE_DIRECTORY "${mirror}")
  foreach(item IN LISTS listing)
    if(NOT item MATCHES "^([df]) (.+)$")
      continue()
    endif()
    set(kind "${CMAKE_MATCH_1}")
    set(path "${CMAKE_MATCH_2}")
    get_filename_component(base "${path}" NAME)
    if(base MATCHES "${_UML_KBUILD_OUTPUTS}")
      continue()
    endif()
    if(kind STREQUAL "d")
      file(MAKE_DIRECTORY "${mirror}/${path}")
    else()
      list(APPEND wanted "${mirror}/${path}")
      if(NOT IS_SYMLINK "${mirror}/${path}")
        file(REMOVE "${mirror}/${path}")
        file(CREATE_LINK "${source}/${path}" "${mirror}/${path}" SYMBOLIC)
      endif()
    endif()
  endforeach()
  # Links whose file is gone (or no longer wanted).
  file(GLOB_RECURSE links LIST_DIRECTORIES false "${mirror}/*")
  foreach(link IN LISTS links)
    if(IS_SYMLINK "${link}" AND NOT link IN_LIST wanted)
      file(REMOVE "${link}")
    endif()
  endforeach()
endfunction()

# After a failed KBUILD_DIR build: the make variables the directory's own Makefile or
# Kbuild file used without anyone setting them (its outer part, or a caller, would
# have), the ones behind a -I first: "-I$(INC)" with INC empty makes the compiler
# read the next flag as a directory.
function(_uml_diagnose_module_variables make_cmd module_dir)
  execute_process(
    COMMAND ${make_cmd} --warn-undefined-variables -n modules
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out
    RESULT_VARIABLE rc)
  string(REPLACE ";" "," out "${out}")
  string(REPLACE "\n" ";" lines "${out}")
  set(bare "")
  set(others "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^([^:]+):([0-9]+): warning: undefined variable [`']([A-Za-z0-9_]+)'")
      set(file "${CMAKE_MATCH_1}")
      set(line_no "${CMAKE_MATCH_2}")
      set(variable "${CMAKE_MATCH_3}")
      if(NOT IS_ABSOLUTE "${file}")
        continue()
      endif()
      cmake_path(IS_PREFIX module_dir "${file}" NORMALIZE ours)
      if(NOT ours)
        continue()
      endif()
      file(STRINGS "${file}" text)
      math(EXPR index "${line_no} - 1")
      list(LENGTH text count)
      set(source_line "")
      if(index LESS count)
        list(GET text ${index} source_line)
      endif()
      file(REAL_PATH "${file}" real)
      set(entry "${variable} (${real}:${line_no}: ${source_line})")
      if(source_line MATCHES "-I *[$][({]${variable}[)}]")
        list(APPEND bare "${entry}")
      else()
        list(APPEND others "${entry}")
      endif()
    endif()
  endforeach()
  list(REMOVE_DUPLICATES bare)
  list(REMOVE_DUPLICATES others)
  if(bare OR others)
    string(CONCAT text "The module's Makefile uses make variables that nobody set (its outer part, run by hand, "
                  "would have passed them):")
    foreach(entry IN LISTS bare)
      string(APPEND text "\n  ${entry}: empty, so the -I before it is bare and the compiler takes the next "
             "flag for a directory")
    endforeach()
    foreach(entry IN LISTS others)
      string(APPEND text "\n  ${entry}")
    endforeach()
    string(APPEND text "\nPass them with uml_add_module(... KBUILD_VARIABLES NAME=value), or the directory "
           "with INCLUDE_DIRECTORIES.")
    message("${text}")
  endif()
endfunction()

function(uml_step_module)
  cmake_parse_arguments(
    PARSE_ARGV
    0
    arg
    ""
    "NAME;MAKE;KERNEL_SOURCE_DIR;KERNEL_DIR;KERNEL_STAMP;CC;MODULE_DIR;KCPPFLAGS;KCFLAGS;MIRROR_SOURCE;MIRROR_ANCHOR;MIRROR_ROOT;JOBS;DEPFILE;STAMP;COMPDB;COVERAGE;FAST_PATH"
    "MODULE_NAMES;EXTRA_SYMBOLS;VARIABLES;MIRROR_EXCLUDE")
  if(arg_MIRROR_SOURCE)
    _uml_mirror_kbuild_dir("${arg_MIRROR_SOURCE}" "${arg_MIRROR_ANCHOR}" "${arg_MIRROR_ROOT}" "${arg_MIRROR_EXCLUDE}")
  endif()
  _uml_cache_touch("${arg_KERNEL_DIR}") # the edit loop uses this kernel
  _uml_make_jobs(jobs "${arg_JOBS}")
  set(args ${arg_VARIABLES})
  if(arg_EXTRA_SYMBOLS)
    list(JOIN arg_EXTRA_SYMBOLS " " symbols)
    list(APPEND args "KBUILD_EXTRA_SYMBOLS=${symbols}")
  endif()
  if(arg_KCPPFLAGS)
    list(APPEND args "KCPPFLAGS=${arg_KCPPFLAGS}")
  endif()
  if(arg_KCFLAGS)
    list(APPEND args "KCFLAGS=${arg_KCFLAGS}")
  endif()
  _uml_kbuild_command(
    make_cmd
    MAKE "${arg_MAKE}"
    SOURCE_DIR "${arg_KERNEL_SOURCE_DIR}"
    BUILD_DIR "${arg_KERNEL_DIR}"
    CC "${arg_CC}"
    MODULE_DIR "${arg_MODULE_DIR}"
    ARGS ${args})
  # $(PWD) in a Makefile is the module directory, as when its outer part runs.
  set(ENV{PWD} "${arg_MODULE_DIR}")
  # A kernel with gcov: the module's objects are profiled. From the environment, not the
  # command line, so that a Makefile's own GCOV_PROFILE (and modfinal's := n for the
  # .mod.o) still wins.
  if(arg_COVERAGE)
    set(ENV{GCOV_PROFILE} y)
  endif()
  # The fast path (kbuild_fast_path.cmake) when only the module's sources changed, else
  # Kbuild; the key of everything else is kept only after a successful build.
  set(fast_path_state "${arg_MODULE_DIR}/${_UML_FAST_PATH_STATE}")
  _uml_fast_path_key(
    fast_path_key
    MAKE_COMMAND
    ${make_cmd}
    MODULE_DIR
    "${arg_MODULE_DIR}"
    KERNEL_DIR
    "${arg_KERNEL_DIR}"
    EXTRA_SYMBOLS
    ${arg_EXTRA_SYMBOLS}
    COVERAGE
    "${arg_COVERAGE}")
  set(how "Kbuild: the fast path is off (UML_KBUILD_FAST_PATH)")
  if(arg_FAST_PATH AND NOT "$ENV{UML_KBUILD_FAST_PATH}" MATCHES "^(0|OFF|off|NO|no|FALSE|false)$")
    _uml_fast_path_build(
      how
      NAME
      "${arg_NAME}"
      MODULE_DIR
      "${arg_MODULE_DIR}"
      KERNEL_DIR
      "${arg_KERNEL_DIR}"
      KERNEL_SOURCE_DIR
      "${arg_KERNEL_SOURCE_DIR}"
      KEY
      "${fast_path_key}"
      JOBS
      "${jobs}"
      VARIABLES
      ${arg_VARIABLES})
  endif()
  if(how STREQUAL "failed")
    message(FATAL_ERROR "UML module ${arg_NAME} failed to build in ${arg_MODULE_DIR} (a command Kbuild recorded "
                        "failed: the fast path reran it); see the output above.")
  endif()
  file(REMOVE "${fast_path_state}")
  set(rc 0)
  if(NOT how STREQUAL "built")
    if(EXISTS "${arg_MODULE_DIR}/modules.order" AND NOT how MATCHES "fast path is off")
      string(REGEX REPLACE "^Kbuild: " "" why "${how}")
      message("UML module ${arg_NAME}: Kbuild (not the fast path: ${why})")
    endif()
    _uml_ccache_stats(ccache_before "${arg_CC}")
    execute_process(COMMAND ${make_cmd} -j${jobs} modules WORKING_DIRECTORY "${arg_MODULE_DIR}" RESULT_VARIABLE rc)
    _uml_ccache_report("${arg_CC}" "${ccache_before}")
  endif()
  if(NOT rc EQUAL 0)
    if(arg_MIRROR_SOURCE)
      _uml_diagnose_module_variables("${make_cmd}" "${arg_MODULE_DIR}")
    endif()
    message(FATAL_ERROR "UML module ${arg_NAME} failed to build in ${arg_MODULE_DIR} (make exited with ${rc}); "
                        "see the compiler output above.")
  endif()
  # The modules Kbuild made, checked against the names the project gave.
  _uml_module_order(built "${arg_MODULE_DIR}")
  set(missing "")
  foreach(ko IN LISTS arg_MODULE_NAMES)
    if(NOT EXISTS "${arg_MODULE_DIR}/${ko}.ko")
      list(APPEND missing "${ko}")
    endif()
  endforeach()
  if(missing)
    list(JOIN missing ", " missing)
    list(JOIN built ", " built)
    message(FATAL_ERROR "UML module ${arg_NAME}: Kbuild did not make ${missing} (MODULE_NAMES) in "
                        "${arg_MODULE_DIR}; it made: ${built}.")
  endif()
  if(NOT built)
    message(FATAL_ERROR "UML module ${arg_NAME}: Kbuild made no module in ${arg_MODULE_DIR} (its modules.order is "
                        "empty): does the Kbuild file set obj-m?")
  endif()
  _uml_check_kernel_module_clash("${arg_NAME}" "${arg_KERNEL_DIR}" "${built}")
  _uml_scan_module_cmd_files()
  list(APPEND deps "${arg_MODULE_DIR}/Kbuild" "${arg_MODULE_DIR}/Makefile")
  set(existing "")
  foreach(dep IN LISTS deps)
    if(EXISTS "${dep}")
      list(APPEND existing "${dep}")
    endif()
  endforeach()
  _uml_write_depfile("${arg_DEPFILE}" "${arg_STAMP}" "${existing}")
  list(JOIN entries ",\n " entries)
  _uml_write_if_different("${arg_COMPDB}" "[\n ${entries}\n]\n")
  file(WRITE "${fast_path_state}" "${fast_path_key}")
  file(TOUCH "${arg_STAMP}")
endfunction()

# A module named like one of the kernel's, built in (modules.builtin) or loadable
# (modules.order), is an error: modprobe <name> would load or find the kernel's and
# the test would pass without the project's code. modprobe treats '-' and '_' alike.
function(_uml_check_kernel_module_clash name kernel_dir built)
  foreach(list_file IN ITEMS modules.builtin modules.order)
    if(NOT EXISTS "${kernel_dir}/${list_file}")
      continue()
    endif()
    file(STRINGS "${kernel_dir}/${list_file}" lines)
    foreach(line IN LISTS lines)
      if(NOT line MATCHES "([^/]+)\\.k?o$")
        continue()
      endif()
      string(REPLACE "-" "_" kernel_module "${CMAKE_MATCH_1}")
      foreach(ko IN LISTS built)
        string(REPLACE "-" "_" ours "${ko}")
        if(ours STREQUAL kernel_module)
          if(list_file STREQUAL "modules.builtin")
            set(kind "built into the kernel")
          else()
            set(kind "one of the kernel's modules")
          endif()
          message(
            FATAL_ERROR
              "UML module ${name}: its module '${ko}' has the name of ${line}, ${kind} "
              "(${kernel_dir}/${list_file}): modprobe ${ko} would use the kernel's and never load "
              "this one. Rename the module (MODULE_NAME <other> for SOURCES, obj-m in a " "KBUILD_DIR's Kbuild file).")
        endif()
      endforeach()
    endforeach()
  endforeach()
endfunction()

# The names of the modules in a module directory's modules.order (6.1 lists .ko
# paths, 6.12 .o paths).
function(_uml_module_order out module_dir)
  set(names "")
  if(EXISTS "${module_dir}/modules.order")
    file(STRINGS "${module_dir}/modules.order" lines)
    foreach(line IN LISTS lines)
      if(line MATCHES "([^/]+)\\.k?o$")
        list(APPEND names "${CMAKE_MATCH_1}")
      endif()
    endforeach()
  endif()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

function(uml_step_merge_compile_commands)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "OUTPUT;STAMP" "FRAGMENTS;KERNEL_DIRS")
  set(entries "")
  # Keep what CMake itself wrote (CMAKE_EXPORT_COMPILE_COMMANDS), minus entries
  # of an earlier merge, recognised by their kernel build directory.
  if(EXISTS "${arg_OUTPUT}")
    file(READ "${arg_OUTPUT}" existing)
    string(JSON count ERROR_VARIABLE json_error LENGTH "${existing}")
    if(json_error)
      set(count 0)
    endif()
    if(count GREATER 0)
      math(EXPR last "${count} - 1")
      foreach(index RANGE ${last})
        string(JSON entry GET "${existing}" ${index})
        string(JSON directory GET "${entry}" directory)
        if(NOT directory IN_LIST arg_KERNEL_DIRS)
          list(APPEND entries "${entry}")
        endif()
      endforeach()
    endif()
  endif()
  foreach(fragment IN LISTS arg_FRAGMENTS)
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
  _uml_write_if_different("${arg_OUTPUT}" "[\n${entries}\n]\n")
  file(TOUCH "${arg_STAMP}")
endfunction()
