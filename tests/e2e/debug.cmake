# gdb on a real UML kernel, with the hello example (vendored):
# - uml_debug's command (its uml_debug-gdb stand-in, in batch mode on a pty) stops
#   in hello_init at its first statement's line, with the module's data symbols
#   in place, and the guest then runs to its end;
# - uml-helper debug --command stops in hello_exit when the guest unloads the
#   module, and the guest's status comes back;
# - uml_debug itself starts gdb with uml-gdb.py, the module directory and the
#   kernel's arguments;
# - uml_attach's stand-in attaches to a running uml_run, finds the symbols of
#   the module loaded before it came, detaches, and the guest goes on and ends;
# - attaching when nothing runs fails with a message saying what to start;
# and nothing is left: no UML process, COW file, uml_dir or instance record.
#   -DPACKAGE_DIR -DCONSUMER_DIR -DEXAMPLE_DIR -DWORK_DIR -DCACHE_DIR [-DCMAKE_C_COMPILER_LAUNCHER]
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")

foreach(tool IN ITEMS gdb script timeout)
  find_program(tool_path ${tool})
  if(NOT tool_path)
    message(FATAL_ERROR "${tool} is not installed (Debian packages: gdb, util-linux, coreutils)")
  endif()
  unset(tool_path CACHE)
endforeach()

set(build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
configure_command(
  configure_cmd
  "${CONSUMER_DIR}"
  "${build}"
  "-DUML_CACHE_DIR=${CACHE_DIR}"
  "-DUML_TEST_EXAMPLE_DIR=${EXAMPLE_DIR}"
  -DUML_TEST_VENDORED=ON
  "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}")
now(t0)
run(out ${configure_cmd})
run(out "${CMAKE_COMMAND}" --build "${build}")
elapsed(build_s ${t0})
include("${build}/uml-info.cmake")
set(example "${build}/example")
set(debug_gdb "${example}/uml_debug-gdb")
set(attach_gdb "${example}/uml_attach-gdb")
expect("uml_add_run wrote the debug stand-in ${debug_gdb}" EXISTS "${debug_gdb}")
expect("uml_add_run wrote the attach stand-in ${attach_gdb}" EXISTS "${attach_gdb}")

# The line of hello_init's first statement, from the source: the line after
# the function's head and its opening brace.
file(READ "${EXAMPLE_DIR}/hello.c" source)
string(REPLACE ";" "<semicolon>" source "${source}")
string(REPLACE "\n" ";" source_lines "${source}")
set(init_line "")
set(in_init FALSE)
set(number 0)
foreach(text IN LISTS source_lines)
  math(EXPR number "${number} + 1")
  if(text MATCHES "hello_init\\(void\\)")
    set(in_init TRUE)
  elseif(in_init AND NOT text MATCHES "^[ \t]*{?[ \t]*$")
    set(init_line ${number})
    break()
  endif()
endforeach()
expect("hello_init's first statement is on line ${init_line} of hello.c" init_line GREATER 0)

# Runs <command> (a sh command line) on a pseudo-terminal, as a developer's
# terminal, with <typed> (printf format) as the keyboard.
function(on_terminal out_var rc_var typed command)
  execute_process(
    COMMAND sh -c "printf '${typed}' | timeout 120 script -qec \"${command}\" /dev/null"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  message("$ ${command}\n${out}")
  set(${out_var} "${out}" PARENT_SCOPE)
  set(${rc_var} "${rc}" PARENT_SCOPE)
endfunction()

# What is left of the boots of this build: processes (their COW file is in
# this build tree; other projects' UMLs may share the kernel), COW files and
# UML's per-boot directories.
function(expect_nothing_left what)
  execute_process(COMMAND pgrep -f "${build}/" OUTPUT_VARIABLE pids)
  expect("${what}: no UML process left (${pids})" NOT pids)
  file(GLOB_RECURSE cows "${example}/_uml/boot/*.cow")
  expect("${what}: no COW file left (${cows})" NOT cows)
  file(GLOB umid_dirs LIST_DIRECTORIES true "${example}/_uml/boot/*/u/*")
  expect("${what}: no uml_dir left (${umid_dirs})" NOT umid_dirs)
endfunction()

# 1. uml_debug's command in batch mode: break in the module's __init function
# (in .init.text, which the kernel's lx-symbols would not load), boot, and let
# the guest's shell run a command and power off.
now(t0)
set(gdb_batch "-batch -ex 'set style enabled off' -ex 'break hello_init' -ex run -ex 'print whom' -ex continue")
on_terminal(out rc "echo GUEST-\$((6*7))-DONE\\npoweroff -f\\n" "'${debug_gdb}' ${gdb_batch}")
elapsed(debug_s ${t0})
expect("gdb ended normally (${rc})" rc EQUAL 0)
expect("the breakpoint in hello_init was hit at hello.c:${init_line}" out MATCHES
       "Breakpoint 1, hello_init \\(\\) at [^\n]*/hello\\.c:${init_line}\r?\n")
expect("the module's data is where the kernel put it (whom = \"UML\")" out MATCHES "\\$1 = 0x[0-9a-f]+ \"UML\"")
expect("the guest then ran its command" out MATCHES "GUEST-42-DONE")
expect("the guest then powered off" out MATCHES "\\[Inferior 1 \\(process [0-9]+\\) exited normally\\]")
expect_nothing_left("after uml_debug")

# 2. The helper's --command: the guest unloads the module, gdb stops in its
# __exit function (.exit.text), and the guest's status comes back through gdb.
get_filename_component(hello_dir "${hello_ko}" DIRECTORY)
set(image "${example}/_uml/images/uml_modules_install.img")
expect("the image with hello installed exists" EXISTS "${image}")
set(helper_debug "${build}/uml/src/uml-helper" debug)
list(APPEND helper_debug --kernel "${kernel_image}" --rootfs "${image}")
list(APPEND helper_debug --module hello --module-dir "${hello_dir}")
list(APPEND helper_debug --work-dir "${WORK_DIR}/command")
list(APPEND helper_debug --command "rmmod hello && exit 3")
set(gdb_batch -batch -ex "set style enabled off")
list(APPEND gdb_batch -ex "break hello_exit")
list(APPEND gdb_batch -ex run -ex continue)
execute_process(
  COMMAND
  timeout 120 ${helper_debug} -- ${gdb_batch}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out
  INPUT_FILE /dev/null)
message("${out}")
expect("gdb ended normally (${rc})" rc EQUAL 0)
expect("rmmod stopped in hello_exit" out MATCHES "Breakpoint 1, hello_exit \\(\\) at [^\n]*/hello\\.c:[0-9]+")
expect("the guest's status (3) came back" out MATCHES "\\[Inferior 1 \\(process [0-9]+\\) exited with code 03\\]")
file(GLOB left LIST_DIRECTORIES true "${WORK_DIR}/command/*")
expect("its work dir is empty (${left})" NOT left)

# 3. The uml_debug target itself: gdb reads commands from a file on its
# standard input and ends there, without booting.
file(WRITE "${WORK_DIR}/gdb-commands" "uml-module-path\nshow args\nshow directories\nlist start_kernel\n")
execute_process(
  COMMAND "${CMAKE_COMMAND}" --build "${build}" --target uml_debug
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out
  INPUT_FILE "${WORK_DIR}/gdb-commands"
  TIMEOUT 120)
message("${out}")
expect("the uml_debug target ran gdb (${rc})" rc EQUAL 0)
expect("gdb has uml-gdb.py's commands and the module's directory" out MATCHES "[ \n]${hello_dir}\r?\n")
expect("gdb will start the kernel on a fresh COW file in uml_debug's work dir" out MATCHES
       "ubd0=${example}/_uml/boot/uml_debug/[^ ,]+\\.cow,")
# Kernel objects from ccache name their sources relative to a build directory
# (CCACHE_BASEDIR), maybe another tree's: uml-gdb.py puts the kernel's own first.
get_filename_component(kernel_dir "${kernel_image}" DIRECTORY)
expect("gdb searches the kernel's build directory for sources" out MATCHES
       "Source directories searched: ${kernel_dir}:")
expect("gdb lists the kernel's own source (start_kernel in init/main.c)" out MATCHES
       "set_task_stack_end_magic\\(&init_task\\);")

# 4. Attach when no guest runs: a clear error, nothing started.
execute_process(
  COMMAND "${attach_gdb}" -batch
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out
  TIMEOUT 60)
message("${out}")
expect("attach without a running guest fails with the helper's error (${rc})" rc EQUAL 2)
expect("it says nothing runs there and how to start it" out MATCHES "no UML is running in .*start one")

# 5. Attach to a running uml_run: the guest's shell says it is up (its
# modules are loaded by then), waits until gdb has come and gone, then runs
# one more command and powers off.
set(flag "${WORK_DIR}/attach-done")
set(run_log "${WORK_DIR}/run.log")
set(run_status "${WORK_DIR}/run.status")
set(typing
    "printf 'echo GUEST-\$((6*7))-READY\\n'; while [ ! -e '${flag}' ]; do sleep 0.2; done; printf 'echo GUEST-\$((6*8))-AFTER\\npoweroff -f\\n'"
)
execute_process(
  COMMAND
    sh -c
    "( (${typing}) 2>/dev/null | timeout 120 script -qec \"'${CMAKE_COMMAND}' --build '${build}' --target uml_run\" /dev/null; echo $? > '${run_status}' ) > '${run_log}' 2>&1 < /dev/null &"
)
now(t0)
set(ready FALSE)
foreach(i RANGE 600)
  if(EXISTS "${run_log}")
    file(READ "${run_log}" log)
    if(log MATCHES "GUEST-42-READY")
      set(ready TRUE)
      break()
    endif()
  endif()
  execute_process(COMMAND sleep 0.1)
endforeach()
expect("uml_run's guest came up" ready)
file(READ "${example}/_uml/boot/uml_run/instance" instance)
expect("uml_run recorded its UML for attach (${instance})" instance MATCHES "pid=[0-9]+\nkernel=${kernel_image}\n")
set(gdb_batch -batch -ex "set style enabled off")
list(APPEND gdb_batch -ex "print whom" -ex "print hello_exit")
list(APPEND gdb_batch -ex detach -ex "info program")
execute_process(
  COMMAND "${attach_gdb}" ${gdb_batch}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out
  TIMEOUT 120)
message("${out}")
file(TOUCH "${flag}")
expect("gdb attached and ended normally (${rc})" rc EQUAL 0)
expect("the module loaded before gdb came has its data symbols (whom = \"UML\")" out MATCHES
       "\\$1 = 0x[0-9a-f]+ \"UML\"")
expect("...and its functions" out MATCHES "\\$2 = {void \\(void\\)} 0x[0-9a-f]+ <hello_exit>")
expect("gdb detached" out MATCHES "The program being debugged is not being run")
set(ended FALSE)
foreach(i RANGE 600)
  if(EXISTS "${run_status}")
    set(ended TRUE)
    break()
  endif()
  execute_process(COMMAND sleep 0.1)
endforeach()
elapsed(attach_s ${t0})
file(READ "${run_log}" log)
message("---- uml_run ----\n${log}")
expect("uml_run ended by itself" ended)
file(READ "${run_status}" status)
string(STRIP "${status}" status)
expect("uml_run ended with the guest's status 0 (${status})" status STREQUAL "0")
expect("the guest went on after gdb detached" log MATCHES "GUEST-48-AFTER")
expect("the instance record is gone" NOT EXISTS "${example}/_uml/boot/uml_run/instance")
expect_nothing_left("after uml_run and uml_attach")

message(STATUS "figures: configure and build ${build_s} s, uml_debug batch session ${debug_s} s, "
               "uml_run with an attach ${attach_s} s")
