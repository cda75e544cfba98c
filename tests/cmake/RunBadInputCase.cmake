# Runs one bad-input case: a CMakeLists.txt body that must fail to configure
# with a message matching every "# EXPECT: <regex>" line of the case file.
#
#   cmake -DCASE=<file> -DPACKAGE_DIR=<repo> -DWORK_DIR=<dir> -DCACHE_DIR=<dir> -P RunBadInputCase.cmake
#
# Other header lines a case may carry:
#   # OPTIONS: -DVAR=value ...   extra cache entries for the configure
#   # HIDE_TOOLS: flex bison     configure with these host tools missing
#   # BUILD_DIR: <name>          the build directory's name in WORK_DIR (default build),
#                                e.g. one with a space
cmake_minimum_required(VERSION 3.25)

file(READ "${CASE}" body)
string(REGEX MATCHALL "# EXPECT: [^\n]*" expects "${body}")
string(REGEX MATCH "# OPTIONS: [^\n]*" options "${body}")
string(REGEX MATCH "# HIDE_TOOLS: [^\n]*" hide "${body}")
string(REGEX MATCH "# BUILD_DIR: [^\n]*" build_dir "${body}")
string(REPLACE "# BUILD_DIR: " "" build_dir "${build_dir}")
if(NOT build_dir)
  set(build_dir build)
endif()
if(NOT expects)
  message(FATAL_ERROR "${CASE} has no '# EXPECT: <regex>' line")
endif()
string(REPLACE "# OPTIONS: " "" options "${options}")
separate_arguments(options UNIX_COMMAND "${options}")
string(REPLACE "# HIDE_TOOLS: " "" hide "${hide}")
separate_arguments(hide UNIX_COMMAND "${hide}")

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/src")
file(WRITE "${WORK_DIR}/src/CMakeLists.txt"
     "cmake_minimum_required(VERSION 3.25)\n" "project(bad_input_case LANGUAGES NONE)\n"
     "add_subdirectory(\"${PACKAGE_DIR}\" uml)\n" "find_package(UserModeLinux REQUIRED)\n" "${body}\n")

set(env_prefix "")
if(hide)
  # A PATH holding every other tool the package looks for (its host-tool search
  # uses PATH and the sbin directories only).
  file(MAKE_DIRECTORY "${WORK_DIR}/bin")
  foreach(
    tool IN
    ITEMS make
          gcc
          flex
          bison
          bc
          perl
          tar
          xz
          gzip
          bzip2
          depmod
          mke2fs
          ninja
          ccache
          as
          ld)
    if(NOT tool IN_LIST hide)
      find_program(path_${tool} ${tool})
      if(path_${tool})
        file(CREATE_LINK "${path_${tool}}" "${WORK_DIR}/bin/${tool}" SYMBOLIC)
      endif()
    endif()
  endforeach()
  set(env_prefix "${CMAKE_COMMAND}" -E env "PATH=${WORK_DIR}/bin")
  # The package builds its helper when vendored: name the C++ compiler directly.
  find_program(cxx NAMES g++ c++ REQUIRED)
  list(APPEND options "-DCMAKE_CXX_COMPILER=${cxx}")
endif()

execute_process(
  COMMAND ${env_prefix} "${CMAKE_COMMAND}" -S "${WORK_DIR}/src" -B "${WORK_DIR}/${build_dir}" -G Ninja
          "-DUML_CACHE_DIR=${CACHE_DIR}" ${options}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
# CMake wraps long messages; compare with the line breaks folded.
string(REGEX REPLACE "[ \n]+" " " flat "${out}")
if(rc EQUAL 0)
  message(FATAL_ERROR "configure succeeded, expected a failure. Output:\n${out}")
endif()
foreach(expect IN LISTS expects)
  string(REPLACE "# EXPECT: " "" regex "${expect}")
  if(NOT flat MATCHES "${regex}")
    message(FATAL_ERROR "the error does not match '${regex}'. Output:\n${out}")
  endif()
endforeach()
message(STATUS "failed as expected:\n${out}")
