# The kernel step (helpers/kernel.cmake, UML_ACTION=build) against a fake make: it
# skips Kbuild when the kernel a project shares (UML_CACHE_DIR) is unchanged since
# the last build's dependency list was written, and runs it in every other case.
#   -DPACKAGE_DIR -DWORK_DIR
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/../e2e/common.cmake")

set(src "${WORK_DIR}/src")
set(out "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${src}/kernel" "${out}/.uml" "${out}/kernel")
file(WRITE "${src}/Makefile" "# top\n")
file(WRITE "${src}/kernel/fork.c" "/* source */\n")
file(WRITE "${src}/kernel/Makefile" "obj-y += fork.o\n")
file(WRITE "${out}/.config" "CONFIG_UML=y\n")
# What Kbuild's fixdep leaves: a .cmd file naming the source it compiled.
file(WRITE "${out}/kernel/.fork.o.cmd"
     "source_kernel/fork.o := ${src}/kernel/fork.c\n\ndeps_kernel/fork.o := \\\n  ${src}/kernel/fork.c \\\n")
# The fake make "builds" linux and counts its runs.
set(make "${WORK_DIR}/fake-make")
# File times have the kernel's clock tick as their grain: the sleeps keep what comes
# before, during and after a build apart, as the seconds of a real build do.
file(WRITE "${make}" "#!/bin/sh\necho run >> '${WORK_DIR}/make-runs'\nsleep 0.05\ntouch '${out}/linux'\nsleep 0.05\n")
file(CHMOD "${make}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)

# One build of a project sharing the kernel: project NAME, compiler CC; whether make ran.
function(build name cc ran_var)
  file(REMOVE "${WORK_DIR}/make-runs")
  execute_process(
    COMMAND
      "${CMAKE_COMMAND}" -DUML_ACTION=build "-DUML_SOURCE_DIR=${src}" "-DUML_BUILD_DIR=${out}" "-DUML_CC=${cc}"
      "-DUML_MAKE=${make}" -DUML_JOBS=1 "-DUML_DEPFILE=${WORK_DIR}/${name}.d" "-DUML_STAMP=${WORK_DIR}/${name}.stamp" -P
      "${PACKAGE_DIR}/helpers/kernel.cmake"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE output
    ERROR_VARIABLE output)
  message("${output}")
  expect("${name}: the kernel step succeeds" rc EQUAL 0)
  expect("${name}: its stamp exists" EXISTS "${WORK_DIR}/${name}.stamp")
  file(READ "${WORK_DIR}/${name}.d" depfile)
  expect("${name}: its depfile is for its stamp" depfile MATCHES "^${WORK_DIR}/${name}.stamp:")
  expect("${name}: its depfile lists the source tree's Makefile" depfile MATCHES "${src}/Makefile")
  if(EXISTS "${WORK_DIR}/make-runs")
    set(${ran_var} TRUE PARENT_SCOPE)
  else()
    set(${ran_var} FALSE PARENT_SCOPE)
  endif()
endfunction()

build(first gcc ran)
expect("the first build runs make" ran)
expect("it leaves the dependency list for the next project" EXISTS "${out}/.uml/last-build.deps")
build(second gcc ran)
expect("a second project with nothing changed does not run make" NOT ran)

execute_process(COMMAND sleep 0.05)
file(TOUCH "${src}/kernel/fork.c")
build(after_edit gcc ran)
expect("an edited source runs make" ran)
build(after_edit_again gcc ran)
expect("...once: the next project reuses that build" NOT ran)
file(READ "${WORK_DIR}/after_edit_again.d" depfile)
expect("...with the compiled source in its depfile" depfile MATCHES "${src}/kernel/fork.c")

build(other_cc "ccache gcc" ran)
expect("another compiler runs make" ran)

# Kconfig records rustc's version too: one appearing on PATH makes Kbuild sync the
# configuration again (as a CI job as another user, with other tools on PATH, showed).
set(rustc "${WORK_DIR}/fake-rustc")
file(WRITE "${rustc}" "#!/bin/sh\necho 'rustc 9.9.9 (fake)'\n")
file(CHMOD "${rustc}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
set(ENV{RUSTC} "${rustc}")
build(with_rustc "ccache gcc" ran)
expect("another rustc runs make" ran)
build(with_rustc_again "ccache gcc" ran)
expect("...once" NOT ran)
unset(ENV{RUSTC})
build(without_rustc "ccache gcc" ran)
expect("rustc gone again runs make" ran)

execute_process(COMMAND sleep 0.05)
file(TOUCH "${out}/.config")
build(after_config "ccache gcc" ran)
expect("a newer .config runs make" ran)

file(REMOVE "${out}/kernel/.fork.o.cmd" "${src}/kernel/fork.c")
build(source_gone "ccache gcc" ran)
expect("a listed file that is gone runs make" ran)

file(REMOVE "${out}/linux")
file(WRITE "${out}/kernel/.fork.o.cmd" "source_kernel/fork.o := ${src}/kernel/Makefile\n")
build(no_linux "ccache gcc" ran)
expect("a missing linux runs make" ran)
