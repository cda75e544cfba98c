include_guard(GLOBAL)

# Host programs the package runs, each with the Debian package that provides it.
# One table, so the preflight error can name the package for every missing tool.
# Cached: the package may be loaded in a subdirectory and used in its parent.
set(_UML_TOOL_PACKAGE_make make CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_gcc gcc CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_flex flex CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_bison bison CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_bc bc CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_perl perl CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_tar tar CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_xz xz-utils CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_gzip gzip CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_bzip2 bzip2 CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_depmod kmod CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_mke2fs e2fsprogs CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_debugfs e2fsprogs CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_dumpe2fs e2fsprogs CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_resize2fs e2fsprogs CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_fakeroot fakeroot CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_readelf binutils CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_busybox busybox-static CACHE INTERNAL "")
set(_UML_TOOL_PACKAGE_mmdebstrap mmdebstrap CACHE INTERNAL "")

#[=======================================================================[.md
`_uml_require_host_tools(<tool>...)`: finds each tool once (cache variable
`UML_<TOOL>_EXECUTABLE`, so a user can point at another binary) and stops with
one error that lists every missing tool and the Debian package to install.
#]=======================================================================]
function(_uml_require_host_tools)
  set(missing_lines "")
  set(missing_packages "")
  foreach(tool IN LISTS ARGN)
    string(TOUPPER "${tool}" upper)
    set(var UML_${upper}_EXECUTABLE)
    # PATH first (what the user's shell runs), then the sbin directories a
    # user's PATH may lack (mke2fs, depmod).
    find_program(
      ${var}
      NAMES ${tool}
      PATHS /usr/sbin /sbin
      NO_CMAKE_SYSTEM_PATH NO_CMAKE_INSTALL_PREFIX
      DOC "Host program '${tool}' used by UserModeLinux")
    mark_as_advanced(${var})
    if(NOT ${var})
      # Forget the NOTFOUND result so installing the tool and re-running cmake works.
      unset(${var} CACHE)
      set(package "${_UML_TOOL_PACKAGE_${tool}}")
      if(package STREQUAL "")
        set(package "${tool}")
      endif()
      string(APPEND missing_lines "\n  ${tool} (Debian package: ${package})")
      list(APPEND missing_packages ${package})
    endif()
  endforeach()
  if(missing_lines)
    list(REMOVE_DUPLICATES missing_packages)
    list(JOIN missing_packages " " packages)
    message(
      FATAL_ERROR
        "UserModeLinux: missing host tools:${missing_lines}\n" "Install them with: apt-get install ${packages}\n"
        "or set UML_<TOOL>_EXECUTABLE to the program's path.")
  endif()
endfunction()
