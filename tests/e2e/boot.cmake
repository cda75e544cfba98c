# Boot tests end to end (tests/projects/boot): the passing tests pass, each
# expected failure fails for its own reason with its own exit code, KUnit cases
# are reported one by one, an interactive run works from a pipe, and nothing
# is left behind: no process, no COW file, no uml_dir, an unchanged image.
#   -DPACKAGE_DIR -DPROJECT_DIR -DWORK_DIR -DCACHE_DIR [-DCMAKE_C_COMPILER_LAUNCHER] [-DDEBIAN=ON]
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")

set(build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
configure_command(
  configure_cmd "${PROJECT_DIR}" "${build}" "-DUML_CACHE_DIR=${CACHE_DIR}" "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}"
  "-DUML_TEST_KERNEL_FRAGMENT=${PROJECT_DIR}/../common/test-kernel.config")
if(DEBIAN)
  list(APPEND configure_cmd -DUML_TEST_DEBIAN=ON)
endif()
run(out ${configure_cmd})
run(out "${CMAKE_COMMAND}" --build "${build}")
include("${build}/uml-info.cmake")
file(SHA256 "${installed_image}" image_sha_before)
file(SHA256 "${base_image}" base_sha_before)
file(SHA256 "${user_image}" user_sha_before)
file(SHA256 "${minimal_image}" minimal_sha_before)

# Every test that should pass, in parallel.
run(out
    ctest
    --test-dir
    "${build}"
    -LE
    "expected-fail|expected-skip"
    -j2
    --output-on-failure)
expect("the passing boot tests pass" out MATCHES "100% tests passed")

# The exact_arguments test above passed: every word reached the guest. Its boot
# description keeps each word whole, one argv line each.
file(READ "${build}/_uml/boot/exact_arguments.boot" boot_text)
# string(FIND), not MATCHES through expect(): its arguments are a list, split at ';'.
string(FIND "${boot_text}" "argv=[:space:]\nargv=a;b\nargv=\nargv=$HOME\n" words_at)
expect("exact_arguments: the description has the words whole, one argv line each" NOT words_at EQUAL -1)
string(FIND "${boot_text}" "env=EXPECTED=<[:space:]><a;b><>" env_at)
expect("exact_arguments: ... and the ENV value with ';' whole" NOT env_at EQUAL -1)

# Modules the build refuses, each with a message naming the clash and the fix.
function(expect_build_failure target)
  execute_process(
    COMMAND "${CMAKE_COMMAND}" --build "${build}" --target ${target}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  message("${out}")
  string(REGEX REPLACE "[ \n]+" " " flat "${out}")
  expect("building ${target} fails" NOT rc EQUAL 0)
  foreach(regex IN LISTS ARGN)
    expect("${target}: output matches '${regex}'" flat MATCHES "${regex}")
  endforeach()
endfunction()
expect_build_failure(
  named_like_builtin "its module 'ext4' has the name of kernel/fs/ext4/ext4.ko, built into the kernel"
  "Rename the module")
expect_build_failure(named_like_kernel_module
                     "its module 'crc_ccitt' has the name of lib/crc-ccitt.o, one of the kernel's modules")
expect_build_failure(clashing_install "uml_modules_install\\(clashing_install\\): two modules are named same_name"
                     "Rename one")

# Each expected failure, with its reason and exit code.
function(expect_failure test)
  execute_process(
    COMMAND ctest --test-dir "${build}" -R "^${test}$" --output-on-failure
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  message("${out}")
  string(REGEX REPLACE "[ \n]+" " " flat "${out}")
  expect("${test} fails" NOT rc EQUAL 0)
  foreach(regex IN LISTS ARGN)
    expect("${test}: output matches '${regex}'" flat MATCHES "${regex}")
  endforeach()
  expect("${test}: the output names the console log" flat MATCHES "console log: .*/_uml/tests/${test}\\.log")
endfunction()
expect_failure(fails_with_status "command failed, exit 1\\): the guest command failed with status 3")
expect_failure(fails_on_bug "kernel oops, exit 3\\)" "bug_on_load\\.c:9")
expect_failure(fails_on_warning "kernel oops, exit 3\\)" "WARNING: .*warn_on_load")
expect_failure(fails_on_missing_module "boot failed, exit 6\\)" "no_such_module")
expect_failure(times_out "timeout, exit 124\\)")
expect_failure(kunit_results "kunit failed, exit 5\\)" "1 passed, 1 failed, 0 crashed, 1 skipped"
               "uml_example\\.uml_failing_case")

# The discovered KUnit cases, one test each (in parallel), and coverage: every test here
# boots the test kernel, which has gcov, so each saved its modules' data; uml_coverage
# merges all of them, KUnit cases included.
execute_process(
  COMMAND ctest --test-dir "${build}" -R "^case\\." -j2 --output-on-failure
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("${out}")
expect("the passing KUnit case passes" out MATCHES "case\\.uml_example\\.uml_passing_case \\.+ +Passed")
expect("the failing KUnit case fails" out MATCHES "case\\.uml_example\\.uml_failing_case \\.+\\*+Failed")
# Discovered cases declare CTest resources as uml_add_test's tests do.
execute_process(COMMAND ctest --test-dir "${build}" -R "^case\\.uml_example\\.uml_passing_case$" -FS ".*"
                        --show-only=json-v1 OUTPUT_VARIABLE json)
expect("a discovered KUnit case asks for a core and its guest memory" json MATCHES "uml_cpus.*uml_mem_mib")
foreach(test IN ITEMS case.uml_example.uml_passing_case case.uml_example.uml_failing_case kunit_results hello_loads)
  set(status_file "${build}/_uml/coverage/${test}/status")
  set(status "")
  if(EXISTS "${status_file}")
    file(READ "${status_file}" status)
  endif()
  expect("${test} saved coverage data of its modules (status: ${status})" status MATCHES "^saved [1-9]")
endforeach()
run(report "${CMAKE_COMMAND}" --build "${build}" --target uml_coverage)
expect("the coverage summary has the KUnit module's source" report MATCHES
       "coverage of [0-9]+ test\\(s\\):.*example_kunit\\.c: lines")
file(READ "${build}/coverage/coverage.xml" cobertura)
file(STRINGS "${PROJECT_DIR}/modules/example_kunit.c" kunit_lines)
list(FIND kunit_lines "static void uml_failing_case(struct kunit *test)" failing_at)
math(EXPR failing_body "${failing_at} + 3") # the case's first statement, 1-based
string(REGEX MATCH "filename=\"[^\"]*example_kunit\\.c\".*" kunit_xml "${cobertura}")
string(REGEX MATCH "<line number=\"${failing_body}\" hits=\"([0-9]+)\"" _ "${kunit_xml}")
expect("the failing case's body ran (line ${failing_body}, hits '${CMAKE_MATCH_1}')" CMAKE_MATCH_1 GREATER 0)

# A KUnit run whose every case was skipped is a skipped test, and says why.
execute_process(
  COMMAND ctest --test-dir "${build}" -R "^kunit_all_skipped$" --verbose
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("${out}")
expect(
  "every KUnit case skipped: CTest reports the test skipped, not failed"
  rc
  EQUAL
  0
  AND
  out
  MATCHES
  "Skipped")
expect("...saying KUnit skipped every case" out MATCHES "KUnit skipped every case")

# TIMEOUT 0 means none: the test runs past CTest's default timeout (2 s here).
execute_process(
  COMMAND ctest --test-dir "${build}" -R "^no_timeout$" --timeout 2 --output-on-failure
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("${out}")
expect("TIMEOUT 0: a 3 s command passes under a 2 s CTest default timeout" rc EQUAL 0)
# -FS: not the uml_build fixture test, which --show-only would otherwise list first.
execute_process(COMMAND ctest --test-dir "${build}" -R "^no_timeout$" -FS ".*" --show-only=json-v1 OUTPUT_VARIABLE json)
string(
  JSON
  test_name
  GET
  "${json}"
  tests
  0
  name)
string(
  JSON
  timeout_property
  GET
  "${json}"
  tests
  0
  properties)
expect("...--show-only lists the test no_timeout (${test_name})" test_name STREQUAL "no_timeout")
expect("...its CTest TIMEOUT is not the 30 s backstop of a timed test (${timeout_property})" timeout_property MATCHES
       "\"value\" *: *31536000")

# KUnit cases one by one in the JUnit report.
file(READ "${build}/_uml/tests/kunit_results.junit.xml" junit)
foreach(case IN ITEMS uml_passing_case uml_failing_case uml_skipped_case)
  expect("JUnit has the case ${case}" junit MATCHES "testcase[^>]*name=\"[^\"]*${case}\"")
endforeach()
expect(
  "JUnit marks one failure and one skip"
  junit
  MATCHES
  "<failure"
  AND
  junit
  MATCHES
  "<skipped")

# An interactive run on a terminal (a pty from script(1)) whose keyboard is a
# pipe: the guest shell runs what it reads; bounded by timeout(1).
set(typed "printf 'echo RUN-\"\"OK\\nexit 7\\n'")
execute_process(
  COMMAND sh -c
          "${typed} | timeout 120 script -qec '\"${CMAKE_COMMAND}\" --build \"${build}\" --target uml_run' /dev/null"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("${out}")
expect("uml_run ran the shell's commands" out MATCHES "RUN-OK")
expect("uml_run ended by itself (not by the timeout)" NOT rc EQUAL 124)
expect("uml_run ends with the shell's status (the build step fails on 7)" NOT rc EQUAL 0)

# busybox's poweroff (a signal to PID 1, not poweroff -f) ends the session too.
execute_process(
  COMMAND
    sh -c
    "printf 'poweroff\\n' | timeout 120 script -qec '\"${CMAKE_COMMAND}\" --build \"${build}\" --target uml_run' /dev/null"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("${out}")
expect("poweroff typed in uml_run ends it with status 0 (rc ${rc})" rc EQUAL 0)

# No terminal at all (a pipe, an IDE's build): the guest shell runs the piped commands,
# with no prompt and no echo, and uml_run ends with the last one's status.
execute_process(
  COMMAND sh -c "${typed} | timeout 120 \"${CMAKE_COMMAND}\" --build \"${build}\" --target uml_run"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("${out}")
expect("uml_run from a pipe ran the commands" out MATCHES "RUN-OK")
expect("uml_run from a pipe neither echoed them nor prompted" NOT out MATCHES "RUN-\"\"OK|/ # ")
expect("uml_run from a pipe ended by itself (not by the timeout)" NOT rc EQUAL 124)
expect("uml_run from a pipe ends with the last command's status (7)" NOT rc EQUAL 0)
# Nothing to read (/dev/null): the guest powers off at once instead of waiting.
execute_process(
  COMMAND sh -c "timeout 120 \"${CMAKE_COMMAND}\" --build \"${build}\" --target uml_run </dev/null"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("${out}")
expect("uml_run with stdin /dev/null powers off with status 0 (rc ${rc})" rc EQUAL 0)

# Nothing left behind.
file(GLOB_RECURSE cows "${build}/_uml/boot/*.cow")
expect("no COW file left (${cows})" NOT cows)
file(GLOB umid_dirs LIST_DIRECTORIES true "${build}/_uml/boot/*/u/*")
expect("no uml_dir left (${umid_dirs})" NOT umid_dirs)
# Matched by this project's boot files (each UML's COW path and each helper's
# work dir are there), not by the kernel: other tests boot the same kernel.
execute_process(COMMAND pgrep -f "${build}/_uml/" OUTPUT_VARIABLE pids)
expect("no UML or helper process of this project left (${pids})" NOT pids)
file(SHA256 "${installed_image}" image_sha_after)
file(SHA256 "${base_image}" base_sha_after)
expect("the booted image is byte-identical" image_sha_before STREQUAL image_sha_after)
expect("the rootfs image is byte-identical" base_sha_before STREQUAL base_sha_after)
file(SHA256 "${user_image}" user_sha_after)
expect("the user's own image (TYPE image) is byte-identical" user_sha_before STREQUAL user_sha_after)
file(SHA256 "${minimal_image}" minimal_sha_after)
expect("the hand-made minimal image is byte-identical" minimal_sha_before STREQUAL minimal_sha_after)

if(DEBIAN)
  run(out
      ctest
      --test-dir
      "${build}"
      -R
      "^debian_boots$"
      --output-on-failure)
  expect("the Debian root boots and loads the module" out MATCHES "100% tests passed")
endif()
