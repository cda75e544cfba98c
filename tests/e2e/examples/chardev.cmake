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
