include_guard(GLOBAL)

option(UML_TESTS_BUILD_FIRST "uml_add_test() tests build what they boot (cmake --build) before running" ON)

#[=======================================================================[.md
### uml_add_run

```cmake
uml_add_run(<name> KERNEL <kernel> ROOTFS <rootfs-or-modules-install>
  [MODULES <module-target-or-name>...] [MEM <size>] [HOSTFS <dir>]
  [ARGS <kernel-arg>...] [PERSIST <cow-file>] [TIME_TRAVEL])
```
Adds target `<name>` that boots the kernel on a throw-away copy (COW) of the
image into an interactive console in the terminal (`cmake --build . --target
<name>`); `MODULES` are loaded first. `PERSIST` keeps the session's changes in
the given COW file across runs (the image itself is still never written).
`HOSTFS` shares one host directory, mounted at `/mnt/host` in the guest.

### uml_add_test

```cmake
uml_add_test(NAME <name> KERNEL <kernel> ROOTFS <rootfs-or-modules-install>
  [MODULES <module-target-or-name>...]
  [COMMAND <command> [<arg>...] | KUNIT]
  [TIMEOUT <seconds>] [TIME_TRAVEL] [FAIL_ON_WARN]
  [MEM <size>] [HOSTFS <dir>] [ENV <KEY=VALUE>...] [ARGS <kernel-arg>...]
  [LABELS <label>...])
```
Adds a CTest test that boots a throw-away copy of the image, loads `MODULES`
with modprobe, runs `COMMAND` (one argument: a shell command line for `sh -c`;
several: a command and its arguments) or, with `KUNIT`, collects the KTAP
results the modules print, and passes or fails on the guest's result.
The helper's exit code says why a test failed (see the README). The console
log is `<build>/_uml/tests/<name>.log`, named in the test's output. `TIMEOUT`
(default 60 s) is enforced by the helper, which leaves nothing running.
With `UML_TESTS_BUILD_FIRST` (default ON) the tests depend on a fixture that
runs `cmake --build`, so `ctest` alone takes an edited module to a result.
#]=======================================================================]
function(uml_add_run name)
  set(CMAKE_MESSAGE_CONTEXT uml_add_run)
  _uml_check_target_name(uml_add_run "${name}")
  cmake_parse_arguments(PARSE_ARGV 1 arg "TIME_TRAVEL" "KERNEL;ROOTFS;MEM;HOSTFS;PERSIST" "MODULES;ARGS")
  _uml_reject_unparsed(uml_add_run arg)
  _uml_boot_arguments(boot uml_add_run "${name}")
  if(arg_PERSIST)
    get_filename_component(persist "${arg_PERSIST}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
    list(APPEND boot --persist "${persist}")
  endif()
  add_custom_target(
    ${name}
    COMMAND UserModeLinux::helper run ${boot}
    COMMENT "Booting UML (${arg_KERNEL}, ${arg_ROOTFS}); 'poweroff' or Ctrl-D in the guest ends it"
    USES_TERMINAL VERBATIM)
  add_dependencies(${name} ${_uml_boot_depends})
endfunction()

function(uml_add_test)
  set(CMAKE_MESSAGE_CONTEXT uml_add_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "KUNIT;TIME_TRAVEL;FAIL_ON_WARN" "NAME;KERNEL;ROOTFS;TIMEOUT;MEM;HOSTFS"
                        "MODULES;COMMAND;ENV;ARGS;LABELS")
  _uml_reject_unparsed(uml_add_test arg)
  if(NOT arg_NAME)
    message(FATAL_ERROR "uml_add_test: NAME is required.")
  endif()
  set(name "${arg_NAME}")
  if(arg_KUNIT AND arg_COMMAND)
    message(FATAL_ERROR "uml_add_test(${name}): give COMMAND or KUNIT, not both.")
  endif()
  if(NOT arg_KUNIT AND NOT arg_COMMAND)
    message(FATAL_ERROR "uml_add_test(${name}): COMMAND (what to run in the guest) or KUNIT is required.")
  endif()
  set(timeout 60)
  if(DEFINED arg_TIMEOUT)
    if(NOT arg_TIMEOUT MATCHES "^[0-9]+$")
      message(FATAL_ERROR "uml_add_test(${name}): TIMEOUT '${arg_TIMEOUT}' must be whole seconds.")
    endif()
    set(timeout "${arg_TIMEOUT}")
  endif()
  _uml_boot_arguments(boot uml_add_test "${name}")

  set(log "${CMAKE_CURRENT_BINARY_DIR}/_uml/tests/${name}.log")
  set(command
      UserModeLinux::helper
      test
      ${boot}
      --name
      ${name}
      --timeout
      ${timeout}
      --log
      "${log}")
  foreach(pair IN LISTS arg_ENV)
    if(NOT pair MATCHES "^[A-Za-z_][A-Za-z0-9_]*=")
      message(FATAL_ERROR "uml_add_test(${name}): ENV entry '${pair}' must be KEY=VALUE.")
    endif()
    list(APPEND command --env "${pair}")
  endforeach()
  if(arg_FAIL_ON_WARN)
    list(APPEND command --fail-on-warn)
  endif()
  if(arg_KUNIT)
    list(APPEND command --kunit --junit "${CMAKE_CURRENT_BINARY_DIR}/_uml/tests/${name}.junit.xml")
  else()
    # One argument is a shell command line; several are a command and its arguments.
    list(LENGTH arg_COMMAND count)
    if(count EQUAL 1)
      list(APPEND command --command "${arg_COMMAND}")
    else()
      list(APPEND command -- ${arg_COMMAND})
    endif()
  endif()
  add_test(NAME ${name} COMMAND ${command})
  # CTest's own timeout is a backstop: the helper stops the guest first and
  # reports the timeout itself.
  math(EXPR ctest_timeout "${timeout} + 30")
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ctest_timeout} LABELS "uml;${arg_LABELS}")
  if(UML_TESTS_BUILD_FIRST)
    _uml_build_fixture(fixture)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED ${fixture})
  endif()
endfunction()

# The helper arguments shared by run and test targets, checked; sets
# _uml_boot_depends in the caller to the targets the boot needs.
macro(_uml_boot_arguments out command name)
  foreach(kw IN ITEMS KERNEL ROOTFS)
    if(NOT arg_${kw})
      message(FATAL_ERROR "${command}(${name}): ${kw} is required.")
    endif()
  endforeach()
  if(NOT TARGET UserModeLinux::helper)
    message(FATAL_ERROR "${command}(${name}): the uml-helper executable is not available (UserModeLinux::helper).")
  endif()
  _uml_target_property(_uml_kernel_image "${command}(${name})" KERNEL "${arg_KERNEL}" UML_KERNEL_IMAGE
                       "uml_add_kernel()")
  _uml_target_property(_uml_image "${command}(${name})" ROOTFS "${arg_ROOTFS}" UML_ROOTFS_IMAGE
                       "uml_add_rootfs() or uml_modules_install()")
  get_target_property(_uml_image_kernel ${arg_ROOTFS} UML_ROOTFS_KERNEL)
  if(_uml_image_kernel AND NOT _uml_image_kernel STREQUAL arg_KERNEL)
    message(FATAL_ERROR "${command}(${name}): ROOTFS '${arg_ROOTFS}' holds modules for kernel '${_uml_image_kernel}', "
                        "not '${arg_KERNEL}'.")
  endif()
  # A work directory per run or test: COW files, uml_dir and logs of parallel
  # tests never meet.
  set(${out} --kernel "${_uml_kernel_image}" --rootfs "${_uml_image}" --work-dir
             "${CMAKE_CURRENT_BINARY_DIR}/_uml/boot/${name}")
  set(_uml_boot_depends ${arg_KERNEL} ${arg_ROOTFS})
  foreach(_uml_module IN LISTS arg_MODULES)
    if(TARGET "${_uml_module}")
      get_target_property(_uml_names ${_uml_module} UML_MODULE_NAMES)
      if(NOT _uml_names)
        message(FATAL_ERROR "${command}(${name}): MODULES '${_uml_module}' is a target but not a module.")
      endif()
      if(NOT _uml_image_kernel)
        message(FATAL_ERROR "${command}(${name}): module '${_uml_module}' is not in ROOTFS '${arg_ROOTFS}'; install "
                            "it with uml_modules_install() and pass that target as ROOTFS.")
      endif()
    else()
      set(_uml_names "${_uml_module}") # a kernel module by name, e.g. crc_ccitt
    endif()
    foreach(_uml_n IN LISTS _uml_names)
      list(APPEND ${out} --module "${_uml_n}")
    endforeach()
  endforeach()
  if(arg_MEM)
    list(APPEND ${out} --mem "${arg_MEM}")
  endif()
  if(arg_HOSTFS)
    get_filename_component(_uml_hostfs "${arg_HOSTFS}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND ${out} --hostfs "${_uml_hostfs}")
  endif()
  if(arg_TIME_TRAVEL)
    list(APPEND ${out} --time-travel)
  endif()
  foreach(_uml_arg IN LISTS arg_ARGS)
    list(APPEND ${out} --append "${_uml_arg}")
  endforeach()
endmacro()

# One test per project that builds everything before the boot tests run.
function(_uml_build_fixture out)
  set(fixture uml_build)
  get_property(defined GLOBAL PROPERTY _UML_BUILD_FIXTURE_DEFINED)
  if(NOT defined)
    set_property(GLOBAL PROPERTY _UML_BUILD_FIXTURE_DEFINED TRUE)
    add_test(NAME uml_build COMMAND "${CMAKE_COMMAND}" --build "${CMAKE_BINARY_DIR}")
    set_tests_properties(uml_build PROPERTIES FIXTURES_SETUP ${fixture} LABELS uml TIMEOUT 3600)
  endif()
  set(${out} ${fixture} PARENT_SCOPE)
endfunction()
