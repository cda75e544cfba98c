# Functions shared by the image scripts (rootfs.cmake, modules_install.cmake).
# The including script sets UML_CONTEXT, the prefix of its error messages.

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
# <pairs> are host=guest; parent directories are made as needed.
function(debugfs_write image pairs)
  set(script "")
  set(made_dirs "")
  foreach(pair IN LISTS pairs)
    string(REGEX MATCH "^([^=]+)=(.*)$" _ "${pair}")
    set(host "${CMAKE_MATCH_1}")
    set(guest "${CMAKE_MATCH_2}")
    get_filename_component(parent "${guest}" DIRECTORY)
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
    string(APPEND script "rm ${guest}\nwrite ${host} ${guest}\nsif ${guest} uid 0\nsif ${guest} gid 0\n")
  endforeach()
  file(WRITE "${image}.debugfs" "${script}")
  execute_process(
    COMMAND "${UML_DEBUGFS}" -w -f "${image}.debugfs" "${image}"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  if(NOT rc EQUAL 0 OR out MATCHES "Could not allocate|No free space|file system full")
    fail("writing into the image failed: it is probably full; raise SIZE.\n${out}")
  endif()
endfunction()
