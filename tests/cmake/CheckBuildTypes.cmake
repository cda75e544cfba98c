# The package builds and installs in every CMAKE_BUILD_TYPE a user may pick, and
# warnings are errors only where asked:
#   cmake -DPACKAGE_DIR=<repo> -DWORK_DIR=<dir> [-DLAUNCHER=ccache] -P CheckBuildTypes.cmake
# Each optimisation level gives g++ other code paths to warn about (a -Wrestrict
# false positive broke Release once), so every type is built with
# CMAKE_COMPILE_WARNING_AS_ERROR=ON: the helper must be warning-free in each.
# A build configured as a user would (no such option) must not get -Werror.
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/../e2e/common.cmake")

set(launcher_args "")
if(LAUNCHER)
  set(launcher_args "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
endif()

foreach(type IN ITEMS None Debug Release RelWithDebInfo MinSizeRel)
  set(build "${WORK_DIR}/${type}")
  set(prefix "${WORK_DIR}/${type}-prefix")
  file(REMOVE_RECURSE "${prefix}")
  set(type_arg "-DCMAKE_BUILD_TYPE=${type}")
  if(type STREQUAL "None")
    set(type_arg "-DCMAKE_BUILD_TYPE=") # empty: CMake's own default flags
  endif()
  run(out
      "${CMAKE_COMMAND}"
      -S
      "${PACKAGE_DIR}"
      -B
      "${build}"
      -G
      Ninja
      ${type_arg}
      -DUML_BUILD_TESTS=OFF
      -DCMAKE_COMPILE_WARNING_AS_ERROR=ON
      ${launcher_args})
  run(out "${CMAKE_COMMAND}" --build "${build}")
  run(out "${CMAKE_COMMAND}" --install "${build}" --prefix "${prefix}")
  run(version "${prefix}/bin/uml-helper" --version)
  expect("${type}: the installed uml-helper runs" version MATCHES "^uml-helper [0-9]")
  expect("${type}: the installed package config is there" EXISTS
         "${prefix}/share/cmake/UserModeLinux/UserModeLinuxConfig.cmake")
endforeach()

# A user's configure: warnings stay warnings.
set(user_build "${WORK_DIR}/user")
run(out
    "${CMAKE_COMMAND}"
    -S
    "${PACKAGE_DIR}"
    -B
    "${user_build}"
    -G
    Ninja
    -DCMAKE_BUILD_TYPE=Release
    -DUML_BUILD_TESTS=OFF)
file(READ "${user_build}/build.ninja" ninja)
string(FIND "${ninja}" "-Werror" werror_at)
expect("a user's build does not turn warnings into errors" werror_at EQUAL -1)
