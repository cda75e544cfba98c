include_guard(GLOBAL)
include("${CMAKE_CURRENT_LIST_DIR}/UmlBoot.cmake")

option(UML_TESTS_BUILD_FIRST "uml_add_test() tests build what they boot (cmake --build) before running" ON)
option(UML_TEST_RESOURCES
       "uml_add_test() tests declare CTest resources (uml_cpus, uml_mem_mib) for --resource-spec-file" ON)
# The helper's guest memory when MEM is not given (src/options.hpp).
set(_UML_DEFAULT_GUEST_MEM 128M CACHE INTERNAL "The helper's default guest memory")

#[=======================================================================[.md
### uml_add_run

```cmake
uml_add_run(<name> KERNEL <kernel> ROOTFS <rootfs-or-modules-install>
  [MODULES <module-target-or-name>...] [MEM <size>] [HOSTFS <dir>]
  [ARGS <kernel-arg>...] [ENV <KEY=VALUE>...] [PERSIST <cow-file>] [TIME_TRAVEL]
  [DEVICES <device>...] [DEBUG_TARGET <name>] [ATTACH_TARGET <name>])
```
Adds target `<name>` that boots the kernel on a throw-away copy (COW) of the
image into an interactive console in the terminal (`cmake --build . --target
<name>`); `MODULES` are loaded first. `PERSIST` keeps the session's changes in
the given COW file across runs (the image itself is still never written).
`HOSTFS` shares one host directory, mounted at `/mnt/host` in the guest. `ENV`
sets variables in the guest shell's environment; `MEM` is a size such as `256M`
(default 128M), checked at configure time.

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
  [EXPECT_FINDING <kind>...] [NO_UNLOAD_CHECK]
  [MEM <size>] [HOSTFS <dir>] [ENV <KEY=VALUE>...] [ARGS <kernel-arg>...]
  [DEVICES <device>...] [LABELS <label>...])
```
Adds a CTest test that boots a throw-away copy of the image, loads `MODULES`
with modprobe, runs `COMMAND` (one argument: a shell command line for `sh -c`;
several: a command and its arguments, each reaching the guest exactly as written:
empty, with `;`, brackets, quotes, `$` or backslashes) or, with `KUNIT`, collects
the KTAP results the modules print, and passes or fails on the guest's result.
The helper's exit code says why a test failed (`src/README.md`); a host where UML
cannot run, or a KUnit run whose every case was skipped, makes the test skipped
(`SKIP_RETURN_CODE` 125). The console log is `<build>/_uml/tests/<name>.log`,
named in the test's output. `TIMEOUT` (default 60 s; 0: none, and then CTest's
default timeout does not apply either) is enforced by the helper, which leaves
nothing running. The build directory (and `HOSTFS`, and the image's path) must
not contain spaces, commas or quotes: UML's command line splits at spaces and
its `ubd0=<cow>,<image>` at commas, so a boot could never start; that is a
configure error. `uml-helper debug --boot <build>/_uml/boot/<name>.boot` runs
the test's boot under gdb.

Kernel findings: a report of a kernel built with `CHECKS` (KASAN, UBSAN,
lockdep, sleep in atomic context, debug objects, list corruption, slab, fortify,
kmemleak; refcount warnings on any kernel) fails the test with exit code 7, even
when the command succeeded; its stack frames are decoded (function, file, line)
in the test's output, and the first frame in the project's modules is named on
the summary line. `EXPECT_FINDING <kind>...` (`kasan`, `ubsan`, `lockdep`,
`atomic-sleep`, `refcount`, `list`, `debug-objects`, `slab`, `fortify`,
`kmemleak`) makes a negative test: it passes only when the kernel reported each
kind (the kernel's own log records confirm it, so a guest process printing one
does not count); the kernel must have the matching check (configure error
otherwise). The unload check (on unless `NO_UNLOAD_CHECK`): after the command
init removes `MODULES`, last first; a module that refuses (still in use, or no
`module_exit`) fails the test with exit code 8, naming the module and its holders,
and an oops or finding during the unload fails it as any other. On a `kmemleak`
kernel init then waits until the modules have been loaded 6 s (kmemleak reports
only older objects) and scans. On a kernel with `COVERAGE` (see `uml_add_kernel`)
init then saves the gcov data of the project's modules (an unloaded module's
too) to a disk of its own, and the helper keeps what belongs to this build in
`<build>/_uml/coverage/<test>` (a test that crashes first has none, and says
so); target `uml_coverage` merges the last run of every test.

`DEVICES` (also `uml_add_run`, `uml_discover_kunit_tests`): simulated devices
(`uml_add_device`) the boot gets; their models start before UML and stop after
it. A model that crashes, or reports that the guest broke its protocol, fails the
test with exit code 9; each model's output is in the test's log.

With `UML_TESTS_BUILD_FIRST` (default ON) the tests depend on a fixture that
runs `cmake --build`, so `ctest` alone takes an edited module to a result.

CTest resources (`UML_TEST_RESOURCES`, default ON): each test (and each KUnit case
test of `uml_discover_kunit_tests`) declares
`RESOURCE_GROUPS uml_cpus:1,uml_mem_mib:<MEM in MiB>` (128 without `MEM`; a test's
own `RESOURCE_GROUPS` is kept), and configure writes this host's specification to
`<build>/uml-resources.json` (all logical cores, three quarters of the memory). With
`ctest -j64 --resource-spec-file build/uml-resources.json` CTest starts a guest only
when a core and its memory are free; without the option CTest ignores resources.
For another runner: `cmake [-DCPUS=n] [-DMEMORY_MIB=n] -DOUTPUT=<file> -P
<package>/cmake/steps/resource_spec.cmake`.

### Boot descriptions and properties
Each run, debug and test boot is described in `<build>/_uml/boot/<name>.boot`,
written at the end of the directory's configure from properties of the run target
or the test: `UML_BOOT_KERNEL`, `UML_BOOT_ROOTFS`, `UML_BOOT_MODULES`,
`UML_BOOT_MEM`, `UML_BOOT_HOSTFS`, `UML_BOOT_ARGS`, `UML_BOOT_ENV`,
`UML_BOOT_TIME_TRAVEL`, `UML_BOOT_DEVICES` (its device lines go to
`<name>.devices.boot`, written at generate time, which the description includes); runs also `UML_BOOT_PERSIST`, tests `UML_BOOT_COMMAND`,
`UML_BOOT_TIMEOUT`, `UML_BOOT_KUNIT`, `UML_BOOT_FAIL_ON_WARN`, `UML_BOOT_EXPECT_FINDING`,
`UML_BOOT_NO_UNLOAD_CHECK`. `UML_BOOT_COMMAND` and
`UML_BOOT_ENV` hold one list element per word with `%`, `;`, `\`, `[` and `]`
percent-encoded (`%25`, `%3B`, `%5C`, `%5B`, `%5D`) and an empty word as `%`, since
a CMake list cannot keep such words apart; a word set by hand without those
characters is itself. So a setting can be
changed after the call, e.g.
`set_property(TARGET uml_run APPEND PROPERTY UML_BOOT_ARGS loglevel=8)` or
`set_tests_properties(hello_loads PROPERTIES UML_BOOT_MEM 512M)`. The file is what
`uml-helper run|test|debug|attach --boot <file>` reads; options given after it win.
#]=======================================================================]
set(UML_GDB_EXECUTABLE "" CACHE FILEPATH "gdb for the debug and attach targets (empty: gdb on PATH when they run)")

function(uml_add_run name)
  list(APPEND CMAKE_MESSAGE_CONTEXT uml_add_run)
  _uml_check_target_name(uml_add_run "${name}")
  cmake_parse_arguments(PARSE_ARGV 1 arg "TIME_TRAVEL" "KERNEL;ROOTFS;MEM;HOSTFS;PERSIST;DEBUG_TARGET;ATTACH_TARGET"
                        "MODULES;ARGS;ENV;DEVICES")
  set(keywords
      DEVICES
      TIME_TRAVEL
      KERNEL
      ROOTFS
      MEM
      HOSTFS
      PERSIST
      DEBUG_TARGET
      ATTACH_TARGET
      MODULES
      ARGS
      ENV)
  _uml_encode_keyword_words(${ARGC} keywords ENV)
  set(arg_ENV "${encoded_ENV}")
  _uml_reject_unparsed(uml_add_run arg)
  _uml_require_boot_keywords("uml_add_run(${name})")
  _uml_debug_target_names(debug_name attach_name "${name}")
  _uml_boot_file(boot "${name}")
  _uml_boot_file(debug_boot "${debug_name}")
  add_custom_target(
    ${name}
    COMMAND UserModeLinux::helper run --boot "${boot}"
    COMMENT "Booting UML (${arg_KERNEL}, ${arg_ROOTFS}); 'poweroff' or Ctrl-D in the guest ends it"
    USES_TERMINAL VERBATIM)
  set(debug_command debug --boot "${debug_boot}")
  add_custom_target(
    ${debug_name}
    COMMAND UserModeLinux::helper ${debug_command} --
    COMMENT "Starting UML (${arg_KERNEL}, ${arg_ROOTFS}) under gdb; 'run' boots it"
    USES_TERMINAL VERBATIM)
  _uml_write_gdb_wrapper(${debug_name} ${debug_command})
  # Attaching builds nothing: a rebuilt kernel would no longer match the running one.
  set(attach_command attach --boot "${boot}")
  add_custom_target(
    ${attach_name}
    COMMAND UserModeLinux::helper ${attach_command} --
    COMMENT "Attaching gdb to the UML that '${name}' runs"
    USES_TERMINAL VERBATIM)
  _uml_write_gdb_wrapper(${attach_name} ${attach_command})
  set_target_properties(${name} PROPERTIES UML_DEBUG_TARGET "${debug_name}" UML_ATTACH_TARGET "${attach_name}")
  _uml_boot_store(run TARGET "${name}" PERSIST)
endfunction()

# KERNEL and ROOTFS, checked at the call (the rest when the description is written).
macro(_uml_require_boot_keywords context)
  foreach(_uml_kw IN ITEMS KERNEL ROOTFS)
    if(NOT arg_${_uml_kw})
      message(FATAL_ERROR "${context}: ${_uml_kw} is required.")
    endif()
  endforeach()
  foreach(_uml_kw IN LISTS arg_KEYWORDS_MISSING_VALUES)
    if(_uml_kw MATCHES "^(KERNEL|ROOTFS|MEM|HOSTFS|PERSIST|TIMEOUT|DEBUG_TARGET|ATTACH_TARGET)$")
      message(FATAL_ERROR "${context}: ${_uml_kw} needs a value.")
    endif()
  endforeach()
endmacro()

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
  list(APPEND CMAKE_MESSAGE_CONTEXT uml_add_test)
  cmake_parse_arguments(
    PARSE_ARGV 0 arg "KUNIT;TIME_TRAVEL;FAIL_ON_WARN;NO_UNLOAD_CHECK" "NAME;KERNEL;ROOTFS;TIMEOUT;MEM;HOSTFS"
    "MODULES;COMMAND;ENV;ARGS;LABELS;EXPECT_FINDING;DEVICES")
  # Each COMMAND and ENV word exactly as written, encoded for the list property.
  set(keywords
      DEVICES
      KUNIT
      TIME_TRAVEL
      FAIL_ON_WARN
      NO_UNLOAD_CHECK
      EXPECT_FINDING
      NAME
      KERNEL
      ROOTFS
      TIMEOUT
      MEM
      HOSTFS
      MODULES
      COMMAND
      ENV
      ARGS
      LABELS)
  _uml_encode_keyword_words(${ARGC} keywords COMMAND ENV)
  if(DEFINED arg_COMMAND)
    set(arg_COMMAND "${encoded_COMMAND}")
  endif()
  set(arg_ENV "${encoded_ENV}")
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
  _uml_require_boot_keywords("uml_add_test(${name})")
  if(NOT DEFINED arg_TIMEOUT)
    set(arg_TIMEOUT 60)
  elseif(NOT arg_TIMEOUT MATCHES "^[0-9]+$")
    message(FATAL_ERROR "uml_add_test(${name}): TIMEOUT '${arg_TIMEOUT}' must be whole seconds (0: none).")
  endif()
  _uml_boot_file(boot "${name}")
  add_test(NAME ${name} COMMAND UserModeLinux::helper test --boot "${boot}")
  # 125: UML cannot run on this host, or KUnit skipped every case; not a failure.
  set_tests_properties(${name} PROPERTIES LABELS "uml;${arg_LABELS}" SKIP_RETURN_CODE 125)
  if(UML_TESTS_BUILD_FIRST)
    _uml_build_fixture(fixture)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED ${fixture})
  endif()
  _uml_boot_store(
    test
    TEST
    "${name}"
    COMMAND
    TIMEOUT
    KUNIT
    FAIL_ON_WARN
    EXPECT_FINDING
    NO_UNLOAD_CHECK)
endfunction()

# One test per project that builds everything before the boot tests run.
function(_uml_build_fixture out)
  set(fixture uml_build)
  get_property(defined GLOBAL PROPERTY _UML_BUILD_FIXTURE_DEFINED)
  if(NOT defined)
    set_property(GLOBAL PROPERTY _UML_BUILD_FIXTURE_DEFINED TRUE)
    # Ninja itself when it is the generator: cmake --build would only start it, and in
    # the edit loop that costs ~0.02 s of ~0.4.
    if(CMAKE_GENERATOR STREQUAL "Ninja" AND CMAKE_MAKE_PROGRAM)
      add_test(NAME uml_build COMMAND "${CMAKE_MAKE_PROGRAM}" -C "${CMAKE_BINARY_DIR}")
    else()
      add_test(NAME uml_build COMMAND "${CMAKE_COMMAND}" --build "${CMAKE_BINARY_DIR}")
    endif()
    set_tests_properties(uml_build PROPERTIES FIXTURES_SETUP ${fixture} LABELS uml TIMEOUT 3600)
  endif()
  set(${out} ${fixture} PARENT_SCOPE)
endfunction()
