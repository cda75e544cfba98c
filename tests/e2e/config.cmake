# Kernel configuration end to end (configure only, no kernel build): defconfig
# with a fragment, hand edits saved back as a fragment and as a defconfig, a
# saved defconfig used as CONFIG, and a fragment change replacing hand edits.
#   -DPACKAGE_DIR -DPROJECT_DIR -DWORK_DIR -DCACHE_DIR
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")

set(src "${WORK_DIR}/src")
set(build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(COPY "${PROJECT_DIR}/" DESTINATION "${src}")
# An empty UML_CACHE_DIR: kernels live in the build tree, where a changed fragment
# re-makes the same kernel's config (shared kernels are keyed by their inputs).
configure_command(configure_cmd "${src}" "${build}" "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}" "-DUML_CACHE_DIR=")
# The unpacked source is shared with the other tests through UML_KERNEL_SOURCE.
file(GLOB shared_sources LIST_DIRECTORIES true "${CACHE_DIR}/src/linux-source-*")
list(FILTER shared_sources EXCLUDE REGEX "\\.lock$")
if(shared_sources)
  list(GET shared_sources 0 shared_source)
  list(APPEND configure_cmd "-DUML_KERNEL_SOURCE=${shared_source}")
endif()
run(out ${configure_cmd})
include("${build}/uml-info.cmake")
expect("an empty UML_CACHE_DIR keeps the kernel in the build tree (${defk_dir})" defk_dir MATCHES "^${build}/_uml/")

file(READ "${defk_config}" config)
expect("defconfig mode: HOSTFS from defconfig" config MATCHES "\nCONFIG_HOSTFS=y\n")
expect(
  "defconfig mode: the fragment's KUNIT and DEBUG_FS"
  config
  MATCHES
  "\nCONFIG_KUNIT=y\n"
  AND
  config
  MATCHES
  "\nCONFIG_DEBUG_FS=y\n")

# A hand edit (what menuconfig does), saved back as a fragment.
file(READ "${defk_config}" config)
string(REPLACE "# CONFIG_KUNIT_EXAMPLE_TEST is not set" "CONFIG_KUNIT_EXAMPLE_TEST=y" edited "${config}")
expect("the test can make a hand edit" NOT edited STREQUAL config)
file(WRITE "${defk_config}" "${edited}")
run(out
    make
    -C
    "${defk_source}"
    "O=${defk_dir}"
    ARCH=um
    olddefconfig)
run(out "${CMAKE_COMMAND}" --build "${build}" --target defk_savefragment)
file(READ "${src}/defk.config" fragment)
expect("savefragment wrote the edit to defk.config" fragment MATCHES "\nCONFIG_KUNIT_EXAMPLE_TEST=y\n")
string(REGEX MATCHALL "\nCONFIG_[A-Z0-9_]+=" assignments "${fragment}")
list(LENGTH assignments count)
expect("...and only the symbols that changed (${count})" count LESS 5)

# Saved as a defconfig, then used as a full CONFIG file by another kernel.
run(out "${CMAKE_COMMAND}" --build "${build}" --target defk_savedefconfig)
expect("savedefconfig wrote defk.defconfig" EXISTS "${src}/defk.defconfig")
run(out ${configure_cmd} "-DUML_TEST_FULL_CONFIG=${src}/defk.defconfig")
include("${build}/uml-info.cmake")
file(READ "${filek_config}" config)
expect("CONFIG <file> mode keeps the saved KUNIT_EXAMPLE_TEST" config MATCHES "\nCONFIG_KUNIT_EXAMPLE_TEST=y\n")

# A fragment change makes the config anew, keeping the hand-edited one aside.
file(APPEND "${src}/kunit.config" "CONFIG_KUNIT_TEST=y\n")
run(out ${configure_cmd})
include("${build}/uml-info.cmake")
expect("re-configure warns that hand edits are replaced" out MATCHES "hand edits")
expect("...and keeps them in .config.before-uml" EXISTS "${defk_dir}/.config.before-uml")
file(READ "${defk_config}" config)
expect("the new fragment symbol is in" config MATCHES "\nCONFIG_KUNIT_TEST=y\n")
expect("the hand edit is gone" NOT config MATCHES "\nCONFIG_KUNIT_EXAMPLE_TEST=y\n")

# UML_KERNEL_CC is looked up at every configure: a changed value takes effect (once a
# compiler was found it used to stay cached), here one that does not exist.
execute_process(
  COMMAND ${configure_cmd} -DUML_KERNEL_CC=no-such-cc
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
expect(
  "a changed UML_KERNEL_CC is used at the next configure"
  NOT
  rc
  EQUAL
  0
  AND
  out
  MATCHES
  "compiler 'no-such-cc' \\(UML_KERNEL_CC\\) not found")
run(out ${configure_cmd} -DUML_KERNEL_CC=gcc)
