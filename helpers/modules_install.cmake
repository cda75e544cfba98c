# Build-time step of uml_modules_install(): a new image made of the rootfs image
# plus the kernel's and the project's modules under /lib/modules/<release>,
# indexed by depmod. The rootfs image is copied, never written.
cmake_minimum_required(VERSION 3.25)
set(UML_CONTEXT "uml_modules_install(${UML_NAME})")
include("${CMAKE_CURRENT_LIST_DIR}/image_common.cmake")

file(READ "${UML_KERNEL_DIR}/include/config/kernel.release" release)
string(STRIP "${release}" release)

# The kernel's own modules_install, once per kernel build: the kernel build
# directory may be shared by several projects, so under its lock.
set(kernel_stage "${UML_KERNEL_DIR}/.uml/modules-stage")
file(LOCK "${UML_KERNEL_DIR}/.uml/lock" TIMEOUT 7200 RESULT_VARIABLE lock_error)
if(lock_error)
  fail("cannot lock ${UML_KERNEL_DIR}/.uml/lock: ${lock_error}")
endif()
file(TIMESTAMP "${UML_KERNEL_DIR}/linux" kernel_time "%s" UTC)
set(done "")
if(EXISTS "${kernel_stage}.done")
  file(READ "${kernel_stage}.done" done)
endif()
if(NOT done STREQUAL "${release} ${kernel_time}")
  file(REMOVE_RECURSE "${kernel_stage}")
  run("the kernel's modules_install"
      "${UML_MAKE}"
      -C
      "${UML_KERNEL_SOURCE_DIR}"
      O=${UML_KERNEL_DIR}
      ARCH=um
      "CC=${UML_CC}"
      "HOSTCC=${UML_CC}"
      INSTALL_MOD_PATH=${kernel_stage}
      DEPMOD=true
      modules_install)
  file(WRITE "${kernel_stage}.done" "${release} ${kernel_time}")
endif()
file(LOCK "${UML_KERNEL_DIR}/.uml/lock" RELEASE)

# This image's module tree: the kernel's, plus ours in extra/, then depmod.
file(REMOVE_RECURSE "${UML_STAGE}")
set(tree "${UML_STAGE}/lib/modules/${release}")
file(MAKE_DIRECTORY "${tree}/extra")
file(GLOB kernel_entries LIST_DIRECTORIES true "${kernel_stage}/lib/modules/${release}/*")
foreach(entry IN LISTS kernel_entries)
  if(NOT IS_SYMLINK "${entry}") # build -> the kernel tree, useless in the guest
    file(COPY "${entry}" DESTINATION "${tree}")
  endif()
endforeach()
foreach(ko IN LISTS UML_MODULE_FILES)
  if(NOT EXISTS "${ko}")
    fail("module ${ko} was not built.")
  endif()
  file(COPY "${ko}" DESTINATION "${tree}/extra")
endforeach()
run("depmod" "${UML_DEPMOD}" -b "${UML_STAGE}" "${release}")

# Into a copy of the rootfs image, renamed into place only when complete.
set(pairs "")
file(GLOB_RECURSE files LIST_DIRECTORIES false "${UML_STAGE}/*")
foreach(file IN LISTS files)
  file(RELATIVE_PATH rel "${UML_STAGE}" "${file}")
  list(APPEND pairs "${file}=/${rel}")
endforeach()
get_filename_component(dir "${UML_IMAGE}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
set(tmp_image "${UML_IMAGE}.tmp")
run("copying ${UML_BASE_IMAGE}" cp --sparse=always "${UML_BASE_IMAGE}" "${tmp_image}")
debugfs_write("${tmp_image}" "${pairs}")
file(RENAME "${tmp_image}" "${UML_IMAGE}")
file(REMOVE_RECURSE "${UML_STAGE}")
