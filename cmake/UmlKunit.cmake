include_guard(GLOBAL)

#[=======================================================================[.md
### uml_discover_kunit_tests

```cmake
uml_discover_kunit_tests(KERNEL <kernel> ROOTFS <modules-install> MODULES <module>...
  [TARGET <name>] [TEST_PREFIX <prefix>]
  [TIMEOUT <seconds>] [DISCOVERY_TIMEOUT <seconds>]
  [TIME_TRAVEL] [FAIL_ON_WARN] [MEM <size>] [ARGS <kernel-arg>...]
  [LABELS <label>...])
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
- `TIME_TRAVEL`, `MEM`, `ARGS`: as for `uml_add_test`, for every boot;
  `FAIL_ON_WARN`: a kernel warning fails the case's test.
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
  set(CMAKE_MESSAGE_CONTEXT uml_discover_kunit_tests)
  cmake_parse_arguments(PARSE_ARGV 0 arg "TIME_TRAVEL;FAIL_ON_WARN"
                        "KERNEL;ROOTFS;TARGET;TEST_PREFIX;TIMEOUT;DISCOVERY_TIMEOUT;MEM" "MODULES;ARGS;LABELS")
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
  # KERNEL, ROOTFS, MODULES, MEM, TIME_TRAVEL, ARGS: checked and turned into
  # helper arguments as for uml_add_test (HOSTFS is not offered).
  set(arg_HOSTFS "")
  _uml_boot_arguments(boot uml_discover_kunit_tests "${name}")
  # Every boot gets a work directory of its own, set below.
  list(FIND boot --work-dir at)
  list(REMOVE_AT boot ${at})
  list(REMOVE_AT boot ${at})

  # Built-in KUnit only: it reads the kunit.* boot arguments itself; a KUnit
  # module would depend on modprobe passing them on (untested).
  get_target_property(kernel_config ${arg_KERNEL} UML_KERNEL_CONFIG)
  if(kernel_config AND EXISTS "${kernel_config}")
    file(STRINGS "${kernel_config}" kunit_line REGEX "^CONFIG_KUNIT=")
    if(NOT kunit_line STREQUAL "CONFIG_KUNIT=y")
      message(FATAL_ERROR "${context}: kernel '${arg_KERNEL}' does not have CONFIG_KUNIT=y (its .config: "
                          "${kernel_config}); add a fragment with CONFIG_KUNIT=y to its CONFIG_FRAGMENTS.")
    endif()
  endif()

  set(dir "${CMAKE_CURRENT_BINARY_DIR}/_uml")
  set(tests_file "${dir}/kunit/${name}.tests.cmake")
  set(unavailable_file "${dir}/kunit/${name}.unavailable")
  set(settings_file "${dir}/kunit/${name}.settings.cmake")
  set(include_file "${dir}/kunit/${name}.include.cmake")
  set(log "${dir}/kunit/${name}.discovery.log")
  set(helper "$<TARGET_FILE:UserModeLinux::helper>")

  set(discovery_command "${helper}" test ${boot} --work-dir "${dir}/boot/${name}" --name "${name}" --timeout
                        ${DISCOVERY_TIMEOUT} --log "${log}" --append kunit.action=list)
  # @NAME@ is the test's name, @CASE@ the <suite>.<case> it runs.
  set(case_command
      "${helper}" test ${boot} --work-dir "${dir}/boot/@NAME@" --name "@NAME@" --timeout ${TIMEOUT} --log
      "${dir}/tests/@NAME@.log" --kunit --junit "${dir}/tests/@NAME@.junit.xml" --append "kunit.filter_glob=@CASE@")
  if(arg_FAIL_ON_WARN)
    list(APPEND case_command --fail-on-warn)
  endif()
  math(EXPR ctest_timeout "${TIMEOUT} + 30")
  set(labels uml kunit ${arg_LABELS})
  set(fixture "")
  if(UML_TESTS_BUILD_FIRST)
    _uml_build_fixture(fixture)
  endif()
  get_target_property(kernel_image ${arg_KERNEL} UML_KERNEL_IMAGE)

  # What the build-time script needs; the helper's path is known only when
  # generating, hence file(GENERATE).
  set(settings "")
  foreach(
    pair IN
    ITEMS "NAME=${name}"
          "MODULES=${arg_MODULES}"
          "DISCOVERY_COMMAND=${discovery_command}"
          "CASE_COMMAND=${case_command}"
          "TEST_PREFIX=${arg_TEST_PREFIX}"
          "CTEST_TIMEOUT=${ctest_timeout}"
          "LABELS=${labels}"
          "FIXTURE=${fixture}"
          "LOG=${log}"
          "TESTS_FILE=${tests_file}"
          "UNAVAILABLE_FILE=${unavailable_file}")
    string(FIND "${pair}" "=" eq)
    string(SUBSTRING "${pair}" 0 ${eq} key)
    math(EXPR eq "${eq} + 1")
    string(SUBSTRING "${pair}" ${eq} -1 value)
    string(APPEND settings "set(UML_${key} [==[${value}]==])\n")
  endforeach()
  file(GENERATE OUTPUT "${settings_file}" CONTENT "${settings}")

  # CTest includes this in the directory's tests: the discovered cases once the
  # build wrote them, else a test saying why there are none yet.
  set(not_built "${arg_TEST_PREFIX}${name}_NOT_BUILT")
  set(not_discovered "${arg_TEST_PREFIX}${name}_NOT_DISCOVERED")
  file(
    GENERATE
    OUTPUT "${include_file}"
    CONTENT
      "if(EXISTS [==[${tests_file}]==])
  include([==[${tests_file}]==])
elseif(EXISTS [==[${unavailable_file}]==])
  add_test([==[${not_discovered}]==] [==[${helper}]==] doctor --kernel [==[${kernel_image}]==])
  set_tests_properties([==[${not_discovered}]==] PROPERTIES FAIL_REGULAR_EXPRESSION . LABELS [==[${labels}]==])
else()
  add_test([==[${not_built}]==] [==[${CMAKE_COMMAND}]==] -E echo [==[The KUnit cases of ${arg_MODULES} are listed \
when the project is built: run cmake --build ${CMAKE_BINARY_DIR}, then ctest again.]==])
  set_tests_properties([==[${not_built}]==] PROPERTIES FAIL_REGULAR_EXPRESSION . LABELS \
[==[${labels}]==] FIXTURES_REQUIRED [==[${fixture}]==])
endif()
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")

  set(script "${_UML_PACKAGE_ROOT}/helpers/kunit_discover.cmake")
  get_target_property(kernel_stamp ${arg_KERNEL} UML_KERNEL_STAMP)
  _uml_target_property(image "${context}" ROOTFS "${arg_ROOTFS}" UML_ROOTFS_IMAGE "uml_modules_install()")
  add_custom_command(
    OUTPUT "${tests_file}"
    COMMAND "${CMAKE_COMMAND}" "-DUML_SETTINGS=${settings_file}" -P "${script}"
    DEPENDS "${image}" "${kernel_stamp}" "${settings_file}" "${script}" UserModeLinux::helper
    COMMENT "Listing the KUnit cases of ${arg_MODULES} (a boot with kunit.action=list)"
    VERBATIM)
  add_custom_target(${name} ALL DEPENDS "${tests_file}")
  add_dependencies(${name} ${_uml_boot_depends})
endfunction()
