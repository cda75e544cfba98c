# UserModeLinux: build a User-Mode Linux kernel and out-of-tree modules as
# ordinary CMake targets. Included by UserModeLinuxConfig.cmake (installed
# package) or by the project's CMakeLists.txt (add_subdirectory/FetchContent).
include_guard(GLOBAL)
cmake_minimum_required(VERSION 3.25)

# Recorded at include time: inside a function CMAKE_CURRENT_LIST_DIR is the
# caller's directory, not ours.
get_filename_component(_UML_PACKAGE_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(_UML_PACKAGE_ROOT "${_UML_PACKAGE_ROOT}" CACHE INTERNAL
                                                   "Root of the UserModeLinux package (cmake/, helpers/, templates/)")

# Unknown or misspelt keywords are errors, never silently ignored.
macro(_uml_reject_unparsed command prefix)
  if(${prefix}_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "${command}: unknown argument(s): ${${prefix}_UNPARSED_ARGUMENTS}")
  endif()
endmacro()

function(_uml_check_target_name command name)
  # A keyword in first place means the name was left out.
  if(name STREQUAL ""
     OR name
        MATCHES
        "^(SOURCE_DIR|SOURCE_ARCHIVE|CONFIG|CONFIG_FRAGMENTS|KERNEL|SOURCES|KBUILD_DIR|TYPE|FROM|ROOTFS|MODULES|EXCLUDE_FROM_ALL)$"
  )
    message(FATAL_ERROR "${command}: the first argument must be the new target's name (got '${name}').")
  endif()
  if(TARGET "${name}")
    message(FATAL_ERROR "${command}(${name}): a target named '${name}' already exists.")
  endif()
endfunction()

# <target> given as <keyword> must be a target made by <maker>, which sets
# <property>; returns that property's value.
function(
  _uml_target_property
  out
  context
  keyword
  target
  property
  maker)
  if(NOT TARGET "${target}")
    message(FATAL_ERROR "${context}: ${keyword} '${target}' is not a target; define it with ${maker} before "
                        "using it.")
  endif()
  get_target_property(value "${target}" ${property})
  if(NOT value)
    message(FATAL_ERROR "${context}: ${keyword} '${target}' was not made by ${maker}.")
  endif()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# add_custom_target(<name> [ALL] <args>...): in ALL unless <exclude_from_all>.
function(_uml_add_custom_target name exclude_from_all)
  set(all ALL)
  if(exclude_from_all)
    set(all "")
  endif()
  add_custom_target(${name} ${all} ${ARGN})
endfunction()

include("${CMAKE_CURRENT_LIST_DIR}/UmlKernel.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/UmlModule.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/UmlRootfs.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/UmlRun.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/UmlKunit.cmake")
