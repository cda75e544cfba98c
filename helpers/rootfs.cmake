# Build-time steps of uml_add_rootfs(), run as `cmake -D... -P rootfs.cmake`.
#
# UML_ACTION=debootstrap  mmdebstrap a Debian root into a cached tarball
# (default)               make the ext4 image UML_IMAGE of type UML_TYPE
#
# No root and no mounting: the whole script runs inside one fakeroot session
# (the custom command starts it as `fakeroot -- cmake -P rootfs.cmake`), so the
# owners and device nodes that tar, cp and chown set are recorded, not
# performed, and `mke2fs -d` copies the stage into the image with those owners.
# TYPE image copies the user's image and edits the copy with debugfs.
cmake_minimum_required(VERSION 3.25)
set(UML_CONTEXT "uml_add_rootfs(${UML_NAME})")
include("${CMAKE_CURRENT_LIST_DIR}/image_common.cmake")

# Size in KiB of <n>K|M|G.
function(size_kib out size)
  string(REGEX MATCH "^([0-9]+)([KMG])$" _ "${size}")
  set(n "${CMAKE_MATCH_1}")
  if(CMAKE_MATCH_2 STREQUAL "M")
    math(EXPR n "${n} * 1024")
  elseif(CMAKE_MATCH_2 STREQUAL "G")
    math(EXPR n "${n} * 1024 * 1024")
  endif()
  set(${out} "${n}" PARENT_SCOPE)
endfunction()

if(UML_ACTION STREQUAL "debootstrap")
  # Cached: a complete tarball is never made again.
  if(EXISTS "${UML_TARBALL}")
    return()
  endif()
  get_filename_component(dir "${UML_TARBALL}" DIRECTORY)
  file(MAKE_DIRECTORY "${dir}")
  # unshare as a user, root mode as root: mmdebstrap's auto mode picks.
  set(command
      "${UML_MMDEBSTRAP}"
      --variant=${UML_VARIANT}
      --include=${UML_INCLUDE}
      --mode=auto
      --format=tar
      "${UML_SUITE}"
      "${UML_TARBALL}.tmp")
  if(UML_MIRROR)
    list(APPEND command "${UML_MIRROR}")
  endif()
  execute_process(COMMAND ${command} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    file(REMOVE "${UML_TARBALL}.tmp")
    fail("mmdebstrap failed (${rc}); see its output above. As a user it needs unprivileged user namespaces "
         "(and the uidmap package); the mirror must be reachable (set UML_DEBIAN_MIRROR or MIRROR).")
  endif()
  file(RENAME "${UML_TARBALL}.tmp" "${UML_TARBALL}")
  return()
endif()

set(tmp_image "${UML_IMAGE}.tmp")
file(REMOVE "${tmp_image}")
file(REMOVE_RECURSE "${UML_STAGE}")
get_filename_component(dir "${UML_IMAGE}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")

# PROGRAMS must run in the guest without the host's libraries.
set(program_pairs "")
foreach(program IN LISTS UML_PROGRAMS)
  execute_process(COMMAND "${UML_READELF}" -l "${program}" OUTPUT_VARIABLE headers RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    fail("PROGRAMS: ${program} is not an ELF executable.")
  endif()
  if(headers MATCHES "INTERP")
    get_filename_component(program_name "${program}" NAME)
    fail("PROGRAMS: ${program} is dynamically linked, so it cannot run in the guest. Link it statically: "
         "target_link_options(${program_name} PRIVATE -static)")
  endif()
  get_filename_component(program_name "${program}" NAME)
  list(APPEND program_pairs "${program}=/usr/local/bin/${program_name}")
endforeach()
set(overlay "${UML_INIT}=/sbin/uml-init" ${program_pairs} ${UML_FILES})

if(UML_TYPE STREQUAL "image")
  execute_process(
    COMMAND "${UML_DUMPE2FS}" -h "${UML_FROM}"
    RESULT_VARIABLE rc
    OUTPUT_QUIET
    ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    fail("FROM ${UML_FROM} is not a usable ext2/3/4 image: ${err}")
  endif()
  # A copy: the user's file is never written.
  run("copying ${UML_FROM}" cp --sparse=always "${UML_FROM}" "${tmp_image}")
  if(NOT UML_SIZE STREQUAL "auto")
    run("resizing the image to ${UML_SIZE}" "${UML_RESIZE2FS}" -f "${tmp_image}" "${UML_SIZE}")
  endif()
  # Directories in FILES are written file by file.
  set(pairs "")
  foreach(pair IN LISTS overlay)
    string(REGEX MATCH "^([^=]+)=(.*)$" _ "${pair}")
    if(IS_DIRECTORY "${CMAKE_MATCH_1}")
      set(host_dir "${CMAKE_MATCH_1}")
      set(guest_dir "${CMAKE_MATCH_2}")
      file(GLOB_RECURSE inner RELATIVE "${host_dir}" "${host_dir}/*")
      foreach(rel IN LISTS inner)
        list(APPEND pairs "${host_dir}/${rel}=${guest_dir}/${rel}")
      endforeach()
    else()
      list(APPEND pairs "${pair}")
    endif()
  endforeach()
  debugfs_write("${tmp_image}" "${pairs}")
  file(RENAME "${tmp_image}" "${UML_IMAGE}")
  return()
endif()

# Fill the stage.
file(MAKE_DIRECTORY "${UML_STAGE}")
if(UML_TYPE STREQUAL "busybox")
  execute_process(COMMAND "${UML_READELF}" -l "${UML_BUSYBOX}" OUTPUT_VARIABLE headers)
  if(headers MATCHES "INTERP")
    fail("${UML_BUSYBOX} is dynamically linked; install Debian's busybox-static (apt-get install busybox-static).")
  endif()
  foreach(
    d IN
    ITEMS bin
          sbin
          usr/bin
          usr/sbin
          usr/local/bin
          etc
          root
          tmp
          proc
          sys
          dev
          run
          mnt/host
          lib/modules
          var)
    file(MAKE_DIRECTORY "${UML_STAGE}/${d}")
  endforeach()
  file(COPY_FILE "${UML_BUSYBOX}" "${UML_STAGE}/bin/busybox")
  execute_process(COMMAND "${UML_BUSYBOX}" --list-full OUTPUT_VARIABLE applets RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    fail("${UML_BUSYBOX} --list-full failed; install Debian's busybox-static.")
  endif()
  # The applets "[" and "[[" would open CMake list brackets: swap them out.
  string(REPLACE "[" "<lb>" applets "${applets}")
  string(REPLACE "\n" ";" applets "${applets}")
  foreach(applet IN LISTS applets)
    if(applet STREQUAL "" OR applet STREQUAL "bin/busybox")
      continue()
    endif()
    string(REPLACE "<lb>" "[" applet "${applet}")
    file(CREATE_LINK /bin/busybox "${UML_STAGE}/${applet}" SYMBOLIC)
  endforeach()
  file(WRITE "${UML_STAGE}/etc/passwd" "root:x:0:0:root:/root:/bin/sh\n")
  file(WRITE "${UML_STAGE}/etc/shadow" "root::0:0:99999:7:::\n")
  file(WRITE "${UML_STAGE}/etc/group" "root:x:0:\n")
  file(WRITE "${UML_STAGE}/etc/hostname" "uml\n")
  file(WRITE "${UML_STAGE}/etc/profile" "export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin\nPS1='uml:\\w# '\n")
  file(WRITE "${UML_STAGE}/etc/fstab" "")
  file(WRITE "${UML_STAGE}/etc/os-release" "NAME=\"busybox (UserModeLinux)\"\nID=busybox\n")
  set(whole_stage_is_ours TRUE)
elseif(UML_TYPE STREQUAL "directory")
  run("copying ${UML_FROM}" cp -a "${UML_FROM}/." "${UML_STAGE}/")
  set(whole_stage_is_ours TRUE)
else() # tarball, debian
  run("unpacking ${UML_FROM}"
      "${UML_TAR}"
      -xpf
      "${UML_FROM}"
      --numeric-owner
      -C
      "${UML_STAGE}")
  set(whole_stage_is_ours FALSE)
endif()

# The overlay: init, programs, files.
set(chown_paths "")
foreach(pair IN LISTS overlay)
  string(REGEX MATCH "^([^=]+)=(.*)$" _ "${pair}")
  set(host "${CMAKE_MATCH_1}")
  set(guest "${CMAKE_MATCH_2}")
  get_filename_component(parent "${UML_STAGE}${guest}" DIRECTORY)
  file(MAKE_DIRECTORY "${parent}")
  if(IS_DIRECTORY "${host}")
    file(COPY "${host}/" DESTINATION "${UML_STAGE}${guest}")
  else()
    file(REMOVE "${UML_STAGE}${guest}")
    file(COPY_FILE "${host}" "${UML_STAGE}${guest}")
  endif()
  list(APPEND chown_paths "${UML_STAGE}${guest}")
endforeach()
foreach(
  d IN
  ITEMS proc
        sys
        dev
        tmp
        run
        mnt/host
        lib/modules)
  file(MAKE_DIRECTORY "${UML_STAGE}/${d}")
endforeach()
file(
  CHMOD
  "${UML_STAGE}/sbin/uml-init"
  FILE_PERMISSIONS
  OWNER_READ
  OWNER_WRITE
  OWNER_EXECUTE
  GROUP_READ
  GROUP_EXECUTE
  WORLD_READ
  WORLD_EXECUTE)
if(whole_stage_is_ours)
  set(chown_paths "${UML_STAGE}")
endif()

# Size: the content plus headroom for modules and the guest's own writes.
execute_process(COMMAND du -sk "${UML_STAGE}" OUTPUT_VARIABLE du_out)
string(REGEX MATCH "^[0-9]+" content_kib "${du_out}")
if(UML_SIZE STREQUAL "auto")
  math(EXPR size_kib "${content_kib} * 5 / 4 + 64 * 1024")
  set(size "${size_kib}K")
else()
  size_kib(size_kib "${UML_SIZE}")
  set(size "${UML_SIZE}")
  # ext4 metadata takes a few percent; say so before mke2fs fails obscurely.
  math(EXPR needed_kib "${content_kib} * 11 / 10 + 4096")
  if(needed_kib GREATER size_kib)
    math(EXPR content_mib "(${content_kib} + 1023) / 1024")
    math(EXPR needed_mib "(${needed_kib} + 1023) / 1024")
    fail("the content (${content_mib} MiB) does not fit in SIZE ${UML_SIZE}; use SIZE ${needed_mib}M or more.")
  endif()
endif()

run("chown" chown -hR 0:0 ${chown_paths})
run("mke2fs"
    "${UML_MKE2FS}"
    -q
    -F
    -t
    ext4
    -L
    "${UML_NAME}"
    -d
    "${UML_STAGE}"
    "${tmp_image}"
    ${size})
file(RENAME "${tmp_image}" "${UML_IMAGE}")
file(REMOVE_RECURSE "${UML_STAGE}")
