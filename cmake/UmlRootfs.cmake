include_guard(GLOBAL)
include("${CMAKE_CURRENT_LIST_DIR}/UmlHostTools.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/steps/guest_path.cmake")

set(UML_DEBIAN_MIRROR ""
    CACHE STRING "Debian mirror for uml_add_rootfs(TYPE debian) (empty: mmdebstrap's default, deb.debian.org)")

#[=======================================================================[.md
### uml_add_rootfs

```cmake
uml_add_rootfs(<name>
  [TYPE busybox|debian|directory|tarball|image]   # default: busybox
  [FROM <dir|root.tar[.gz|.xz|.zst]|image.ext4>]   # directory, tarball, image
  [SIZE <n>K|M|G]                                 # default: content + headroom
  [SUITE <suite>] [VARIANT <variant>] [PACKAGES <pkg>...] [MIRROR <url>]  # debian
  [FILES <host-path>=<guest-path>...]
  [PROGRAMS <executable-target>...]
  [EXCLUDE_FROM_ALL])
```
Adds target `<name>` that makes an ext4 root filesystem image without root
privileges or mounting (a `fakeroot` session and `mke2fs -d`, or `debugfs` for
`image`). Every file is owned by root (0:0) in the image, tarball and Debian
roots keep the owners recorded in their archive. Every image gets the package's
guest side under `/.uml`: its init (`/.uml/init`), a static busybox and a link per
applet, so the guest needs nothing of the image's userland (a hand-made image with
a lone shell boots, and the command's `PATH` ends with `/.uml/bin`); the mount
points the init uses are made in the image too.

- `busybox`: Debian's static busybox with its applet links and a minimal `/etc`.
- `debian`: `mmdebstrap` (rootless `unshare` mode as a user) of `SUITE` (default
  `bookworm`), `VARIANT` (default `minbase`) and `PACKAGES` (`kmod` is always
  added, so `modprobe` works). The root tarball is cached in `UML_CACHE_DIR`
  by its inputs, so reconfiguring or a new build tree does not fetch it again.
- `directory` / `tarball`: a prepared root, e.g. another distribution's root
  tarball (how an Alpine or Fedora root comes in).
- `image`: an existing ext2/3/4 image; it is copied, never modified. An image
  that is not ext2/3/4, or too full for the guest side, fails the build with the
  reason (raise `SIZE`).
- `FILES`: host files or directories copied to absolute guest paths; a guest
  path whose `..` goes above `/` is an error.
- `SIZE`: at most 1 TiB (`1024G`): the image file is sparse, but `mke2fs`
  writes metadata in proportion to the size, so a larger one would fill the
  disk or take hours; a larger or zero `SIZE` is a configure error.
- `PROGRAMS`: executable targets, which must be linked statically
  (`target_link_options(<t> PRIVATE -static)`), installed as `/usr/local/bin/<name>`.

Target property: `UML_ROOTFS_IMAGE` (the image file).
#]=======================================================================]
function(uml_add_rootfs name)
  list(APPEND CMAKE_MESSAGE_CONTEXT uml_add_rootfs)
  _uml_check_target_name(uml_add_rootfs "${name}")
  cmake_parse_arguments(PARSE_ARGV 1 arg "EXCLUDE_FROM_ALL" "TYPE;FROM;SIZE;SUITE;VARIANT;MIRROR"
                        "PACKAGES;FILES;PROGRAMS")
  _uml_reject_unparsed(uml_add_rootfs arg)
  foreach(kw IN LISTS arg_KEYWORDS_MISSING_VALUES)
    message(FATAL_ERROR "uml_add_rootfs(${name}): ${kw} needs a value.")
  endforeach()
  set(type busybox)
  if(DEFINED arg_TYPE)
    set(type "${arg_TYPE}")
  endif()
  if(NOT type MATCHES "^(busybox|debian|directory|tarball|image)$")
    message(FATAL_ERROR "uml_add_rootfs(${name}): unknown TYPE '${type}': expected busybox, debian, directory, "
                        "tarball or image.")
  endif()
  if(type MATCHES "^(directory|tarball|image)$")
    if(NOT DEFINED arg_FROM)
      message(FATAL_ERROR "uml_add_rootfs(${name}): TYPE ${type} needs FROM <path>.")
    endif()
    get_filename_component(from "${arg_FROM}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${from}")
      message(FATAL_ERROR "uml_add_rootfs(${name}): FROM ${from} does not exist.")
    endif()
    if(type STREQUAL "directory" AND NOT IS_DIRECTORY "${from}")
      message(FATAL_ERROR "uml_add_rootfs(${name}): FROM ${from} is not a directory (TYPE directory).")
    elseif(NOT type STREQUAL "directory" AND IS_DIRECTORY "${from}")
      message(FATAL_ERROR "uml_add_rootfs(${name}): FROM ${from} is a directory; use TYPE directory.")
    endif()
  elseif(DEFINED arg_FROM)
    message(FATAL_ERROR "uml_add_rootfs(${name}): FROM applies to TYPE directory, tarball and image, not ${type}.")
  else()
    set(from "")
  endif()
  if(NOT type STREQUAL "debian")
    foreach(kw IN ITEMS SUITE VARIANT PACKAGES MIRROR)
      if(DEFINED arg_${kw})
        message(FATAL_ERROR "uml_add_rootfs(${name}): ${kw} applies to TYPE debian only.")
      endif()
    endforeach()
  endif()
  set(size auto)
  if(DEFINED arg_SIZE)
    if(NOT arg_SIZE MATCHES "^[0-9]+[KMG]$")
      message(FATAL_ERROR "uml_add_rootfs(${name}): SIZE '${arg_SIZE}' must be a number with K, M or G (e.g. 256M).")
    endif()
    _uml_check_rootfs_size("uml_add_rootfs(${name})" "${arg_SIZE}")
    set(size "${arg_SIZE}")
  endif()

  set(tools mke2fs debugfs fakeroot tar readelf busybox)
  if(type STREQUAL "debian")
    list(APPEND tools mmdebstrap)
  elseif(type STREQUAL "image")
    list(APPEND tools dumpe2fs resize2fs)
  endif()
  _uml_require_host_tools(${tools})

  set(depends "${_UML_PACKAGE_ROOT}/templates/guest/uml-init" "${UML_BUSYBOX_EXECUTABLE}" ${_UML_STEP_DEPENDS})
  if(type STREQUAL "directory")
    file(GLOB_RECURSE from_files LIST_DIRECTORIES false "${from}/*")
    list(APPEND depends ${from_files})
  elseif(type MATCHES "^(tarball|image)$")
    list(APPEND depends "${from}")
  endif()

  # FILES: host=guest pairs, checked now.
  set(files "")
  foreach(pair IN LISTS arg_FILES)
    if(NOT pair MATCHES "^([^=]+)=(/.*)$")
      message(FATAL_ERROR "uml_add_rootfs(${name}): FILES entry '${pair}' must be <host-path>=</absolute/guest/path>.")
    endif()
    _uml_check_guest_path("uml_add_rootfs(${name})" "${CMAKE_MATCH_2}")
    get_filename_component(host "${CMAKE_MATCH_1}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${host}")
      message(FATAL_ERROR "uml_add_rootfs(${name}): FILES source ${host} does not exist.")
    endif()
    list(APPEND files "${host}=${CMAKE_MATCH_2}")
    if(IS_DIRECTORY "${host}")
      file(GLOB_RECURSE dir_files LIST_DIRECTORIES false "${host}/*")
      list(APPEND depends ${dir_files})
    else()
      list(APPEND depends "${host}")
    endif()
  endforeach()

  # PROGRAMS: executables built by this project; static-ness is checked when
  # the image is made, since only the linked file tells.
  set(programs "")
  foreach(program IN LISTS arg_PROGRAMS)
    if(NOT TARGET "${program}")
      message(FATAL_ERROR "uml_add_rootfs(${name}): PROGRAMS '${program}' is not a target.")
    endif()
    get_target_property(program_type ${program} TYPE)
    if(NOT program_type STREQUAL "EXECUTABLE")
      message(FATAL_ERROR "uml_add_rootfs(${name}): PROGRAMS '${program}' is a ${program_type}, not an executable.")
    endif()
    list(APPEND programs "$<TARGET_FILE:${program}>")
    list(APPEND depends "$<TARGET_FILE:${program}>")
  endforeach()

  set(work "${CMAKE_CURRENT_BINARY_DIR}/_uml/rootfs")
  set(image "${work}/${name}.img")
  set(step_NAME "${name}")
  set(step_TYPE "${type}")
  set(step_FROM "${from}")
  set(step_SIZE "${size}")
  set(step_IMAGE "${image}")
  set(step_STAGE "${work}/${name}.stage")
  set(step_INIT "${_UML_PACKAGE_ROOT}/templates/guest/uml-init")
  set(step_FILES "${files}")
  set(step_PROGRAMS "${programs}")
  foreach(
    tool IN
    ITEMS BUSYBOX
          MKE2FS
          DEBUGFS
          TAR
          READELF
          DUMPE2FS
          RESIZE2FS)
    set(step_${tool} "${UML_${tool}_EXECUTABLE}")
  endforeach()
  if(type STREQUAL "debian")
    _uml_debian_tarball(tarball "${name}" "${arg_SUITE}" "${arg_VARIANT}" "${arg_MIRROR}" "${arg_PACKAGES}")
    set(step_FROM "${tarball}")
    list(APPEND depends "${tarball}")
  endif()
  set(script "${CMAKE_CURRENT_BINARY_DIR}/_uml/steps/${name}.rootfs.cmake")
  _uml_write_step_script(
    "${script}"
    rootfs
    uml_step_rootfs
    NAME
    TYPE
    FROM
    SIZE
    IMAGE
    STAGE
    INIT
    FILES
    PROGRAMS
    BUSYBOX
    MKE2FS
    DEBUGFS
    TAR
    READELF
    DUMPE2FS
    RESIZE2FS)
  add_custom_command(
    OUTPUT "${image}"
    COMMAND "${UML_FAKEROOT_EXECUTABLE}" -- "${CMAKE_COMMAND}" -P "${script}"
    DEPENDS ${depends} "${script}"
    COMMENT "Making UML root filesystem ${name} (${type})"
    VERBATIM)
  _uml_add_custom_target(${name} "${arg_EXCLUDE_FROM_ALL}" DEPENDS "${image}")
  if(arg_PROGRAMS)
    add_dependencies(${name} ${arg_PROGRAMS})
  endif()
  set_target_properties(${name} PROPERTIES UML_ROOTFS_IMAGE "${image}" UML_ROOTFS_TYPE "${type}")
endfunction()

# The largest SIZE: the image is a sparse file, but mke2fs writes metadata in proportion
# to the size (inode tables, bitmaps), so a huge SIZE fills the disk or runs for hours;
# no test root needs more than 1 TiB.
set(_UML_ROOTFS_MAX_SIZE_KIB 1073741824 CACHE INTERNAL "Largest uml_add_rootfs() SIZE, in KiB (1 TiB)")

# SIZE (already <n>K|M|G) at most _UML_ROOTFS_MAX_SIZE_KIB.
function(_uml_check_rootfs_size context size)
  string(REGEX MATCH "^0*([0-9]*)([KMG])$" _ "${size}")
  set(digits "${CMAKE_MATCH_1}")
  set(unit "${CMAKE_MATCH_2}")
  set(too_big FALSE)
  string(LENGTH "${digits}" length)
  if(length GREATER 12) # beyond any bound, and beyond math()'s 64 bits once scaled
    set(too_big TRUE)
  elseif(digits STREQUAL "")
    set(digits 0)
  endif()
  if(NOT too_big)
    set(scale 1)
    if(unit STREQUAL "M")
      set(scale 1024)
    elseif(unit STREQUAL "G")
      set(scale 1048576)
    endif()
    math(EXPR kib "${digits} * ${scale}")
    if(kib GREATER _UML_ROOTFS_MAX_SIZE_KIB)
      set(too_big TRUE)
    endif()
  endif()
  if(too_big)
    message(
      FATAL_ERROR
        "${context}: SIZE ${size} is larger than 1 TiB (1024G), the largest root image the package "
        "makes: mke2fs writes metadata in proportion to the size, so such an image would fill the "
        "disk or take hours. Use a size such as 256M or 4G.")
  endif()
  if(digits EQUAL 0)
    message(FATAL_ERROR "${context}: SIZE ${size} is zero; use a size such as 256M.")
  endif()
endfunction()

# A FILES guest path must stay inside the image: after "." and ".." are applied it must
# not go above /. Checked again when the image is made (steps/rootfs.cmake).
function(_uml_check_guest_path context guest)
  _uml_guest_path_leaves_root(leaves "${guest}")
  if(leaves)
    message(
      FATAL_ERROR
        "${context}: FILES guest path '${guest}' leaves the image's root (its '..' goes above "
        "/), which would write outside the image on the host. Give an absolute guest path "
        "inside the image, without '..', e.g. /tmp/x.")
  endif()
endfunction()

# The Debian root as a tarball, made by mmdebstrap once per set of inputs and
# kept in the cache directory.
function(
  _uml_debian_tarball
  out
  name
  suite
  variant
  mirror
  packages)
  if(suite STREQUAL "")
    set(suite bookworm)
  endif()
  if(variant STREQUAL "")
    set(variant minbase)
  endif()
  if(mirror STREQUAL "")
    set(mirror "${UML_DEBIAN_MIRROR}")
  endif()
  list(APPEND packages kmod)
  list(REMOVE_DUPLICATES packages)
  list(SORT packages)
  string(SHA256 key "${suite}\n${variant}\n${mirror}\n${packages}")
  string(SUBSTRING "${key}" 0 12 key)
  _uml_cache_dir(cache)
  if(NOT cache)
    set(cache "${CMAKE_BINARY_DIR}/_uml")
  endif()
  set(tarball "${cache}/debian/${suite}-${variant}-${key}.tar")
  # For the cache's least-recently-used pruning (marked beside the tarball: touching
  # the tarball itself would make its images out of date).
  if(EXISTS "${tarball}")
    file(TOUCH "${tarball}.used")
  endif()
  list(JOIN packages "," step_INCLUDE)
  set(step_NAME "${name}")
  set(step_TARBALL "${tarball}")
  set(step_SUITE "${suite}")
  set(step_VARIANT "${variant}")
  set(step_MIRROR "${mirror}")
  set(step_MMDEBSTRAP "${UML_MMDEBSTRAP_EXECUTABLE}")
  set(script "${CMAKE_CURRENT_BINARY_DIR}/_uml/steps/${name}.debootstrap.cmake")
  _uml_write_step_script(
    "${script}"
    rootfs
    uml_step_debootstrap
    NAME
    TARBALL
    SUITE
    VARIANT
    INCLUDE
    MIRROR
    MMDEBSTRAP)
  add_custom_command(
    OUTPUT "${tarball}"
    COMMAND "${CMAKE_COMMAND}" -P "${script}"
    DEPENDS "${script}"
    COMMENT "Making Debian ${suite} root for ${name} (cached in ${tarball})"
    USES_TERMINAL VERBATIM)
  set(${out} "${tarball}" PARENT_SCOPE)
endfunction()

#[=======================================================================[.md
### uml_modules_install

```cmake
uml_modules_install(<name> KERNEL <kernel> ROOTFS <rootfs> [MODULES <module>...] [EXCLUDE_FROM_ALL])
```
Adds target `<name>` that makes a new image: the `ROOTFS` image plus, under
`/lib/modules/<release>/`, the kernel's own modules (symbols set to `m`, with
`modules.builtin`) and the out-of-tree `MODULES` (in `extra/`: every `.ko` each
module target's Kbuild run made, as its `modules.order` lists them), indexed by
`depmod`, so `modprobe <name>` works in the guest and loads dependencies
first. The rootfs image is never written: the result is a copy, written to a
temporary file and renamed, so an interrupted build keeps the previous image.
It is remade only when a module, the kernel or the rootfs changed; after a module
edit (same rootfs image, same kernel) the new image is a copy of the last one with
only the changed files written (the `.ko` and depmod's index files that changed),
from the module tree it keeps in `<name>.stage` beside the image.

Target properties: `UML_ROOTFS_IMAGE` (the new image), so run and test targets
take it as their `ROOTFS`; `UML_ROOTFS_KERNEL`; `UML_ROOTFS_MODULES` (the module
targets installed, whose symbols the debug targets load).
#]=======================================================================]
function(uml_modules_install name)
  list(APPEND CMAKE_MESSAGE_CONTEXT uml_modules_install)
  _uml_check_target_name(uml_modules_install "${name}")
  cmake_parse_arguments(PARSE_ARGV 1 arg "EXCLUDE_FROM_ALL" "KERNEL;ROOTFS" "MODULES")
  _uml_reject_unparsed(uml_modules_install arg)
  foreach(kw IN ITEMS KERNEL ROOTFS)
    if(NOT arg_${kw})
      message(FATAL_ERROR "uml_modules_install(${name}): ${kw} is required.")
    endif()
  endforeach()
  set(context "uml_modules_install(${name})")
  _uml_target_property(kernel_dir "${context}" KERNEL "${arg_KERNEL}" UML_KERNEL_BUILD_DIR "uml_add_kernel()")
  _uml_target_property(base_image "${context}" ROOTFS "${arg_ROOTFS}" UML_ROOTFS_IMAGE "uml_add_rootfs()")
  _uml_require_host_tools(depmod debugfs)

  set(module_dirs "")
  set(depends "")
  foreach(module IN LISTS arg_MODULES)
    _uml_target_property(module_kernel "${context}" MODULES "${module}" UML_MODULE_KERNEL "uml_add_module()")
    if(NOT module_kernel STREQUAL arg_KERNEL)
      message(FATAL_ERROR "uml_modules_install(${name}): module '${module}' is built for kernel '${module_kernel}', "
                          "not '${arg_KERNEL}'.")
    endif()
    get_target_property(dir ${module} UML_MODULE_BUILD_DIR)
    get_target_property(stamp ${module} UML_MODULE_STAMP)
    list(APPEND module_dirs "${dir}")
    list(APPEND depends "${stamp}")
  endforeach()
  get_target_property(kernel_stamp ${arg_KERNEL} UML_KERNEL_STAMP)
  get_target_property(release ${arg_KERNEL} UML_KERNEL_RELEASE)

  set(image "${CMAKE_CURRENT_BINARY_DIR}/_uml/images/${name}.img")
  set(step_NAME "${name}")
  set(step_IMAGE "${image}")
  set(step_BASE_IMAGE "${base_image}")
  set(step_KERNEL_DIR "${kernel_dir}")
  get_target_property(step_KERNEL_SOURCE_DIR ${arg_KERNEL} UML_KERNEL_SOURCE_DIR)
  get_target_property(step_CC ${arg_KERNEL} UML_KERNEL_CC)
  set(step_MAKE "${UML_MAKE_EXECUTABLE}")
  set(step_DEPMOD "${UML_DEPMOD_EXECUTABLE}")
  set(step_DEBUGFS "${UML_DEBUGFS_EXECUTABLE}")
  set(step_MODULE_DIRS "${module_dirs}")
  set(step_STAGE "${CMAKE_CURRENT_BINARY_DIR}/_uml/images/${name}.stage")
  set(script "${CMAKE_CURRENT_BINARY_DIR}/_uml/steps/${name}.modules-install.cmake")
  _uml_write_step_script(
    "${script}"
    modules_install
    uml_step_modules_install
    NAME
    IMAGE
    BASE_IMAGE
    KERNEL_DIR
    KERNEL_SOURCE_DIR
    CC
    MAKE
    DEPMOD
    DEBUGFS
    MODULE_DIRS
    STAGE)
  add_custom_command(
    OUTPUT "${image}"
    COMMAND "${CMAKE_COMMAND}" -P "${script}"
    DEPENDS "${base_image}" "${kernel_stamp}" ${depends} "${script}" ${_UML_STEP_DEPENDS}
    COMMENT "Installing modules into UML image ${name} (${release})"
    VERBATIM)
  _uml_add_custom_target(${name} "${arg_EXCLUDE_FROM_ALL}" DEPENDS "${image}")
  add_dependencies(${name} ${arg_KERNEL} ${arg_ROOTFS} ${arg_MODULES})
  set_target_properties(${name} PROPERTIES UML_ROOTFS_IMAGE "${image}" UML_ROOTFS_KERNEL "${arg_KERNEL}"
                                           UML_ROOTFS_MODULES "${arg_MODULES}")
endfunction()
