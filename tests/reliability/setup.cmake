# Fixture of the reliability tests: configures and builds tests/reliability/project
# in BUILD_DIR (deliberately longer than UML's 108-byte socket path limit, so
# every row also runs in a long build path) with the shared kernel cache.
#   -DPACKAGE_DIR -DBUILD_DIR -DCACHE_DIR [-DCMAKE_C_COMPILER_LAUNCHER]
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/../e2e/common.cmake")

string(LENGTH "${BUILD_DIR}" length)
expect("the build directory is longer than 108 characters (${length})" length GREATER 108)
configure_command(
  configure_cmd "${CMAKE_CURRENT_LIST_DIR}/project" "${BUILD_DIR}" "-DUML_CACHE_DIR=${CACHE_DIR}"
  "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}"
  "-DUML_TEST_KERNEL_FRAGMENT=${PACKAGE_DIR}/tests/projects/common/test-kernel.config")
# The vendored uml-helper is C++: the same launcher saves its compile on reruns.
if(CMAKE_C_COMPILER_LAUNCHER)
  list(APPEND configure_cmd "-DCMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER}")
endif()
run(out ${configure_cmd})
run(out "${CMAKE_COMMAND}" --build "${BUILD_DIR}")
expect("the project wrote uml-info.json" EXISTS "${BUILD_DIR}/uml-info.json")
