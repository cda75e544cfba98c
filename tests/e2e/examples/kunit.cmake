# The kunit example's own checks, included by tests/e2e/example.cmake (see its
# variables): one CTest test per KUnit case, found at build time; a failing
# case fails exactly its test and a skipped one is skipped; in the installed
# mode (the example is a copy there) a new case appears after a rebuild
# without re-configure, and a discovery that finds nothing fails the build.
set(cases
    init_sizes
    put_get
    get_empty
    put_full
    wrap_around
    index_overflow
    stream_chunks)

# ctest -N lists every case as <suite>.<case>, and the example's run passed each.
run_in(listing ctest --test-dir "${BUILD_DIR}" -N)
foreach(case IN LISTS cases)
  expect("ctest -N lists ringbuf.${case}" listing MATCHES "Test +#[0-9]+: ringbuf\\.${case}\n")
  expect("ringbuf.${case} passed" CTEST_OUTPUT MATCHES "ringbuf\\.${case} \\.+ +Passed")
endforeach()
expect("no placeholder test (the cases were discovered)" NOT listing MATCHES "_NOT_BUILT|_NOT_DISCOVERED")
# -FA: without the uml_build fixture the tests would pull in.
run_in(
  labelled
  ctest
  --test-dir
  "${BUILD_DIR}"
  -N
  -L
  kunit
  -FA
  ".*")
expect("the cases carry the kunit label" labelled MATCHES "Total Tests: 7\n")

# A no-op build does not boot to list the cases again.
run_in(out ${build_cmd})
expect("a no-op build does not list the cases again" NOT out MATCHES "Listing the KUnit cases")

# Runs the example's tests; returns ctest's output (ctest may fail).
function(ctest_output out_var)
  execute_process(
    COMMAND ctest --test-dir "${BUILD_DIR}" --output-on-failure -j2 ${ARGN}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  message("$ ctest ${ARGN} (exit ${rc})\n${out}")
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# The demo cases (a failing and a skipped one, compiled in by the example's
# RINGBUF_DEMO_CASES option): each is its own test with its own outcome, the
# others still pass.
run_in(out ${configure_cmd} -DRINGBUF_DEMO_CASES=ON)
run_in(out ${build_cmd})
expect("the rebuild listed the cases again" out MATCHES "Listing the KUnit cases")
ctest_output(out)
expect("ringbuf.demo_failure failed" out MATCHES "ringbuf\\.demo_failure \\.+\\*\\*\\*Failed")
expect("... because its KUnit case failed (helper exit 5)" out MATCHES
       "ringbuf\\.demo_failure: FAILED \\(kunit failed, exit 5\\)")
expect("ringbuf.demo_skip is reported as skipped" out MATCHES "ringbuf\\.demo_skip \\.+\\*\\*\\*Skipped")
expect("exactly one test failed" out MATCHES "1 tests failed out of 10")
foreach(case IN LISTS cases)
  expect("ringbuf.${case} still passed" out MATCHES "ringbuf\\.${case} \\.+ +Passed")
endforeach()

# Where UML cannot run (helper exit 125) the build only warns, and CTest gets
# one test that reports why; the next build lists the cases again. Played with
# the generated discovery step, its helper swapped for one that exits 125.
file(GLOB_RECURSE step_script "${BUILD_DIR}/*/ringbuf_test_kunit_tests.kunit-discover.cmake")
expect("the discovery step script exists (${step_script})" step_script AND EXISTS "${step_script}")
file(READ "${step_script}" text)
set(fake_helper "${WORK_DIR}/uml-helper-unavailable")
file(WRITE "${fake_helper}" "#!/bin/sh\necho 'ptrace: not permitted'\nexit 125\n")
file(CHMOD "${fake_helper}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
string(REGEX REPLACE "HELPER \\[=*\\[[^]]*\\]=*\\]" "HELPER [[${fake_helper}]]" unavailable "${text}")
expect("the fake helper replaced the real one" unavailable MATCHES "uml-helper-unavailable")
file(WRITE "${WORK_DIR}/unavailable.kunit-discover.cmake" "${unavailable}")
run(out "${CMAKE_COMMAND}" -P "${WORK_DIR}/unavailable.kunit-discover.cmake")
expect("exit 125 is a warning, not a failure" out MATCHES "UML cannot run on this[ \n]+host")
run_in(listing ctest --test-dir "${BUILD_DIR}" -N)
expect(
  "ctest lists ringbuf_test_kunit_tests_NOT_DISCOVERED instead of the cases"
  listing
  MATCHES
  "ringbuf_test_kunit_tests_NOT_DISCOVERED"
  AND
  NOT
  listing
  MATCHES
  "ringbuf\\.put_get")
execute_process(
  COMMAND ctest --test-dir "${BUILD_DIR}" --output-on-failure -R _NOT_DISCOVERED -FA ".*"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("$ ctest -R _NOT_DISCOVERED (exit ${rc})\n${out}")
expect(
  "that test fails, showing the doctor's findings"
  NOT
  rc
  EQUAL
  0
  AND
  out
  MATCHES
  "ptrace")
run_in(out ${build_cmd})
run_in(listing ctest --test-dir "${BUILD_DIR}" -N)
expect(
  "the next build listed the cases again"
  listing
  MATCHES
  "ringbuf\\.put_get\n"
  AND
  NOT
  listing
  MATCHES
  "NOT_DISCOVERED")

if(NOT MODE STREQUAL "installed")
  return() # the rest edits the example's sources: only the installed mode's copy may be edited
endif()

# A new KUNIT_CASE: a rebuild (no re-configure) lists it, and it runs.
set(source "${EXAMPLE_DIR}/ringbuf_kunit.c")
file(READ "${source}" text)
set(array "static struct kunit_case ringbuf_cases[] = {")
string(REPLACE "${array}"
               "static void added_case(struct kunit *test)\n{\n\tKUNIT_EXPECT_EQ(test, 1, 1);\n}\n\n${array}" text
               "${text}")
string(REPLACE "\t{}\n};" "\tKUNIT_CASE(added_case),\n\t{}\n};" text "${text}")
file(WRITE "${source}" "${text}")
run_in(out ${build_cmd})
expect("the build did not re-configure" NOT out MATCHES "Re-running CMake|Configuring done")
expect("the build listed the cases again" out MATCHES "Listing the KUnit cases")
run_in(listing ctest --test-dir "${BUILD_DIR}" -N)
expect("ctest -N lists the new case ringbuf.added_case" listing MATCHES "ringbuf\\.added_case\n")
ctest_output(out -R "^ringbuf\\.added_case$")
expect("ringbuf.added_case passed" out MATCHES "ringbuf\\.added_case \\.+ +Passed")

# Modules without a KUnit suite: the discovery fails the build, naming its log.
file(WRITE "${EXAMPLE_DIR}/no_suite.c" "// SPDX-License-Identifier: GPL-2.0\n#include <linux/module.h>\n"
                                       "MODULE_LICENSE(\"GPL\");\nMODULE_DESCRIPTION(\"no KUnit suite\");\n")
file(
  APPEND "${EXAMPLE_DIR}/CMakeLists.txt"
  "uml_add_module(no_suite KERNEL uml_kernel SOURCES no_suite.c)\n"
  "uml_modules_install(no_suite_install KERNEL uml_kernel ROOTFS rootfs MODULES no_suite)\n"
  "uml_discover_kunit_tests(KERNEL uml_kernel ROOTFS no_suite_install MODULES no_suite)\n")
execute_process(
  COMMAND ${build_cmd}
  WORKING_DIRECTORY "${work_dir}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("$ ${build_cmd} (exit ${rc})\n${out}")
expect("a discovery that finds no case fails the build" NOT rc EQUAL 0)
# (CMake wraps the message's lines.)
expect("... saying so" out MATCHES "no KUnit case found in[ \n]+no_suite")
set(log "")
if(out MATCHES "Console log:[ \n]+([^ \n]*/no_suite_kunit_tests\\.discovery\\.log)")
  set(log "${CMAKE_MATCH_1}")
endif()
expect("... naming its console log, which exists (${log})" log AND EXISTS "${log}")
