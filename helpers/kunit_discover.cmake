# Build step of uml_discover_kunit_tests(): boots the image once with
# kunit.action=list, reads the cases KUnit lists for the loaded modules and
# writes one CTest test per case.
#   cmake -DUML_SETTINGS=<name>.settings.cmake -P kunit_discover.cmake
# The settings file (written by the CMake function) sets UML_NAME, UML_MODULES,
# UML_DISCOVERY_COMMAND, UML_CASE_COMMAND (with @NAME@ and @CASE@), UML_TEST_PREFIX,
# UML_CTEST_TIMEOUT, UML_LABELS, UML_FIXTURE, UML_LOG, UML_TESTS_FILE and
# UML_UNAVAILABLE_FILE.
cmake_minimum_required(VERSION 3.25)
include("${UML_SETTINGS}")
set(context "uml_discover_kunit_tests(${UML_NAME})")

execute_process(
  COMMAND ${UML_DISCOVERY_COMMAND}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
if(rc EQUAL 125)
  # UML cannot run on this host: no reason to fail the build of the modules.
  # No tests file, so the next build tries again; CTest gets a test that
  # reports the host's problem.
  file(REMOVE "${UML_TESTS_FILE}")
  file(WRITE "${UML_UNAVAILABLE_FILE}" "${out}")
  message(WARNING "${context}: UML cannot run on this host, so the KUnit cases of ${UML_MODULES} were not "
                  "listed (the test ${UML_TEST_PREFIX}${UML_NAME}_NOT_DISCOVERED says why):\n${out}")
  return()
endif()
file(REMOVE "${UML_UNAVAILABLE_FILE}")
if(NOT rc EQUAL 0)
  file(REMOVE "${UML_TESTS_FILE}")
  message(FATAL_ERROR "${context}: the boot that lists the KUnit cases of ${UML_MODULES} failed (uml-helper exit "
                      "${rc}); console log: ${UML_LOG}\n${out}")
endif()

# The listing (lib/kunit/executor.c, kunit_exec_list_tests): "KTAP version 1",
# then per suite a line with its name and a line "<suite>.<case>" per case.
# Other console lines come in between; a case counts only after its suite's
# line. Brackets and semicolons would confuse CMake's lists, so they go first.
file(READ "${UML_LOG}" console)
string(REPLACE ";" "," console "${console}")
string(REPLACE "[" "(" console "${console}")
string(REPLACE "]" ")" console "${console}")
string(REPLACE "\r" "" console "${console}")
string(REPLACE "\n" ";" lines "${console}")
set(listing FALSE)
set(suites "")
set(cases "")
set(odd "")
foreach(line IN LISTS lines)
  # printk's time stamp, with CONFIG_PRINTK_TIME.
  string(REGEX REPLACE "^\\( *[0-9]+\\.[0-9]+\\) " "" line "${line}")
  string(STRIP "${line}" line)
  if(line STREQUAL "KTAP version 1")
    set(listing TRUE)
  elseif(NOT listing)
    continue()
  elseif(line MATCHES "^([A-Za-z0-9_-]+)$")
    list(APPEND suites "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^([^ ]+)\\.([^ ]+)$" AND CMAKE_MATCH_1 IN_LIST suites)
    if(CMAKE_MATCH_2 MATCHES "^[A-Za-z0-9_-]+$")
      list(APPEND cases "${line}")
    else()
      list(APPEND odd "${line}")
    endif()
  endif()
endforeach()
list(REMOVE_DUPLICATES cases)
if(odd)
  list(REMOVE_DUPLICATES odd)
  list(JOIN odd ", " odd)
  message(WARNING "${context}: left out (only letters, digits, '_' and '-' can be selected with "
                  "kunit.filter_glob): ${odd}")
endif()
list(LENGTH cases count)
if(count EQUAL 0)
  file(REMOVE "${UML_TESTS_FILE}")
  message(FATAL_ERROR "${context}: no KUnit case found in ${UML_MODULES}: the boot with kunit.action=list listed "
                      "none. Do the modules declare suites (kunit_test_suite) with cases? Console log: ${UML_LOG}")
endif()

# The tests, written to a temporary file and renamed: CTest never reads half a file.
set(text "# Written by ${context} from ${UML_LOG}; do not edit.\n")
foreach(case IN LISTS cases)
  set(test_name "${UML_TEST_PREFIX}${case}")
  set(args "")
  foreach(arg IN LISTS UML_CASE_COMMAND)
    string(REPLACE "@NAME@" "${test_name}" arg "${arg}")
    string(REPLACE "@CASE@" "${case}" arg "${arg}")
    string(APPEND args " [==[${arg}]==]")
  endforeach()
  string(APPEND text "add_test([==[${test_name}]==]${args})\n")
  # A case KUnit skipped passes the helper with only skipped results.
  string(
    APPEND text
    "set_tests_properties([==[${test_name}]==] PROPERTIES TIMEOUT ${UML_CTEST_TIMEOUT} LABELS [==[${UML_LABELS}]==] "
    "SKIP_REGULAR_EXPRESSION [==[KUnit: 0 passed, 0 failed, 0 crashed, [1-9][0-9]* skipped]==])\n")
  if(UML_FIXTURE)
    string(APPEND text
           "set_tests_properties([==[${test_name}]==] PROPERTIES FIXTURES_REQUIRED [==[${UML_FIXTURE}]==])\n")
  endif()
endforeach()
file(WRITE "${UML_TESTS_FILE}.tmp" "${text}")
file(RENAME "${UML_TESTS_FILE}.tmp" "${UML_TESTS_FILE}")
list(JOIN cases ", " names)
message(STATUS "${context}: ${count} KUnit case(s): ${names}")
