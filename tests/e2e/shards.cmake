# End to end: one suite split across CI jobs, and guests as CTest resources
# (tests/projects/shards, seven boot tests on the suite's test kernel).
#   1. templates/ci/uml-ctest-shard i N, for i = 1..N: every test runs in exactly one
#      shard (the uml_build fixture in each, as CTest adds it), and junit-merge gives
#      one report with every test;
#   2. each test declares uml_cpus:1 and its guest memory; configure wrote this host's
#      resource spec; with a spec of 2 cores, ctest -j7 never runs more than 2 guests
#      (without one it does), with a spec of 400 MiB never more than 400 MiB of guests,
#      and a test that needs more than the spec has does not run.
#   -DPACKAGE_DIR -DPROJECT_DIR -DWORK_DIR -DCACHE_DIR [-DCMAKE_C_COMPILER_LAUNCHER]
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")

set(build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
configure_command(
  configure_cmd "${PROJECT_DIR}" "${build}" "-DUML_CACHE_DIR=${CACHE_DIR}" "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}"
  "-DUML_TEST_KERNEL_FRAGMENT=${PROJECT_DIR}/../common/test-kernel.config")
run(out ${configure_cmd})
run(out "${CMAKE_COMMAND}" --build "${build}")
set(tests
    shard_test_1
    shard_test_2
    shard_test_3
    shard_test_4
    shard_test_5
    shard_test_6
    shard_test_big)
set(ci "${PACKAGE_DIR}/templates/ci")

# --- 1. shards ------------------------------------------------------------------
set(count 3)
set(reports "")
set(seen "")
set(shard_figures "")
foreach(index RANGE 1 ${count})
  now(shard_start)
  execute_process(
    COMMAND "${ci}/uml-ctest-shard" ${index} ${count} --output-on-failure
    WORKING_DIRECTORY "${build}"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  elapsed(shard_seconds ${shard_start})
  list(APPEND shard_figures "shard ${index}: ${shard_seconds} s")
  message("shard ${index} of ${count} (exit ${rc}, ${shard_seconds} s):\n${out}")
  expect("shard ${index} of ${count} passes" rc EQUAL 0)
  set(report "${build}/junit-${index}-of-${count}.xml")
  expect("shard ${index} wrote its JUnit report" EXISTS "${report}")
  file(READ "${report}" xml)
  string(REGEX MATCHALL "<testcase name=\"[^\"]+\"" cases "${xml}")
  list(TRANSFORM cases REPLACE "<testcase name=\"([^\"]+)\"" "\\1")
  message(STATUS "shard ${index}: ${cases}")
  list(FIND cases uml_build build_at)
  expect("shard ${index} ran the uml_build fixture it needs" build_at GREATER -1)
  list(REMOVE_ITEM cases uml_build)
  list(APPEND seen ${cases})
  list(APPEND reports "${report}")
endforeach()
list(JOIN shard_figures ", " shard_figures)
message(STATUS "figure: ${count} shards, each with the uml_build fixture: ${shard_figures}")
foreach(test IN LISTS tests)
  set(runs ${seen})
  list(FILTER runs INCLUDE REGEX "^${test}$")
  list(LENGTH runs times)
  expect("${test} ran in exactly one of the ${count} shards (${times})" times EQUAL 1)
endforeach()
list(LENGTH seen total)
list(LENGTH tests expected_total)
expect("the shards ran ${expected_total} tests in all, no other (${total})" total EQUAL expected_total)
run(out "${ci}/junit-merge" "${build}/junit-merged.xml" ${reports})
file(READ "${build}/junit-merged.xml" merged)
math(EXPR merged_tests "${expected_total} + ${count}") # and uml_build once per shard
expect("the merged report counts every test and each shard's fixture" merged MATCHES
       "<testsuites tests=\"${merged_tests}\" failures=\"0\"")
string(REGEX MATCHALL "<testsuite " suites "${merged}")
list(LENGTH suites suite_count)
expect("the merged report keeps the ${count} shards" suite_count EQUAL count)

execute_process(
  COMMAND "${ci}/uml-ctest-shard" 4 3
  WORKING_DIRECTORY "${build}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
expect(
  "a shard that does not exist is refused (${rc}: ${out})"
  rc
  EQUAL
  2
  AND
  out
  MATCHES
  "shard 4 of 3 does not exist")
# More shards than tests: CTest's -I would select none and then run them all.
execute_process(
  COMMAND "${ci}/uml-ctest-shard" 9 9
  WORKING_DIRECTORY "${build}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
expect(
  "a shard past the last test runs nothing (${rc}: ${out})"
  rc
  EQUAL
  0
  AND
  out
  MATCHES
  "has no test"
  AND
  NOT
  out
  MATCHES
  "Start")
execute_process(
  COMMAND "${ci}/uml-ctest-shard" "" 3
  WORKING_DIRECTORY "${build}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
expect(
  "an empty index (CI_NODE_INDEX unset) is refused (${rc})"
  rc
  EQUAL
  2
  AND
  out
  MATCHES
  "must be whole numbers")
execute_process(
  COMMAND "${ci}/junit-merge" "${build}/junit-bad.xml" "${build}/no-such-report.xml"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
expect(
  "junit-merge fails on a missing report (${rc}: ${out})"
  NOT
  rc
  EQUAL
  0
  AND
  out
  MATCHES
  "no-such-report.xml")

# --- 2. resources ---------------------------------------------------------------
execute_process(COMMAND ctest --test-dir "${build}" --show-only=json-v1 OUTPUT_VARIABLE json COMMAND_ERROR_IS_FATAL ANY)
string(JSON test_count LENGTH "${json}" tests)
math(EXPR last "${test_count} - 1")
foreach(i RANGE ${last})
  string(
    JSON
    name
    GET
    "${json}"
    tests
    ${i}
    name)
  set(groups_${name} "")
  string(JSON property_count ERROR_VARIABLE no_properties LENGTH "${json}" tests ${i} properties)
  if(no_properties)
    continue()
  endif()
  math(EXPR last_property "${property_count} - 1")
  foreach(p RANGE ${last_property})
    string(
      JSON
      property_name
      GET
      "${json}"
      tests
      ${i}
      properties
      ${p}
      name)
    if(property_name STREQUAL "RESOURCE_GROUPS")
      string(
        JSON
        groups_${name}
        GET
        "${json}"
        tests
        ${i}
        properties
        ${p}
        value)
      string(REGEX REPLACE "[][\" \n]" "" groups_${name} "${groups_${name}}")
    endif()
  endforeach()
endforeach()
message(STATUS "resource groups: 1: ${groups_shard_test_1}; big: ${groups_shard_test_big}; 6: ${groups_shard_test_6}")
expect(
  "a test asks for a core and its default 128 MiB"
  groups_shard_test_1
  MATCHES
  "uml_cpus.*1.*uml_mem_mib.*128"
  AND
  NOT
  groups_shard_test_1
  MATCHES
  "320")
expect("MEM 320M asks for 320 MiB" groups_shard_test_big MATCHES "uml_mem_mib.*320")
expect("a test's own RESOURCE_GROUPS are kept" groups_shard_test_6 MATCHES "uml_mem_mib.*64")
file(READ "${build}/uml-resources.json" spec)
string(
  JSON
  spec_cpus
  GET
  "${spec}"
  local
  0
  uml_cpus
  0
  slots)
cmake_host_system_information(RESULT cores QUERY NUMBER_OF_LOGICAL_CORES)
expect("configure wrote this host's spec: ${spec_cpus} cores" spec_cpus EQUAL cores)

# Runs the tests with -j7 (and <args>) and returns ctest's exit status, and the most
# guests and guest memory that ran at once, from ctest's Start/finish lines in order.
function(run_parallel rc_out guests_out mib_out)
  execute_process(
    COMMAND ctest --test-dir "${build}" -j7 ${ARGN}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  message("$ ctest -j7 ${ARGN} (exit ${rc})\n${out}")
  string(REGEX MATCHALL "[^\n]+" lines "${out}")
  set(running 0)
  set(mib 0)
  set(most 0)
  set(most_mib 0)
  foreach(line IN LISTS lines)
    set(delta 0)
    if(line MATCHES "^ +Start +[0-9]+: ([A-Za-z0-9_]+)$")
      set(delta 1)
    elseif(line MATCHES "^ *[0-9]+/[0-9]+ Test +#[0-9]+: ([A-Za-z0-9_]+) ")
      set(delta -1)
    endif()
    if(delta EQUAL 0 OR CMAKE_MATCH_1 STREQUAL "uml_build")
      continue()
    endif()
    set(need 128)
    if(CMAKE_MATCH_1 STREQUAL "shard_test_big")
      set(need 320)
    elseif(CMAKE_MATCH_1 STREQUAL "shard_test_6")
      set(need 64)
    endif()
    math(EXPR running "${running} + ${delta}")
    math(EXPR mib "${mib} + ${delta} * ${need}")
    if(running GREATER most)
      set(most ${running})
    endif()
    if(mib GREATER most_mib)
      set(most_mib ${mib})
    endif()
  endforeach()
  set(${rc_out} ${rc} PARENT_SCOPE)
  set(${guests_out} ${most} PARENT_SCOPE)
  set(${mib_out} ${most_mib} PARENT_SCOPE)
endfunction()

# A resource spec of <cpus> cores and <mib> MiB, written by the package's script.
function(write_spec out name cpus mib)
  set(file "${WORK_DIR}/${name}.json")
  run(output
      "${CMAKE_COMMAND}"
      -DCPUS=${cpus}
      -DMEMORY_MIB=${mib}
      "-DOUTPUT=${file}"
      -P
      "${PACKAGE_DIR}/cmake/steps/resource_spec.cmake")
  set(${out} "${file}" PARENT_SCOPE)
endfunction()

run_parallel(rc guests mib)
message(STATUS "no spec: at most ${guests} guests, ${mib} MiB at once")
expect(
  "without a spec, ctest -j7 runs more than 2 guests at once (${guests})"
  rc
  EQUAL
  0
  AND
  guests
  GREATER
  2)

write_spec(spec_file two-cores 2 100000)
run_parallel(rc guests mib --resource-spec-file "${spec_file}")
message(STATUS "2 cores: at most ${guests} guests, ${mib} MiB at once")
expect(
  "with a spec of 2 cores, at most 2 guests at once (${guests})"
  rc
  EQUAL
  0
  AND
  guests
  EQUAL
  2)

write_spec(spec_file 400-mib 64 400)
run_parallel(rc guests mib --resource-spec-file "${spec_file}")
message(STATUS "400 MiB: at most ${guests} guests, ${mib} MiB at once")
expect(
  "with a spec of 400 MiB, at most 400 MiB of guests at once (${mib})"
  rc
  EQUAL
  0
  AND
  mib
  LESS_EQUAL
  400
  AND
  mib
  GREATER
  128)

write_spec(spec_file 200-mib 64 200)
execute_process(
  COMMAND ctest --test-dir "${build}" -j7 --resource-spec-file "${spec_file}" -R shard_test_big
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("$ ctest -R shard_test_big with 200 MiB (exit ${rc})\n${out}")
expect(
  "a guest larger than the spec's memory does not run"
  NOT
  rc
  EQUAL
  0
  AND
  out
  MATCHES
  "[Ii]nsufficient resources")
