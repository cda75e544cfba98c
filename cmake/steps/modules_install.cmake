# Build-time step of uml_modules_install(). uml_modules_install() writes a script
# that includes this file and calls:
#
#   uml_step_modules_install(NAME <target> IMAGE <new image> BASE_IMAGE <image>
#     KERNEL_DIR <obj> KERNEL_SOURCE_DIR <src> CC <cc> MAKE <make> DEPMOD <depmod>
#     DEBUGFS <debugfs> [MODULE_DIRS <dir>...] STAGE <dir>)
#
# A new image made of the rootfs image plus the kernel's modules and the project's
# (every .ko in each module directory's modules.order) under
# /lib/modules/<release>, indexed by depmod. The rootfs image is copied, never written.
include_guard(GLOBAL)
include("${CMAKE_CURRENT_LIST_DIR}/../UmlKbuild.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/image_common.cmake")

# Two module directories whose modules.order list the same module name (a KBUILD_DIR's
# names are known only now): one .ko would replace the other in extra/. modprobe treats
# '-' and '_' alike.
function(_uml_check_unique_module_names module_dirs)
  set(seen "")
  foreach(dir IN LISTS module_dirs)
    if(NOT EXISTS "${dir}/modules.order")
      continue() # reported below, with the others
    endif()
    file(STRINGS "${dir}/modules.order" lines)
    foreach(line IN LISTS lines)
      if(NOT line MATCHES "([^/]+)\\.k?o$")
        continue()
      endif()
      set(ko "${CMAKE_MATCH_1}")
      string(REPLACE "-" "_" key "${ko}")
      foreach(entry IN LISTS seen)
        string(REGEX MATCH "^([^|]*)\\|([^|]*)\\|(.*)$" _ "${entry}")
        if(CMAKE_MATCH_1 STREQUAL key)
          fail("two modules are named ${ko}: ${CMAKE_MATCH_3}/modules.order lists ${CMAKE_MATCH_2} and "
               "${dir}/modules.order lists ${ko}; one would replace the other in the image. Rename one.")
        endif()
      endforeach()
      list(APPEND seen "${key}|${ko}|${dir}")
    endforeach()
  endforeach()
endfunction()

function(uml_step_modules_install)
  cmake_parse_arguments(PARSE_ARGV 0 arg ""
                        "NAME;IMAGE;BASE_IMAGE;KERNEL_DIR;KERNEL_SOURCE_DIR;CC;MAKE;DEPMOD;DEBUGFS;STAGE" "MODULE_DIRS")
  set(UML_CONTEXT "uml_modules_install(${arg_NAME})")
  set(UML_DEBUGFS "${arg_DEBUGFS}")
  _uml_check_unique_module_names("${arg_MODULE_DIRS}")
  file(READ "${arg_KERNEL_DIR}/include/config/kernel.release" release)
  string(STRIP "${release}" release)

  # The kernel's own modules_install, once per kernel build: the kernel build
  # directory may be shared by several projects, so under its lock.
  set(kernel_stage "${arg_KERNEL_DIR}/.uml/modules-stage")
  file(LOCK "${arg_KERNEL_DIR}/.uml/lock" TIMEOUT 7200 RESULT_VARIABLE lock_error)
  if(lock_error)
    fail("cannot lock ${arg_KERNEL_DIR}/.uml/lock: ${lock_error}")
  endif()
  file(TIMESTAMP "${arg_KERNEL_DIR}/linux" kernel_time "%s" UTC)
  set(done "")
  if(EXISTS "${kernel_stage}.done")
    file(READ "${kernel_stage}.done" done)
  endif()
  if(NOT done STREQUAL "${release} ${kernel_time}")
    file(REMOVE_RECURSE "${kernel_stage}")
    _uml_kbuild_command(
      make_cmd
      MAKE "${arg_MAKE}"
      SOURCE_DIR "${arg_KERNEL_SOURCE_DIR}"
      BUILD_DIR "${arg_KERNEL_DIR}"
      CC "${arg_CC}"
      ARGS "INSTALL_MOD_PATH=${kernel_stage}" DEPMOD=true modules_install)
    run("the kernel's modules_install" ${make_cmd})
    file(WRITE "${kernel_stage}.done" "${release} ${kernel_time}")
  endif()
  file(LOCK "${arg_KERNEL_DIR}/.uml/lock" RELEASE)

  # This image's module tree: the kernel's, plus ours in extra/, then depmod.
  file(REMOVE_RECURSE "${arg_STAGE}")
  set(tree "${arg_STAGE}/lib/modules/${release}")
  file(MAKE_DIRECTORY "${tree}/extra")
  file(GLOB kernel_entries LIST_DIRECTORIES true "${kernel_stage}/lib/modules/${release}/*")
  foreach(entry IN LISTS kernel_entries)
    if(NOT IS_SYMLINK "${entry}") # build -> the kernel tree, useless in the guest
      file(COPY "${entry}" DESTINATION "${tree}")
    endif()
  endforeach()
  foreach(dir IN LISTS arg_MODULE_DIRS)
    if(NOT EXISTS "${dir}/modules.order")
      fail("the modules in ${dir} were not built (no modules.order).")
    endif()
    file(STRINGS "${dir}/modules.order" lines)
    foreach(line IN LISTS lines)
      # 6.1 lists .ko paths, 6.12 .o paths; absolute, or relative to the directory.
      string(REGEX REPLACE "\\.k?o$" ".ko" ko "${line}")
      if(NOT IS_ABSOLUTE "${ko}")
        set(ko "${dir}/${ko}")
      endif()
      if(NOT EXISTS "${ko}")
        fail("module ${ko} (listed in ${dir}/modules.order) was not built.")
      endif()
      file(COPY "${ko}" DESTINATION "${tree}/extra")
    endforeach()
  endforeach()
  run("depmod" "${arg_DEPMOD}" -b "${arg_STAGE}" "${release}")

  # Into a copy of the rootfs image, renamed into place only when complete.
  set(pairs "")
  file(GLOB_RECURSE files LIST_DIRECTORIES false "${arg_STAGE}/*")
  foreach(file IN LISTS files)
    file(RELATIVE_PATH rel "${arg_STAGE}" "${file}")
    list(APPEND pairs "${file}=/${rel}")
  endforeach()
  get_filename_component(dir "${arg_IMAGE}" DIRECTORY)
  file(MAKE_DIRECTORY "${dir}")
  set(tmp_image "${arg_IMAGE}.tmp")
  run("copying ${arg_BASE_IMAGE}" cp --sparse=always "${arg_BASE_IMAGE}" "${tmp_image}")
  debugfs_write("${tmp_image}" "${pairs}")
  file(RENAME "${tmp_image}" "${arg_IMAGE}")
  file(REMOVE_RECURSE "${arg_STAGE}")
endfunction()
