# Shared by the end-to-end test scripts.

# Runs a command, prints its output, fails the test when it fails; the output
# is returned in <out_var>.
function(run out_var)
  execute_process(
    COMMAND ${ARGN}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  message("$ ${ARGN}\n${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# Seconds (with fractions) since the epoch.
function(now out_var)
  string(TIMESTAMP t "%s%f" UTC)
  math(EXPR whole "${t} / 1000000")
  math(EXPR frac "${t} % 1000000")
  string(LENGTH "${frac}" len)
  while(len LESS 6)
    string(PREPEND frac "0")
    string(LENGTH "${frac}" len)
  endwhile()
  set(${out_var} "${whole}.${frac}" PARENT_SCOPE)
endfunction()

function(elapsed out_var start)
  now(end)
  execute_process(COMMAND awk "BEGIN { printf \"%.2f\", ${end} - ${start} }" OUTPUT_VARIABLE result)
  set(${out_var} "${result}" PARENT_SCOPE)
endfunction()

# Passes when the condition (any if() expression) holds.
function(expect condition_text)
  if(${ARGN})
    message(STATUS "ok: ${condition_text}")
  else()
    message(FATAL_ERROR "FAILED: ${condition_text}")
  endif()
endfunction()

# The first word of a module's vermagic, or a named modinfo field.
function(modinfo out_var ko field)
  file(STRINGS "${ko}" lines REGEX "^${field}=")
  list(GET lines 0 line)
  string(REGEX REPLACE "^${field}=" "" line "${line}")
  set(${out_var} "${line}" PARENT_SCOPE)
endfunction()

# The compile command recorded for <source> in a compile database, or "".
function(compile_command out_var database source)
  file(READ "${database}" json)
  string(JSON count LENGTH "${json}")
  math(EXPR last "${count} - 1")
  set(result "")
  foreach(i RANGE ${last})
    string(JSON file GET "${json}" ${i} file)
    if(file STREQUAL source)
      string(JSON result GET "${json}" ${i} command)
    endif()
  endforeach()
  set(${out_var} "${result}" PARENT_SCOPE)
endfunction()

function(mtime out_var path)
  file(TIMESTAMP "${path}" t "%s" UTC)
  set(${out_var} "${t}" PARENT_SCOPE)
endfunction()

# The configure command of a test project, in <out>: Ninja, the launcher the
# test was given (ccache), and <args>.
function(configure_command out src build)
  set(command
      "${CMAKE_COMMAND}"
      -S
      "${src}"
      -B
      "${build}"
      -G
      Ninja
      ${ARGN})
  if(CMAKE_C_COMPILER_LAUNCHER)
    list(APPEND command "-DCMAKE_C_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER}")
  endif()
  set(${out} "${command}" PARENT_SCOPE)
endfunction()

# The helper and the boot file of a test, from CTest's own record of it.
function(test_command out test)
  execute_process(COMMAND ctest --test-dir "${BUILD_DIR}" -N -V -R "^${test}$"
                  OUTPUT_VARIABLE listing COMMAND_ERROR_IS_FATAL ANY)
  # ctest -V quotes each argument after the program: /path/uml-helper "test" "--boot" "/path/x.boot"
  string(REGEX MATCH "Test command: ([^\n]*uml-helper) \"?test\"? \"?--boot\"? \"?([^\n\"]*\\.boot)" _ "${listing}")
  expect("ctest knows ${test}'s command" CMAKE_MATCH_1 AND CMAKE_MATCH_2)
  set(${out} "${CMAKE_MATCH_1};test;--boot;${CMAKE_MATCH_2}" PARENT_SCOPE)
endfunction()

# Runs a command that may fail: its exit status and output.
function(boot out_rc out_text)
  execute_process(
    COMMAND ${ARGN}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE text
    ERROR_VARIABLE text)
  message("$ ${ARGN}\n${text}")
  set(${out_rc} "${rc}" PARENT_SCOPE)
  set(${out_text} "${text}" PARENT_SCOPE)
endfunction()
