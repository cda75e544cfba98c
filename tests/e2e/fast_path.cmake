# End to end: the Kbuild fast path (cmake/steps/kbuild_fast_path.cmake) builds every
# edit exactly as Kbuild does. For each edit of tests/projects/fastpath:
#   1. the build takes the fast path where only sources changed, Kbuild elsewhere;
#   2. Kbuild, run next on the same tree, finds nothing to do (the .cmd files and times
#      the fast path left are Kbuild's own);
#   3. the same edit built by Kbuild from scratch gives byte-identical .ko files (so the
#      same modinfo, vermagic, srcversion, aliases, symbol tables and sections).
#   -DPACKAGE_DIR -DPROJECT_DIR -DWORK_DIR -DCACHE_DIR [-DKERNEL_ARCHIVE]
#   [-DCMAKE_C_COMPILER_LAUNCHER]
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")

set(src "${WORK_DIR}/src")
set(build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(COPY "${PROJECT_DIR}/" DESTINATION "${src}")

# -j2 whatever the machine: the header edit recompiles two objects at once.
configure_command(
  configure_cmd
  "${src}"
  "${build}"
  "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}"
  "-DUML_CACHE_DIR=${CACHE_DIR}"
  -DUML_KERNEL_JOBS=2
  "-DFASTPATH_KERNEL_ARCHIVE=${KERNEL_ARCHIVE}")
run(out ${configure_cmd})
# The modules only: the vendored package's helper (C++) is not needed here.
set(module_targets single composite user tree)
run(out "${CMAKE_COMMAND}" --build "${build}" --target ${module_targets})
include("${build}/uml-info.cmake")
file(STRINGS "${kernel_dir}/include/config/kernel.release" release)
message(STATUS "kernel ${release}")
foreach(module IN LISTS modules)
  expect("${module} built by Kbuild first" out MATCHES "Building UML module ${module}")
endforeach()

# Every Kbuild output of a module directory, with its modification time in ns.
function(module_outputs out dir)
  file(GLOB_RECURSE files LIST_DIRECTORIES false "${dir}/*")
  set(result "")
  foreach(file IN LISTS files)
    get_filename_component(name "${file}" NAME)
    if(name MATCHES "\\.(o|ko|mod|order|symvers|cmd|mod\\.c)$" AND NOT IS_SYMLINK "${file}")
      list(APPEND result "${file}")
    endif()
  endforeach()
  list(SORT result)
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

function(output_times out dir)
  module_outputs(files "${dir}")
  execute_process(COMMAND stat -c "%n %y" ${files} OUTPUT_VARIABLE times COMMAND_ERROR_IS_FATAL ANY)
  set(${out} "${times}" PARENT_SCOPE)
endfunction()

function(ko_sums out)
  set(sums "")
  foreach(module IN LISTS modules)
    foreach(ko IN LISTS ${module}_ko)
      file(SHA256 "${ko}" sum)
      list(APPEND sums "${ko}=${sum}")
    endforeach()
  endforeach()
  set(${out} "${sums}" PARENT_SCOPE)
endfunction()

# What modpost and the compiler put in each .ko, for the log and for a readable failure.
function(ko_summary out ko)
  execute_process(COMMAND modinfo -F vermagic "${ko}" OUTPUT_VARIABLE vermagic OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND modinfo -F srcversion "${ko}" OUTPUT_VARIABLE srcversion OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND modinfo -F alias "${ko}" OUTPUT_VARIABLE alias OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND modinfo -F depends "${ko}" OUTPUT_VARIABLE depends OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND nm "${ko}" OUTPUT_VARIABLE symbols)
  string(REGEX MATCHALL "(__export_symbol|__ksymtab)_[A-Za-z0-9_]+" exports "${symbols}")
  list(REMOVE_DUPLICATES exports)
  string(REPLACE "\n" " " alias "${alias}")
  get_filename_component(name "${ko}" NAME)
  set(${out}
      "${name}: vermagic '${vermagic}', srcversion '${srcversion}', alias '${alias}', depends '${depends}', exports '${exports}'"
      PARENT_SCOPE)
endfunction()

set(edit_count 0)
# One edit: <file> <regex> <replacement>, the modules the fast path must rebuild
# (FAST), those Kbuild must (KBUILD), and the commands the fast path must have run (RAN).
function(check_edit what)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "FILE;REGEX;REPLACE;WHY" "FAST;KBUILD;RAN")
  # Only the modules the edit rebuilt are checked against Kbuild (the others' files are
  # untouched, and every Kbuild run costs seconds).
  set(affected ${arg_FAST} ${arg_KBUILD})
  message(STATUS "== edit: ${what}")
  file(READ "${src}/${arg_FILE}" text)
  string(REGEX REPLACE "${arg_REGEX}" "${arg_REPLACE}" edited "${text}")
  expect("the edit changes ${arg_FILE}" NOT edited STREQUAL text)
  file(WRITE "${src}/${arg_FILE}" "${edited}")

  # 1. The edit, built as a user builds it.
  run(out "${CMAKE_COMMAND}" --build "${build}" --target ${module_targets})
  foreach(module IN LISTS arg_FAST)
    expect("${what}: ${module} rebuilt by the fast path" out MATCHES
           "UML module ${module}: Kbuild's recorded commands \\(fast path\\)")
  endforeach()
  foreach(module IN LISTS arg_KBUILD)
    expect("${what}: ${module} rebuilt by Kbuild, saying why" out MATCHES
           "UML module ${module}: Kbuild \\(not the fast path: ${arg_WHY}")
  endforeach()
  foreach(ran IN LISTS arg_RAN)
    expect("${what}: the fast path ran ${ran}" out MATCHES "${ran}")
  endforeach()
  ko_sums(fast)

  # 2. Kbuild on the same tree: nothing left to do (no output rewritten).
  set(before "")
  foreach(module IN LISTS affected)
    output_times(times "${${module}_dir}")
    string(APPEND before "${times}")
    file(REMOVE "${${module}_dir}/.uml-fast-path" "${${module}_stamp}")
  endforeach()
  run(out "${CMAKE_COMMAND}" --build "${build}" --target ${module_targets})
  expect("${what}: the second build was Kbuild's" NOT out MATCHES "recorded commands \\(fast path\\)")
  set(after "")
  foreach(module IN LISTS affected)
    output_times(times "${${module}_dir}")
    string(APPEND after "${times}")
  endforeach()
  if(NOT before STREQUAL after)
    message("before:\n${before}\nafter:\n${after}")
  endif()
  expect("${what}: Kbuild found nothing to redo after the fast path" before STREQUAL after)

  # 3. The same sources built by Kbuild from nothing.
  foreach(module IN LISTS affected)
    module_outputs(files "${${module}_dir}")
    file(REMOVE ${files} "${${module}_dir}/.uml-fast-path" "${${module}_stamp}")
  endforeach()
  run(out "${CMAKE_COMMAND}" --build "${build}" --target ${module_targets})
  expect("${what}: the clean build was Kbuild's" NOT out MATCHES "recorded commands \\(fast path\\)")
  ko_sums(clean)
  foreach(module IN LISTS affected)
    foreach(ko IN LISTS ${module}_ko)
      ko_summary(summary "${ko}")
      message(STATUS "${summary}")
    endforeach()
  endforeach()
  if(NOT fast STREQUAL clean)
    message("fast path:\n${fast}\nKbuild:\n${clean}")
  endif()
  expect("${what}: every .ko is byte-identical to Kbuild's" fast STREQUAL clean)
endfunction()

check_edit(
  "a single-file module's code (its srcversion changes)"
  FILE
  single.c
  REGEX
  "version one"
  REPLACE
  "version two"
  FAST
  single
  RAN
  "CC single.o"
  "MODPOST"
  "LD single.ko")
modinfo(srcversion_two "${single_ko}" srcversion)

check_edit(
  "a header of a composite module (two objects at once)"
  FILE
  composite/composite.h
  REGEX
  "FACTOR 3"
  REPLACE
  "FACTOR 5"
  FAST
  composite
  user
  RAN
  "CC composite/main.o, CC composite/util.o, LD composite.o")

check_edit(
  "a new exported symbol (DEPENDS: the module using it goes through Kbuild)"
  FILE
  composite/util.c
  REGEX
  "EXPORT_SYMBOL_GPL\\(composite_value\\);"
  REPLACE
  "EXPORT_SYMBOL_GPL(composite_value);\nint composite_twice(int x) { return 2 * x; }\nEXPORT_SYMBOL_GPL(composite_twice);"
  FAST
  composite
  KBUILD
  user
  WHY
  "the symbols of a module it uses changed"
  RAN
  "CC composite/util.o")
file(READ "${composite_dir}/Module.symvers" symvers)
expect("modpost wrote the new symbol to Module.symvers" symvers MATCHES "composite_twice")

check_edit(
  "a module that uses another's symbol"
  FILE
  user.c
  REGEX
  "composite_value\\(2\\)"
  REPLACE
  "composite_value(7)"
  FAST
  user
  RAN
  "CC user.o")

check_edit(
  "a device table in a Kbuild directory (modpost's aliases change)"
  FILE
  tree/tree_main.c
  REGEX
  "tree-alpha"
  REPLACE
  "tree-beta"
  FAST
  tree
  RAN
  "CC tree_main.o"
  "LD tree.o")
modinfo(alias "${tree_ko}" alias)
expect("the new alias is in tree.ko (${alias})" alias STREQUAL "platform:tree-beta")

check_edit(
  "a Kbuild file"
  FILE
  tree/Kbuild
  REGEX
  "tree-y"
  REPLACE
  "ccflags-y += -DTREE_EXTRA=1\ntree-y"
  KBUILD
  tree
  WHY
  "Kbuild changed")

# Builds the modules, expecting a failure; the output in <out>.
function(build_fails what)
  execute_process(
    COMMAND "${CMAKE_COMMAND}" --build "${build}" --target ${module_targets}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  message("${out}")
  expect("${what}" NOT rc EQUAL 0)
  set(out "${out}" PARENT_SCOPE)
endfunction()

# A modpost error (an undefined symbol): the build fails, and fails again when run again
# (a failed fast path leaves the next build to Kbuild, whose modpost runs again).
file(READ "${src}/single.c" good)
string(REPLACE "return 0;" "return uml_no_such_function();" undefined "${good}")
string(REPLACE "#include <linux/module.h>" "#include <linux/module.h>\nint uml_no_such_function(void);" undefined
               "${undefined}")
file(WRITE "${src}/single.c" "${undefined}")
build_fails("an undefined symbol fails the build")
expect("modpost names it" out MATCHES "uml_no_such_function[^\n]*undefined")
build_fails("...and the same build fails again")
expect("...by Kbuild, which says why" out MATCHES
       "UML module single: Kbuild \\(not the fast path: the module's last build failed")
expect("...with modpost's error again" out MATCHES "uml_no_such_function[^\n]*undefined")

# A compile error: the compiler's own error; the fix is built by Kbuild (a failed build
# leaves no trust behind), the next edit by the fast path again.
string(REPLACE "return 0;" "return 0" broken "${good}")
file(WRITE "${src}/single.c" "${broken}")
build_fails("a compile error fails the build")
expect("the compiler's error is shown" out MATCHES "single.c:[0-9]+:[0-9]+: error")
expect("the failure names the module" out MATCHES "UML module single failed to build")
file(WRITE "${src}/single.c" "${good}")
check_edit(
  "the fix of a compile error"
  FILE
  single.c
  REGEX
  "version two"
  REPLACE
  "version three"
  KBUILD
  single
  WHY
  "the module's last build failed")
check_edit(
  "the next edit after a failed build"
  FILE
  single.c
  REGEX
  "version three"
  REPLACE
  "version 3"
  FAST
  single
  RAN
  "CC single.o")
modinfo(srcversion_three "${single_ko}" srcversion)
expect("srcversion follows the source (${srcversion_two} -> ${srcversion_three})" NOT srcversion_two STREQUAL
       srcversion_three)

# make variables in MAKEFLAGS (a Makefile generator's `make W=1`): Kbuild, both ways.
file(APPEND "${src}/single.c" "/* W=1 */\n")
run(out
    "${CMAKE_COMMAND}"
    -E
    env
    "MAKEFLAGS=-- W=1"
    "${CMAKE_COMMAND}"
    --build
    "${build}"
    --target
    ${module_targets})
expect("MAKEFLAGS with W=1: Kbuild, saying why" out MATCHES
       "UML module single: Kbuild \\(not the fast path: the environment variable MAKEFLAGS changed")
file(APPEND "${src}/single.c" "/* without W=1 */\n")
run(out "${CMAKE_COMMAND}" --build "${build}" --target ${module_targets})
expect("...and without it again: Kbuild" out MATCHES
       "UML module single: Kbuild \\(not the fast path: the environment variable MAKEFLAGS changed")

# Doubt: a .cmd line the fast path does not know (a valid make line, so Kbuild reads
# it): Kbuild builds, and says why.
file(APPEND "${single_dir}/.single.o.cmd" "unknown_step_single.o := true\n")
check_edit(
  "a .cmd file with a line the fast path does not know"
  FILE
  single.c
  REGEX
  "version 3"
  REPLACE
  "version four"
  KBUILD
  single
  WHY
  "[^)]*\\.single\\.o\\.cmd is missing, or not as the fast path knows")
# A new header in a Kbuild directory: Kbuild (a new file may change what make does).
file(WRITE "${src}/tree/tree_new.h" "#define TREE_NEW 1\n")
check_edit(
  "a new file in a Kbuild directory"
  FILE
  tree/tree_util.c
  REGEX
  "x \\+ 1"
  REPLACE
  "x + 2"
  KBUILD
  tree
  WHY
  "tree_new.h is new")

# Off: UML_KBUILD_FAST_PATH=OFF, and the environment's UML_KBUILD_FAST_PATH=0.
run(out ${configure_cmd} -DUML_KBUILD_FAST_PATH=OFF)
file(APPEND "${src}/single.c" "/* off */\n")
run(out "${CMAKE_COMMAND}" --build "${build}" --target ${module_targets})
expect(
  "UML_KBUILD_FAST_PATH=OFF: Kbuild"
  NOT
  out
  MATCHES
  "fast path"
  AND
  out
  MATCHES
  "Building UML module single")
run(out ${configure_cmd} -DUML_KBUILD_FAST_PATH=ON)
file(APPEND "${src}/single.c" "/* env */\n")
run(out
    "${CMAKE_COMMAND}"
    -E
    env
    UML_KBUILD_FAST_PATH=0
    "${CMAKE_COMMAND}"
    --build
    "${build}"
    --target
    ${module_targets})
expect(
  "UML_KBUILD_FAST_PATH=0 in the environment: Kbuild"
  NOT
  out
  MATCHES
  "fast path"
  AND
  out
  MATCHES
  "Building UML module single")
