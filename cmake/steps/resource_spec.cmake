# A CTest resource specification of this host for the tests uml_add_test() adds: each
# test asks for one `uml_cpus` slot (a UML guest runs on about one host core) and
# `uml_mem_mib` slots for its guest memory (MEM, in MiB), so
# `ctest -j<many> --resource-spec-file <file>` runs no more guests than the host has
# cores and memory for.
#   cmake [-DCPUS=<n>] [-DMEMORY_MIB=<n>] -DOUTPUT=<file> -P resource_spec.cmake
# Defaults: the logical cores, and three quarters of the physical memory (the rest for
# the host, the kernel builds and the page cache).
cmake_minimum_required(VERSION 3.25)

function(uml_write_resource_spec output)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "CPUS;MEMORY_MIB" "")
  set(cpus "${arg_CPUS}")
  if(cpus STREQUAL "")
    cmake_host_system_information(RESULT cpus QUERY NUMBER_OF_LOGICAL_CORES)
  endif()
  set(memory "${arg_MEMORY_MIB}")
  if(memory STREQUAL "")
    cmake_host_system_information(RESULT total QUERY TOTAL_PHYSICAL_MEMORY)
    math(EXPR memory "${total} * 3 / 4")
  endif()
  foreach(value IN ITEMS cpus memory)
    if(NOT ${value} MATCHES "^[1-9][0-9]*$")
      message(FATAL_ERROR "uml_write_resource_spec: ${value} '${${value}}' is not a positive whole number.")
    endif()
  endforeach()
  set(json "{\n  \"version\": { \"major\": 1, \"minor\": 0 },\n  \"local\": [\n    {\n")
  string(APPEND json "      \"uml_cpus\": [ { \"id\": \"0\", \"slots\": ${cpus} } ],\n")
  string(APPEND json "      \"uml_mem_mib\": [ { \"id\": \"0\", \"slots\": ${memory} } ]\n    }\n  ]\n}\n")
  file(WRITE "${output}.tmp" "${json}")
  file(RENAME "${output}.tmp" "${output}")
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  if(NOT OUTPUT)
    message(FATAL_ERROR "usage: cmake [-DCPUS=<n>] [-DMEMORY_MIB=<n>] -DOUTPUT=<file> -P ${CMAKE_CURRENT_LIST_FILE}")
  endif()
  uml_write_resource_spec("${OUTPUT}" CPUS "${CPUS}" MEMORY_MIB "${MEMORY_MIB}")
  message(STATUS "Wrote ${OUTPUT}: ctest --resource-spec-file ${OUTPUT} -j<n>")
endif()
