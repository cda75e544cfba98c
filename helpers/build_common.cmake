# Functions shared by the Kbuild scripts (kernel.cmake, module.cmake).

# Kbuild's -j: a Makefile generator passes the user's -jN in MAKEFLAGS; Ninja
# passes nothing, so <default> (UML_KERNEL_JOBS, all cores) applies.
function(uml_make_jobs out default)
  set(jobs "${default}")
  if("$ENV{MAKEFLAGS}" MATCHES "(^| )-?j ?([0-9]+)")
    set(jobs "${CMAKE_MATCH_2}")
  endif()
  set(${out} "${jobs}" PARENT_SCOPE)
endfunction()

# A Make-style depfile: <target> depends on every path in <deps>.
function(uml_write_depfile depfile target deps)
  string(REPLACE " " "\\ " text "${target}")
  string(APPEND text ":")
  foreach(dep IN LISTS deps)
    string(REPLACE " " "\\ " dep "${dep}")
    string(APPEND text " \\\n ${dep}")
  endforeach()
  file(WRITE "${depfile}" "${text}\n")
endfunction()
