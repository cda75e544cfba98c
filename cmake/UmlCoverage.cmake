# Coverage of the project's modules: uml_add_kernel() adds target uml_coverage, and with
# COVERAGE (or UML_COVERAGE=ON) the kernel gets CONFIG_GCOV_KERNEL; tests and KUnit
# cases booting such a kernel save their gcov data (uml-helper --coverage-dir) under
# <build>/_uml/coverage/<test>, and the target merges the data of every test's last run
# (cmake/steps/coverage.cmake).
include_guard(GLOBAL)

# The directory a test booting <kernel> saves its coverage data in (with an empty
# <test_name>: the directory's coverage root), or "" when the kernel has no gcov.
# Registers the directory's coverage root for the report.
function(_uml_test_coverage_dir out kernel test_name)
  set(dir "")
  get_target_property(coverage ${kernel} UML_KERNEL_COVERAGE)
  if(coverage)
    set(root "${CMAKE_CURRENT_BINARY_DIR}/_uml/coverage")
    set_property(GLOBAL APPEND PROPERTY _UML_COVERAGE_ROOTS "${root}")
    set(dir "${root}")
    if(NOT test_name STREQUAL "")
      set(dir "${root}/${test_name}")
    endif()
  endif()
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()

# Every project with a kernel gets the target: without a coverage kernel it says how to
# get one. <kernel> is registered when it has coverage (ON).
function(_uml_add_coverage_target kernel coverage)
  if(coverage)
    _uml_require_host_tools(gcovr)
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
  get_property(step_COVERAGE_ROOTS GLOBAL PROPERTY _UML_COVERAGE_ROOTS)
  get_property(step_SOURCE_DIRS GLOBAL PROPERTY _UML_COVERAGE_SOURCE_DIRS)
  list(REMOVE_DUPLICATES step_COVERAGE_ROOTS)
  list(REMOVE_DUPLICATES step_SOURCE_DIRS)
  get_property(step_KERNELS GLOBAL PROPERTY _UML_COVERAGE_KERNELS)
  set(step_GCOVR "${UML_GCOVR_EXECUTABLE}")
  # gcov of the compiler the modules were built with (gcc-12 -> gcov-12).
  string(REGEX MATCH "[^ /]+$" cc_name "${UML_KERNEL_CC}")
  set(gcov_name gcov)
  if(cc_name MATCHES "^gcc(-[0-9.]+)$")
    set(gcov_name "gcov${CMAKE_MATCH_1}")
  endif()
  find_program(gcov_path NAMES ${gcov_name} gcov NO_CACHE)
  set(step_GCOV "${gcov_path}")
  set(step_OUTPUT_DIR "${CMAKE_BINARY_DIR}/coverage")
  _uml_write_step_script(
    "${script}"
    coverage
    uml_step_coverage
    KERNELS
    COVERAGE_ROOTS
    SOURCE_DIRS
    GCOVR
    GCOV
    OUTPUT_DIR)
endfunction()
