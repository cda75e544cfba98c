# Every CMake file in the repository is formatted by cmake-format with the
# committed .cmake-format; prints the files that are not.
if(NOT CMAKE_FORMAT)
  message(FATAL_ERROR "cmake-format not found: apt-get install cmake-format (the style check cannot run)")
endif()
file(GLOB_RECURSE files RELATIVE "${REPO}" "${REPO}/CMakeLists.txt" "${REPO}/*.cmake" "${REPO}/*.cmake.in")
set(bad "")
foreach(file IN LISTS files)
  if(file MATCHES "^(build|\\.git)/" OR file MATCHES "(^|/)\\.uml-build/")
    continue()
  endif()
  execute_process(
    COMMAND "${CMAKE_FORMAT}" --check "${file}"
    WORKING_DIRECTORY "${REPO}"
    RESULT_VARIABLE rc
    OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    list(APPEND bad "${file}")
  endif()
endforeach()
list(LENGTH files count)
if(bad)
  list(JOIN bad "\n  " bad)
  message(FATAL_ERROR "not formatted (run cmake-format -i on them):\n  ${bad}")
endif()
message(STATUS "${count} CMake files formatted")
