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

# Coverage asked of kernels built without gcov: clear errors, never an empty report.
# The helper's --coverage-dir on the plain kernel says the kernel has no gcov ...
boot(
  rc
  text
  ${plain}
  --coverage-dir
  "${log_dir}/coverage"
  --log
  "${log_dir}/plain-coverage.log")
expect("a test still passes on a kernel without gcov (got ${rc})" rc EQUAL 0)
expect("... and says it has no gcov" text MATCHES "no coverage data: the kernel has no gcov")
# ... and the project's uml_coverage target, with no COVERAGE kernel, says how to get one.
boot(
  rc
  text
  "${CMAKE_COMMAND}"
  --build
  "${BUILD_DIR}"
  --target
  uml_coverage)
expect("uml_coverage fails without a coverage kernel (got ${rc})" NOT rc EQUAL 0)
expect("... saying how to get one" text MATCHES "no kernel of this project is built with coverage")
