include_guard(GLOBAL)
include("${CMAKE_CURRENT_LIST_DIR}/UmlHostTools.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/UmlConfigFile.cmake")

set(UML_KERNEL_SOURCE ""
    CACHE PATH "Kernel source (tree or .tar.xz/.tar.gz archive) used by uml_add_kernel() when none is given")
set(UML_KERNEL_SOURCE_SEARCH_DIRS "/usr/src"
    CACHE STRING "Where uml_add_kernel() looks for Debian linux-source-*.tar.xz when no source is given")
set(UML_CACHE_DIR ""
    CACHE PATH "Share unpacked sources and kernel builds between build trees (empty: inside this build tree)")
cmake_host_system_information(RESULT _uml_cores QUERY NUMBER_OF_LOGICAL_CORES)
set(UML_KERNEL_JOBS "${_uml_cores}" CACHE STRING
                                          "Parallel jobs for Kbuild (a Makefile generator's -jN takes precedence)")
set(UML_KERNEL_COMPILER_LAUNCHER ""
    CACHE STRING "Compiler launcher for kernel and module builds (default: CMAKE_C_COMPILER_LAUNCHER)")
set(UML_KERNEL_CC "gcc" CACHE STRING "Compiler for the UML kernel and its modules")
unset(_uml_cores)

#[=======================================================================[.md
### uml_add_kernel

```cmake
uml_add_kernel(<name>
  [SOURCE_DIR <dir> | SOURCE_ARCHIVE <linux-*.tar.xz|.tar.gz|.tar.bz2>]
  [CONFIG minimal|defconfig|<path/to/.config>]
  [CONFIG_FRAGMENTS <fragment>...]
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

The configuration is made when CMake configures, so errors show up at once and
the kernel release is known. Target properties: `UML_KERNEL_RELEASE`,
`UML_KERNEL_BUILD_DIR`, `UML_KERNEL_IMAGE`, `UML_KERNEL_SOURCE_DIR`,
`UML_KERNEL_CONFIG`, `UML_KERNEL_STAMP`.
#]=======================================================================]
function(uml_add_kernel name)
  set(CMAKE_MESSAGE_CONTEXT uml_add_kernel)
  cmake_parse_arguments(PARSE_ARGV 1 arg "EXCLUDE_FROM_ALL" "SOURCE_DIR;SOURCE_ARCHIVE;CONFIG" "CONFIG_FRAGMENTS")
  _uml_check_target_name(uml_add_kernel "${name}")
  _uml_reject_unparsed(uml_add_kernel arg)
  if(DEFINED arg_SOURCE_DIR AND DEFINED arg_SOURCE_ARCHIVE)
    message(FATAL_ERROR "uml_add_kernel(${name}): give SOURCE_DIR or SOURCE_ARCHIVE, not both.")
  endif()
  foreach(kw IN ITEMS SOURCE_DIR SOURCE_ARCHIVE CONFIG CONFIG_FRAGMENTS)
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

  # Compiler, with the user's launcher (ccache & co) in front: it must be the
  # same string for config, kernel and modules, or Kbuild rebuilds everything.
  find_program(UML_KERNEL_CC_PATH NAMES ${UML_KERNEL_CC} DOC "Compiler for the UML kernel")
  if(NOT UML_KERNEL_CC_PATH)
    message(FATAL_ERROR "uml_add_kernel(${name}): compiler '${UML_KERNEL_CC}' (UML_KERNEL_CC) not found.")
  endif()
  set(launcher "${UML_KERNEL_COMPILER_LAUNCHER}")
  if(launcher STREQUAL "")
    set(launcher "${CMAKE_C_COMPILER_LAUNCHER}")
  endif()
  # The launcher by its full path: "ccache" and "/usr/bin/ccache" must give the
  # same compiler string, or the same kernel is keyed and built twice.
  if(launcher)
    list(GET launcher 0 launcher_program)
    if(NOT IS_ABSOLUTE "${launcher_program}")
      find_program(_uml_launcher_path "${launcher_program}" NO_CACHE)
      if(NOT _uml_launcher_path)
        message(
          FATAL_ERROR
            "uml_add_kernel(${name}): compiler launcher '${launcher_program}' (CMAKE_C_COMPILER_LAUNCHER "
            "or UML_KERNEL_COMPILER_LAUNCHER) not found; install it (apt-get install ccache) or " "clear the variable.")
      endif()
      list(REMOVE_AT launcher 0)
      list(PREPEND launcher "${_uml_launcher_path}")
    endif()
  endif()
  list(JOIN launcher " " launcher)
  string(STRIP "${launcher} ${UML_KERNEL_CC_PATH}" kernel_cc)

  # Where the kernel is built: per build tree, or shared through UML_CACHE_DIR
  # under a key of everything that decides the result, so projects with the same
  # kernel build it once.
  set(inputs_text "${source_dir}\n${mode}\n${kernel_cc}\n")
  # Contents, not paths: an installed and a vendored copy of the package give
  # the same key.
  foreach(file IN LISTS base_config fragments)
    file(READ "${file}" content)
    string(APPEND inputs_text "--\n${content}\n")
  endforeach()
  string(SHA256 inputs_hash "${inputs_text}")
  if(UML_CACHE_DIR)
    string(SUBSTRING "${inputs_hash}" 0 12 short_hash)
    # Named by source and inputs, not by target: kernels that differ only in
    # their target's name (uml_kernel here, uml_kernel_6_12 there) are one build.
    get_filename_component(source_name "${source_dir}" NAME)
    string(REPEAT "[0-9a-f]" 12 unpack_suffix) # an archive's unpack dir ends in -<hash>
    string(REGEX REPLACE "-${unpack_suffix}$" "" source_name "${source_name}")
    set(build_dir "${UML_CACHE_DIR}/kernel/${source_name}-${short_hash}")
  else()
    set(build_dir "${CMAKE_BINARY_DIR}/_uml/kernel/${name}")
  endif()

  _uml_kernel_configure(
    release "${name}"
    SOURCE_DIR "${source_dir}"
    BUILD_DIR "${build_dir}"
    MODE "${mode}"
    BASE_CONFIG "${base_config}"
    FRAGMENTS "${fragments}"
    INPUTS_HASH "${inputs_hash}"
    CC "${kernel_cc}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${base_config} ${fragments} "${source_dir}/Makefile")

  # Build step. Kbuild's own no-op walk costs seconds, so it only runs when the
  # config or a file that went into the kernel changed: the depfile lists every
  # source file, header, Makefile and Kconfig file under the source tree that
  # Kbuild recorded for the last build.
  set(state_dir "${CMAKE_CURRENT_BINARY_DIR}/_uml")
  set(stamp "${state_dir}/${name}.kernel.stamp")
  set(depfile "${state_dir}/${name}.kernel.d")
  set(script "${_UML_PACKAGE_ROOT}/helpers/kernel.cmake")
  set(kbuild_args -DUML_SOURCE_DIR=${source_dir} -DUML_BUILD_DIR=${build_dir} -DUML_CC=${kernel_cc}
                  -DUML_MAKE=${UML_MAKE_EXECUTABLE})
  add_custom_command(
    OUTPUT "${stamp}"
    BYPRODUCTS "${build_dir}/linux"
    COMMAND "${CMAKE_COMMAND}" -DUML_ACTION=build ${kbuild_args} -DUML_JOBS=${UML_KERNEL_JOBS} -DUML_DEPFILE=${depfile}
            -DUML_STAMP=${stamp} -P "${script}"
    DEPENDS "${build_dir}/.config" "${script}"
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
  foreach(frontend IN ITEMS menuconfig nconfig)
    if(UML_NCURSES_INCLUDE_DIR)
      set(command
          "${UML_MAKE_EXECUTABLE}"
          -C
          "${source_dir}"
          O=${build_dir}
          ARCH=um
          "CC=${kernel_cc}"
          ${frontend})
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
  add_custom_target(
    ${name}_savedefconfig
    COMMAND "${CMAKE_COMMAND}" -DUML_ACTION=savedefconfig ${kbuild_args} -DUML_OUTPUT=${save_prefix}.defconfig -P
            "${script}"
    COMMENT "Kernel ${name}: saving a minimal defconfig to ${save_prefix}.defconfig"
    VERBATIM)
  add_custom_target(
    ${name}_savefragment
    COMMAND "${CMAKE_COMMAND}" -DUML_ACTION=savefragment ${kbuild_args} -DUML_OUTPUT=${save_prefix}.config -P
            "${script}"
    COMMENT "Kernel ${name}: saving changes made since configure to ${save_prefix}.config"
    VERBATIM)

  set_target_properties(
    ${name}
    PROPERTIES UML_KERNEL_RELEASE "${release}"
               UML_KERNEL_BUILD_DIR "${build_dir}"
               UML_KERNEL_IMAGE "${build_dir}/linux"
               UML_KERNEL_SOURCE_DIR "${source_dir}"
               UML_KERNEL_CONFIG "${build_dir}/.config"
               UML_KERNEL_STAMP "${stamp}"
               UML_KERNEL_CC "${kernel_cc}")
  set_property(GLOBAL APPEND PROPERTY UML_KERNELS ${name})
  message(STATUS "UML kernel ${name}: ${release} (${mode}) from ${source_dir}")
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
  set(${out} "${dest}" PARENT_SCOPE)
endfunction()

function(_uml_cache_dir out)
  if(UML_CACHE_DIR)
    set(${out} "${UML_CACHE_DIR}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_BINARY_DIR}/_uml" PARENT_SCOPE)
  endif()
endfunction()

# Makes <build_dir>/.config from the mode and fragments when they changed since
# the last configure (a menuconfig edit is kept until then), verifies every
# requested symbol, and returns the kernel release.
function(_uml_kernel_configure out name)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "SOURCE_DIR;BUILD_DIR;MODE;BASE_CONFIG;INPUTS_HASH;CC" "FRAGMENTS")
  set(build_dir "${arg_BUILD_DIR}")
  set(meta "${build_dir}/.uml")
  file(MAKE_DIRECTORY "${meta}")
  file(
    LOCK "${meta}/lock"
    GUARD FUNCTION
    TIMEOUT 3600
    RESULT_VARIABLE lock_error)
  if(lock_error)
    message(FATAL_ERROR "uml_add_kernel(${name}): cannot lock ${meta}/lock: ${lock_error}")
  endif()
  set(make_cmd
      "${UML_MAKE_EXECUTABLE}"
      -C
      "${arg_SOURCE_DIR}"
      O=${build_dir}
      ARCH=um
      "CC=${arg_CC}"
      "HOSTCC=${arg_CC}")

  set(previous_hash "")
  if(EXISTS "${meta}/config-inputs.sha256" AND EXISTS "${build_dir}/.config")
    file(READ "${meta}/config-inputs.sha256" previous_hash)
  endif()
  if(NOT previous_hash STREQUAL arg_INPUTS_HASH)
    # Keep a copy of hand edits (menuconfig) that the new inputs replace.
    if(EXISTS "${build_dir}/.config" AND EXISTS "${meta}/config.generated")
      file(SHA256 "${build_dir}/.config" now)
      file(SHA256 "${meta}/config.generated" generated)
      if(NOT now STREQUAL generated)
        file(COPY_FILE "${build_dir}/.config" "${build_dir}/.config.before-uml")
        message(WARNING "uml_add_kernel(${name}): CONFIG or fragments changed, so the kernel .config is "
                        "made anew; the previous one, with hand edits, is saved as ${build_dir}/.config.before-uml")
      endif()
    endif()
    file(REMOVE "${meta}/config-inputs.sha256")
    message(STATUS "Configuring UML kernel ${name} (${arg_MODE})")

    set(requested_files ${arg_FRAGMENTS})
    if(arg_MODE STREQUAL "minimal")
      # allnoconfig with every requested symbol forced: only what was asked for.
      set(allconfig "${meta}/allconfig")
      file(WRITE "${allconfig}" "")
      foreach(file IN LISTS arg_BASE_CONFIG arg_FRAGMENTS)
        file(READ "${file}" content)
        file(APPEND "${allconfig}" "${content}\n")
      endforeach()
      _uml_run_make(${name} "allnoconfig" ${make_cmd} "KCONFIG_ALLCONFIG=${allconfig}" allnoconfig)
      list(PREPEND requested_files "${arg_BASE_CONFIG}")
    else()
      if(arg_MODE STREQUAL "defconfig")
        _uml_run_make(${name} "defconfig" ${make_cmd} defconfig)
      else()
        file(COPY_FILE "${arg_BASE_CONFIG}" "${build_dir}/.config")
      endif()
      # Later assignments win in Kconfig, so appending the fragments merges them.
      foreach(file IN LISTS arg_FRAGMENTS)
        file(READ "${file}" content)
        file(APPEND "${build_dir}/.config" "\n${content}\n")
      endforeach()
      _uml_run_make(${name} "olddefconfig" ${make_cmd} olddefconfig)
    endif()
    _uml_verify_config(${name} "${build_dir}/.config" ${requested_files})
    file(COPY_FILE "${build_dir}/.config" "${meta}/config.generated")
    file(WRITE "${meta}/config-inputs.sha256" "${arg_INPUTS_HASH}")
  endif()

  # The release needs include/config/auto.conf, which syncconfig writes.
  if(NOT EXISTS "${build_dir}/include/config/auto.conf" OR "${build_dir}/.config" IS_NEWER_THAN
                                                           "${build_dir}/include/config/auto.conf")
    _uml_run_make(${name} "syncconfig" ${make_cmd} syncconfig)
  endif()
  execute_process(
    COMMAND ${make_cmd} -s kernelrelease
    OUTPUT_VARIABLE release
    OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR release STREQUAL "")
    message(FATAL_ERROR "uml_add_kernel(${name}): 'make kernelrelease' failed in ${build_dir}")
  endif()
  set(${out} "${release}" PARENT_SCOPE)
endfunction()

function(_uml_run_make name what)
  execute_process(
    COMMAND ${ARGN}
    OUTPUT_VARIABLE output
    ERROR_VARIABLE output
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "uml_add_kernel(${name}): 'make ${what}' failed (${rc}):\n${output}")
  endif()
endfunction()

# Every symbol a config file asked for must have taken that value; a symbol can
# silently stay off when its dependencies are missing (BLK_DEV_UBD without BLK_DEV).
function(_uml_verify_config name config)
  # Later files override earlier ones, as in Kconfig itself.
  set(req_syms "")
  set(req_vals "")
  set(req_origins "")
  foreach(requested_file IN LISTS ARGN)
    _uml_read_config("${requested_file}" syms vals origins STRICT)
    foreach(
      sym
      val
      origin
      IN
      ZIP_LISTS
      syms
      vals
      origins)
      list(FIND req_syms "${sym}" index)
      if(NOT index EQUAL -1)
        list(REMOVE_AT req_syms ${index})
        list(REMOVE_AT req_vals ${index})
        list(REMOVE_AT req_origins ${index})
      endif()
      list(APPEND req_syms "${sym}")
      list(APPEND req_vals "${val}")
      list(APPEND req_origins "${origin}")
    endforeach()
  endforeach()

  _uml_read_config("${config}" result_syms result_vals result_origins "")
  set(problems "")
  foreach(
    sym
    val
    origin
    IN
    ZIP_LISTS
    req_syms
    req_vals
    req_origins)
    list(FIND result_syms "${sym}" index)
    if(index EQUAL -1)
      set(actual n)
    else()
      list(GET result_vals ${index} actual)
    endif()
    if(NOT actual STREQUAL val)
      _uml_config_line(wanted "${sym}" "${val}")
      _uml_config_line(got "${sym}" "${actual}")
      string(APPEND problems "\n  ${wanted} (${origin}): the result has ${got}")
    endif()
  endforeach()
  if(problems)
    message(
      FATAL_ERROR
        "uml_add_kernel(${name}): requested config symbols did not take their value:${problems}\n"
        "Usually a dependency is missing or the symbol does not exist in this kernel version: "
        "search for it in '${name}_menuconfig' (press /) to see what it depends on, and add that " "to the fragment.")
  endif()
endfunction()

# A symbol and value as Kconfig writes them.
function(_uml_config_line out sym val)
  if(val STREQUAL "n")
    set(${out} "# CONFIG_${sym} is not set" PARENT_SCOPE)
  else()
    set(${out} "CONFIG_${sym}=${val}" PARENT_SCOPE)
  endif()
endfunction()
