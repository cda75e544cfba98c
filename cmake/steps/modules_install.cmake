# Build-time step of uml_modules_install(). uml_modules_install() writes a script
# that includes this file and calls:
#
#   uml_step_modules_install(NAME <target> IMAGE <new image> BASE_IMAGE <image>
#     KERNEL_DIR <obj> KERNEL_SOURCE_DIR <src> CC <cc> MAKE <make> DEPMOD <depmod>
#     DEBUGFS <debugfs> [MODULE_DIRS <dir>...] STAGE <dir>)
#
# A new image made of the rootfs image plus the kernel's modules and the project's
# (every .ko in each module directory's modules.order) under
# /lib/modules/<release>, indexed by depmod. The rootfs image is copied, never written;
# after a module edit only the changed files go into a copy of the last image.
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

# The files of a stage's module tree that the state does not hash (the kernel's
# modules, in its subdirectories but extra/), one "tree <path> <size>" line each.
function(_uml_stage_listing out tree)
  file(
    GLOB_RECURSE files
    LIST_DIRECTORIES false
    RELATIVE "${tree}"
    "${tree}/*")
  list(FILTER files INCLUDE REGEX "/")
  list(FILTER files EXCLUDE REGEX "^extra/")
  list(SORT files)
  set(text "")
  foreach(file IN LISTS files)
    file(SIZE "${tree}/${file}" size)
    string(APPEND text "tree ${file} ${size}\n")
  endforeach()
  # Ended, so that a shorter listing is not a prefix of the recorded one.
  set(${out} "${text}tree end\n" PARENT_SCOPE)
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

  # The project's modules, as their modules.order files list them.
  set(project_kos "")
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
      list(APPEND project_kos "${ko}")
    endforeach()
  endforeach()

  # Everything but the project's modules and depmod's index: while it is what the last
  # image was made from, a new image is a copy of the last one with only the files
  # that changed written (a module edit costs its .ko and the index, not the kernel's
  # modules); otherwise it is made from the rootfs image. The stage (this image's
  # /lib/modules tree) and the state (this key, then each written file's hash) are
  # kept beside the image for that.
  file(TIMESTAMP "${arg_BASE_IMAGE}" base_time "%s.%f" UTC)
  file(SIZE "${arg_BASE_IMAGE}" base_size)
  set(key "modules-install state 1\nbase ${arg_BASE_IMAGE} ${base_time} ${base_size}\n")
  string(APPEND key "kernel ${release} ${kernel_time}\ndepmod ${arg_DEPMOD}\ndebugfs ${arg_DEBUGFS}\n")
  set(state_file "${arg_IMAGE}.state")
  set(tree "${arg_STAGE}/lib/modules/${release}")
  set(incremental FALSE)
  set(old_sums "")
  if(EXISTS "${state_file}" AND EXISTS "${arg_IMAGE}" AND IS_DIRECTORY "${tree}/extra")
    # The stage's kernel part must be as the last image got it (not edited by hand).
    _uml_stage_listing(listing "${tree}")
    file(READ "${state_file}" state)
    string(LENGTH "${key}${listing}" key_length)
    string(SUBSTRING "${state}" 0 ${key_length} state_key)
    if(state_key STREQUAL "${key}${listing}")
      set(incremental TRUE)
      string(SUBSTRING "${state}" ${key_length} -1 old_sums)
      string(REGEX MATCHALL "[^\n]+" old_sums "${old_sums}")
    endif()
  endif()
  # The state is gone until the new image is in place: a failure leaves a full build.
  file(REMOVE "${state_file}")

  if(NOT incremental)
    file(REMOVE_RECURSE "${arg_STAGE}")
    file(MAKE_DIRECTORY "${tree}/extra")
    file(GLOB kernel_entries LIST_DIRECTORIES true "${kernel_stage}/lib/modules/${release}/*")
    foreach(entry IN LISTS kernel_entries)
      if(NOT IS_SYMLINK "${entry}") # build -> the kernel tree, useless in the guest
        file(COPY "${entry}" DESTINATION "${tree}")
      endif()
    endforeach()
  endif()
  # extra/ holds exactly the project's modules.
  set(wanted "")
  foreach(ko IN LISTS project_kos)
    get_filename_component(ko_name "${ko}" NAME)
    list(APPEND wanted "${tree}/extra/${ko_name}")
    file(COPY_FILE "${ko}" "${tree}/extra/${ko_name}" ONLY_IF_DIFFERENT)
  endforeach()
  file(GLOB staged "${tree}/extra/*")
  foreach(file IN LISTS staged)
    if(NOT file IN_LIST wanted)
      file(REMOVE "${file}")
    endif()
  endforeach()
  run("depmod" "${arg_DEPMOD}" -b "${arg_STAGE}" "${release}")

  # The files that can change without the key changing: the project's modules and the
  # release directory's own files (depmod's index), each with its hash.
  file(GLOB tracked LIST_DIRECTORIES false "${tree}/*" "${tree}/extra/*")
  set(sums "")
  set(changed "")
  foreach(file IN LISTS tracked)
    file(SHA1 "${file}" sum)
    file(RELATIVE_PATH rel "${arg_STAGE}" "${file}")
    list(APPEND sums "/${rel} ${sum}")
    if(NOT "/${rel} ${sum}" IN_LIST old_sums)
      list(APPEND changed "${file}=/${rel}")
    endif()
  endforeach()
  set(removed "")
  foreach(entry IN LISTS old_sums)
    string(REGEX REPLACE " [0-9a-f]+$" "" guest "${entry}")
    if(NOT EXISTS "${arg_STAGE}${guest}")
      list(APPEND removed "${guest}")
    endif()
  endforeach()

  get_filename_component(dir "${arg_IMAGE}" DIRECTORY)
  file(MAKE_DIRECTORY "${dir}")
  set(tmp_image "${arg_IMAGE}.tmp")
  if(incremental)
    set(written "")
    foreach(pair IN LISTS changed)
      string(REGEX REPLACE "^.*/" "" name "${pair}")
      list(APPEND written "${name}")
    endforeach()
    list(JOIN written ", " written)
    if(written STREQUAL "" AND NOT removed)
      message(STATUS "UML image ${arg_NAME}: nothing changed in /lib/modules/${release}")
      file(TOUCH "${arg_IMAGE}") # newer than what changed, for the build tool
    else()
      message(STATUS "UML image ${arg_NAME}: wrote only what changed: ${written}")
      # A copy, then renamed: a guest running from the last image keeps its file.
      run("copying ${arg_IMAGE}" cp --sparse=always --reflink=auto "${arg_IMAGE}" "${tmp_image}")
      debugfs_write("${tmp_image}" "${changed}" REMOVE ${removed})
      file(RENAME "${tmp_image}" "${arg_IMAGE}")
    endif()
  else()
    # Into a copy of the rootfs image, renamed into place only when complete.
    set(pairs "")
    file(GLOB_RECURSE files LIST_DIRECTORIES false "${arg_STAGE}/*")
    foreach(file IN LISTS files)
      file(RELATIVE_PATH rel "${arg_STAGE}" "${file}")
      list(APPEND pairs "${file}=/${rel}")
    endforeach()
    run("copying ${arg_BASE_IMAGE}" cp --sparse=always "${arg_BASE_IMAGE}" "${tmp_image}")
    debugfs_write("${tmp_image}" "${pairs}")
    file(RENAME "${tmp_image}" "${arg_IMAGE}")
  endif()
  _uml_stage_listing(listing "${tree}")
  list(JOIN sums "\n" sums)
  file(WRITE "${state_file}" "${key}${listing}${sums}\n")
endfunction()
