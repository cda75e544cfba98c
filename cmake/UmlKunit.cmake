include_guard(GLOBAL)

#[=======================================================================[.md
### uml_discover_kunit_tests

```cmake
uml_discover_kunit_tests(KERNEL <kernel> ROOTFS <modules-install> MODULES <module>...
  [TARGET <name>] [TEST_PREFIX <prefix>]
  [TIMEOUT <seconds>] [DISCOVERY_TIMEOUT <seconds>]
  [TIME_TRAVEL] [FAIL_ON_WARN] [MEM <size>] [ARGS <kernel-arg>...]
  [DEVICES <device>...] [LABELS <label>...])
```
One CTest test per KUnit case of the `MODULES`, named `<prefix><suite>.<case>`,
found at build time (like CMake's `gtest_discover_tests`): after the image is
built, target `<name>` (default `<first module>_kunit_tests`, in `ALL`) boots it
once with `kunit.action=list`, the modules loaded, and writes the tests to a
file CTest reads (the directory's `TEST_INCLUDE_FILES`). Adding or removing a
`KUNIT_CASE` needs a rebuild, not a re-configure; the list is redone only when
the image, the kernel or these settings change. Each test boots a fresh copy of
the image with `kunit.filter_glob=<suite>.<case>`, so only that case runs
(~0.3 s): cases run in parallel and pass, fail or are skipped on their own.
A case that fails or crashes fails its test (helper exit 5, or 3/4 for an
oops or panic); a case that KUnit skipped is reported as skipped.

- `MODULES`: module targets (`uml_add_module`) in `ROOTFS`, or names of kernel
  modules in it. Every test loads all of them.
- `KERNEL` needs `CONFIG_KUNIT=y` (checked at configure time); `kunit.enable=1`
  is passed, so `CONFIG_KUNIT_DEFAULT_ENABLED` may stay off.
- `TIMEOUT`: per test, seconds (default 60), enforced by the helper.
  `DISCOVERY_TIMEOUT`: the listing boot's (default 60).
- `TIME_TRAVEL`, `MEM`, `ARGS`, `DEVICES`: as for `uml_add_test`, for every boot;
  `FAIL_ON_WARN`: a kernel warning fails the case's test.
- On a kernel with `COVERAGE` each case's test saves its modules' gcov data
  (`<build>/_uml/coverage/<test>`), merged by `uml_coverage` with the rest.
- `LABELS`: added to `uml;kunit`. With `UML_TESTS_BUILD_FIRST` the tests need
  the `uml_build` fixture, like `uml_add_test`'s.
- The build fails when the listing boot fails or lists no case, naming its
  console log (`<build>/_uml/kunit/<name>.discovery.log`). On a host where UML
  cannot run (helper exit 125) the build goes on with a warning, and a test
  `<prefix><name>_NOT_DISCOVERED` reports the host's problem.
- Before the first build, `ctest` has one failing test, `<prefix><name>_NOT_BUILT`.
  `ctest` reads the list when it starts: a case added since is seen by the next
  `ctest` run, even when the `uml_build` fixture rebuilt the module.
- Suite and case names are made of letters, digits, `_` and `-` (a `.` or
  glob character cannot be selected by `kunit.filter_glob`); others are left
  out with a warning. Single-configuration generators only (Ninja, Makefiles).
#]=======================================================================]
function(uml_discover_kunit_tests)
  list(APPEND CMAKE_MESSAGE_CONTEXT uml_discover_kunit_tests)
  cmake_parse_arguments(PARSE_ARGV 0 arg "TIME_TRAVEL;FAIL_ON_WARN"
                        "KERNEL;ROOTFS;TARGET;TEST_PREFIX;TIMEOUT;DISCOVERY_TIMEOUT;MEM" "MODULES;ARGS;LABELS;DEVICES")
  _uml_reject_unparsed(uml_discover_kunit_tests arg)
  foreach(kw IN LISTS arg_KEYWORDS_MISSING_VALUES)
    message(FATAL_ERROR "uml_discover_kunit_tests: ${kw} needs a value.")
  endforeach()
  if(NOT arg_MODULES)
    message(FATAL_ERROR "uml_discover_kunit_tests: MODULES is required: the modules (uml_add_module targets) "
                        "whose KUnit cases become tests.")
  endif()
  list(GET arg_MODULES 0 first_module)
  set(name "${first_module}_kunit_tests")
  if(DEFINED arg_TARGET)
    set(name "${arg_TARGET}")
  endif()
  if(TARGET "${name}")
    message(FATAL_ERROR "uml_discover_kunit_tests: a target named '${name}' already exists; name the discovery "
                        "target with TARGET <name>.")
  endif()
  set(context "uml_discover_kunit_tests(${name})")
  foreach(kw IN ITEMS TIMEOUT DISCOVERY_TIMEOUT)
    set(${kw} 60)
    if(DEFINED arg_${kw})
      if(NOT arg_${kw} MATCHES "^[1-9][0-9]*$")
        message(FATAL_ERROR "${context}: ${kw} '${arg_${kw}}' must be whole seconds (more than 0).")
      endif()
      set(${kw} "${arg_${kw}}")
    endif()
  endforeach()
  set(arg_TIMEOUT "${TIMEOUT}")
  set(arg_DISCOVERY_TIMEOUT "${DISCOVERY_TIMEOUT}")
  foreach(kw IN ITEMS KERNEL ROOTFS)
    if(NOT arg_${kw})
      message(FATAL_ERROR "${context}: ${kw} is required.")
    endif()
  endforeach()

  set(dir "${CMAKE_CURRENT_BINARY_DIR}/_uml")
  set(tests_file "${dir}/kunit/${name}.tests.cmake")
  set(unavailable_file "${dir}/kunit/${name}.unavailable")
  set(include_file "${dir}/kunit/${name}.include.cmake")
  set(labels uml kunit ${arg_LABELS})
  set(fixture "")
  if(UML_TESTS_BUILD_FIRST)
    _uml_build_fixture(fixture)
  endif()
  # CTest includes this in the directory's tests: the discovered cases once the
  # build wrote them, else a test saying why there are none yet.
  set(helper "$<TARGET_FILE:UserModeLinux::helper>")
  set(not_built "${arg_TEST_PREFIX}${name}_NOT_BUILT")
  set(not_discovered "${arg_TEST_PREFIX}${name}_NOT_DISCOVERED")
  _uml_boot_file(cases_boot "${name}.cases")
  file(
    GENERATE
    OUTPUT "${include_file}"
    CONTENT
      "if(EXISTS [==[${tests_file}]==])
  include([==[${tests_file}]==])
elseif(EXISTS [==[${unavailable_file}]==])
  add_test([==[${not_discovered}]==] [==[${helper}]==] doctor --boot [==[${cases_boot}]==])
  set_tests_properties([==[${not_discovered}]==] PROPERTIES FAIL_REGULAR_EXPRESSION . LABELS [==[${labels}]==])
else()
  add_test([==[${not_built}]==] [==[${CMAKE_COMMAND}]==] -E echo [==[The KUnit cases of ${arg_MODULES} are listed \
when the project is built: run cmake --build ${CMAKE_BINARY_DIR}, then ctest again.]==])
  set_tests_properties([==[${not_built}]==] PROPERTIES FAIL_REGULAR_EXPRESSION . LABELS \
[==[${labels}]==] FIXTURES_REQUIRED [==[${fixture}]==])
endif()
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")

  add_custom_target(${name} ALL DEPENDS "${tests_file}")
  set_target_properties(
    ${name}
    PROPERTIES UML_KUNIT_TESTS_FILE "${tests_file}"
               UML_KUNIT_UNAVAILABLE_FILE "${unavailable_file}"
               UML_KUNIT_TEST_PREFIX "${arg_TEST_PREFIX}"
               UML_KUNIT_LABELS "${labels}"
               UML_KUNIT_FIXTURE "${fixture}")
  set(arg_ENV "")
  set(arg_HOSTFS "")
  _uml_boot_store(kunit TARGET "${name}" TIMEOUT DISCOVERY_TIMEOUT FAIL_ON_WARN)
endfunction()

# uml_discover_kunit_tests(): the listing boot's description, the cases' (each case's
# test adds its name, work dir, log and filter), and the listing step.
function(_uml_write_kunit_boots name)
  set(context "uml_discover_kunit_tests(${name})")
  _uml_boot_common(
    common
    depends
    modules
    dirs
    "${context}"
    TARGET
    "${name}")
  foreach(kw IN ITEMS KERNEL MODULES TIMEOUT DISCOVERY_TIMEOUT FAIL_ON_WARN)
    get_target_property(${kw} ${name} UML_BOOT_${kw})
  endforeach()
  # Built-in KUnit only: it reads the kunit.* boot arguments itself; a KUnit
  # module would depend on modprobe passing them on (untested).
  get_target_property(kernel_config ${KERNEL} UML_KERNEL_CONFIG)
  if(kernel_config AND EXISTS "${kernel_config}")
    _uml_config_value(kunit "${kernel_config}" KUNIT)
    if(NOT kunit STREQUAL "y")
      message(FATAL_ERROR "${context}: kernel '${KERNEL}' does not have CONFIG_KUNIT=y (its .config: "
                          "${kernel_config}); add a fragment with CONFIG_KUNIT=y to its CONFIG_FRAGMENTS.")
    endif()
  endif()
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/_uml")
  set(log "${dir}/kunit/${name}.discovery.log")
  set(header "# Written by ${context}: ")

  set(text "${common}")
  _uml_boot_line(text work-dir "${dir}/boot/${name}")
  _uml_boot_line(text name "${name}")
  _uml_boot_line(text timeout "${DISCOVERY_TIMEOUT}")
  _uml_boot_line(text log "${log}")
  _uml_boot_line(text append kunit.action=list)
  _uml_boot_file(discovery_boot "${name}.discovery")
  _uml_write_if_different("${discovery_boot}" "${header}the boot that lists the KUnit cases.\n${text}")

  set(text "${common}")
  _uml_boot_line(text timeout "${TIMEOUT}")
  _uml_boot_line(text kunit 1)
  if(FAIL_ON_WARN)
    _uml_boot_line(text fail-on-warn 1)
  endif()
  _uml_boot_gdb_lines(gdb "${dirs}")
  _uml_boot_file(cases_boot "${name}.cases")
  _uml_write_if_different("${cases_boot}" "${header}each KUnit case's boot (its test adds the case).\n${text}${gdb}")

  foreach(kw IN ITEMS TESTS_FILE UNAVAILABLE_FILE TEST_PREFIX LABELS FIXTURE)
    get_target_property(step_${kw} ${name} UML_KUNIT_${kw})
    if(NOT step_${kw})
      set(step_${kw} "")
    endif()
  endforeach()
  set(step_NAME "${name}")
  set(step_MODULES "${MODULES}")
  set(step_HELPER "$<TARGET_FILE:UserModeLinux::helper>")
  set(step_DISCOVERY_BOOT "${discovery_boot}")
  set(step_CASES_BOOT "${cases_boot}")
  set(step_LOG "${log}")
  set(step_LIST_FILE "${dir}/kunit/${name}.cases")
  set(step_WORK_DIR "${dir}")
  # Each case's coverage data: <root>/<test name> (empty: a kernel without gcov).
  _uml_kunit_coverage_root(step_COVERAGE_ROOT "${KERNEL}" "${step_TEST_PREFIX}" "${step_LIST_FILE}")
  math(EXPR step_CTEST_TIMEOUT "${TIMEOUT} + 30")
  _uml_resource_groups(step_RESOURCE_GROUPS "${MEM}")
  set(script "${dir}/steps/${name}.kunit-discover.cmake")
  _uml_write_step_script(
    "${script}"
    kunit_discover
    uml_step_kunit_discover
    NAME
    MODULES
    HELPER
    DISCOVERY_BOOT
    CASES_BOOT
    LOG
    LIST_FILE
    WORK_DIR
    COVERAGE_ROOT
    TESTS_FILE
    UNAVAILABLE_FILE
    TEST_PREFIX
    CTEST_TIMEOUT
    RESOURCE_GROUPS
    LABELS
    FIXTURE)
  get_target_property(kernel_stamp ${KERNEL} UML_KERNEL_STAMP)
  get_target_property(rootfs ${name} UML_BOOT_ROOTFS)
  _uml_target_property(image "${context}" ROOTFS "${rootfs}" UML_ROOTFS_IMAGE "uml_modules_install()")
  add_custom_command(
    OUTPUT "${step_TESTS_FILE}"
    COMMAND "${CMAKE_COMMAND}" -P "${script}"
    DEPENDS "${image}"
            "${kernel_stamp}"
            "${script}"
            "${discovery_boot}"
            "${cases_boot}"
            ${_UML_STEP_DEPENDS}
            UserModeLinux::helper
    COMMENT "Listing the KUnit cases of ${MODULES} (a boot with kunit.action=list)"
    VERBATIM)
  add_dependencies(${name} ${depends})
endfunction()
