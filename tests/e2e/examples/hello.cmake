# The hello example's own checks, included by tests/e2e/example.cmake (see its
# variables): the compile database's command, and a no-op build after a
# re-configure does no kernel or module work.
set(kernel_stamp "${kernel_uml_kernel_stamp}")
set(kernel_image "${kernel_uml_kernel_image}")

file(REAL_PATH "${EXAMPLE_DIR}/hello.c" hello_c)
compile_command(command "${BUILD_DIR}/compile_commands.json" "${hello_c}")
expect("compile_commands.json has ${hello_c}" command)
expect("its command has -D__KERNEL__" command MATCHES " -D__KERNEL__ ")
expect("its command compiles the real source, not the build tree's link" command MATCHES " ${hello_c}( |$)")

mtime(stamp_before "${kernel_stamp}")
mtime(image_before "${kernel_image}")
execute_process(COMMAND sleep 1)
run_in(out ${configure_cmd})
expect("re-configure does not make the kernel config again" NOT out MATCHES "Configuring UML kernel")
now(t0)
run_in(out ${build_cmd})
elapsed(noop_s ${t0})
expect("no-op build does not run Kbuild for the kernel" NOT out MATCHES "Building UML kernel")
expect("no-op build does not rebuild the module" NOT out MATCHES "Building UML module")
mtime(stamp_after "${kernel_stamp}")
mtime(image_after "${kernel_image}")
expect(
  "kernel stamp and image untouched"
  stamp_before
  STREQUAL
  stamp_after
  AND
  image_before
  STREQUAL
  image_after)
now(t0)
run_in(out ${build_cmd})
elapsed(noop2_s ${t0})
message(STATUS "figures (hello, ${MODE}): no-op build after re-configure ${noop_s} s, no-op build ${noop2_s} s")
