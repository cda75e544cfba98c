# Build step of target uml_coverage (cmake/UmlCoverage.cmake): merges the gcov data the
# tests saved (each test's last run: <root>/<test>/status and its .gcda/.gcno files,
# written by uml-helper --coverage-dir) into an HTML report, a Cobertura XML file and a
# one-line summary, with gcovr.
#
#   uml_step_coverage([KERNELS <kernel>...] [TESTS <dir>...] [KUNIT <root>|<prefix>|<case list>...]
#     SOURCE_DIRS <dir>... GCOVR <gcovr> GCOV <gcov> GCOV_NAME <name> OUTPUT_DIR <dir>)
include_guard(GLOBAL)

# The deepest directory holding every one of <dirs>.
function(_uml_common_dir out)
  set(common "")
  foreach(dir IN LISTS ARGN)
    if(common STREQUAL "")
      set(common "${dir}")
    endif()
    while(NOT common STREQUAL "/")
      cmake_path(IS_PREFIX common "${dir}" NORMALIZE inside)
      if(inside)
        break()
      endif()
      get_filename_component(common "${common}" DIRECTORY)
    endwhile()
  endforeach()
  set(${out} "${common}" PARENT_SCOPE)
endfunction()

function(_uml_regex_escape out text)
  string(REGEX REPLACE "([][+.*()^$?|\\\\{}])" "\\\\\\1" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

function(uml_step_coverage)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "GCOVR;GCOV;GCOV_NAME;OUTPUT_DIR" "KERNELS;TESTS;KUNIT;SOURCE_DIRS")
  if(NOT arg_KERNELS)
    message(
      FATAL_ERROR
        "uml_coverage: no kernel of this project is built with coverage (CONFIG_GCOV_KERNEL), so no "
        "test can collect any: configure with -DUML_COVERAGE=ON, or add COVERAGE to "
        "uml_add_kernel(); then build, run ctest, and build uml_coverage.")
  endif()
  if(NOT arg_SOURCE_DIRS)
    list(JOIN arg_KERNELS ", " kernels)
    message(FATAL_ERROR "uml_coverage: no module of this project is built against the coverage kernel(s) ${kernels}.")
  endif()
  if(NOT arg_GCOVR)
    message(FATAL_ERROR "uml_coverage: gcovr not found: install it (apt-get install gcovr), then build uml_coverage "
                        "again (or set UML_GCOVR_EXECUTABLE).")
  endif()
  if(NOT arg_GCOV)
    message(FATAL_ERROR "uml_coverage: ${arg_GCOV_NAME} not found: it comes with the compiler the modules were built "
                        "with (apt-get install gcc).")
  endif()

  # The tests the project has now (a removed test's data is not read): those of
  # uml_add_test(), and the KUnit cases the last discovery listed.
  set(tests ${arg_TESTS})
  foreach(entry IN LISTS arg_KUNIT)
    string(REPLACE "|" ";" entry "${entry}")
    list(GET entry 0 root)
    list(GET entry 1 prefix)
    list(GET entry 2 case_list)
    if(EXISTS "${case_list}")
      file(STRINGS "${case_list}" cases REGEX "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$")
      foreach(case IN LISTS cases)
        list(APPEND tests "${root}/${prefix}${case}")
      endforeach()
    endif()
  endforeach()

  set(good "")
  set(good_dirs "")
  set(not_run "")
  set(missing "")
  set(stale "")
  set(no_gcov "")
  set(empty "")
  foreach(dir IN LISTS tests)
    get_filename_component(test "${dir}" NAME)
    if(NOT EXISTS "${dir}/status")
      list(APPEND not_run "${test}")
      continue()
    endif()
    # The helper's status: "saved N" and the .gcda files it kept, one a line.
    file(STRINGS "${dir}/status" status)
    list(POP_FRONT status first)
    if(first MATCHES "^saved ([0-9]+)$")
      if(CMAKE_MATCH_1 EQUAL 0)
        list(APPEND empty "${test}")
        continue()
      endif()
      # Data of an older build (the module was rebuilt since the test ran) would be
      # read against the new sources: left out.
      set(current TRUE)
      foreach(data IN LISTS status)
        string(REGEX REPLACE "\\.gcda$" ".gcno" note "${data}")
        set(build_note "/${note}")
        if(NOT EXISTS "${dir}/${data}" OR NOT EXISTS "${dir}/${note}" OR NOT EXISTS "${build_note}")
          set(current FALSE)
          break()
        endif()
        file(SHA256 "${dir}/${note}" saved_hash)
        file(SHA256 "${build_note}" build_hash)
        if(NOT saved_hash STREQUAL build_hash)
          set(current FALSE)
          break()
        endif()
      endforeach()
      if(current)
        list(APPEND good "${test}")
        list(APPEND good_dirs "${dir}")
      else()
        list(APPEND stale "${test}")
      endif()
    elseif(first STREQUAL "no-gcov")
      list(APPEND no_gcov "${test}")
    else()
      string(REGEX REPLACE "^missing: " "" why "${first}")
      list(APPEND missing "${test} (${why})")
    endif()
  endforeach()

  set(notes "")
  foreach(kind IN ITEMS missing stale no_gcov empty not_run)
    if(${kind})
      set(text_missing "no data from")
      set(text_stale "run against an older build of the modules (run ctest again)")
      set(text_no_gcov "booted a kernel without gcov")
      set(text_empty "loaded no module of the project")
      set(text_not_run "not run yet")
      set(separator ", ")
      if(kind STREQUAL "missing")
        set(separator "; ")
      endif()
      list(JOIN ${kind} "${separator}" names)
      list(APPEND notes "${text_${kind}}: ${names}")
    endif()
  endforeach()
  list(JOIN notes "\n  " notes_text)
  if(NOT good)
    if(NOT tests)
      list(JOIN arg_KERNELS ", " kernels)
      set(why "no test boots the coverage kernel(s) ${kernels}")
    else()
      set(why "no test has usable data")
    endif()
    message(FATAL_ERROR "uml_coverage: no coverage data to report: ${why}:\n  ${notes_text}")
  endif()
  if(notes)
    message(WARNING "uml_coverage: the report leaves out tests without usable data:\n  ${notes_text}")
  endif()

  set(filters "")
  foreach(dir IN LISTS arg_SOURCE_DIRS)
    file(REAL_PATH "${dir}" dir)
    _uml_regex_escape(escaped "${dir}/")
    # An absolute filter: gcovr anchors it and compares real paths (a leading ^ would
    # make it relative to the working directory).
    list(APPEND filters --filter "${escaped}")
    list(APPEND real_dirs "${dir}")
  endforeach()
  _uml_common_dir(root ${real_dirs})
  # The output directory is replaced only when it is the report's own (its marker).
  set(out "${arg_OUTPUT_DIR}")
  set(marker "${out}/.uml-coverage-report")
  if(EXISTS "${out}" AND NOT EXISTS "${marker}")
    file(GLOB entries "${out}/*")
    if(entries)
      message(FATAL_ERROR "uml_coverage: ${out} exists and is not a report of uml_coverage's: move it away (the report "
                          "replaces that directory's contents).")
    endif()
  endif()
  file(REMOVE_RECURSE "${out}")
  file(MAKE_DIRECTORY "${out}")
  file(WRITE "${marker}" "uml_coverage replaces this directory's contents at every build.\n")
  set(gcov_arg --gcov-executable "${arg_GCOV}")
  # gcov names the sources by the module build's links to them: the data first, then the
  # real paths, then the reports. gcovr runs gcov in its --root, which must not be the
  # sources (gcov writes its files there): the output directory.
  _uml_gcovr(
    "reading the tests' data"
    "${out}"
    "${arg_GCOVR}"
    ${gcov_arg}
    --gcov-ignore-parse-errors
    --root
    "${out}"
    ${filters}
    --json
    "${out}/tests.json"
    ${good_dirs})
  file(READ "${out}/tests.json" json)
  string(JSON count LENGTH "${json}" files)
  if(count EQUAL 0)
    list(JOIN real_dirs ", " dirs_text)
    message(FATAL_ERROR "uml_coverage: the data of ${good} holds no line of the project's sources (${dirs_text}).")
  endif()
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(
      JSON
      file
      GET
      "${json}"
      files
      ${i}
      file)
    if(NOT IS_ABSOLUTE "${file}")
      set(file "${out}/${file}")
    endif()
    file(REAL_PATH "${file}" file)
    _uml_json_quote(quoted "${file}")
    string(
      JSON
      json
      SET
      "${json}"
      files
      ${i}
      file
      "${quoted}")
  endforeach()
  file(WRITE "${out}/tests.json" "${json}")
  _uml_gcovr(
    "writing the reports"
    "${out}"
    "${arg_GCOVR}"
    --root
    "${root}"
    --add-tracefile
    "${out}/tests.json"
    --html-details
    "${out}/index.html"
    --cobertura
    "${out}/coverage.xml"
    --json-summary
    "${out}/summary.json")

  # The one line: lines and branches of each source, then where the reports are.
  file(READ "${out}/summary.json" summary)
  string(JSON count LENGTH "${summary}" files)
  math(EXPR last "${count} - 1")
  set(parts "")
  foreach(i RANGE ${last})
    string(
      JSON
      name
      GET
      "${summary}"
      files
      ${i}
      filename)
    foreach(field IN ITEMS line_covered line_total branch_covered branch_total)
      string(
        JSON
        ${field}
        GET
        "${summary}"
        files
        ${i}
        ${field})
    endforeach()
    _uml_percent(lines ${line_covered} ${line_total})
    _uml_percent(branches ${branch_covered} ${branch_total})
    string(CONCAT part "${name}: lines ${lines} (${line_covered}/${line_total}), branches ${branches} "
                  "(${branch_covered}/${branch_total})")
    list(APPEND parts "${part}")
  endforeach()
  list(LENGTH good tests)
  list(JOIN parts "; " line)
  set(line "coverage of ${tests} test(s): ${line}")
  file(WRITE "${out}/summary.txt" "${line}\n")
  message("${line}\numl_coverage: report ${out}/index.html, Cobertura ${out}/coverage.xml")
endfunction()

# Runs gcovr (the command in ARGN) in <dir>; a failure stops the report with its output.
function(_uml_gcovr what dir)
  execute_process(
    COMMAND ${ARGN}
    WORKING_DIRECTORY "${dir}"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE output
    ERROR_VARIABLE output)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "uml_coverage: gcovr failed ${what} (exit ${rc}):\n${output}")
  endif()
endfunction()

function(_uml_percent out covered total)
  if(total EQUAL 0)
    set(${out} "-" PARENT_SCOPE)
    return()
  endif()
  math(EXPR tenths "(${covered} * 1000 + ${total} / 2) / ${total}")
  math(EXPR whole "${tenths} / 10")
  math(EXPR fraction "${tenths} % 10")
  set(${out} "${whole}.${fraction}%" PARENT_SCOPE)
endfunction()

function(_uml_json_quote out value)
  string(REPLACE "\\" "\\\\" value "${value}")
  string(REPLACE "\"" "\\\"" value "${value}")
  set(${out} "\"${value}\"" PARENT_SCOPE)
endfunction()
