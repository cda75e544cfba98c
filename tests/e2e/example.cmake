# End to end: one example project (examples/<EXAMPLE>), consumed installed
# (a copy configured with its CMakePresets.json and find_package() from a
# prefix) or vendored (add_subdirectory() of the package's source tree, through
# tests/projects/consumer) or fetched (FetchContent of an archive of the
# package, as a release would be), built and tested for real. Then the example's own
# checks, tests/e2e/examples/<EXAMPLE>.cmake, if there is one.
#   -DEXAMPLE=<name> -DMODE=installed|vendored|fetchcontent -DPACKAGE_DIR -DPREFIX -DCONSUMER_DIR
#   -DWORK_DIR -DCACHE_DIR [-DCLANGD=<clangd>] [-DCMAKE_C_COMPILER_LAUNCHER]
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")

set(info_include "${PACKAGE_DIR}/tests/cmake/UmlTargetsInfo.cmake")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(overrides "-DUML_CACHE_DIR=${CACHE_DIR}" "-DCMAKE_PROJECT_INCLUDE=${info_include}")
# chardev is tested as its coverage build (its kernel is the default one plus gcov).
if(EXAMPLE STREQUAL "chardev")
  list(APPEND overrides -DUML_COVERAGE=ON)
endif()

if(MODE STREQUAL "installed")
  # As a user would: a copy of the example, its presets, the package from a prefix.
  set(EXAMPLE_DIR "${WORK_DIR}/${EXAMPLE}")
  file(COPY "${PACKAGE_DIR}/examples/${EXAMPLE}" DESTINATION "${WORK_DIR}")
  set(BUILD_DIR "${EXAMPLE_DIR}/build")
  set(configure_cmd "${CMAKE_COMMAND}" --preset default "-DCMAKE_PREFIX_PATH=${PREFIX}" ${overrides})
  if(CMAKE_C_COMPILER_LAUNCHER)
    list(APPEND configure_cmd "-DCMAKE_C_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER}")
  endif()
  set(build_cmd "${CMAKE_COMMAND}" --build --preset default)
  set(test_cmd ctest --preset default)
  set(work_dir "${EXAMPLE_DIR}")
else()
  set(EXAMPLE_DIR "${PACKAGE_DIR}/examples/${EXAMPLE}")
  set(BUILD_DIR "${WORK_DIR}/build")
  if(MODE STREQUAL "fetchcontent")
    # What a release archive holds: the package without its tests and examples.
    set(archive "${WORK_DIR}/UserModeLinux.tar.gz")
    execute_process(COMMAND "${CMAKE_COMMAND}" -E tar czf "${archive}" -- CMakeLists.txt LICENSE README.md cmake device
                            helpers src templates WORKING_DIRECTORY "${PACKAGE_DIR}" COMMAND_ERROR_IS_FATAL ANY)
    set(source_args "-DUML_TEST_FETCH_URL=file://${archive}")
  else()
    set(source_args -DUML_TEST_VENDORED=ON "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}")
  endif()
  configure_command(configure_cmd "${CONSUMER_DIR}" "${BUILD_DIR}" ${overrides} "-DUML_TEST_EXAMPLE_DIR=${EXAMPLE_DIR}"
                    ${source_args})
  set(build_cmd "${CMAKE_COMMAND}" --build "${BUILD_DIR}")
  set(test_cmd ctest --test-dir "${BUILD_DIR}" --output-on-failure -j2)
  set(work_dir "${WORK_DIR}")
endif()

function(run_in out_var)
  execute_process(
    COMMAND ${ARGN}
    WORKING_DIRECTORY "${work_dir}"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  message("$ ${ARGN}\n${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

now(t0)
run_in(out ${configure_cmd})
elapsed(configure_s ${t0})
now(t0)
run_in(out ${build_cmd})
elapsed(build_s ${t0})
include("${BUILD_DIR}/uml-targets.cmake")

# The package came from where this mode says.
if(MODE STREQUAL "installed")
  expect("find_package used the installed package (${package_dir})" package_dir MATCHES "^${PREFIX}/")
else()
  expect("find_package used the ${MODE} copy (${package_dir})" NOT package_dir MATCHES "^${PREFIX}/")
endif()
if(MODE STREQUAL "fetchcontent")
  expect("FetchContent unpacked the package in the build tree" EXISTS
         "${BUILD_DIR}/_deps/usermodelinux-src/cmake/UserModeLinux.cmake")
endif()

# Every module was built against its kernel: vermagic names that kernel's release.
expect("the example has UML modules (${uml_modules})" uml_modules)
foreach(module IN LISTS uml_modules)
  set(release "${kernel_${module_${module}_kernel}_release}")
  foreach(ko IN LISTS module_${module}_files)
    expect("${ko} exists" EXISTS "${ko}")
    modinfo(vermagic "${ko}" vermagic)
    string(REGEX REPLACE " .*" "" vermagic_release "${vermagic}")
    expect("${ko} vermagic '${vermagic}' names ${module_${module}_kernel}'s release ${release}" vermagic_release
           STREQUAL release)
  endforeach()
endforeach()

# The example's own tests boot the images and pass.
now(t0)
run_in(CTEST_OUTPUT ${test_cmd})
elapsed(test_s ${t0})
expect("the example's tests pass" CTEST_OUTPUT MATCHES "100% tests passed, 0 tests failed out of [1-9]")
string(REGEX MATCH "out of ([0-9]+)" _ "${CTEST_OUTPUT}")
set(test_count "${CMAKE_MATCH_1}")

# The example's sources stay clean: Kbuild built from links in the build tree.
file(GLOB_RECURSE litter "${EXAMPLE_DIR}/*.o" "${EXAMPLE_DIR}/*.ko" "${EXAMPLE_DIR}/.*.cmd"
     "${EXAMPLE_DIR}/Module.symvers")
list(FILTER litter EXCLUDE REGEX "^${BUILD_DIR}/")
expect("no build output in ${EXAMPLE_DIR} (${litter})" NOT litter)

# The compile database has every module source, under its real path, and
# clangd reads each with no error (what an IDE's code model gets).
file(REAL_PATH "${EXAMPLE_DIR}" example_real)
set(database "${BUILD_DIR}/compile_commands.json")
expect("${database} exists" EXISTS "${database}")
file(READ "${database}" json)
string(JSON count LENGTH "${json}")
math(EXPR last "${count} - 1")
set(module_sources "")
foreach(i RANGE ${last})
  string(JSON file GET "${json}" ${i} file)
  string(JSON command GET "${json}" ${i} command)
  if(file MATCHES "^${example_real}/" AND command MATCHES " -D__KERNEL__ ")
    list(APPEND module_sources "${file}")
  endif()
endforeach()
list(REMOVE_DUPLICATES module_sources)
expect("the compile database has the example's module sources (${module_sources})" module_sources)
if(NOT CLANGD)
  message(FATAL_ERROR "clangd not found (apt-get install clangd): the compile database check cannot run")
endif()
foreach(source IN LISTS module_sources)
  execute_process(
    COMMAND "${CLANGD}" "--compile-commands-dir=${BUILD_DIR}" "--check=${source}"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  string(REGEX MATCHALL "\nE\\[[^\n]*" errors "${out}")
  if(NOT rc EQUAL 0 OR errors)
    message("${out}")
  endif()
  expect(
    "clangd --check ${source}: no errors (${errors})"
    rc
    EQUAL
    0
    AND
    NOT
    errors)
endforeach()

set(extras "${CMAKE_CURRENT_LIST_DIR}/examples/${EXAMPLE}.cmake")
if(EXISTS "${extras}")
  include("${extras}")
endif()

message(STATUS "figures (${EXAMPLE}, ${MODE}): configure ${configure_s} s, build ${build_s} s, "
               "ctest ${test_s} s for ${test_count} tests")
