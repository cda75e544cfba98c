# Build step of uml_discover_kunit_tests(): boots the image once with
# kunit.action=list (the helper reads the cases KUnit lists for the loaded modules)
# and writes one CTest test per case. uml_discover_kunit_tests() writes a script
# that includes this file and calls:
#
#   uml_step_kunit_discover(NAME <target> MODULES <module>... HELPER <uml-helper>
#     DISCOVERY_BOOT <file> CASES_BOOT <file> LOG <file> LIST_FILE <file>
#     WORK_DIR <dir> [COVERAGE_ROOT <dir>] TESTS_FILE <file> UNAVAILABLE_FILE <file> [TEST_PREFIX <prefix>]
#     CTEST_TIMEOUT <seconds> [RESOURCE_GROUPS <groups>] LABELS <label>... [FIXTURE <fixture>])
include_guard(GLOBAL)

function(uml_step_kunit_discover)
  cmake_parse_arguments(
    PARSE_ARGV
    0
    arg
    ""
    "NAME;HELPER;DISCOVERY_BOOT;CASES_BOOT;LOG;LIST_FILE;WORK_DIR;COVERAGE_ROOT;TESTS_FILE;UNAVAILABLE_FILE;TEST_PREFIX;CTEST_TIMEOUT;RESOURCE_GROUPS;FIXTURE"
    "MODULES;LABELS")
  set(context "uml_discover_kunit_tests(${arg_NAME})")
  file(REMOVE "${arg_LIST_FILE}")
  execute_process(
    COMMAND "${arg_HELPER}" test --boot "${arg_DISCOVERY_BOOT}" --kunit-list "${arg_LIST_FILE}"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  if(rc EQUAL 125)
    # UML cannot run on this host: no reason to fail the build of the modules.
    # No tests file, so the next build tries again; CTest gets a test that
    # reports the host's problem.
    file(REMOVE "${arg_TESTS_FILE}")
    file(WRITE "${arg_UNAVAILABLE_FILE}" "${out}")
    message(WARNING "${context}: UML cannot run on this host, so the KUnit cases of ${arg_MODULES} were not "
                    "listed (the test ${arg_TEST_PREFIX}${arg_NAME}_NOT_DISCOVERED says why):\n${out}")
    return()
  endif()
  file(REMOVE "${arg_UNAVAILABLE_FILE}")
  if(NOT rc EQUAL 0 OR NOT EXISTS "${arg_LIST_FILE}")
    file(REMOVE "${arg_TESTS_FILE}")
    message(FATAL_ERROR "${context}: the boot that lists the KUnit cases of ${arg_MODULES} failed (uml-helper exit "
                        "${rc}); console log: ${arg_LOG}\n${out}")
  endif()
  string(REGEX MATCHALL "[^\n]*left out[^\n]*" unselectable "${out}")
  foreach(line IN LISTS unselectable)
    message(WARNING "${context}: ${line}")
  endforeach()
  # One "<suite>.<case>" per line, each made of letters, digits, '_' and '-' (the
  # helper checked; checked again, as they become test names and arguments).
  file(STRINGS "${arg_LIST_FILE}" cases)
  list(FILTER cases INCLUDE REGEX "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$")
  list(LENGTH cases count)
  if(count EQUAL 0)
    file(REMOVE "${arg_TESTS_FILE}")
    message(
      FATAL_ERROR
        "${context}: no KUnit case found in ${arg_MODULES}: the boot with kunit.action=list "
        "listed none. Do the modules declare suites (kunit_test_suite) with cases? Console log: " "${arg_LOG}")
  endif()

  # The tests, written to a temporary file and renamed: CTest never reads half a file.
  set(text "# Written by ${context} from ${arg_LOG}; do not edit.\n")
  foreach(case IN LISTS cases)
    set(test_name "${arg_TEST_PREFIX}${case}")
    string(
      APPEND
      text
      "add_test([==[${test_name}]==] [==[${arg_HELPER}]==] test --boot [==[${arg_CASES_BOOT}]==] --name "
      "[==[${test_name}]==] --work-dir [==[${arg_WORK_DIR}/boot/${test_name}]==] --log "
      "[==[${arg_WORK_DIR}/tests/${test_name}.log]==] --junit [==[${arg_WORK_DIR}/tests/${test_name}.junit.xml]==] "
      "--append [==[kunit.filter_glob=${case}]==]")
    if(arg_COVERAGE_ROOT)
      string(APPEND text " --coverage-dir [==[${arg_COVERAGE_ROOT}/${test_name}]==]")
    endif()
    string(APPEND text ")\n")
    # 125: a case KUnit skipped (or a host that cannot run UML) is a skipped test.
    string(APPEND text "set_tests_properties([==[${test_name}]==] PROPERTIES TIMEOUT ${arg_CTEST_TIMEOUT} LABELS "
           "[==[${arg_LABELS}]==] SKIP_RETURN_CODE 125)\n")
    if(arg_FIXTURE)
      string(APPEND text
             "set_tests_properties([==[${test_name}]==] PROPERTIES FIXTURES_REQUIRED [==[${arg_FIXTURE}]==])\n")
    endif()
    if(arg_RESOURCE_GROUPS)
      string(APPEND text "set_tests_properties([==[${test_name}]==] PROPERTIES RESOURCE_GROUPS "
             "[==[${arg_RESOURCE_GROUPS}]==])\n")
    endif()
  endforeach()
  file(WRITE "${arg_TESTS_FILE}.tmp" "${text}")
  file(RENAME "${arg_TESTS_FILE}.tmp" "${arg_TESTS_FILE}")
  list(JOIN cases ", " names)
  message(STATUS "${context}: ${count} KUnit case(s): ${names}")
endfunction()
