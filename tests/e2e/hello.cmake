# End to end: the hello example, consumed installed (find_package from a
# prefix) or vendored (add_subdirectory), built for real.
#   -DMODE=installed|vendored -DPACKAGE_DIR -DPREFIX -DEXAMPLE_DIR -DCONSUMER_DIR
#   -DWORK_DIR -DCACHE_DIR [-DCMAKE_C_COMPILER_LAUNCHER]
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")

set(build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
configure_command(configure_cmd "${CONSUMER_DIR}" "${build}" "-DUML_CACHE_DIR=${CACHE_DIR}"
                  "-DUML_TEST_EXAMPLE_DIR=${EXAMPLE_DIR}")
if(MODE STREQUAL "installed")
  list(APPEND configure_cmd "-DCMAKE_PREFIX_PATH=${PREFIX}")
else()
  list(APPEND configure_cmd -DUML_TEST_VENDORED=ON "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}")
endif()

now(t0)
run(out ${configure_cmd})
elapsed(configure_s ${t0})
now(t0)
run(out "${CMAKE_COMMAND}" --build "${build}")
elapsed(build_s ${t0})
include("${build}/uml-info.cmake")

# The package came from where this mode says.
if(MODE STREQUAL "installed")
  expect("find_package used the installed package (${package_dir})" package_dir MATCHES "^${PREFIX}/")
else()
  expect("find_package used the vendored copy (${package_dir})" NOT package_dir MATCHES "^${PREFIX}/")
endif()

# A real kernel and a module built against it.
expect("the UML kernel exists: ${kernel_image}" EXISTS "${kernel_image}")
file(READ "${kernel_dir}/include/config/kernel.release" built_release)
string(STRIP "${built_release}" built_release)
expect("UML_KERNEL_RELEASE (${kernel_release}) is the built kernel's (${built_release})" kernel_release STREQUAL
       built_release)
expect("hello.ko exists: ${hello_ko}" EXISTS "${hello_ko}")
modinfo(vermagic "${hello_ko}" vermagic)
string(REGEX REPLACE " .*" "" vermagic_release "${vermagic}")
expect("hello.ko vermagic '${vermagic}' names the kernel release ${kernel_release}" vermagic_release STREQUAL
       kernel_release)

# The example's own test boots the image and finds the module loaded.
run(out ctest --test-dir "${build}" --output-on-failure)
expect("the example's boot test passes" out MATCHES "100% tests passed")

# The example's source directory stays clean: Kbuild built from links.
file(GLOB_RECURSE litter "${EXAMPLE_DIR}/*.o" "${EXAMPLE_DIR}/*.ko" "${EXAMPLE_DIR}/.*.cmd"
     "${EXAMPLE_DIR}/Module.symvers")
expect("no build output in ${EXAMPLE_DIR} (${litter})" NOT litter)

# The compile database has the module's real source with the kernel's flags.
file(REAL_PATH "${EXAMPLE_DIR}/hello.c" hello_c)
compile_command(command "${build}/compile_commands.json" "${hello_c}")
expect("compile_commands.json has ${hello_c}" command)
expect("its command has -D__KERNEL__" command MATCHES " -D__KERNEL__ ")
expect("its command compiles the real source, not the build tree's link" command MATCHES " ${hello_c}( |$)")

# Nothing changed: a second configure and build do no kernel or module work.
mtime(stamp_before "${kernel_stamp}")
mtime(image_before "${kernel_image}")
execute_process(COMMAND sleep 1)
run(out ${configure_cmd})
expect("re-configure does not make the kernel config again" NOT out MATCHES "Configuring UML kernel")
now(t0)
run(out "${CMAKE_COMMAND}" --build "${build}")
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
run(out "${CMAKE_COMMAND}" --build "${build}")
elapsed(noop2_s ${t0})

message(
  STATUS "figures (${MODE}): configure ${configure_s} s, first build ${build_s} s, no-op build after re-configure "
         "${noop_s} s, no-op build ${noop2_s} s")
