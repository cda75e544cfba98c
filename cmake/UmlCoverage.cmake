# Coverage of the project's modules: uml_add_kernel() adds target uml_coverage, and with
# COVERAGE (or UML_COVERAGE=ON) the kernel gets CONFIG_GCOV_KERNEL; tests and KUnit
# cases booting such a kernel save their gcov data (uml-helper --coverage-dir) under
# <build>/_uml/coverage/<test>, and the target merges the data of the last run of every
# test the project has now (cmake/steps/coverage.cmake).
include_guard(GLOBAL)

# The directory a test booting <kernel> saves its coverage data in, or "" when the
# kernel has no gcov. The test is registered for the report.
function(_uml_test_coverage_dir out kernel test_name)
  set(dir "")
  get_target_property(coverage ${kernel} UML_KERNEL_COVERAGE)
  if(coverage)
    set(dir "${CMAKE_CURRENT_BINARY_DIR}/_uml/coverage/${test_name}")
    set_property(GLOBAL APPEND PROPERTY _UML_COVERAGE_TESTS "${dir}")
  endif()
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()

# The same for the cases uml_discover_kunit_tests() finds at build time: the coverage
# root their directories go in ("" without gcov); the report reads the case list.
function(_uml_kunit_coverage_root out kernel test_prefix case_list)
  set(root "")
  get_target_property(coverage ${kernel} UML_KERNEL_COVERAGE)
  if(coverage)
    set(root "${CMAKE_CURRENT_BINARY_DIR}/_uml/coverage")
    set_property(GLOBAL APPEND PROPERTY _UML_COVERAGE_KUNIT "${root}|${test_prefix}|${case_list}")
  endif()
  set(${out} "${root}" PARENT_SCOPE)
endfunction()

# Every project with a kernel gets the target: without a coverage kernel it says how to
# get one. <kernel> is registered when it has coverage (ON).
function(_uml_add_coverage_target kernel coverage)
  if(coverage)
    set_property(GLOBAL APPEND PROPERTY _UML_COVERAGE_KERNELS ${kernel})
  endif()
  if(TARGET uml_coverage)
    return()
  endif()
  add_custom_target(
    uml_coverage
    COMMAND "${CMAKE_COMMAND}" -P "${CMAKE_BINARY_DIR}/_uml/steps/uml_coverage.cmake"
    COMMENT "Coverage of the project's modules, merged from the tests' last runs"
    VERBATIM)
  # The lists are complete at the end of the top directory, after each directory's boot
  # descriptions (deferred too, some after this call: so it defers itself once more).
  cmake_language(
    DEFER
    DIRECTORY
    "${CMAKE_SOURCE_DIR}"
    CALL
    cmake_language
    DEFER
    DIRECTORY
    "${CMAKE_SOURCE_DIR}"
    CALL
    _uml_write_coverage_step)
endfunction()

function(_uml_write_coverage_step)
  set(script "${CMAKE_BINARY_DIR}/_uml/steps/uml_coverage.cmake")
  foreach(list IN ITEMS TESTS KUNIT SOURCE_DIRS KERNELS)
    get_property(step_${list} GLOBAL PROPERTY _UML_COVERAGE_${list})
    list(REMOVE_DUPLICATES step_${list})
  endforeach()
  # Only the report needs them: a missing one is the report's error, not configure's.
  find_program(UML_GCOVR_EXECUTABLE gcovr DOC "gcovr, for the uml_coverage report")
  mark_as_advanced(UML_GCOVR_EXECUTABLE)
  set(step_GCOVR "${UML_GCOVR_EXECUTABLE}")
  # gcov of the compiler the modules were built with (gcc-12 -> gcov-12).
  string(REGEX MATCH "[^ /]+$" cc_name "${UML_KERNEL_CC}")
  set(gcov_name gcov)
  if(cc_name MATCHES "^gcc(-[0-9.]+)$")
    set(gcov_name "gcov${CMAKE_MATCH_1}")
  endif()
  find_program(gcov_path NAMES ${gcov_name} NO_CACHE)
  set(step_GCOV "${gcov_path}")
  set(step_GCOV_NAME "${gcov_name}")
  set(step_OUTPUT_DIR "${CMAKE_BINARY_DIR}/coverage")
  _uml_write_step_script(
    "${script}"
    coverage
    uml_step_coverage
    KERNELS
    TESTS
    KUNIT
    SOURCE_DIRS
    GCOVR
    GCOV
    GCOV_NAME
    OUTPUT_DIR)
endfunction()
