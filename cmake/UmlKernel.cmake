include_guard(GLOBAL)
include("${CMAKE_CURRENT_LIST_DIR}/UmlHostTools.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/UmlKbuild.cmake")

set(UML_KERNEL_SOURCE ""
    CACHE PATH "Kernel source (tree or .tar.xz/.tar.gz archive) used by uml_add_kernel() when none is given")
set(UML_KERNEL_SOURCE_SEARCH_DIRS "/usr/src"
    CACHE STRING "Where uml_add_kernel() looks for Debian linux-source-*.tar.xz when no source is given")
# Per user, as ccache's: a second project (CMake or Make) reuses the kernels, sources
# and Debian roots a first one built. XDG's cache directory, else ~/.cache.
set(_uml_default_cache "")
if(IS_ABSOLUTE "$ENV{XDG_CACHE_HOME}")
  set(_uml_default_cache "$ENV{XDG_CACHE_HOME}/uml")
elseif(IS_ABSOLUTE "$ENV{HOME}")
  set(_uml_default_cache "$ENV{HOME}/.cache/uml")
endif()
set(_uml_doc "Kernel builds, unpacked sources and Debian roots shared by every project of this user (empty: kept "
             "inside this build tree)")
string(CONCAT _uml_doc ${_uml_doc})
set(UML_CACHE_DIR "${_uml_default_cache}" CACHE PATH "${_uml_doc}")
set(UML_CACHE_MAX_SIZE "20G" CACHE STRING "After a kernel build, UML_CACHE_DIR is pruned to this size (empty: never)")
set(_uml_doc "Parallel jobs for Kbuild: a number, or auto (all cores; distcc's slots when it runs the compiles); "
             "a Makefile generator's -jN takes precedence")
string(CONCAT _uml_doc ${_uml_doc})
set(UML_KERNEL_JOBS "auto" CACHE STRING "${_uml_doc}")
set(_uml_doc "Compiler launcher for kernel and module builds: auto (CMAKE_C_COMPILER_LAUNCHER, else ccache when "
             "installed), none, or a command such as ccache or distcc")
string(CONCAT _uml_doc ${_uml_doc})
set(UML_KERNEL_COMPILER_LAUNCHER "auto" CACHE STRING "${_uml_doc}")
set(UML_KERNEL_CC "gcc" CACHE STRING "Compiler for the UML kernel and its modules")
option(UML_COVERAGE "Build every UML kernel of the project with gcov (as uml_add_kernel(COVERAGE))" OFF)
option(UML_KBUILD_FAST_PATH
       "Rebuild a module whose sources alone changed with the commands Kbuild recorded, without a Kbuild run" ON)
unset(_uml_default_cache)
unset(_uml_doc)

#[=======================================================================[.md
### uml_add_kernel

```cmake
uml_add_kernel(<name>
  [SOURCE_DIR <dir> | SOURCE_ARCHIVE <linux-*.tar.xz|.tar.gz|.tar.bz2>]
  [CONFIG minimal|defconfig|<path/to/.config>]
  [CONFIG_FRAGMENTS <fragment>...]
  [CHECKS <check>...]
  [COVERAGE]
  [DEVICES]
  [EXCLUDE_FROM_ALL])
```
Adds target `<name>` that builds a UML kernel (`make ARCH=um O=<dir>`), plus
`<name>_menuconfig`, `<name>_nconfig`, `<name>_savedefconfig` and
`<name>_savefragment`.

- `SOURCE_DIR`: a kernel tree (e.g. a git checkout); never written to.
- `SOURCE_ARCHIVE`: unpacked once (into `UML_CACHE_DIR`), shared by every kernel
  made from it. Default: `UML_KERNEL_SOURCE`, else the newest Debian
  `linux-source-*.tar.xz` under `UML_KERNEL_SOURCE_SEARCH_DIRS` (`/usr/src`).
- `CONFIG`: `minimal` (default: `allnoconfig` plus `templates/config/minimal.config`),
  `defconfig`, or a full `.config` file.
- `CONFIG_FRAGMENTS`: merged on top in order; afterwards every requested symbol
  is checked and the configure step fails listing those that did not take their value.
- `CHECKS`: debugging checks built into the kernel, by name (merged after the
  fragments, verified the same way, cached like any kernel): `kasan` (generic
  KASAN), `ubsan`, `lockdep` (`PROVE_LOCKING`), `atomic-sleep`
  (`DEBUG_ATOMIC_SLEEP`), `debug-objects`, `list` (`DEBUG_LIST`), `slab`
  (`SLUB_DEBUG_ON`; not with `kasan`), `fortify` (`FORTIFY_SOURCE`), `kmemleak`,
  or `all` (every one this kernel's `arch/um` can build; `kasan` rather than
  `slab`). A check the kernel's `arch/um` cannot
  build (`kfence`, `kcsan`, `kmsan`; `ubsan` before 6.9) is a configure error
  naming the version. Their reports fail tests with exit code 7 (see
  `uml_add_test`); README.md lists the symbols each one sets.
- `COVERAGE` (or the cache variable `UML_COVERAGE=ON` for every kernel): the
  kernel gets `CONFIG_GCOV_KERNEL` and `CONFIG_DEBUG_FS` (the kernel itself is not
  profiled), the project's modules built against it `GCOV_PROFILE=y`, and every
  test and KUnit case booting it saves its modules' gcov data; target
  `uml_coverage` merges the data of the last runs into a report (see
  `uml_add_test`).
- `DEVICES`: the kernel gets UML's vhost-user front end and the buses simulated
  devices use (`templates/config/devices.config`: `VIRTIO_UML`,
  `UML_PCI_OVER_VIRTIO` with device id 1234, `I2C`, `I2C_CHARDEV`, `I2C_VIRTIO`,
  `HWMON`), so boots can list `uml_add_device()` devices.

The configuration is made when CMake configures, so errors show up at once and
the kernel release is known. `<name>_menuconfig` and `<name>_nconfig` (need
`libncurses-dev`) edit the kernel's `.config`; hand edits are kept until `CONFIG`
or a fragment changes (then the edited file is kept as `.config.before-uml`, with
a warning). `<name>_savefragment` writes the symbols changed since configure to
`<name>.config` beside the CMakeLists.txt (add it to `CONFIG_FRAGMENTS`);
`<name>_savedefconfig` writes `<name>.defconfig` (usable as `CONFIG`). The build
prints Kbuild's lines with its progress, `[ 42%]` when a whole build of the same
configuration was seen before, else a running count.

Target properties: `UML_KERNEL_CHECKS` (the checks the built `.config` has,
also those a fragment turned on), `UML_KERNEL_COVERAGE` (`CONFIG_GCOV_KERNEL=y`), `UML_KERNEL_RELEASE`, `UML_KERNEL_BUILD_DIR`,
`UML_KERNEL_IMAGE`, `UML_KERNEL_SOURCE_DIR`, `UML_KERNEL_CONFIG`,
`UML_KERNEL_STAMP`, `UML_KERNEL_CC`.

Cache variables:

| variable | default | meaning |
| --- | --- | --- |
| `UML_CACHE_DIR` | `$XDG_CACHE_HOME/uml`, else `~/.cache/uml` | kernel builds, unpacked sources and Debian roots shared by every project of the user (Make projects too), keyed by their inputs, under a lock; empty: inside the build tree |
| `UML_CACHE_MAX_SIZE` | `20G` | after each kernel build the cache is pruned to this size, least recently used first, never an entry another process is using (empty: never); targets `uml_cache_list`, `uml_cache_prune` |
| `UML_KERNEL_COMPILER_LAUNCHER` | `auto` | `auto`: `CMAKE_C_COMPILER_LAUNCHER`, else ccache when installed; `none`; or a launcher command (ccache, distcc, icecc) for kernel and modules |
| `UML_KERNEL_CC` | `gcc` | the kernel's compiler, looked up at every configure |
| `UML_COVERAGE` | `OFF` | every kernel of the project as with `COVERAGE` |
| `UML_KERNEL_JOBS` | `auto` | Kbuild's `-j`: a number, or `auto`: all cores, and for a kernel whose compiles go through distcc (the launcher, or ccache's `prefix_command`) the slot count `distcc -j` gives for its hosts when larger; a Makefile generator's `-jN` wins |
| `UML_KBUILD_FAST_PATH` | `ON` | a module whose own `.c`/`.h`/`.S` files alone changed is rebuilt with the commands Kbuild recorded (compile, fixdep, modpost, link), without a Kbuild run; anything else (Kbuild file, variables, kernel, a new file) runs Kbuild (README: "The edit loop"); the environment variable `UML_KBUILD_FAST_PATH=0` turns it off for one build |
| `UML_KERNEL_SOURCE` | empty | default kernel source (tree or archive) |
| `UML_KERNEL_SOURCE_SEARCH_DIRS` | `/usr/src` | where Debian's `linux-source-*.tar.xz` is looked for |
| `UML_<TOOL>_EXECUTABLE` | found on `PATH` | each host tool (make, flex, mke2fs, ...; advanced) |
#]=======================================================================]
function(uml_add_kernel name)
  list(APPEND CMAKE_MESSAGE_CONTEXT uml_add_kernel)
  cmake_parse_arguments(PARSE_ARGV 1 arg "EXCLUDE_FROM_ALL;COVERAGE;DEVICES" "SOURCE_DIR;SOURCE_ARCHIVE;CONFIG"
                        "CONFIG_FRAGMENTS;CHECKS")
  _uml_check_target_name(uml_add_kernel "${name}")
  if(NOT UML_KERNEL_JOBS MATCHES "^(auto|[1-9][0-9]*)$")
    message(FATAL_ERROR "UML_KERNEL_JOBS is '${UML_KERNEL_JOBS}': give a number of parallel jobs, or auto "
                        "(-DUML_KERNEL_JOBS=auto: all cores, or distcc's slots).")
  endif()
  _uml_reject_unparsed(uml_add_kernel arg)
  if(DEFINED arg_SOURCE_DIR AND DEFINED arg_SOURCE_ARCHIVE)
    message(FATAL_ERROR "uml_add_kernel(${name}): give SOURCE_DIR or SOURCE_ARCHIVE, not both.")
  endif()
  foreach(kw IN ITEMS SOURCE_DIR SOURCE_ARCHIVE CONFIG CONFIG_FRAGMENTS CHECKS)
    if(kw IN_LIST arg_KEYWORDS_MISSING_VALUES)
      message(FATAL_ERROR "uml_add_kernel(${name}): ${kw} needs a value.")
    endif()
  endforeach()

  _uml_require_host_tools(
    make
    gcc
    flex
    bison
    bc
    perl
    tar)
  _uml_resolve_kernel_source(source_dir "${name}" "${arg_SOURCE_DIR}" "${arg_SOURCE_ARCHIVE}")

  # Config mode and fragments, all checked before anything runs.
  if(NOT DEFINED arg_CONFIG OR arg_CONFIG STREQUAL "minimal")
    set(mode minimal)
    set(base_config "${_UML_PACKAGE_ROOT}/templates/config/minimal.config")
  elseif(arg_CONFIG STREQUAL "defconfig")
    set(mode defconfig)
    set(base_config "")
  else()
    set(mode file)
    get_filename_component(base_config "${arg_CONFIG}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${base_config}" OR IS_DIRECTORY "${base_config}")
      message(FATAL_ERROR "uml_add_kernel(${name}): unknown CONFIG '${arg_CONFIG}': expected 'minimal', "
                          "'defconfig' or the path of a .config file (there is no file at ${base_config}).")
    endif()
  endif()
  set(fragments "")
  foreach(fragment IN LISTS arg_CONFIG_FRAGMENTS)
    get_filename_component(fragment "${fragment}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${fragment}" OR IS_DIRECTORY "${fragment}")
      message(FATAL_ERROR "uml_add_kernel(${name}): config fragment not found: ${fragment}")
    endif()
    # Syntax errors are reported now, naming file and line.
    _uml_read_config("${fragment}" _unused_syms _unused_vals _unused_origins STRICT)
    list(APPEND fragments "${fragment}")
  endforeach()

  if(arg_CHECKS)
    _uml_kernel_checks_fragment(checks_fragment "${name}" "${source_dir}" "${arg_CHECKS}")
    list(APPEND fragments "${checks_fragment}")
  endif()
  if(arg_COVERAGE OR UML_COVERAGE)
    # gcov for modules only: GCOV_PROFILE_ALL would profile the whole kernel.
    set(coverage_fragment "${CMAKE_CURRENT_BINARY_DIR}/_uml/${name}.coverage.config")
    _uml_write_if_different("${coverage_fragment}"
                            "CONFIG_DEBUG_FS=y\nCONFIG_GCOV_KERNEL=y\n# CONFIG_GCOV_PROFILE_ALL is not set\n")
    list(APPEND fragments "${coverage_fragment}")
  endif()

  if(arg_DEVICES)
    # The transport and buses of simulated devices (uml_add_device()).
    list(APPEND fragments "${_UML_PACKAGE_ROOT}/templates/config/devices.config")
  endif()

  _uml_kernel_compiler(kernel_cc "${name}")

  # Where the kernel is built: shared through UML_CACHE_DIR under a key of everything
  # that decides the result, so projects with the same kernel build it once, or per
  # build tree.
  set(inputs_text "${source_dir}\n${mode}\n${kernel_cc}\n")
  # Contents, not paths: an installed and a vendored copy of the package give
  # the same key.
  foreach(file IN LISTS base_config fragments)
    file(READ "${file}" content)
    string(APPEND inputs_text "--\n${content}\n")
  endforeach()
  string(SHA256 inputs_hash "${inputs_text}")
  _uml_cache_dir(cache_dir)
  if(cache_dir)
    string(SUBSTRING "${inputs_hash}" 0 12 short_hash)
    # Named by source and inputs, not by target: kernels that differ only in
    # their target's name (uml_kernel here, uml_kernel_6_12 there) are one build.
    get_filename_component(source_name "${source_dir}" NAME)
    string(REPEAT "[0-9a-f]" 12 unpack_suffix) # an archive's unpack dir ends in -<hash>
    string(REGEX REPLACE "-${unpack_suffix}$" "" source_name "${source_name}")
    set(build_dir "${cache_dir}/kernel/${source_name}-${short_hash}")
  else()
    set(build_dir "${CMAKE_BINARY_DIR}/_uml/kernel/${name}")
  endif()

  set(kconfig_args
      MAKE
      "${UML_MAKE_EXECUTABLE}"
      SOURCE_DIR
      "${source_dir}"
      BUILD_DIR
      "${build_dir}"
      CC
      "${kernel_cc}")
  _uml_kernel_configure(
    ${name}
    ${kconfig_args}
    MODE "${mode}"
    BASE_CONFIG "${base_config}"
    FRAGMENTS "${fragments}"
    INPUTS_HASH "${inputs_hash}")
  _uml_kernel_release(release "${name}" "${UML_MAKE_EXECUTABLE}" "${source_dir}" "${build_dir}" "${kernel_cc}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${base_config} ${fragments} "${source_dir}/Makefile")

  # Build step. Kbuild's own no-op walk costs seconds, so it only runs when the
  # config or a file that went into the kernel changed: the depfile lists every
  # source file, header, Makefile and Kconfig file under the source tree that
  # Kbuild recorded for the last build, and the .config.
  set(state_dir "${CMAKE_CURRENT_BINARY_DIR}/_uml")
  set(stamp "${state_dir}/${name}.kernel.stamp")
  set(depfile "${state_dir}/${name}.kernel.d")
  set(step_NAME "${name}")
  set(step_MAKE "${UML_MAKE_EXECUTABLE}")
  set(step_SOURCE_DIR "${source_dir}")
  set(step_BUILD_DIR "${build_dir}")
  set(step_CC "${kernel_cc}")
  set(step_MODE "${mode}")
  set(step_BASE_CONFIG "${base_config}")
  set(step_FRAGMENTS "${fragments}")
  set(step_INPUTS_HASH "${inputs_hash}")
  set(step_JOBS "${UML_KERNEL_JOBS}")
  set(step_DEPFILE "${depfile}")
  set(step_STAMP "${stamp}")
  set(step_CACHE_DIR "${cache_dir}")
  set(step_CACHE_MAX_SIZE "${UML_CACHE_MAX_SIZE}")
  set(kernel_keys
      NAME
      MAKE
      SOURCE_DIR
      BUILD_DIR
      CC
      MODE
      BASE_CONFIG
      FRAGMENTS
      INPUTS_HASH)
  set(step_ACTION build)
  set(build_script "${state_dir}/steps/${name}.kernel-build.cmake")
  _uml_write_step_script(
    "${build_script}"
    kernel
    uml_step_kernel
    ACTION
    ${kernel_keys}
    JOBS
    DEPFILE
    STAMP
    CACHE_DIR
    CACHE_MAX_SIZE)
  add_custom_command(
    OUTPUT "${stamp}"
    BYPRODUCTS "${build_dir}/linux"
    COMMAND "${CMAKE_COMMAND}" -P "${build_script}"
    DEPENDS "${build_script}" ${_UML_STEP_DEPENDS}
    DEPFILE "${depfile}"
    COMMENT "Building UML kernel ${name} (${release}) in ${build_dir}"
    USES_TERMINAL VERBATIM)
  _uml_add_custom_target(${name} "${arg_EXCLUDE_FROM_ALL}" DEPENDS "${stamp}")

  # Terminal targets: Kconfig front ends on this kernel's .config, and two ways
  # to save the result back into the project.
  find_path(
    UML_NCURSES_INCLUDE_DIR
    NAMES ncurses.h
    PATH_SUFFIXES ncursesw ncurses
    DOC "ncurses headers, needed by menuconfig and nconfig")
  mark_as_advanced(UML_NCURSES_INCLUDE_DIR)
  foreach(frontend IN ITEMS menuconfig nconfig)
    if(UML_NCURSES_INCLUDE_DIR)
      _uml_kbuild_command(command ${kconfig_args} ARGS ${frontend})
    else()
      set(command "${CMAKE_COMMAND}" -E echo "${frontend} needs ncurses headers: apt-get install libncurses-dev"
                  COMMAND false)
    endif()
    add_custom_target(
      ${name}_${frontend}
      COMMAND ${command}
      COMMENT "Kernel ${name}: ${frontend} (changes are kept until CONFIG or a fragment changes)"
      USES_TERMINAL VERBATIM)
  endforeach()
  set(save_prefix "${CMAKE_CURRENT_SOURCE_DIR}/${name}")
  foreach(action IN ITEMS savedefconfig savefragment)
    set(step_ACTION ${action})
    if(action STREQUAL "savedefconfig")
      set(step_OUTPUT "${save_prefix}.defconfig")
      set(what "a minimal defconfig")
    else()
      set(step_OUTPUT "${save_prefix}.config")
      set(what "changes made since configure")
    endif()
    set(script "${state_dir}/steps/${name}.kernel-${action}.cmake")
    _uml_write_step_script("${script}" kernel uml_step_kernel ACTION ${kernel_keys} OUTPUT)
    add_custom_target(
      ${name}_${action}
      COMMAND "${CMAKE_COMMAND}" -P "${script}"
      COMMENT "Kernel ${name}: saving ${what} to ${step_OUTPUT}"
      VERBATIM)
  endforeach()
  _uml_add_cache_targets()

  _uml_kernel_checks_in_config(checks_built "${build_dir}/.config")
  set(gcov "")
  if(EXISTS "${build_dir}/.config")
    file(STRINGS "${build_dir}/.config" gcov REGEX "^CONFIG_GCOV_KERNEL=y$")
  endif()
  set(coverage OFF)
  if(gcov)
    set(coverage ON)
  endif()
  _uml_add_coverage_target(${name} ${coverage})
  set_target_properties(
    ${name}
    PROPERTIES UML_KERNEL_CHECKS "${checks_built}"
               UML_KERNEL_COVERAGE "${coverage}"
               UML_KERNEL_RELEASE "${release}"
               UML_KERNEL_BUILD_DIR "${build_dir}"
               UML_KERNEL_IMAGE "${build_dir}/linux"
               UML_KERNEL_SOURCE_DIR "${source_dir}"
               UML_KERNEL_CONFIG "${build_dir}/.config"
               UML_KERNEL_STAMP "${stamp}"
               UML_KERNEL_CC "${kernel_cc}")
  set_property(GLOBAL APPEND PROPERTY UML_KERNELS ${name})
  message(STATUS "UML kernel ${name}: ${release} (${mode}) from ${source_dir}")
endfunction()

# The compiler string for Kbuild: the launcher (ccache & co) in front of the compiler,
# both by full path. It must be the same string for config, kernel and modules, or
# Kbuild rebuilds everything; and "ccache" and "/usr/bin/ccache" must give the same
# string, or the same kernel is keyed and built twice.
# The checks CHECKS can name: <name>|<arch/um capability (empty: none)>|<symbols>.
# Every check needs DEBUG_KERNEL; the capability is a symbol arch/um's Kconfig must
# select for the check to be buildable on UML at this kernel version. A macro, not a
# variable: the functions run in whatever scope find_package() loaded the package from.
macro(_uml_kernel_checks_table out)
  set(${out}
      "kasan|HAVE_ARCH_KASAN|KASAN=y KASAN_GENERIC=y"
      "ubsan|ARCH_HAS_UBSAN|UBSAN=y UBSAN_BOUNDS=y UBSAN_SHIFT=y"
      "lockdep|LOCKDEP_SUPPORT|PROVE_LOCKING=y DEBUG_LOCK_ALLOC=y"
      "atomic-sleep||DEBUG_ATOMIC_SLEEP=y"
      "debug-objects||DEBUG_OBJECTS=y DEBUG_OBJECTS_FREE=y DEBUG_OBJECTS_TIMERS=y DEBUG_OBJECTS_WORK=y"
      "list||DEBUG_LIST=y"
      "slab||SLUB_DEBUG=y SLUB_DEBUG_ON=y"
      "fortify|ARCH_HAS_FORTIFY_SOURCE|FORTIFY_SOURCE=y"
      # Scanned by init after the unload check; an automatic scan would report at random times.
      "kmemleak|HAVE_DEBUG_KMEMLEAK|DEBUG_KMEMLEAK=y DEBUG_FS=y DEBUG_KMEMLEAK_AUTO_SCAN=n"
      # Known to the kernel, not to UML (no arch/um support): asking is an error.
      "kfence|HAVE_ARCH_KFENCE|KFENCE=y"
      "kcsan|HAVE_ARCH_KCSAN|KCSAN=y"
      "kmsan|HAVE_ARCH_KMSAN|KMSAN=y")
endmacro()

# Writes the fragment for CHECKS into the build tree and returns its path.
function(_uml_kernel_checks_fragment out name source_dir checks)
  file(READ "${source_dir}/Makefile" makefile LIMIT 2048)
  string(REGEX MATCH "VERSION = ([0-9]+)\nPATCHLEVEL = ([0-9]+)" _ "${makefile}")
  set(version "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}")
  set(arch_kconfig "")
  foreach(file IN ITEMS arch/um/Kconfig arch/x86/um/Kconfig)
    if(EXISTS "${source_dir}/${file}")
      file(READ "${source_dir}/${file}" content)
      string(APPEND arch_kconfig "${content}\n")
    endif()
  endforeach()
  set(known "")
  set(buildable "")
  _uml_kernel_checks_table(table)
  foreach(row IN LISTS table)
    string(REPLACE "|" ";" row "${row}")
    list(GET row 0 check)
    list(GET row 1 capability)
    list(GET row 2 symbols)
    list(APPEND known ${check})
    set(symbols_${check} "${symbols}")
    set(capability_${check} "${capability}")
    if(capability STREQUAL "" OR arch_kconfig MATCHES "(select|config)[ \t]+${capability}[ \t\n]")
      list(APPEND buildable ${check})
    endif()
  endforeach()
  list(JOIN buildable ", " buildable_text)
  set(wanted "")
  foreach(check IN LISTS checks)
    if(check STREQUAL "all")
      list(APPEND wanted ${buildable})
    elseif(NOT check IN_LIST known)
      list(JOIN known ", " known_text)
      message(FATAL_ERROR "uml_add_kernel(${name}): unknown check '${check}' in CHECKS; known checks: ${known_text} "
                          "(or all).")
    elseif(NOT check IN_LIST buildable)
      message(
        FATAL_ERROR "uml_add_kernel(${name}): check '${check}' cannot be built for UML with Linux ${version}: its "
                    "arch/um does not select ${capability_${check}}. Checks this kernel can build: ${buildable_text}.")
    else()
      list(APPEND wanted ${check})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES wanted)
  # SLUB's debug redzones trip KASAN while UML boots (init_object, before any module
  # loads: a report in every test, and the taint turns lockdep off). KASAN finds what
  # they find; `all` takes KASAN alone, and asking for both is an error.
  if("kasan" IN_LIST wanted AND "slab" IN_LIST wanted)
    if("slab" IN_LIST checks)
      message(
        FATAL_ERROR
          "uml_add_kernel(${name}): CHECKS kasan and slab cannot go together on UML: SLUB_DEBUG_ON "
          "makes KASAN report in SLUB's own init_object() at every boot. Keep kasan (it finds the "
          "same bugs, and more).")
    endif()
    list(REMOVE_ITEM wanted slab)
  endif()
  list(JOIN wanted " " wanted_text)
  set(fragment "# CHECKS of uml_add_kernel(${name}): ${wanted_text}\nCONFIG_DEBUG_KERNEL=y\n")
  foreach(check IN LISTS wanted)
    string(REPLACE " " ";" symbols "${symbols_${check}}")
    foreach(assignment IN LISTS symbols)
      string(REGEX MATCH "^([A-Z0-9_]+)=(.*)$" _ "${assignment}")
      if(CMAKE_MATCH_2 STREQUAL "n")
        string(APPEND fragment "# CONFIG_${CMAKE_MATCH_1} is not set\n")
      else()
        string(APPEND fragment "CONFIG_${assignment}\n")
      endif()
    endforeach()
  endforeach()
  set(path "${CMAKE_CURRENT_BINARY_DIR}/_uml/${name}.checks.config")
  _uml_write_if_different("${path}" "${fragment}")
  set(${out} "${path}" PARENT_SCOPE)
endfunction()

# The checks a configured kernel has, whichever way they were turned on.
function(_uml_kernel_checks_in_config out config)
  set(found "")
  if(EXISTS "${config}")
    file(READ "${config}" text)
    _uml_kernel_checks_table(table)
    foreach(row IN LISTS table)
      string(REPLACE "|" ";" row "${row}")
      list(GET row 0 check)
      list(GET row 2 symbols)
      string(REGEX MATCH "^[A-Z0-9_]+" first "${symbols}")
      if(text MATCHES "\nCONFIG_${first}=y\n")
        list(APPEND found ${check})
      endif()
    endforeach()
  endif()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

function(_uml_kernel_compiler out name)
  # Looked up at every configure: a changed UML_KERNEL_CC takes effect.
  find_program(cc_path NAMES ${UML_KERNEL_CC} NO_CACHE)
  if(NOT cc_path)
    message(FATAL_ERROR "uml_add_kernel(${name}): compiler '${UML_KERNEL_CC}' (UML_KERNEL_CC) not found; install "
                        "it (apt-get install gcc) or set UML_KERNEL_CC to a compiler on PATH.")
  endif()
  set(launcher "${UML_KERNEL_COMPILER_LAUNCHER}")
  set(source "UML_KERNEL_COMPILER_LAUNCHER")
  if(launcher STREQUAL "auto")
    set(launcher "${CMAKE_C_COMPILER_LAUNCHER}")
    set(source "CMAKE_C_COMPILER_LAUNCHER")
    if(launcher STREQUAL "")
      find_program(ccache_path ccache NO_CACHE)
      set(launcher "${ccache_path}")
      if(NOT ccache_path)
        set(launcher "")
      endif()
    endif()
  elseif(launcher MATCHES "^(none|NONE|OFF|off)$")
    set(launcher "")
  endif()
  if(launcher)
    list(GET launcher 0 launcher_program)
    if(NOT IS_ABSOLUTE "${launcher_program}")
      find_program(launcher_path "${launcher_program}" NO_CACHE)
      if(NOT launcher_path)
        message(
          FATAL_ERROR
            "uml_add_kernel(${name}): compiler launcher '${launcher_program}' (${source}) not "
            "found; install it (apt-get install ${launcher_program}) or set " "UML_KERNEL_COMPILER_LAUNCHER to none.")
      endif()
      list(REMOVE_AT launcher 0)
      list(PREPEND launcher "${launcher_path}")
    endif()
  endif()
  list(JOIN launcher " " launcher)
  string(STRIP "${launcher} ${cc_path}" kernel_cc)
  set(${out} "${kernel_cc}" PARENT_SCOPE)
endfunction()

# uml_cache_list and uml_cache_prune, once per project.
function(_uml_add_cache_targets)
  if(TARGET uml_cache_list)
    return()
  endif()
  _uml_cache_dir(cache_dir)
  if(NOT cache_dir)
    return()
  endif()
  set(script "${_UML_PACKAGE_ROOT}/cmake/steps/cache.cmake")
  add_custom_target(
    uml_cache_list
    COMMAND "${CMAKE_COMMAND}" -DACTION=list "-DCACHE_DIR=${cache_dir}" -P "${script}"
    COMMENT "Kernels, sources and Debian roots in ${cache_dir}"
    VERBATIM)
  set(max "${UML_CACHE_MAX_SIZE}")
  if(max STREQUAL "")
    set(max 20G)
  endif()
  add_custom_target(
    uml_cache_prune
    COMMAND "${CMAKE_COMMAND}" -DACTION=prune "-DCACHE_DIR=${cache_dir}" -DMAX_SIZE=${max} -P "${script}"
    COMMENT "Pruning ${cache_dir} to ${max}, least recently used first"
    VERBATIM)
endfunction()

# Picks the kernel source and returns a pristine tree to build from with O=.
function(_uml_resolve_kernel_source out name source_dir archive)
  if(source_dir STREQUAL "" AND archive STREQUAL "")
    if(UML_KERNEL_SOURCE)
      if(IS_DIRECTORY "${UML_KERNEL_SOURCE}")
        set(source_dir "${UML_KERNEL_SOURCE}")
      else()
        set(archive "${UML_KERNEL_SOURCE}")
      endif()
    else()
      _uml_find_debian_kernel_source(archive)
      if(NOT archive)
        message(
          FATAL_ERROR
            "uml_add_kernel(${name}): no kernel source given and no Debian linux-source-*.tar.xz "
            "found in ${UML_KERNEL_SOURCE_SEARCH_DIRS}.\n"
            "Install one (apt-get install linux-source-6.12), or pass SOURCE_DIR <kernel tree> or "
            "SOURCE_ARCHIVE <linux-x.y.tar.xz>, or set -DUML_KERNEL_SOURCE=<tree or archive>.")
      endif()
    endif()
  endif()

  if(NOT source_dir STREQUAL "")
    get_filename_component(source_dir "${source_dir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${source_dir}/Makefile" OR NOT IS_DIRECTORY "${source_dir}/arch/um")
      message(FATAL_ERROR "uml_add_kernel(${name}): SOURCE_DIR ${source_dir} is not a Linux kernel source tree "
                          "(no Makefile and arch/um there).")
    endif()
    # Kbuild refuses O= builds from a tree configured in place.
    if(EXISTS "${source_dir}/.config" OR EXISTS "${source_dir}/include/config")
      message(
        FATAL_ERROR
          "uml_add_kernel(${name}): the kernel tree ${source_dir} has been configured or built in place, "
          "so Kbuild cannot build it out of tree.\nRun 'make ARCH=um mrproper' (or the ARCH it was "
          "built for) in ${source_dir}, or give a clean tree.")
    endif()
    set(${out} "${source_dir}" PARENT_SCOPE)
    return()
  endif()

  get_filename_component(archive "${archive}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT EXISTS "${archive}" OR IS_DIRECTORY "${archive}")
    message(FATAL_ERROR "uml_add_kernel(${name}): SOURCE_ARCHIVE not found: ${archive}")
  endif()
  if(archive MATCHES "\\.tar\\.xz$|\\.txz$")
    _uml_require_host_tools(xz)
  elseif(archive MATCHES "\\.tar\\.gz$|\\.tgz$")
    _uml_require_host_tools(gzip)
  elseif(archive MATCHES "\\.tar\\.bz2$")
    _uml_require_host_tools(bzip2)
  elseif(NOT archive MATCHES "\\.tar$")
    message(
      FATAL_ERROR "uml_add_kernel(${name}): SOURCE_ARCHIVE ${archive} is not a .tar.xz, .tar.gz, .tar.bz2 or .tar file."
    )
  endif()
  _uml_unpack_archive(source_dir "${name}" "${archive}")
  set(${out} "${source_dir}" PARENT_SCOPE)
endfunction()

function(_uml_find_debian_kernel_source out)
  set(found "")
  foreach(dir IN LISTS UML_KERNEL_SOURCE_SEARCH_DIRS)
    file(GLOB candidates "${dir}/linux-source-*.tar.xz" "${dir}/linux-source-*.tar.bz2")
    list(APPEND found ${candidates})
  endforeach()
  if(NOT found)
    set(${out} "" PARENT_SCOPE)
    return()
  endif()
  # Newest version wins: linux-source-6.12 sorts after linux-source-6.1.
  list(SORT found COMPARE NATURAL ORDER DESCENDING)
  list(GET found 0 newest)
  set(${out} "${newest}" PARENT_SCOPE)
endfunction()

# Unpacks an archive once per (path, size, mtime) into the cache; a lock makes
# concurrent configures of several projects share one unpack.
function(_uml_unpack_archive out name archive)
  _uml_cache_dir(cache)
  if(NOT cache)
    set(cache "${CMAKE_BINARY_DIR}/_uml")
  endif()
  file(SIZE "${archive}" size)
  file(TIMESTAMP "${archive}" mtime "%s" UTC)
  string(SHA256 key "${archive}\n${size}\n${mtime}")
  string(SUBSTRING "${key}" 0 12 key)
  get_filename_component(base "${archive}" NAME)
  string(REGEX REPLACE "\\.(tar\\.xz|tar\\.gz|tar\\.bz2|txz|tgz|tar)$" "" base "${base}")
  set(dest "${cache}/src/${base}-${key}")
  file(MAKE_DIRECTORY "${cache}/src")
  file(
    LOCK "${dest}.lock"
    GUARD FUNCTION
    TIMEOUT 1800
    RESULT_VARIABLE lock_error)
  if(lock_error)
    message(FATAL_ERROR "uml_add_kernel(${name}): cannot lock ${dest}.lock: ${lock_error}")
  endif()
  if(NOT EXISTS "${dest}/.uml-unpacked")
    message(STATUS "Unpacking ${archive} (once; shared by every kernel built from it)")
    file(REMOVE_RECURSE "${dest}" "${dest}.tmp")
    file(MAKE_DIRECTORY "${dest}.tmp")
    execute_process(COMMAND "${UML_TAR_EXECUTABLE}" -xf "${archive}" -C "${dest}.tmp" RESULT_VARIABLE rc
                    ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      file(REMOVE_RECURSE "${dest}.tmp")
      message(FATAL_ERROR "uml_add_kernel(${name}): cannot unpack ${archive}: ${err}")
    endif()
    # Archives hold one top directory (linux-6.12/, linux-source-6.12/).
    file(GLOB tops LIST_DIRECTORIES true "${dest}.tmp/*")
    list(LENGTH tops count)
    if(count EQUAL 1 AND IS_DIRECTORY "${tops}")
      file(RENAME "${tops}" "${dest}")
      file(REMOVE_RECURSE "${dest}.tmp")
    else()
      file(RENAME "${dest}.tmp" "${dest}")
    endif()
    if(NOT EXISTS "${dest}/Makefile" OR NOT IS_DIRECTORY "${dest}/arch/um")
      file(REMOVE_RECURSE "${dest}")
      message(FATAL_ERROR "uml_add_kernel(${name}): ${archive} does not hold a Linux kernel source tree.")
    endif()
    file(TOUCH "${dest}/.uml-unpacked")
  endif()
  file(TOUCH "${dest}/.uml-last-used") # for the cache's least-recently-used pruning
  set(${out} "${dest}" PARENT_SCOPE)
endfunction()

# The cache directory, created if needed; "" when kernels stay in the build tree.
function(_uml_cache_dir out)
  set(dir "${UML_CACHE_DIR}")
  if(dir)
    get_filename_component(dir "${dir}" ABSOLUTE)
    if(NOT IS_DIRECTORY "${dir}")
      execute_process(COMMAND mkdir -p "${dir}" RESULT_VARIABLE rc ERROR_VARIABLE err)
      if(NOT rc EQUAL 0)
        message(
          FATAL_ERROR
            "UserModeLinux: cannot create the kernel cache UML_CACHE_DIR=${dir}: ${err}"
            "Set UML_CACHE_DIR to a writable directory, or to an empty value to keep kernels in " "the build tree.")
      endif()
    endif()
  endif()
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()
