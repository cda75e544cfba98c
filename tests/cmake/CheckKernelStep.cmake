# The kernel's build step (cmake/steps/kernel.cmake, uml_step_kernel) against a fake
# make: it skips Kbuild when the kernel a project shares (UML_CACHE_DIR) is unchanged
# since the last build's dependency list was written, and runs it in every other case;
# it shows progress; it configures again a build directory that was pruned.
#   -DPACKAGE_DIR -DWORK_DIR
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/../e2e/common.cmake")
include("${PACKAGE_DIR}/cmake/steps/kernel.cmake")

set(src "${WORK_DIR}/src")
set(out "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${src}/kernel" "${out}/.uml" "${out}/kernel")
file(WRITE "${src}/Makefile" "# top\n")
file(WRITE "${src}/kernel/fork.c" "/* source */\n")
file(WRITE "${src}/kernel/Makefile" "obj-y += fork.o\n")
file(WRITE "${WORK_DIR}/base.config" "CONFIG_UML=y\n")
file(WRITE "${out}/.config" "CONFIG_UML=y\n")
# What Kbuild's fixdep leaves: a .cmd file naming the source it compiled.
file(WRITE "${out}/kernel/.fork.o.cmd"
     "source_kernel/fork.o := ${src}/kernel/fork.c\n\ndeps_kernel/fork.o := \\\n  ${src}/kernel/fork.c \\\n")
# The fake make "builds" linux, printing Kbuild's step lines, and counts its runs;
# the configuration targets do nothing.
set(make "${WORK_DIR}/fake-make")
# File times have the kernel's clock tick as their grain: the sleeps keep what comes
# before, during and after a build apart, as the seconds of a real build do.
file(
  WRITE "${make}"
  "#!/bin/sh
case \"$*\" in *olddefconfig*|*syncconfig*) exit 0 ;; esac
echo run >> '${WORK_DIR}/make-runs'
echo '  GEN     Makefile'
echo '  CC      kernel/fork.o'
echo 'make[1]: Entering directory'
echo '  CC      kernel/exit.o'
echo '  LD      vmlinux'
sleep 0.05
touch '${out}/linux'
sleep 0.05
")
file(CHMOD "${make}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)

# One build of a project sharing the kernel: project NAME, compiler CC; whether make ran.
function(build name cc ran_var)
  file(REMOVE "${WORK_DIR}/make-runs")
  # As a generated step script calls it, in a process of its own.
  file(
    WRITE "${WORK_DIR}/${name}.step.cmake"
    "cmake_minimum_required(VERSION 3.25)
include([==[${PACKAGE_DIR}/cmake/steps/kernel.cmake]==])
uml_step_kernel(ACTION build NAME k MAKE [==[${make}]==] SOURCE_DIR [==[${src}]==] BUILD_DIR [==[${out}]==]
  CC [==[${cc}]==] MODE file BASE_CONFIG [==[${WORK_DIR}/base.config]==] INPUTS_HASH fixed JOBS 1
  DEPFILE [==[${WORK_DIR}/${name}.d]==] STAMP [==[${WORK_DIR}/${name}.stamp]==])
")
  execute_process(
    COMMAND "${CMAKE_COMMAND}" -P "${WORK_DIR}/${name}.step.cmake"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE output
    ERROR_VARIABLE output)
  set(last_output "${output}" PARENT_SCOPE)
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

# The build directory as configure leaves it.
file(MAKE_DIRECTORY "${out}/.uml")
file(WRITE "${out}/.uml/config-inputs.sha256" "fixed")

build(first gcc ran)
expect("the first build runs make" ran)
expect("a first build has no total: Kbuild's steps are counted" last_output MATCHES
       "\n\\[    1\\]   GEN     Makefile\n\\[    2\\]   CC      kernel/fork.o\n")
expect("...and other lines pass unchanged" last_output MATCHES "\nmake\\[1\\]: Entering directory\n")
expect("...and the count is kept for the next build of this configuration" EXISTS "${out}/.uml/kbuild-lines")
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
expect("a whole build of a configuration built before shows percentages" last_output MATCHES
       "\n\\[ 25%\\]   GEN     Makefile\n\\[ 50%\\]   CC      kernel/fork.o\n")
expect("...never 100% before make is done" last_output MATCHES "\n\\[ 99%\\]   LD      vmlinux\n")

# A build directory pruned from the cache (or removed by hand): the step configures it
# again from the project's settings, then builds.
file(REMOVE_RECURSE "${out}")
build(pruned "ccache gcc" ran)
expect("a removed build directory is configured again" EXISTS "${out}/.config")
file(READ "${out}/.config" config)
expect("...from the project's configuration" config STREQUAL "CONFIG_UML=y\n")
expect("...and built" ran)
file(READ "${WORK_DIR}/pruned.d" depfile)
expect("the depfile lists the .config, so a pruned directory runs the step again" depfile MATCHES "${out}/.config")
