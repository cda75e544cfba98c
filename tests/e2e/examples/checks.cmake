# The checks example's own checks, included by tests/e2e/example.cmake (see its
# variables): each bug's negative test passed, with its report's first frame in the
# project decoded to flawed.c; then hostile runs of the same boot: a report that a
# guest process prints does not satisfy an expectation (exit 1) and, unexpected,
# fails the test as a finding (exit 7); a real finding without an expectation is
# 7; a module that cannot be unloaded is 8, named.
set(bugs
    uaf
    oob
    index
    lock-order
    sleep
    refcount
    list
    timer
    overflow
    leak)
foreach(bug IN LISTS bugs)
  expect("flawed.${bug} passed" CTEST_OUTPUT MATCHES "flawed\\.${bug} \\.+ +Passed")
endforeach()
foreach(kernel IN ITEMS uml_kernel uml_kernel_checked)
  expect("flawed.clean.${kernel} passed" CTEST_OUTPUT MATCHES "flawed\\.clean\\.${kernel} \\.+ +Passed")
endforeach()

# The helper and the boot file of a test, from CTest's own record of it.
function(test_command out test)
  execute_process(COMMAND ctest --test-dir "${BUILD_DIR}" -N -V -R "^${test}$"
                  OUTPUT_VARIABLE listing COMMAND_ERROR_IS_FATAL ANY)
  # ctest -V quotes each argument after the program: /path/uml-helper "test" "--boot" "/path/x.boot"
  string(REGEX MATCH "Test command: ([^\n]*uml-helper) \"?test\"? \"?--boot\"? \"?([^\n\"]*\\.boot)" _ "${listing}")
  expect("ctest knows ${test}'s command" CMAKE_MATCH_1 AND CMAKE_MATCH_2)
  set(${out} "${CMAKE_MATCH_1};test;--boot;${CMAKE_MATCH_2}" PARENT_SCOPE)
endfunction()

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

set(log_dir "${WORK_DIR}/hostile")
file(MAKE_DIRECTORY "${log_dir}")
test_command(clean flawed.clean.uml_kernel_checked)

# Each bug once more, without its expectation and with stdout captured: a finding (7)
# whose summary names the first frame in flawed.c, decoded.
foreach(bug IN ITEMS uaf lock-order sleep leak)
  boot(
    rc
    text
    ${clean}
    --log
    "${log_dir}/${bug}.log"
    --
    sh
    -c
    "echo ${bug} > /sys/module/flawed/parameters/trigger")
  expect("${bug} unexpected: a kernel finding (exit 7, got ${rc})" rc EQUAL 7)
  expect("${bug}: the summary names the first frame in flawed.c, decoded" text MATCHES
         "first project frame: flawed_[a-z_]+ at [^\n]*flawed\\.c:[0-9]+")
endforeach()
expect("the KASAN report's frames are decoded to file and line" text MATCHES "flawed\\.c:[0-9]+")

set(forged "BUG: KASAN: slab-use-after-free in flawed_use_after_free+0x5c/0x90 [flawed]")
boot(
  rc
  text
  ${clean}
  --expect-finding
  kasan
  --log
  "${log_dir}/forged-expected.log"
  --
  sh
  -c
  "echo '${forged}'")
expect("a printed KASAN report does not satisfy --expect-finding kasan (exit 1, got ${rc})" rc EQUAL 1)
expect("... and the helper says a guest process printed it" text MATCHES "guest process printed it")
boot(
  rc
  text
  ${clean}
  --log
  "${log_dir}/forged.log"
  --
  sh
  -c
  "echo '${forged}'")
expect("a printed KASAN report, unexpected, still fails the test (exit 7, got ${rc})" rc EQUAL 7)

boot(
  rc
  text
  ${clean}
  --log
  "${log_dir}/pin.log"
  --
  sh
  -c
  "echo pin > /sys/module/flawed/parameters/trigger")
expect("a module that cannot be unloaded fails the unload check (exit 8, got ${rc})" rc EQUAL 8)
expect("... naming it" text MATCHES "flawed")
boot(
  rc
  text
  ${clean}
  --no-unload-check
  --log
  "${log_dir}/pin-unchecked.log"
  --
  sh
  -c
  "echo pin > /sys/module/flawed/parameters/trigger")
expect("--no-unload-check: the pinned module passes (got ${rc})" rc EQUAL 0)

# The plain kernel has none of the checks: the same use after free goes unnoticed.
test_command(plain flawed.clean.uml_kernel)
boot(
  rc
  text
  ${plain}
  --log
  "${log_dir}/plain-uaf.log"
  --
  sh
  -c
  "echo uaf > /sys/module/flawed/parameters/trigger")
expect("the plain kernel does not see the use after free (got ${rc})" rc EQUAL 0)
