# benchmark.smoke: tests/benchmark/run once (--runs 1, no cold kernel builds) on
# the suite's kernel cache, so that the script keeps working. The figures are not
# judged here: timings belong to the benchmark's table, not to test verdicts.
#   PYTHON, WORK_DIR, CACHE_DIR
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/../e2e/common.cmake")

set(script "${CMAKE_CURRENT_LIST_DIR}/run")
set(json "${WORK_DIR}/smoke.json")
set(results "${WORK_DIR}/results.md")
file(REMOVE "${json}" "${results}")
execute_process(
  COMMAND "${PYTHON}" "${script}" --runs 1 --skip-cold --work-dir "${WORK_DIR}/work" --cache-dir "${CACHE_DIR}" --json
          "${json}" --results "${results}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out
  TIMEOUT 1500)
message("${out}")
expect("tests/benchmark/run measured every line it ran (exit ${rc})" rc EQUAL 0)
expect("it printed the table" out MATCHES "line +figure +runs +target +verdict")
expect("it wrote the figures as JSON" EXISTS "${json}")
file(READ "${results}" results_text)
expect(
  "it wrote the results file: the command and the table"
  results_text
  MATCHES
  "--runs 1 --skip-cold"
  AND
  results_text
  MATCHES
  "line +figure")

file(READ "${json}" figures)
string(JSON count LENGTH "${figures}" lines)
math(EXPR last "${count} - 1")
set(measured "")
foreach(index RANGE ${last})
  string(
    JSON
    key
    GET
    "${figures}"
    lines
    ${index}
    line)
  string(
    JSON
    verdict
    GET
    "${figures}"
    lines
    ${index}
    verdict)
  string(
    JSON
    value
    ERROR_VARIABLE
    no_value
    GET
    "${figures}"
    lines
    ${index}
    value)
  if(key MATCHES "^(ratio:)?(cold|warm|variant|coverage|devices|mmio)_")
    continue() # --skip-cold: no cold builds, no kernel variants, no devices kernel
  endif()
  if(verdict MATCHES "^skipped" AND key MATCHES "manual")
    # Only the manual loop may be skipped (it needs root for mount -o loop); it
    # must say why.
    expect("the manual loop's line says why it was skipped (${verdict})" verdict MATCHES "root|mount")
    continue()
  endif()
  expect(
    "line ${key} has a figure (${value})"
    no_value
    STREQUAL
    "NOTFOUND"
    AND
    value
    GREATER
    0)
  expect("line ${key} has a verdict (${verdict})" verdict MATCHES "^(met|MISSED|n/a)$")
  list(APPEND measured "${key}")
endforeach()
foreach(
  key IN
  ITEMS edit
        boot_helper
        boot_raw
        noop
        bench8_j1
        bench8_j2
        memory)
  expect("the table has the line ${key}" key IN_LIST measured)
endforeach()
