include_guard(GLOBAL)

#[=======================================================================[.md
`_uml_read_config(<file> <syms_var> <vals_var> <origins_var> [STRICT])`: reads a
Kconfig file (`.config` or fragment) into parallel lists: symbol without the
`CONFIG_` prefix, value (`n` for `# CONFIG_X is not set`), and `file:line`.
With `STRICT`, a line that is neither an assignment, a "not set" line, a comment
nor blank is a fatal error naming the file and line.
#]=======================================================================]
function(_uml_read_config file syms_var vals_var origins_var strict)
  file(READ "${file}" content)
  # Kconfig values may hold ';', which would split a CMake list.
  string(ASCII 31 sep)
  string(REPLACE ";" "${sep}" content "${content}")
  string(REPLACE "\n" ";" lines "${content}")
  set(syms "")
  set(vals "")
  set(origins "")
  set(line_no 0)
  foreach(line IN LISTS lines)
    math(EXPR line_no "${line_no} + 1")
    string(STRIP "${line}" line)
    if(line MATCHES "^CONFIG_([A-Za-z0-9_]+)=(.*)$")
      set(sym "${CMAKE_MATCH_1}")
      string(REPLACE "${sep}" ";" val "${CMAKE_MATCH_2}")
      if(val STREQUAL "")
        set(val n)
      endif()
    elseif(line MATCHES "^# CONFIG_([A-Za-z0-9_]+) is not set$")
      set(sym "${CMAKE_MATCH_1}")
      set(val n)
    elseif(line STREQUAL "" OR line MATCHES "^#")
      continue()
    elseif(strict)
      string(REPLACE "${sep}" ";" line "${line}")
      message(FATAL_ERROR "bad config fragment line ${file}:${line_no}: '${line}'\n"
                          "Each line must be CONFIG_NAME=value, '# CONFIG_NAME is not set', a comment or blank.")
    else()
      continue()
    endif()
    list(APPEND syms "${sym}")
    list(APPEND vals "${val}")
    list(APPEND origins "${file}:${line_no}")
  endforeach()
  set(${syms_var} "${syms}" PARENT_SCOPE)
  set(${vals_var} "${vals}" PARENT_SCOPE)
  set(${origins_var} "${origins}" PARENT_SCOPE)
endfunction()
