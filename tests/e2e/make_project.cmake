# End to end: examples/make-project, a plain Kbuild Makefile with the one
# include line of helpers/uml.mk, driven by `make uml-*` with the package
# installed (uml.mk from a prefix) or vendored (uml.mk of the source tree).
# Real kernel, module, image and boots; the user's own targets keep working.
#   -DMODE=installed|vendored -DPACKAGE_DIR -DPREFIX -DEXAMPLE_DIR -DWORK_DIR
#   -DCACHE_DIR [-DCMAKE_C_COMPILER_LAUNCHER]
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")

if(MODE STREQUAL "installed")
  set(uml_mk "${PREFIX}/share/UserModeLinux/helpers/uml.mk")
else()
  set(uml_mk "${PACKAGE_DIR}/helpers/uml.mk")
endif()
expect("uml.mk is at ${uml_mk}" EXISTS "${uml_mk}")
find_program(CLANGD clangd)
if(NOT CLANGD)
  message(FATAL_ERROR "clangd not found (apt-get install clangd): the compile database check cannot run")
endif()

# Work on a copy (the test edits it; the UML build itself never writes into it).
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(project "${WORK_DIR}/make-project")
file(
  COPY "${EXAMPLE_DIR}/"
  DESTINATION "${project}"
  PATTERN ".uml-build" EXCLUDE
  REGEX "(\\.o|\\.ko|\\.mod|\\.mod\\.c|\\.cmd|Module\\.symvers|modules\\.order)$" EXCLUDE)
set(build "${project}/.uml-build")

# make with the package's variables in the environment (as a user's shell
# would have them) and nothing inherited from a make running this test.
set(make_env
    "${CMAKE_COMMAND}"
    -E
    env
    --unset=MAKEFLAGS
    --unset=MFLAGS
    --unset=MAKELEVEL
    --unset=UML_MEM
    --unset=UML_TEST_COMMAND
    --unset=UML_LOAD_MODULES
    --unset=UML_MODULES
    --unset=UML_ROOTFS
    --unset=UML_CONFIG
    --unset=UML_CONFIG_FRAGMENTS
    --unset=UML_KERNEL_SOURCE
    --unset=UML_BUILD_DIR
    "UML_MK=${uml_mk}"
    "UML_CACHE_DIR=${CACHE_DIR}"
    "UML_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER}")

# make <args> in the project; fails the test when make fails. (PARSE_ARGV
# keeps a ';' inside an argument, such as a guest command line, in one piece.)
function(umake out_var)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "")
  now(t0)
  execute_process(
    COMMAND ${make_env} make -C "${project}" ${arg_UNPARSED_ARGUMENTS}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  elapsed(seconds ${t0})
  message("$ make ${arg_UNPARSED_ARGUMENTS}\n${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "make failed (${rc}): make ${arg_UNPARSED_ARGUMENTS}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
  set(${out_var}_s "${seconds}" PARENT_SCOPE)
endfunction()

# make ARGS <args> that must fail, its output matching each of MATCHES.
function(umake_fails what)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "ARGS;MATCHES")
  execute_process(
    COMMAND ${make_env} make -C "${project}" ${arg_ARGS}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  message("$ make ${arg_ARGS}\n${out}")
  string(REGEX REPLACE "[ \n]+" " " flat "${out}")
  expect("${what}: make fails" NOT rc EQUAL 0)
  foreach(regex IN LISTS arg_MATCHES)
    expect("${what}: the output says '${regex}'" flat MATCHES "${regex}")
  endforeach()
endfunction()

# The Makefile's own targets still build for the host kernel: the default goal
# is still `all`, and a stand-in KDIR shows what all and clean ask Kbuild for.
execute_process(COMMAND ${make_env} make -n -C "${project}" OUTPUT_VARIABLE out ERROR_VARIABLE out)
expect("make -n (default goal) is the host build: ${out}" out MATCHES
       "make -C /lib/modules/[^ ]+/build M=${project} modules")
set(fake_kdir "${WORK_DIR}/host-kdir")
file(WRITE "${fake_kdir}/Makefile" "modules clean:\n\t@echo \"host kbuild: $@ M=$(M)\"\n")
umake(out "KDIR=${fake_kdir}")
expect("make runs the user's all" out MATCHES "host kbuild: modules M=${project}\n")
umake(out clean "KDIR=${fake_kdir}")
expect("make clean runs the user's clean" out MATCHES "host kbuild: clean M=${project}\n")
expect("neither touched the UML build directory" NOT EXISTS "${build}")

# The include line's path is absolute (Kbuild reads the Makefile from the
# kernel's directory): read from another directory, the Makefile still finds
# uml.mk, and uml.mk the module directory. First the copy (UML_MK from the
# environment), then the example in the source tree with its own default
# UML_MK (uml-help only reads).
run(out
    ${make_env}
    make
    -C
    /
    -f
    "${project}/Makefile"
    uml-help)
expect("uml-help from another directory names the module directory" out MATCHES "UML_MODULE_DIR += ${project}\n")
expect("uml-help lists the module from obj-m" out MATCHES "from obj-m: greet;")
run(out
    ${make_env}
    --unset=UML_MK
    make
    -C
    /
    -f
    "${EXAMPLE_DIR}/Makefile"
    uml-help)
expect("the example's default UML_MK works from another directory" out MATCHES "UML_MODULE_DIR += ${EXAMPLE_DIR}\n")

# A Makefile that includes uml.mk before its first target keeps that target as
# the default. In the classic layout (obj-m set only when Kbuild reads the Makefile)
# the module names come from Kbuild's modules.order: `make uml-test` works without
# UML_MODULES.
set(classic "${WORK_DIR}/classic")
file(COPY "${EXAMPLE_DIR}/greet_main.c" "${EXAMPLE_DIR}/greet_text.c" "${EXAMPLE_DIR}/greet.h" DESTINATION "${classic}")
file(WRITE "${classic}/Makefile"
     "include ${uml_mk}\nifneq ($(KERNELRELEASE),)\nobj-m := classic.o\nclassic-y := greet_main.o greet_text.o\n"
     "endif\nall:\n\t@echo OWN-ALL\n")
run(out ${make_env} make -C "${classic}")
expect("include before all: make still runs all" out MATCHES "OWN-ALL")
run(out ${make_env} make -C "${classic}" uml-test)
expect("the classic layout, without UML_MODULES: uml-test passes" out MATCHES "100% tests passed")
file(READ "${classic}/.uml-build/_uml/boot/uml-test.boot" boot)
expect("...loading what Kbuild's modules.order lists" boot MATCHES "\nmodules-from=[^\n]*/modules.order\n")
file(GLOB_RECURSE classic_ko "${classic}/.uml-build/_uml/module/*/classic.ko")
expect("...which is classic.ko, built in the build directory (${classic_ko})" classic_ko)
file(GLOB classic_objects "${classic}/*.o" "${classic}/*.ko")
expect("...and nothing was written into the module directory" NOT classic_objects)

# Every file of the project with its checksum, to compare after the UML builds.
function(tree_checksums out dir)
  file(GLOB_RECURSE files RELATIVE "${dir}" "${dir}/*")
  list(FILTER files EXCLUDE REGEX "^\\.uml-build/")
  list(SORT files)
  set(sums "")
  foreach(file IN LISTS files)
    file(SHA256 "${dir}/${file}" sum)
    list(APPEND sums "${file} ${sum}")
  endforeach()
  set(${out} "${sums}" PARENT_SCOPE)
endfunction()
tree_checksums(sums_before "${project}")

# Modules: the kernel (shared through CACHE_DIR) and greet.ko, a composite
# module, built by the project's own Makefile from links in the build directory.
umake(out uml-modules)
set(modules_s ${out_s})
expect("uml-modules configured the build directory" out MATCHES "uml.mk: configuring ${build}")
expect("uml-modules ran Kbuild on the project" out MATCHES "Building UML module")
expect("...which linked greet.ko in the build directory" out MATCHES "LD \\[M\\] +${build}/_uml/module/[^ ]+/greet.ko")
# What the build directory holds (shell assignments, read here as text).
file(STRINGS "${build}/uml-make-info.sh" info_lines)
foreach(line IN LISTS info_lines)
  if(line MATCHES "^([a-z_]+)='(.*)'$")
    set(${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
  endif()
endforeach()
if(MODE STREQUAL "installed")
  expect("the installed package was used (${uml_package_dir})" uml_package_dir MATCHES "^${PREFIX}/")
else()
  expect("the source tree was used (${uml_package_dir})" uml_package_dir STREQUAL PACKAGE_DIR)
endif()
expect("the module is built in the build directory (${uml_module_dir})" uml_module_dir MATCHES "^${build}/")
set(greet_ko "${uml_module_dir}/greet.ko")
expect("greet.ko exists" EXISTS "${greet_ko}")
expect("...and not in the project" NOT EXISTS "${project}/greet.ko")
modinfo(vermagic "${greet_ko}" vermagic)
string(REGEX REPLACE " .*" "" vermagic_release "${vermagic}")
expect("greet.ko vermagic '${vermagic}' is the UML kernel's release ${uml_kernel_release}" vermagic_release STREQUAL
       uml_kernel_release)
expect("the kernel is in the shared cache (${uml_kernel_image})" uml_kernel_image MATCHES "^${CACHE_DIR}/")
expect("...and was built" EXISTS "${uml_kernel_image}")

# Nothing changed: a second uml-modules neither configures nor runs Kbuild.
umake(out uml-modules)
set(noop_s ${out_s})
expect("second uml-modules: no configure" NOT out MATCHES "configuring")
expect("second uml-modules: no Kbuild run" NOT out MATCHES "Building UML module")
expect("second uml-modules: ninja has nothing to do" out MATCHES "no work to do")
# An empty variable means its default: the same build directory, nothing to do.
umake(out uml-modules UML_BUILD_DIR=)
expect("UML_BUILD_DIR= is .uml-build: no configure" NOT out MATCHES "configuring")
expect("UML_BUILD_DIR= is .uml-build: nothing to do" out MATCHES "no work to do")

# An edit recompiles that source only.
execute_process(COMMAND sleep 1)
file(TOUCH "${project}/greet_text.c")
umake(out uml-modules)
set(edit_s ${out_s})
# By Kbuild, or by its recorded commands (the fast path).
expect("after editing greet_text.c it is recompiled" out MATCHES
       "(CC \\[M\\] +${uml_module_dir}/greet_text.o|\\(fast path\\): CC greet_text.o)")
expect("...and greet_main.c is not" NOT out MATCHES "greet_main.o")

# The compile database has both sources, under their real paths, readable by clangd.
foreach(source IN ITEMS greet_main.c greet_text.c)
  compile_command(command "${build}/compile_commands.json" "${project}/${source}")
  expect("compile_commands.json has ${source} with the kernel's flags" command MATCHES " -D__KERNEL__ ")
  execute_process(
    COMMAND "${CLANGD}" "--compile-commands-dir=${build}" "--check=${project}/${source}"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  string(REGEX MATCHALL "\nE\\[[^\n]*" errors "${out}")
  expect("clangd --check ${source} succeeds (${rc})" rc EQUAL 0)
  expect("clangd --check ${source}: no errors (${errors})" NOT errors)
endforeach()

# The image with the module installed.
umake(out uml-image)
expect("uml-image made the image ${uml_image}" EXISTS "${uml_image}")

# The example's test (its Makefile's UML_TEST_COMMAND) passes; a failing guest
# command fails make.
umake(out uml-test)
set(test_s ${out_s})
expect("uml-test passes" out MATCHES "100% tests passed")
umake(out uml-test)
set(test2_s ${out_s})
umake_fails("UML_TEST_COMMAND=false" ARGS uml-test UML_TEST_COMMAND=false MATCHES
            "the guest command failed with status 1")

# Variables reach the guest. A command with quotes, ';' and $$ (make's $):
# the guest runs the UML kernel just built.
umake(out uml-test "UML_TEST_COMMAND=r=$$(uname -r); echo \"guest runs $$r\"; test \"$$r\" = '${uml_kernel_release}'")
expect("the quoted command ran and passed" out MATCHES "100% tests passed")
# UML_MEM: the guest has more than 200 MB with 256M, and not with the default.
set(mem_check "UML_TEST_COMMAND=awk '/MemTotal/ { exit !($$2 > 200000) }' /proc/meminfo")
umake(out uml-test UML_MEM=256M "${mem_check}")
expect("UML_MEM=256M re-configures" out MATCHES "configuring")
expect("UML_MEM=256M: the guest has it" out MATCHES "100% tests passed")
umake_fails(
  "default memory is less than 200 MB"
  ARGS
  uml-test
  "${mem_check}"
  MATCHES
  "configuring"
  "the guest command failed with status 1")
# UML_LOAD_MODULES empty: nothing loaded before the command, which loads greet
# itself with a parameter (modprobe finds it in the image).
umake(
  out uml-test "UML_LOAD_MODULES="
  "UML_TEST_COMMAND=! grep -q '^greet ' /proc/modules && modprobe greet who=uml && dmesg | grep -q 'greet: hello, uml'")
expect("UML_LOAD_MODULES= and modprobe with a parameter" out MATCHES "100% tests passed")

# Bad values are named, with what is expected instead.
umake_fails("UML_ROOTFS=nfs" ARGS uml-image UML_ROOTFS=nfs MATCHES "UML_ROOTFS 'nfs' is not busybox, debian")
umake_fails("a missing fragment" ARGS uml-kernel UML_CONFIG_FRAGMENTS=missing.config MATCHES
            "UML_CONFIG_FRAGMENTS: ${project}/missing.config does not exist")
umake_fails("UML_MEM=lots" ARGS uml-test UML_MEM=lots MATCHES "UML_MEM 'lots' is not a size")
umake_fails("no cmake" ARGS uml-kernel UML_CMAKE=no-such-cmake MATCHES "'no-such-cmake' not found: install CMake")

# No UML build wrote into the project directory (its .uml-build aside).
tree_checksums(sums_after "${project}")
expect("the project directory is byte for byte what it was" sums_after STREQUAL sums_before)

# Another build of the directory (the host's `make`; here Kbuild with other flags)
# writes its objects into it: the UML build, in its own directory, is not disturbed.
mtime(uml_ko_before "${greet_ko}")
execute_process(COMMAND sleep 1)
run(out
    ${make_env}
    make
    -C
    "${uml_kernel_dir}"
    ARCH=um
    "M=${project}"
    EXTRA_CFLAGS=-DOTHER_BUILD
    modules)
expect("the other build made its greet.ko in the project" EXISTS "${project}/greet.ko")
umake(out uml-modules)
expect("uml-modules has nothing to do after it" out MATCHES "no work to do")
mtime(uml_ko_after "${greet_ko}")
expect("...and the UML greet.ko is untouched" uml_ko_after EQUAL uml_ko_before)
# An edit then rebuilds for UML from the sources, not the other build's objects.
execute_process(COMMAND sleep 1)
file(TOUCH "${project}/greet_main.c")
umake(out uml-modules)
expect("after an edit the UML build recompiles, ignoring the other build's objects" out MATCHES
       "(CC \\[M\\] +${uml_module_dir}/greet_main.o|\\(fast path\\): CC greet_main.o)")

# The user's clean through Kbuild (run here against the UML kernel) removes the
# other build's objects; uml-test still passes.
umake(out clean "KDIR=${uml_kernel_dir}" ARCH=um)
expect("make clean removed the project's greet.ko" NOT EXISTS "${project}/greet.ko")
umake(out uml-test)
expect("uml-test after make clean passes" out MATCHES "100% tests passed")

# uml-run: a shell on a terminal (a pty from script(1)) whose keyboard is a
# pipe, ended by `exit`; bounded by timeout(1).
list(JOIN make_env "' '" env_words)
set(typed "printf 'echo RUN-\"\"OK; cat /sys/module/greet/parameters/who\\nexit 0\\n'")
now(t0)
execute_process(
  COMMAND sh -c "${typed} | timeout 120 script -qec \"'${env_words}' make -C '${project}' uml-run\" /dev/null"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
elapsed(run_s ${t0})
message("${out}")
expect("uml-run ran the shell's commands with greet loaded" out MATCHES "RUN-OK[\r\n]+world")
expect("uml-run ended by itself with the shell's status (${rc})" rc EQUAL 0)

# uml-debug and uml-attach map to the package's gdb targets of uml_run (gdb
# itself is tested by e2e.debug; here: the modules built from the user's
# directory are found).
run(out "${CMAKE_COMMAND}" --build "${build}" --target help)
set(targets "${out}")
foreach(target IN ITEMS debug attach)
  run(out
      ${make_env}
      make
      -n
      -C
      "${project}"
      uml-${target})
  expect("make -n uml-${target} builds the uml_${target} target" out MATCHES
         "cmake --build '${build}' --target uml_${target}\n")
  expect("the build directory has a uml_${target} target" targets MATCHES "(^|\n)uml_${target}:")
endforeach()
# make uml-debug: gdb reads commands from its standard input (a file here) and
# ends there, without booting; its module path is where the module was built.
file(WRITE "${WORK_DIR}/gdb-commands" "uml-module-path\n")
execute_process(
  COMMAND ${make_env} make -C "${project}" uml-debug
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out
  INPUT_FILE "${WORK_DIR}/gdb-commands"
  TIMEOUT 120)
message("${out}")
expect("make uml-debug ran gdb (${rc})" rc EQUAL 0)
expect("gdb looks for module symbols where the module was built" out MATCHES "[\n ]${uml_module_dir}\r?\n")
# Its batch stand-in: a breakpoint in greet_init (in greet_main.c, one object
# of the composite module) is hit when the guest loads greet.
set(gdb_batch "-batch -ex 'set style enabled off' -ex 'break greet_init' -ex run -ex 'print who' -ex continue")
execute_process(
  COMMAND
    sh -c
    "printf 'echo GUEST-\$((6*7))-DONE\\nexit 0\\n' | timeout 120 script -qec \"'${build}/uml_debug-gdb' ${gdb_batch}\" /dev/null"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
message("${out}")
expect("gdb ended normally (${rc})" rc EQUAL 0)
expect("the breakpoint in greet_init was hit" out MATCHES
       "Breakpoint 1, greet_init \\(\\) at [^\n]*/greet_main\\.c:[0-9]+")
expect("the module parameter is readable (who = \"world\")" out MATCHES "\\$1 = 0x[0-9a-f]+ \"world\"")
expect("the guest then ran its shell's command" out MATCHES "GUEST-42-DONE")

# Coverage through Make: UML_COVERAGE=1 (the minimal kernel with gcov, the one the
# chardev example's coverage build uses), uml-test saves the data, uml-coverage merges it.
umake(out uml-test UML_COVERAGE=1)
expect("UML_COVERAGE=1 re-configures, and the test passes" out MATCHES "configuring.*100% tests passed")
umake(out uml-coverage UML_COVERAGE=1)
expect("uml-coverage reports both sources of greet" out MATCHES
       "coverage of 1 test\\(s\\): [^\n]*greet_main\\.c: lines [^\n]*greet_text\\.c: lines")
expect("...and wrote the HTML report" EXISTS "${build}/coverage/index.html")

# uml-clean removes the build directory (the kernel stays in the cache), and
# only a directory uml.mk configured.
file(WRITE "${WORK_DIR}/not-ours/keep" "")
umake_fails("uml-clean of a directory uml.mk did not make" ARGS uml-clean "UML_BUILD_DIR=${WORK_DIR}/not-ours" MATCHES
            "was not made by uml.mk. not removing it") # . for ;, a list separator here
expect("...which is still there" EXISTS "${WORK_DIR}/not-ours/keep")
umake(out uml-clean)
expect("uml-clean removed ${build}" NOT EXISTS "${build}")
expect("the kernel is still in the cache" EXISTS "${uml_kernel_image}")

message(STATUS "figures (make-project, ${MODE}): first uml-modules ${modules_s} s, no-op uml-modules ${noop_s} s, "
               "uml-modules after an edit ${edit_s} s, first uml-test ${test_s} s, uml-test ${test2_s} s, "
               "uml-run ${run_s} s")
