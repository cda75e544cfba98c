# End to end: module features (tests/projects/features) built for real, loaded in
# the guest, what an edit rebuilds, and a source tree that no build writes to.
#   -DPACKAGE_DIR -DPROJECT_DIR -DWORK_DIR -DCACHE_DIR [-DCMAKE_C_COMPILER_LAUNCHER]
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")

set(src "${WORK_DIR}/src")
set(build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
# A copy of the project, so the test can edit its sources.
file(COPY "${PROJECT_DIR}/" DESTINATION "${src}")

# Every file of the source tree with its checksum, to compare after the builds.
function(tree_checksums out dir)
  file(
    GLOB_RECURSE files
    LIST_DIRECTORIES true
    RELATIVE "${dir}"
    "${dir}/*")
  list(SORT files)
  set(sums "")
  foreach(file IN LISTS files)
    if(IS_DIRECTORY "${dir}/${file}")
      list(APPEND sums "${file}/")
    else()
      file(SHA256 "${dir}/${file}" sum)
      list(APPEND sums "${file} ${sum}")
    endif()
  endforeach()
  set(${out} "${sums}" PARENT_SCOPE)
endfunction()
tree_checksums(sums_before "${src}")

# Configured as a user would, without any cache setting: kernels go to the per-user
# cache, <XDG_CACHE_HOME>/uml, here the suite's own (hermetic) cache directory.
get_filename_component(xdg_cache_home "${CACHE_DIR}" DIRECTORY)
get_filename_component(cache_leaf "${CACHE_DIR}" NAME)
if(NOT cache_leaf STREQUAL "uml")
  message(FATAL_ERROR "CACHE_DIR (UML_TEST_CACHE_DIR) must be a directory named uml, as a per-user cache is: "
                      "${CACHE_DIR}")
endif()
set(as_user "${CMAKE_COMMAND}" -E env "XDG_CACHE_HOME=${xdg_cache_home}")
configure_command(configure_cmd "${src}" "${build}" "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}")
run(out ${as_user} ${configure_cmd})
file(STRINGS "${build}/CMakeCache.txt" cache_dir_line REGEX "^UML_CACHE_DIR:")
expect("without a setting, UML_CACHE_DIR is the per-user cache (${cache_dir_line})" cache_dir_line MATCHES
       ":PATH=${CACHE_DIR}$")
run(out "${CMAKE_COMMAND}" --build "${build}")
include("${build}/uml-info.cmake")

foreach(ko IN ITEMS "${producer_ko}" "${consumer_ko}" "${legacy_ko}" "${textbook_dir}/textbook.ko")
  expect("${ko} exists" EXISTS "${ko}")
endforeach()
expect("the Kbuild directories were built in the build tree" legacy_ko MATCHES "^${build}/")

# The guest loads them: the textbook module got its variables and both include
# directories ($(src)/../include, $(PWD)/../include, $(src)/../extra), its name from
# Kbuild; the legacy one its COMPILE_DEFINITIONS.
run(out ctest --test-dir "${build}" --output-on-failure)
expect("the modules load in the guest" out MATCHES "100% tests passed")
file(READ "${build}/_uml/boot/textbook_loads.boot" boot)
expect("textbook's module names come from Kbuild's modules.order" boot MATCHES
       "modules-from=${textbook_dir}/modules.order")

# After configure, build and boots the source tree is byte for byte what it was.
tree_checksums(sums_after "${src}")
expect("the source tree is unchanged by the builds (no object, no link, no edit)" sums_after STREQUAL sums_before)
modinfo(depends "${consumer_ko}" depends)
expect("consumer.ko depends on producer (modinfo depends=${depends})" depends STREQUAL "producer")
modinfo(depends "${producer_ko}" depends)
expect("producer.ko depends on nothing" NOT depends)
file(STRINGS "${producer_ko}" greeting REGEX "hello from producer")
expect("COMPILE_DEFINITIONS reached the code" greeting)

# Every module source is in the compile database, under its real path.
foreach(source IN ITEMS producer/main.c producer/counter.c consumer.c)
  compile_command(command "${build}/compile_commands.json" "${src}/${source}")
  expect("compile_commands.json has ${source} with -D__KERNEL__" command MATCHES "-D__KERNEL__")
endforeach()
compile_command(command "${build}/compile_commands.json" "${src}/producer/main.c")
expect(
  "its flags carry the definitions and include directories"
  command
  MATCHES
  "-DPRODUCER_LIMIT=3"
  AND
  command
  MATCHES
  "-I${src}/include")
compile_command(command "${build}/compile_commands.json" "${src}/legacy/legacy.c")
expect("compile_commands.json has the Kbuild directory's legacy.c, by its real path" command MATCHES "-D__KERNEL__")
compile_command(command "${build}/compile_commands.json" "${src}/textbook/driver/textbook_main.c")
expect("compile_commands.json has textbook_main.c with its variables" command MATCHES "-DTEXTBOOK_LEVEL=3")

# Without the variables its Makefile's outer part passes, the textbook module fails
# to build, and the error names them, the one behind a bare -I first.
set(build_bad "${WORK_DIR}/build-without-variables")
configure_command(configure_cmd "${src}" "${build_bad}" "-DUML_CACHE_DIR=${CACHE_DIR}"
                  "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}" -DFEATURES_TEXTBOOK_WITHOUT_VARIABLES=ON)
run(out ${configure_cmd})
execute_process(
  COMMAND "${CMAKE_COMMAND}" --build "${build_bad}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("${out}")
expect("without KBUILD_VARIABLES the textbook module does not build" NOT rc EQUAL 0)
expect("...and the error names TEXTBOOK_EXTRA as the empty variable behind a bare -I" out MATCHES
       "TEXTBOOK_EXTRA \\([^\n]*/textbook/driver/Makefile:[0-9]+:[^\n]*\\): empty, so the -I before it is bare")
expect("...and TEXTBOOK_LEVEL as unset too" out MATCHES "\n  TEXTBOOK_LEVEL \\(")
expect("...and says how to pass them" out MATCHES "KBUILD_VARIABLES NAME=value")

# A header edit rebuilds the objects that include it, and the modules that use
# the changed module; the kernel is not touched.
mtime(main_before "${producer_dir}/producer/main.o")
mtime(counter_before "${producer_dir}/producer/counter.o")
mtime(kernel_before "${kernel_stamp}")
mtime(legacy_before "${legacy_ko}")
execute_process(COMMAND sleep 1.1)
file(TOUCH "${src}/producer/counter.h")
run(out "${CMAKE_COMMAND}" --build "${build}")
expect("touching counter.h rebuilds the producer module" out MATCHES "Building UML module producer")
expect("...and not the kernel" NOT out MATCHES "Building UML kernel")
mtime(main_after "${producer_dir}/producer/main.o")
mtime(counter_after "${producer_dir}/producer/counter.o")
mtime(kernel_after "${kernel_stamp}")
mtime(legacy_after "${legacy_ko}")
expect("counter.o was recompiled" counter_after GREATER counter_before)
expect("main.o (does not include counter.h) was not" main_after EQUAL main_before)
expect("kernel stamp untouched" kernel_after EQUAL kernel_before)
expect("legacy.ko untouched" legacy_after EQUAL legacy_before)

# A source edit in the Kbuild directory rebuilds that module.
execute_process(COMMAND sleep 1.1)
file(TOUCH "${src}/legacy/legacy.c")
run(out "${CMAKE_COMMAND}" --build "${build}")
expect("touching legacy.c rebuilds the legacy module" out MATCHES "Building UML module legacy")
expect("...and not the producer" NOT out MATCHES "Building UML module producer")
mtime(legacy_after "${legacy_ko}")
expect("legacy.ko was relinked" legacy_after GREATER legacy_before)

# A new source in a Kbuild directory (its Makefile edited to use it) is linked at the
# next build; once removed again, its link goes too.
file(WRITE "${src}/textbook/driver/textbook_more.c" "// SPDX-License-Identifier: GPL-2.0\nint textbook_more(void);\n"
                                                    "int textbook_more(void) { return 1; }\n")
file(READ "${src}/textbook/driver/Makefile" textbook_makefile)
file(APPEND "${src}/textbook/driver/Makefile" "textbook-y += textbook_more.o\n")
run(out "${CMAKE_COMMAND}" --build "${build}")
expect("a source added to the Kbuild directory is compiled" out MATCHES "CC \\[M\\] +[^\n]*textbook_more.o")
file(REMOVE "${src}/textbook/driver/textbook_more.c")
file(WRITE "${src}/textbook/driver/Makefile" "${textbook_makefile}")
run(out "${CMAKE_COMMAND}" --build "${build}")
expect(
  "...and once removed, its link is gone"
  NOT
  EXISTS
  "${textbook_dir}/textbook_more.c"
  AND
  NOT
  IS_SYMLINK
  "${textbook_dir}/textbook_more.c")

# A changed definition (CMakeLists.txt edit) reaches the module.
file(READ "${src}/CMakeLists.txt" lists)
string(REPLACE "PRODUCER_LIMIT=3" "PRODUCER_LIMIT=5" lists "${lists}")
file(WRITE "${src}/CMakeLists.txt" "${lists}")
run(out "${CMAKE_COMMAND}" --build "${build}")
compile_command(command "${build}/compile_commands.json" "${src}/producer/main.c")
expect("the new definition is in the module's compile command" command MATCHES "-DPRODUCER_LIMIT=5")

# Nothing changed: nothing runs.
run(out "${CMAKE_COMMAND}" --build "${build}")
expect("a no-op build runs nothing" out MATCHES "no work to do")

# A second project (another build directory), also configured without any cache
# setting, shares the kernel: its kernel step compiles nothing and takes the dependency
# list of the build that made the kernel instead of walking Kbuild.
set(build2 "${WORK_DIR}/build2")
configure_command(configure_cmd "${src}" "${build2}" "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}")
run(out ${as_user} ${configure_cmd})
now(t0)
run(out "${CMAKE_COMMAND}" --build "${build2}" --target uml_kernel)
elapsed(second_kernel_s ${t0})
message(STATUS "figure: the second project's kernel step took ${second_kernel_s} s")
expect("the second project shares the kernel: its step is up to date" out MATCHES
       "is up to date \\(built by another project\\)")
expect("...and compiles nothing" NOT out MATCHES "  CC ")
string(REGEX REPLACE "stamp$" "d" depfile1 "${kernel_stamp}")
string(REPLACE "${build}/" "${build2}/" depfile2 "${depfile1}")
foreach(n IN ITEMS 1 2)
  file(READ "${depfile${n}}" deps${n})
  string(FIND "${deps${n}}" "\n" first_line_end) # "<its own stamp>: \"
  string(SUBSTRING "${deps${n}}" ${first_line_end} -1 deps${n})
  string(REGEX MATCHALL "\n" lines "${deps${n}}")
  list(LENGTH lines count)
  expect("depfile ${n} lists the kernel's sources (${count} files)" count GREATER 1000)
endforeach()
expect("both depfiles list the same files" deps1 STREQUAL deps2)
