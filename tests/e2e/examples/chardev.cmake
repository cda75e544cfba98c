# The chardev example's own checks, included by tests/e2e/example.cmake (see
# its variables): every guest check passed, the test program is static and in
# the image the tests boot, and (installed mode, where the example is a copy)
# a driver bug fails exactly the test that checks that behaviour.
set(checks
    roundtrip
    ioctl
    nospace
    fault
    opens
    shell
    capacity_parameter
    unload)
foreach(check IN LISTS checks)
  expect("bufdev_${check} passed" CTEST_OUTPUT MATCHES "bufdev_${check} \\.+ +Passed")
endforeach()

# The test program: an add_executable() target linked statically.
file(GLOB_RECURSE candidates "${BUILD_DIR}/*bufdev_test")
set(program "")
foreach(candidate IN LISTS candidates)
  get_filename_component(file_name "${candidate}" NAME)
  if(file_name STREQUAL "bufdev_test")
    set(program "${candidate}")
  endif()
endforeach()
expect("the test program was built (${program})" program AND EXISTS "${program}")
run(headers readelf -l -d "${program}")
expect("bufdev_test has no program interpreter (static)" NOT headers MATCHES "program interpreter")
expect("bufdev_test needs no shared library" NOT headers MATCHES "\\(NEEDED\\)")

# The image the tests boot holds that very program and the module.
file(GLOB_RECURSE images "${BUILD_DIR}/*.img")
list(FILTER images INCLUDE REGEX "/_uml/images/uml_modules_install\\.img$")
list(LENGTH images image_count)
expect("one image with the modules (${images})" image_count EQUAL 1)
find_program(DEBUGFS debugfs PATHS /sbin /usr/sbin REQUIRED)
set(copy "${WORK_DIR}/bufdev_test.from-image")
file(REMOVE "${copy}")
run(out "${DEBUGFS}" -R "dump /usr/local/bin/bufdev_test ${copy}" "${images}")
file(SHA256 "${program}" built_sum)
set(image_sum "")
if(EXISTS "${copy}")
  file(SHA256 "${copy}" image_sum)
endif()
expect("/usr/local/bin/bufdev_test in the image is the built program" image_sum STREQUAL built_sum)
run(out "${DEBUGFS}" -R "ls /lib/modules/${kernel_uml_kernel_release}/extra" "${images}")
expect("bufdev.ko is in /lib/modules/${kernel_uml_kernel_release}/extra" out MATCHES "bufdev\\.ko")

# Coverage (configured with UML_COVERAGE=ON by example.cmake): the report merges every
# test's data; the lines the tests run are covered, module_exit's too (its data outlives
# the unload), and the error path no test takes (misc_register failing) is not.
run(report "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target uml_coverage)
list(LENGTH checks boot_tests) # the boot tests, each with data (ctest also counts the build)
expect("the summary line gives lines and branches of bufdev.c, from all ${boot_tests} tests" report MATCHES
       "coverage of ${boot_tests} test\\(s\\): bufdev\\.c: lines [0-9.]+% \\([0-9]+/[0-9]+\\), branches [0-9.]+%")
string(REGEX MATCH "coverage of [^\n]*" summary_line "${report}")
message(STATUS "figures (chardev, ${MODE}): ${summary_line}")
foreach(file IN ITEMS index.html coverage.xml summary.txt)
  expect("the report wrote ${file}" EXISTS "${BUILD_DIR}/coverage/${file}")
endforeach()
file(READ "${BUILD_DIR}/coverage/coverage.xml" cobertura)
file(STRINGS "${EXAMPLE_DIR}/bufdev.c" source_lines)
function(line_hits out pattern)
  set(number 0)
  set(found "")
  foreach(text IN LISTS source_lines)
    math(EXPR number "${number} + 1")
    if(text MATCHES "${pattern}")
      set(found ${number})
      break()
    endif()
  endforeach()
  expect("bufdev.c has a line matching '${pattern}'" found)
  string(REGEX MATCH "<line number=\"${found}\" hits=\"([0-9]+)\"" _ "${cobertura}")
  expect("coverage.xml has line ${found} (${pattern})" CMAKE_MATCH_1 MATCHES "^[0-9]+$")
  set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
endfunction()
foreach(covered IN ITEMS "ret = -ENOSPC;" "pr_err\\(\"bufdev: capacity=" "pr_info\\(\"bufdev: /dev/%s ready"
                         "info.total_opens = bufdev.total_opens;" "pr_info\\(\"bufdev: unloaded")
  line_hits(hits "${covered}")
  expect("'${covered}' ran in the tests (hits ${hits})" hits GREATER 0)
endforeach()
line_hits(hits "^\t\tkvfree\\(bufdev\\.data\\);$")
expect("the unused error path (kvfree after misc_register failed) is not covered (hits ${hits})" hits EQUAL 0)

# Data that cannot be collected is said, never a silent 0 %: bufdev_roundtrip's boot
# once more, its kernel panicking, saves none; the report names it and goes on with the
# other tests. Then the real test again.
test_command(roundtrip bufdev_roundtrip)
list(GET roundtrip 3 boot_file)
string(REGEX REPLACE "/_uml/boot/[^/]*$" "/_uml/coverage" coverage_root "${boot_file}")
expect("the tests saved their data in ${coverage_root}" EXISTS "${coverage_root}/bufdev_roundtrip/status")
boot(
  rc
  text
  ${roundtrip}
  --log
  "${WORK_DIR}/crashed.log"
  --
  sh
  -c
  "echo c > /proc/sysrq-trigger")
expect("a crashing run fails (exit ${rc})" NOT rc EQUAL 0)
expect("... and says its coverage data is missing" text MATCHES "no coverage data from this run: the guest saved none")
boot(
  rc
  text
  "${CMAKE_COMMAND}"
  --build
  "${BUILD_DIR}"
  --target
  uml_coverage)
expect("the report still succeeds" rc EQUAL 0)
math(EXPR others "${boot_tests} - 1")
expect("... from the other ${others} tests" text MATCHES "coverage of ${others} test\\(s\\)")
expect("... naming the test without data" text MATCHES "no data from: bufdev_roundtrip \\(the guest saved none")
run(out ctest --test-dir "${BUILD_DIR}" -R "^bufdev_roundtrip$")

# Hostile: the guest command writes forged data naming a host path to the coverage disk
# and swaps the device node for a file, so init's own data goes elsewhere. The helper
# keeps nothing of it, and nothing appears outside the coverage directory.
set(evil "/tmp/uml-e2e-evil-${MODE}")
file(REMOVE "${evil}.gcda")
set(forge "printf 'UML-COVERAGE 1\\nF 16 /../../../..${evil}.gcda\\nadcgB21*STMPevilEND\\n' >/dev/ubdb")
string(APPEND forge " && sync && rm /dev/ubdb && : >/dev/ubdb")
boot(
  rc
  text
  ${roundtrip}
  --name
  forged
  --coverage-dir
  "${coverage_root}/forged"
  --log
  "${WORK_DIR}/forged.log"
  --
  sh
  -c
  "${forge}")
expect("the forging test itself passes (exit ${rc})" rc EQUAL 0)
expect("the helper ignored the forged record" text MATCHES "ignored what the guest wrote for \"/\\.\\./")
expect("... kept no data" text MATCHES "coverage: 0 data file")
expect("... and wrote nothing at the path it named" NOT EXISTS "${evil}.gcda")
file(REMOVE_RECURSE "${coverage_root}/forged")

if(NOT MODE STREQUAL "installed")
  return() # the rest edits the example's sources: only the installed mode's copy may be edited
endif()

# A driver bug (no space check: an oversized write is cut to the space left
# instead of refused) fails bufdev_nospace, not the round trip.
set(driver "${EXAMPLE_DIR}/bufdev.c")
file(READ "${driver}" original)
string(REPLACE "if (count > capacity - bufdev.used) {\n\t\tret = -ENOSPC;\n\t\tgoto out;\n\t}"
               "count = min_t(size_t, count, capacity - bufdev.used);" broken "${original}")
expect("the space check is where this test expects it" NOT broken STREQUAL original)
file(WRITE "${driver}" "${broken}")
run_in(out ${build_cmd})
execute_process(
  COMMAND ctest --test-dir "${BUILD_DIR}" --output-on-failure -j2
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("$ ctest (exit ${rc})\n${out}")
expect("with the bug, bufdev_nospace fails" out MATCHES "bufdev_nospace \\.+\\*\\*\\*Failed")
expect("... because the program's check failed" out MATCHES "check failed: write\\(fd, big, capacity \\+ 1\\) == -1")
expect("... and the round trip still passes" out MATCHES "bufdev_roundtrip \\.+ +Passed")
file(WRITE "${driver}" "${original}")
run_in(out ${build_cmd})
run_in(out ctest --test-dir "${BUILD_DIR}" -R "^bufdev_nospace$")
