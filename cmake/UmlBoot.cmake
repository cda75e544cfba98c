# One description per boot. uml_add_run(), uml_add_test() and
# uml_discover_kunit_tests() keep their boot settings as properties UML_BOOT_<KEYWORD>
# of the run target, the test or the discovery target; at the end of the directory
# (so a set_property() after the call counts) each boot's description is checked and
# written to <build>/_uml/boot/<name>.boot, the file `uml-helper <command> --boot`
# reads (src/boot_file.hpp): the targets, tests, gdb wrappers and scripts all start
# the same boot from it.
include_guard(GLOBAL)

# The keywords every boot has, each a property UML_BOOT_<KEYWORD>. Cached, as every
# variable the package sets when it is loaded: it may be loaded in a subdirectory
# (add_subdirectory) and used in its parent.
set(_UML_BOOT_KEYWORDS KERNEL;ROOTFS;MODULES;MEM;HOSTFS;ARGS;ENV;TIME_TRAVEL;DEVICES
    CACHE INTERNAL "Keywords of every UserModeLinux boot")

# Stores the caller's arg_<KEYWORD> of every boot keyword and of ARGN as properties of
# <scope> <name> (TARGET x or TEST x), and schedules the description.
macro(_uml_boot_store kind scope name)
  foreach(_uml_kw IN LISTS _UML_BOOT_KEYWORDS ITEMS ${ARGN})
    set_property(${scope} "${name}" PROPERTY UML_BOOT_${_uml_kw} "${arg_${_uml_kw}}")
  endforeach()
  set_property(DIRECTORY APPEND PROPERTY _UML_BOOTS "${kind}|${name}")
  get_property(_uml_scheduled DIRECTORY PROPERTY _UML_BOOTS_SCHEDULED)
  if(NOT _uml_scheduled)
    set_property(DIRECTORY PROPERTY _UML_BOOTS_SCHEDULED TRUE)
    cmake_language(DEFER CALL _uml_write_boots)
  endif()
endmacro()

# A line of a description: key=value with backslashes, newlines and carriage returns
# escaped (src/boot_file.hpp).
function(_uml_boot_line out key value)
  string(REPLACE "\\" "\\\\" value "${value}")
  string(REPLACE "\n" "\\n" value "${value}")
  string(REPLACE "\r" "\\r" value "${value}")
  set(${out} "${${out}}${key}=${value}\n" PARENT_SCOPE)
endfunction()

# A COMMAND or ENV word as a list element that survives CMake's list handling: a list
# splits "a;b", merges "[", "x", "]" into one element and eats a trailing backslash
# with the ";" after it. So uml_add_test() and uml_add_run() store each word as written
# (from ARGV<n>, not cmake_parse_arguments' list) with "%", ";", "\", "[" and "]"
# percent-encoded, and an empty word as "%"; _uml_decode_word() undoes it.
function(_uml_encode_word out word)
  if(word STREQUAL "")
    set(${out} "%" PARENT_SCOPE)
    return()
  endif()
  string(REPLACE "%" "%25" word "${word}")
  string(REPLACE ";" "%3B" word "${word}")
  string(REPLACE "\\" "%5C" word "${word}")
  string(REPLACE "[" "%5B" word "${word}")
  string(REPLACE "]" "%5D" word "${word}")
  set(${out} "${word}" PARENT_SCOPE)
endfunction()

# The word a list element of UML_BOOT_COMMAND or UML_BOOT_ENV stands for; an element
# set by hand without escapes is itself.
function(_uml_decode_word out word)
  if(word STREQUAL "%")
    set(${out} "" PARENT_SCOPE)
    return()
  endif()
  string(REPLACE "%3B" ";" word "${word}")
  string(REPLACE "%5C" "\\" word "${word}")
  string(REPLACE "%5B" "[" word "${word}")
  string(REPLACE "%5D" "]" word "${word}")
  string(REPLACE "%25" "%" word "${word}") # last: "%253B" is "%3B"
  set(${out} "${word}" PARENT_SCOPE)
endfunction()

# In a function with keywords <keywords_var> (a list variable), sets encoded_<KW> to the
# words of each keyword KW of <encoded> as _uml_encode_word() gives them, from the
# function's ARGV<n> (<argc> is the function's ARGC). A macro, so it reads the caller's
# ARGV<n>.
macro(_uml_encode_keyword_words argc keywords_var)
  set(_uml_current "")
  foreach(_uml_kw IN ITEMS ${ARGN})
    set(encoded_${_uml_kw} "")
  endforeach()
  if(${argc} GREATER 0)
    math(EXPR _uml_last "${argc} - 1")
    foreach(_uml_i RANGE 0 ${_uml_last})
      set(_uml_word "${ARGV${_uml_i}}")
      if(_uml_word IN_LIST ${keywords_var})
        set(_uml_current "${_uml_word}")
      elseif(_uml_current IN_LIST ARGN)
        _uml_encode_word(_uml_word "${_uml_word}")
        list(APPEND encoded_${_uml_current} "${_uml_word}")
      endif()
    endforeach()
  endif()
endmacro()

# A path a boot puts on UML's command line (the work dir with the COW files and uml_dir,
# the image, the hostfs root): UML's kernel command line splits at spaces and
# ubd0=<cow>,<image> at commas, so such a path would make every boot fail at run time.
function(_uml_check_boot_path context what path)
  if(path MATCHES "[ \t\n,\"]")
    message(
      FATAL_ERROR
        "${context}: ${what} '${path}' contains a space, comma or quote, which UML's "
        "command line cannot carry (it splits at spaces; ubd0=<cow>,<image> at commas): every "
        "boot would fail. Use a path without them (e.g. configure in a build directory " "such as /tmp/build).")
  endif()
endfunction()

# The lines every boot shares, checked: kernel, image, modules, memory, hostfs,
# kernel arguments, environment, time travel. Also returns the targets the boot needs
# (<depends_out>), the module targets (<modules_out>) and the directories of the
# project's .ko files, for gdb (<dirs_out>).
function(
  _uml_boot_common
  text_out
  depends_out
  modules_out
  dirs_out
  context
  scope
  name)
  foreach(kw IN LISTS _UML_BOOT_KEYWORDS)
    get_property(${kw} ${scope} "${name}" PROPERTY UML_BOOT_${kw})
  endforeach()
  foreach(kw IN ITEMS KERNEL ROOTFS)
    if(NOT ${kw})
      message(FATAL_ERROR "${context}: ${kw} is required.")
    endif()
  endforeach()
  if(NOT TARGET UserModeLinux::helper)
    message(FATAL_ERROR "${context}: the uml-helper executable is not available (UserModeLinux::helper).")
  endif()
  _uml_target_property(kernel_image "${context}" KERNEL "${KERNEL}" UML_KERNEL_IMAGE "uml_add_kernel()")
  _uml_target_property(image "${context}" ROOTFS "${ROOTFS}" UML_ROOTFS_IMAGE
                       "uml_add_rootfs() or uml_modules_install()")
  get_target_property(image_kernel ${ROOTFS} UML_ROOTFS_KERNEL)
  if(image_kernel AND NOT image_kernel STREQUAL KERNEL)
    message(FATAL_ERROR "${context}: ROOTFS '${ROOTFS}' holds modules for kernel '${image_kernel}', not '${KERNEL}'.")
  endif()
  _uml_check_boot_path("${context}" "the build directory" "${CMAKE_CURRENT_BINARY_DIR}")
  _uml_check_boot_path("${context}" "the image of ROOTFS '${ROOTFS}'" "${image}")
  set(text "")
  _uml_boot_line(text kernel "${kernel_image}")
  _uml_boot_line(text rootfs "${image}")
  set(modules "")
  foreach(module IN LISTS MODULES)
    if(TARGET "${module}")
      get_target_property(module_kernel ${module} UML_MODULE_KERNEL)
      if(NOT module_kernel)
        message(FATAL_ERROR "${context}: MODULES '${module}' is a target but not a module.")
      endif()
      if(NOT image_kernel)
        message(FATAL_ERROR "${context}: module '${module}' is not in ROOTFS '${ROOTFS}'; install it with "
                            "uml_modules_install() and pass that target as ROOTFS.")
      endif()
      list(APPEND modules "${module}")
      get_target_property(names ${module} UML_MODULE_NAMES)
      if(names)
        foreach(ko IN LISTS names)
          _uml_boot_line(text module "${ko}")
        endforeach()
      else()
        # A Kbuild directory whose modules are known once it is built.
        get_target_property(order ${module} UML_MODULE_ORDER)
        _uml_boot_line(text modules-from "${order}")
      endif()
    elseif(module MATCHES "^[A-Za-z0-9_-]+$")
      _uml_boot_line(text module "${module}") # a kernel module by name, e.g. crc_ccitt
    else()
      message(FATAL_ERROR "${context}: MODULES '${module}' is neither a module target nor a module name.")
    endif()
  endforeach()
  # The debug targets also want the symbols of what uml_modules_install() put in.
  get_target_property(installed ${ROOTFS} UML_ROOTFS_MODULES)
  foreach(module IN LISTS installed)
    if(TARGET "${module}")
      list(APPEND modules "${module}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES modules)
  set(dirs "")
  foreach(module IN LISTS modules)
    get_target_property(dir ${module} UML_MODULE_BUILD_DIR)
    list(APPEND dirs "${dir}")
  endforeach()
  if(NOT MEM STREQUAL "")
    if(NOT MEM MATCHES "^[1-9][0-9]*[KMGkmg]?$")
      message(FATAL_ERROR "${context}: MEM '${MEM}' is not a size such as 256M, 1G or 65536K.")
    endif()
    _uml_boot_line(text mem "${MEM}")
  endif()
  if(NOT HOSTFS STREQUAL "")
    get_filename_component(hostfs "${HOSTFS}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    _uml_check_boot_path("${context}" "HOSTFS" "${hostfs}")
    _uml_boot_line(text hostfs "${hostfs}")
  endif()
  foreach(arg IN LISTS ARGS)
    _uml_boot_line(text append "${arg}")
  endforeach()
  foreach(pair IN LISTS ENV)
    _uml_decode_word(pair "${pair}")
    if(NOT pair MATCHES "^[A-Za-z_][A-Za-z0-9_]*=")
      message(FATAL_ERROR "${context}: ENV entry '${pair}' must be KEY=VALUE.")
    endif()
    _uml_boot_line(text env "${pair}")
  endforeach()
  if(TIME_TRAVEL)
    _uml_boot_line(text time-travel 1)
  endif()
  _uml_boot_devices(device_lines device_targets "${context}" "${KERNEL}" "${DEVICES}")
  _uml_boot_devices_file(include "${name}" "${device_lines}")
  string(APPEND text "${include}")
  set(${text_out} "${text}" PARENT_SCOPE)
  set(${depends_out} ${KERNEL} ${ROOTFS} ${device_targets} PARENT_SCOPE)
  set(${modules_out} "${modules}" PARENT_SCOPE)
  set(${dirs_out} "${dirs}" PARENT_SCOPE)
endfunction()

# The gdb lines of a description: uml-gdb.py, UML_GDB_EXECUTABLE, the modules' directories.
function(_uml_boot_gdb_lines text_out dirs)
  set(text "")
  _uml_boot_line(text gdb-script "${_UML_PACKAGE_ROOT}/templates/gdb/uml-gdb.py")
  if(UML_GDB_EXECUTABLE)
    _uml_boot_line(text gdb "${UML_GDB_EXECUTABLE}")
  endif()
  foreach(dir IN LISTS dirs)
    _uml_boot_line(text module-dir "${dir}")
  endforeach()
  set(${text_out} "${text}" PARENT_SCOPE)
endfunction()

# The path of a boot's description.
function(_uml_boot_file out name)
  set(${out} "${CMAKE_CURRENT_BINARY_DIR}/_uml/boot/${name}.boot" PARENT_SCOPE)
endfunction()

function(_uml_write_boots)
  get_property(boots DIRECTORY PROPERTY _UML_BOOTS)
  foreach(entry IN LISTS boots)
    string(REGEX MATCH "^([a-z]+)\\|(.*)$" _ "${entry}")
    set(kind "${CMAKE_MATCH_1}")
    set(name "${CMAKE_MATCH_2}")
    if(kind STREQUAL "run")
      _uml_write_run_boot("${name}")
    elseif(kind STREQUAL "test")
      _uml_write_test_boot("${name}")
    else()
      _uml_write_kunit_boots("${name}")
    endif()
  endforeach()
endfunction()

# uml_add_run(): the run's description and its debug target's, and what depends on them.
function(_uml_write_run_boot name)
  set(context "uml_add_run(${name})")
  _uml_boot_common(
    common
    depends
    modules
    dirs
    "${context}"
    TARGET
    "${name}")
  _uml_boot_gdb_lines(gdb "${dirs}")
  get_target_property(debug_name ${name} UML_DEBUG_TARGET)
  get_target_property(persist ${name} UML_BOOT_PERSIST)
  set(header "# Written by ${context}: what its targets boot (uml-helper run|debug|attach --boot <this file>).\n")

  set(text "${header}${common}")
  _uml_boot_line(text work-dir "${CMAKE_CURRENT_BINARY_DIR}/_uml/boot/${name}")
  if(persist)
    get_filename_component(persist "${persist}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
    _uml_boot_line(text persist "${persist}")
  endif()
  _uml_boot_file(file "${name}")
  _uml_write_if_different("${file}" "${text}${gdb}")
  add_dependencies(${name} ${depends})

  # The debug boot: the same, in a work directory of its own (never PERSIST: a running
  # <name> may have that COW file open).
  set(text "${header}${common}")
  _uml_boot_line(text work-dir "${CMAKE_CURRENT_BINARY_DIR}/_uml/boot/${debug_name}")
  _uml_boot_file(file "${debug_name}")
  _uml_write_if_different("${file}" "${text}${gdb}")
  # The module targets too, so the symbols are those of the latest build.
  add_dependencies(${debug_name} ${depends} ${modules})

  # A fixed path to the kernel (its build dir may be keyed by a hash), for an IDE's
  # "program" setting.
  get_target_property(kernel ${name} UML_BOOT_KERNEL)
  get_target_property(kernel_image ${kernel} UML_KERNEL_IMAGE)
  file(CREATE_LINK "${kernel_image}" "${CMAKE_CURRENT_BINARY_DIR}/${debug_name}-kernel" SYMBOLIC)
  # For an IDE's own gdb attaching to that UML: what the attach target sets up.
  get_target_property(attach_name ${name} UML_ATTACH_TARGET)
  set(setup "# Generated by ${context}: gdb setup for attaching to the UML '${name}' runs; its pid is in\n")
  string(APPEND setup "# ${CMAKE_CURRENT_BINARY_DIR}/_uml/boot/${name}/instance.\n"
         "source ${_UML_PACKAGE_ROOT}/templates/gdb/uml-gdb.py\n")
  foreach(dir IN LISTS dirs)
    string(APPEND setup "uml-module-path \"${dir}\"\n")
  endforeach()
  _uml_write_if_different("${CMAKE_CURRENT_BINARY_DIR}/${attach_name}.gdb" "${setup}")
endfunction()

# EXPECT_FINDING: known kinds, each one the kernel's configuration can report.
function(_uml_check_expected_findings context kernel kinds)
  # <kind>|<the kernel symbol that makes such reports>|<the CHECKS name that sets it>
  set(table
      kasan|KASAN|kasan
      ubsan|UBSAN|ubsan
      lockdep|PROVE_LOCKING|lockdep
      atomic-sleep|DEBUG_ATOMIC_SLEEP|atomic-sleep
      refcount||
      list|DEBUG_LIST|list
      debug-objects|DEBUG_OBJECTS|debug-objects
      slab|SLUB_DEBUG|slab
      fortify|FORTIFY_SOURCE|fortify
      kmemleak|DEBUG_KMEMLEAK|kmemleak)
  get_target_property(config ${kernel} UML_KERNEL_CONFIG)
  set(known "")
  foreach(row IN LISTS table)
    string(REPLACE "|" ";" row "${row}")
    list(GET row 0 kind)
    list(GET row 1 symbol_${kind})
    list(GET row 2 check_${kind})
    list(APPEND known ${kind})
  endforeach()
  foreach(kind IN LISTS kinds)
    if(NOT kind IN_LIST known)
      list(JOIN known ", " known_text)
      message(FATAL_ERROR "${context}: unknown EXPECT_FINDING kind '${kind}'; known kinds: ${known_text}.")
    endif()
    if(symbol_${kind})
      _uml_config_value(value "${config}" ${symbol_${kind}})
      if(NOT value STREQUAL "y")
        message(FATAL_ERROR "${context}: EXPECT_FINDING ${kind} needs a kernel with CONFIG_${symbol_${kind}}=y, and "
                            "kernel '${kernel}' has not got it: add CHECKS ${check_${kind}} to its uml_add_kernel().")
      endif()
    endif()
  endforeach()
endfunction()

# uml_add_test(): the test's description, and the CTest properties that follow from it.
function(_uml_write_test_boot name)
  set(context "uml_add_test(${name})")
  _uml_boot_common(
    text
    depends
    modules
    dirs
    "${context}"
    TEST
    "${name}")
  foreach(kw IN ITEMS COMMAND TIMEOUT KUNIT FAIL_ON_WARN EXPECT_FINDING NO_UNLOAD_CHECK)
    get_property(${kw} TEST "${name}" PROPERTY UML_BOOT_${kw})
  endforeach()
  if(NOT TIMEOUT MATCHES "^[0-9]+$")
    message(FATAL_ERROR "${context}: TIMEOUT '${TIMEOUT}' must be whole seconds (0: none).")
  endif()
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/_uml")
  _uml_boot_line(text work-dir "${dir}/boot/${name}")
  _uml_boot_line(text name "${name}")
  _uml_boot_line(text timeout "${TIMEOUT}")
  _uml_boot_line(text log "${dir}/tests/${name}.log")
  if(FAIL_ON_WARN)
    _uml_boot_line(text fail-on-warn 1)
  endif()
  if(NO_UNLOAD_CHECK)
    _uml_boot_line(text unload-check 0)
  endif()
  get_property(kernel TEST "${name}" PROPERTY UML_BOOT_KERNEL)
  _uml_check_expected_findings("${context}" "${kernel}" "${EXPECT_FINDING}")
  _uml_test_coverage_dir(coverage_dir "${kernel}" "${name}")
  if(coverage_dir)
    _uml_boot_line(text coverage-dir "${coverage_dir}")
  endif()
  foreach(kind IN LISTS EXPECT_FINDING)
    _uml_boot_line(text expect-finding "${kind}")
  endforeach()
  if(KUNIT)
    _uml_boot_line(text kunit 1)
    _uml_boot_line(text junit "${dir}/tests/${name}.junit.xml")
  else()
    # One argument is a shell command line; several are a command and its arguments.
    list(LENGTH COMMAND count)
    if(count EQUAL 1)
      # list(GET), not "${COMMAND}": the latter keeps the "\;" of a command line such as
      # "echo a; sleep 1" set by hand.
      list(GET COMMAND 0 command_line)
      _uml_decode_word(command_line "${command_line}")
      _uml_boot_line(text command "${command_line}")
    else()
      foreach(arg IN LISTS COMMAND)
        _uml_decode_word(arg "${arg}")
        _uml_boot_line(text argv "${arg}")
      endforeach()
    endif()
  endif()
  _uml_boot_gdb_lines(gdb "${dirs}")
  _uml_boot_file(file "${name}")
  _uml_write_if_different("${file}"
                          "# Written by ${context}: its boot (uml-helper test --boot <this file>).\n${text}${gdb}")
  # CTest's own timeout is a backstop: the helper stops the guest first and reports
  # the timeout itself. TIMEOUT 0 means none, so CTest's default must not apply either.
  if(TIMEOUT EQUAL 0)
    set(ctest_timeout 31536000)
  else()
    math(EXPR ctest_timeout "${TIMEOUT} + 30")
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ctest_timeout})
  _uml_test_resources("${name}")
endfunction()

# The CTest resources a boot uses (steps/resource_spec.cmake): one core and its guest
# memory <mem> (empty: the helper's default) in MiB, as RESOURCE_GROUPS; empty when
# UML_TEST_RESOURCES is off. CTest ignores them unless run with --resource-spec-file;
# the project's spec of this host is written once, to <build>/uml-resources.json.
function(_uml_resource_groups out mem)
  set(${out} "" PARENT_SCOPE)
  if(NOT UML_TEST_RESOURCES)
    return()
  endif()
  if(NOT mem MATCHES "^([0-9]+)([KMGkmg]?)$")
    set(mem "${_UML_DEFAULT_GUEST_MEM}")
  endif()
  string(REGEX MATCH "^([0-9]+)([KMGkmg]?)$" _ "${mem}")
  set(number "${CMAKE_MATCH_1}")
  string(TOUPPER "${CMAKE_MATCH_2}" unit)
  if(unit STREQUAL "G")
    math(EXPR mib "${number} * 1024")
  elseif(unit STREQUAL "M")
    set(mib "${number}")
  elseif(unit STREQUAL "K")
    math(EXPR mib "(${number} + 1023) / 1024")
  else()
    math(EXPR mib "(${number} + 1048575) / 1048576")
  endif()
  set(${out} "uml_cpus:1,uml_mem_mib:${mib}" PARENT_SCOPE)
  get_property(written GLOBAL PROPERTY _UML_RESOURCE_SPEC_WRITTEN)
  if(NOT written)
    set_property(GLOBAL PROPERTY _UML_RESOURCE_SPEC_WRITTEN TRUE)
    include("${_UML_PACKAGE_ROOT}/cmake/steps/resource_spec.cmake")
    uml_write_resource_spec("${CMAKE_BINARY_DIR}/uml-resources.json")
  endif()
endfunction()

# A test's resources, unless it has RESOURCE_GROUPS of its own.
function(_uml_test_resources name)
  get_property(
    own
    TEST "${name}"
    PROPERTY RESOURCE_GROUPS
    SET)
  if(own)
    return()
  endif()
  get_property(mem TEST "${name}" PROPERTY UML_BOOT_MEM)
  _uml_resource_groups(groups "${mem}")
  if(groups)
    set_tests_properties(${name} PROPERTIES RESOURCE_GROUPS "${groups}")
  endif()
endfunction()
