# The multi example's own checks, included by tests/e2e/example.cmake (see its
# variables): the consumer's .ko depends on the provider, depmod recorded that
# in the image the tests boot, both guest tests passed, and (installed mode,
# where the example is a copy) a provider rebuild rebuilds the consumer.
foreach(test IN ITEMS modprobe_loads_provider_first unload_order_enforced)
  expect("${test} passed" CTEST_OUTPUT MATCHES "${test} \\.+ +Passed")
endforeach()

# modpost resolved the exported symbol through the provider's Module.symvers
# and recorded the dependency in the consumer.
modinfo(depends "${module_multi_consumer_files}" depends)
expect("multi_consumer.ko depends on multi_provider (modinfo: '${depends}')" depends STREQUAL "multi_provider")
modinfo(depends "${module_multi_provider_files}" depends)
expect("multi_provider.ko depends on nothing (modinfo: '${depends}')" NOT depends)
get_filename_component(provider_dir "${module_multi_provider_files}" DIRECTORY)
file(STRINGS "${provider_dir}/Module.symvers" exported REGEX "multi_provider_adler32")
expect("Module.symvers exports multi_provider_adler32 as GPL (${exported})" exported MATCHES "EXPORT_SYMBOL_GPL")

# depmod's modules.dep in the image the tests boot.
file(GLOB_RECURSE images "${BUILD_DIR}/*.img")
list(FILTER images INCLUDE REGEX "/_uml/images/uml_modules_install\\.img$")
list(LENGTH images image_count)
expect("one image with the modules (${images})" image_count EQUAL 1)
find_program(DEBUGFS debugfs PATHS /sbin /usr/sbin REQUIRED)
set(release "${kernel_uml_kernel_release}")
run(out "${DEBUGFS}" -R "cat /lib/modules/${release}/modules.dep" "${images}")
expect("modules.dep: multi_consumer needs multi_provider" out MATCHES
       "(^|\n)extra/multi_consumer\\.ko: extra/multi_provider\\.ko\n")
expect("modules.dep: multi_provider needs nothing" out MATCHES "(^|\n)extra/multi_provider\\.ko:\n")

if(NOT MODE STREQUAL "installed")
  return() # the rest edits the example's sources: only the installed mode's copy may be edited
endif()

# An edit of the provider rebuilds the consumer too (DEPENDS), and the image.
execute_process(COMMAND sleep 1)
file(TOUCH "${EXAMPLE_DIR}/multi_provider.c")
run_in(out ${build_cmd})
expect("the provider was rebuilt" out MATCHES "Building UML module multi_provider")
expect("the consumer was rebuilt after it" out MATCHES
       "Building UML module multi_provider.*Building UML module multi_consumer")
expect("the image was made again" out MATCHES "Installing modules into UML image uml_modules_install")
