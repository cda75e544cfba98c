# Functions shared by the image steps (rootfs.cmake, modules_install.cmake). The
# calling step sets UML_CONTEXT, the prefix of its error messages, and UML_DEBUGFS.
include_guard(GLOBAL)

function(fail)
  list(JOIN ARGN "" text)
  message(FATAL_ERROR "${UML_CONTEXT}: ${text}")
endfunction()

# Runs a command; on failure, stops with its output.
function(run what)
  execute_process(
    COMMAND ${ARGN}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    fail("${what} failed (${rc}):\n${out}")
  endif()
endfunction()

# Writes host files into an existing image with debugfs, owned by root.
# <pairs> are host=guest; parent directories are made as needed. DIRECTORIES are
# made (if missing), SYMLINKS (link=target) made anew, EXECUTABLES get mode 0755,
# REMOVE (guest paths of files) removed.
function(debugfs_write image pairs)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "DIRECTORIES;SYMLINKS;EXECUTABLES;REMOVE")
  set(script "")
  foreach(path IN LISTS arg_REMOVE)
    string(APPEND script "rm ${path}\n")
  endforeach()
  set(made_dirs "")
  set(guests "")
  foreach(pair IN LISTS pairs arg_SYMLINKS)
    string(REGEX MATCH "^([^=]+)=(.*)$" _ "${pair}")
    if(pair IN_LIST arg_SYMLINKS)
      list(APPEND guests "${CMAKE_MATCH_1}")
    else()
      list(APPEND guests "${CMAKE_MATCH_2}")
    endif()
  endforeach()
  foreach(guest IN LISTS arg_DIRECTORIES guests)
    if(guest IN_LIST arg_DIRECTORIES)
      set(parent "${guest}")
    else()
      get_filename_component(parent "${guest}" DIRECTORY)
    endif()
    set(path "")
    string(REPLACE "/" ";" parts "${parent}")
    foreach(part IN LISTS parts)
      if(part STREQUAL "")
        continue()
      endif()
      string(APPEND path "/${part}")
      if(NOT path IN_LIST made_dirs)
        list(APPEND made_dirs "${path}")
        # Fails harmlessly when the directory exists.
        string(APPEND script "mkdir ${path}\n")
      endif()
    endforeach()
  endforeach()
  foreach(pair IN LISTS pairs)
    string(REGEX MATCH "^([^=]+)=(.*)$" _ "${pair}")
    set(host "${CMAKE_MATCH_1}")
    set(guest "${CMAKE_MATCH_2}")
    string(APPEND script "rm ${guest}\nwrite ${host} ${guest}\nsif ${guest} uid 0\nsif ${guest} gid 0\n")
  endforeach()
  foreach(pair IN LISTS arg_SYMLINKS)
    string(REGEX MATCH "^([^=]+)=(.*)$" _ "${pair}")
    string(APPEND script "rm ${CMAKE_MATCH_1}\nsymlink ${CMAKE_MATCH_1} ${CMAKE_MATCH_2}\n")
  endforeach()
  foreach(path IN LISTS arg_EXECUTABLES)
    string(APPEND script "sif ${path} mode 0100755\n")
  endforeach()
  file(WRITE "${image}.debugfs" "${script}")
  execute_process(
    COMMAND "${UML_DEBUGFS}" -w -f "${image}.debugfs" "${image}"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  file(REMOVE "${image}.debugfs")
  # debugfs exits 0 when its commands fail: its messages tell.
  if(NOT rc EQUAL 0 OR out MATCHES "Could not allocate|No free space|file system full|No space left")
    fail("writing into the image failed: it is probably full; raise SIZE.\n${out}")
  endif()
  if(out MATCHES "ext2fs_close|short write|while trying to open|Filesystem not open|Read-only file system")
    fail("writing into the image ${image} failed:\n${out}")
  endif()
endfunction()
