include_guard(GLOBAL)

option(UML_TESTS_BUILD_FIRST "uml_add_test() tests build what they boot (cmake --build) before running" ON)

#[=======================================================================[.md
### uml_add_run

```cmake
uml_add_run(<name> KERNEL <kernel> ROOTFS <rootfs-or-modules-install>
  [MODULES <module-target-or-name>...] [MEM <size>] [HOSTFS <dir>]
  [ARGS <kernel-arg>...] [PERSIST <cow-file>] [TIME_TRAVEL]
  [DEBUG_TARGET <name>] [ATTACH_TARGET <name>])
```
Adds target `<name>` that boots the kernel on a throw-away copy (COW) of the
image into an interactive console in the terminal (`cmake --build . --target
<name>`); `MODULES` are loaded first. `PERSIST` keeps the session's changes in
the given COW file across runs (the image itself is still never written).
`HOSTFS` shares one host directory, mounted at `/mnt/host` in the guest.

Two more targets come with it (for a name ending in the word `run`, that word
is replaced: `uml_run` gives `uml_debug` and `uml_attach`; otherwise
`<name>_debug` and `<name>_attach`; `DEBUG_TARGET` and `ATTACH_TARGET` choose
other names):
- `<debug>`: the same boot under gdb (`uml-helper debug`), with
  `templates/gdb/uml-gdb.py`: UML's signals pass, the kernel's `lx-*` commands
  load, and the symbols of the project's modules (the `MODULES` targets and
  those of a `uml_modules_install` `ROOTFS`) load when the guest loads them,
  `.init.text` included; type `run` at gdb's prompt. Its own work directory,
  so it can run beside `<name>`.
- `<attach>`: gdb attached to the guest `<name>` is running (`uml-helper
  attach`); `detach` or quitting gdb leaves the guest running.

Each also gets a gdb stand-in script, `<debug>-gdb` and `<attach>-gdb` in the
current binary directory (`$<CONFIG>/` below it with a multi-config generator):
it runs the same command and passes its own arguments to gdb, for IDEs
(`miDebuggerPath`) and batch use (`build/uml_debug-gdb -batch -ex ...`);
`<debug>-kernel` there links to the kernel, for an IDE's `program`, and
`<attach>.gdb` holds the gdb commands that set up an IDE's own gdb for an attach.
`UML_GDB_EXECUTABLE` picks the gdb (default: `gdb` on `PATH` when it runs).

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
set(UML_GDB_EXECUTABLE "" CACHE FILEPATH "gdb for the debug and attach targets (empty: gdb on PATH when they run)")

function(uml_add_run name)
  set(CMAKE_MESSAGE_CONTEXT uml_add_run)
  _uml_check_target_name(uml_add_run "${name}")
  cmake_parse_arguments(PARSE_ARGV 1 arg "TIME_TRAVEL" "KERNEL;ROOTFS;MEM;HOSTFS;PERSIST;DEBUG_TARGET;ATTACH_TARGET"
                        "MODULES;ARGS")
  _uml_reject_unparsed(uml_add_run arg)
  _uml_debug_target_names(debug_name attach_name "${name}")
  _uml_boot_arguments(boot uml_add_run "${name}")
  set(run_depends ${_uml_boot_depends})
  set(run_work_dir "${CMAKE_CURRENT_BINARY_DIR}/_uml/boot/${name}")
  if(arg_PERSIST)
    get_filename_component(persist "${arg_PERSIST}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
    list(APPEND boot --persist "${persist}")
  endif()
  add_custom_target(
    ${name}
    COMMAND UserModeLinux::helper run ${boot}
    COMMENT "Booting UML (${arg_KERNEL}, ${arg_ROOTFS}); 'poweroff' or Ctrl-D in the guest ends it"
    USES_TERMINAL VERBATIM)
  add_dependencies(${name} ${run_depends})

  # The debug boot: the same, under gdb, in a work directory of its own (never
  # PERSIST: a running <name> may have that COW file open).
  _uml_boot_arguments(debug_boot uml_add_run "${debug_name}")
  _uml_gdb_options(gdb_options module_targets module_dirs)
  set(debug_command debug ${debug_boot} ${gdb_options})
  add_custom_target(
    ${debug_name}
    COMMAND UserModeLinux::helper ${debug_command} --
    COMMENT "Starting UML (${arg_KERNEL}, ${arg_ROOTFS}) under gdb; 'run' boots it"
    USES_TERMINAL VERBATIM)
  add_dependencies(${debug_name} ${run_depends} ${module_targets})
  _uml_write_gdb_wrapper(${debug_name} ${debug_command})
  # A fixed path to the kernel (its build dir may be keyed by a hash), for an
  # IDE's "program" setting.
  file(CREATE_LINK "${_uml_kernel_image}" "${CMAKE_CURRENT_BINARY_DIR}/${debug_name}-kernel" SYMBOLIC)

  # Attaching builds nothing: a rebuilt kernel would no longer match the running one.
  set(attach_command attach --work-dir "${run_work_dir}" ${gdb_options})
  add_custom_target(
    ${attach_name}
    COMMAND UserModeLinux::helper ${attach_command} --
    COMMENT "Attaching gdb to the UML that '${name}' runs"
    USES_TERMINAL VERBATIM)
  _uml_write_gdb_wrapper(${attach_name} ${attach_command})
  # For an IDE's own gdb attaching to that UML: what the attach target sets up.
  set(setup "# Generated by uml_add_run(): gdb setup for attaching to the UML '${name}' runs; its pid is")
  string(APPEND setup "\n# in ${run_work_dir}/instance.\nsource ${_UML_PACKAGE_ROOT}/templates/gdb/uml-gdb.py\n")
  foreach(dir IN LISTS module_dirs)
    string(APPEND setup "uml-module-path \"${dir}\"\n")
  endforeach()
  file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/${attach_name}.gdb" "${setup}")
endfunction()

# The names of uml_add_run()'s debug and attach targets, checked.
function(_uml_debug_target_names debug_out attach_out run_name)
  if(run_name MATCHES "^(.*[^A-Za-z0-9])?run$")
    set(names DEBUG "${CMAKE_MATCH_1}debug" ATTACH "${CMAKE_MATCH_1}attach")
  else()
    set(names DEBUG "${run_name}_debug" ATTACH "${run_name}_attach")
  endif()
  cmake_parse_arguments(name "" "DEBUG;ATTACH" "" ${names})
  foreach(kind IN ITEMS DEBUG ATTACH)
    if(arg_${kind}_TARGET)
      set(name_${kind} "${arg_${kind}_TARGET}")
    endif()
    string(TOLOWER "${kind}" lower)
    if(TARGET "${name_${kind}}" OR name_${kind} STREQUAL run_name)
      message(FATAL_ERROR "uml_add_run(${run_name}): its ${lower} target '${name_${kind}}' would clash with an "
                          "existing target; choose another name with ${kind}_TARGET <name>.")
    endif()
  endforeach()
  if(name_DEBUG STREQUAL name_ATTACH)
    message(FATAL_ERROR "uml_add_run(${run_name}): DEBUG_TARGET and ATTACH_TARGET are both '${name_DEBUG}'.")
  endif()
  set(${debug_out} "${name_DEBUG}" PARENT_SCOPE)
  set(${attach_out} "${name_ATTACH}" PARENT_SCOPE)
endfunction()

# The helper's gdb options for uml_add_run()'s KERNEL, ROOTFS and MODULES:
# uml-gdb.py, the directories of the project's .ko files (the MODULES targets'
# and, for a uml_modules_install() ROOTFS, its modules') and UML_GDB_EXECUTABLE.
# <targets_out>: the module targets, so the symbols are those of the latest build;
# <dirs_out>: the directories.
function(_uml_gdb_options out targets_out dirs_out)
  set(options --gdb-script "${_UML_PACKAGE_ROOT}/templates/gdb/uml-gdb.py")
  if(UML_GDB_EXECUTABLE)
    list(APPEND options --gdb "${UML_GDB_EXECUTABLE}")
  endif()
  set(modules "")
  foreach(module IN LISTS arg_MODULES)
    if(TARGET "${module}")
      list(APPEND modules "${module}")
    endif()
  endforeach()
  # A uml_modules_install() ROOTFS depends on the module targets it installs.
  get_target_property(installed ${arg_ROOTFS} UML_ROOTFS_MODULES)
  if(NOT installed)
    get_target_property(installed ${arg_ROOTFS} MANUALLY_ADDED_DEPENDENCIES)
  endif()
  foreach(target IN LISTS installed)
    if(TARGET "${target}")
      get_target_property(files ${target} UML_MODULE_FILES)
      if(files)
        list(APPEND modules "${target}")
      endif()
    endif()
  endforeach()
  list(REMOVE_DUPLICATES modules)
  set(dirs "")
  foreach(module IN LISTS modules)
    get_target_property(files ${module} UML_MODULE_FILES)
    foreach(file IN LISTS files)
      get_filename_component(dir "${file}" DIRECTORY)
      list(APPEND dirs "${dir}")
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES dirs)
  foreach(dir IN LISTS dirs)
    list(APPEND options --module-dir "${dir}")
  endforeach()
  set(${out} "${options}" PARENT_SCOPE)
  set(${targets_out} "${modules}" PARENT_SCOPE)
  set(${dirs_out} "${dirs}" PARENT_SCOPE)
endfunction()

# <binary dir>/<target>-gdb: `uml-helper <args> -- "$@"`, a stand-in for gdb that IDEs
# and scripts run with their own gdb options.
function(_uml_write_gdb_wrapper target)
  set(words "")
  foreach(arg IN LISTS ARGN)
    string(REPLACE "'" "'\\''" arg "${arg}")
    string(APPEND words " '${arg}'")
  endforeach()
  set(path "${CMAKE_CURRENT_BINARY_DIR}/${target}-gdb")
  get_property(multi_config GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  if(multi_config)
    set(path "${CMAKE_CURRENT_BINARY_DIR}/$<CONFIG>/${target}-gdb")
  endif()
  file(
    GENERATE
    OUTPUT "${path}"
    CONTENT
      "#!/bin/sh
# Generated by uml_add_run(): what the '${target}' target runs; the arguments go to gdb.
exec '$<TARGET_FILE:UserModeLinux::helper>'${words} -- \"$@\"
"
      FILE_PERMISSIONS
      OWNER_READ
      OWNER_WRITE
      OWNER_EXECUTE
      GROUP_READ
      GROUP_EXECUTE
      WORLD_READ
      WORLD_EXECUTE)
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
  if(arg_KUNIT AND DEFINED arg_COMMAND)
    message(FATAL_ERROR "uml_add_test(${name}): give COMMAND or KUNIT, not both.")
  endif()
  if(NOT arg_KUNIT AND NOT DEFINED arg_COMMAND)
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
