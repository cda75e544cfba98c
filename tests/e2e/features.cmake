# End to end: module features (tests/projects/features) built for real, and
# what an edit rebuilds.
#   -DPACKAGE_DIR -DPROJECT_DIR -DWORK_DIR -DCACHE_DIR [-DCMAKE_C_COMPILER_LAUNCHER]
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")

set(src "${WORK_DIR}/src")
set(build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
# A copy of the project, so the test can edit its sources.
file(COPY "${PROJECT_DIR}/" DESTINATION "${src}")
configure_command(configure_cmd "${src}" "${build}" "-DUML_CACHE_DIR=${CACHE_DIR}"
                  "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}")
run(out ${configure_cmd})
run(out "${CMAKE_COMMAND}" --build "${build}")
include("${build}/uml-info.cmake")

foreach(ko IN ITEMS "${producer_ko}" "${consumer_ko}" "${legacy_ko}")
  expect("${ko} exists" EXISTS "${ko}")
endforeach()
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
compile_command(command "${build}/compile_commands.json" "${build}/legacy/legacy.c")
expect("compile_commands.json has the Kbuild directory's legacy.c" command MATCHES "-D__KERNEL__")

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
file(TOUCH "${build}/legacy/legacy.c")
run(out "${CMAKE_COMMAND}" --build "${build}")
expect("touching legacy.c rebuilds the legacy module" out MATCHES "Building UML module legacy")
expect("...and not the producer" NOT out MATCHES "Building UML module producer")
mtime(legacy_after "${legacy_ko}")
expect("legacy.ko was relinked" legacy_after GREATER legacy_before)

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

# A second build directory sharing the kernel (UML_CACHE_DIR): its kernel step takes
# the dependency list of the build that made the kernel instead of walking Kbuild.
set(build2 "${WORK_DIR}/build2")
configure_command(configure_cmd "${src}" "${build2}" "-DUML_CACHE_DIR=${CACHE_DIR}"
                  "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}")
run(out ${configure_cmd})
run(out "${CMAKE_COMMAND}" --build "${build2}" --target uml_kernel)
expect("a second build dir reuses the kernel's dependency list" out MATCHES
       "is up to date \\(built by another project\\)")
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
