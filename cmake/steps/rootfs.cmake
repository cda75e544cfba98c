# Build-time steps of uml_add_rootfs(). uml_add_rootfs() writes a script per image
# that includes this file and calls one of:
#
#   uml_step_rootfs(NAME <target> TYPE busybox|directory|tarball|debian|image
#     [FROM <path>] SIZE auto|<n>K|M|G IMAGE <file> STAGE <dir> INIT <uml-init>
#     [FILES <host>=<guest>...] [PROGRAMS <executable>...]
#     BUSYBOX <path> MKE2FS <path> DEBUGFS <path> TAR <path> READELF <path>
#     [DUMPE2FS <path>] [RESIZE2FS <path>])
#       the ext4 image IMAGE
#   uml_step_debootstrap(NAME <target> TARBALL <file> SUITE <suite> VARIANT <variant>
#     INCLUDE <pkg,...> [MIRROR <url>] MMDEBSTRAP <path>)
#       mmdebstrap a Debian root into a cached tarball
#
# No root and no mounting: the image step runs inside one fakeroot session (the
# custom command starts it as `fakeroot -- cmake -P <script>`), so the owners and
# device nodes that tar, cp and chown set are recorded, not performed, and
# `mke2fs -d` copies the stage into the image with those owners. TYPE image copies
# the user's image and edits the copy with debugfs.
#
# Every image gets the package's guest side under /.uml: the init (/.uml/init), the
# static busybox it runs on (/.uml/busybox) and a link per applet (/.uml/bin), so
# the guest needs nothing of the image's own userland: a hand-made image with a
# lone shell, or none, boots as well as a Debian root. Mount points are made too.
include_guard(GLOBAL)
include("${CMAKE_CURRENT_LIST_DIR}/image_common.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/cache.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/guest_path.cmake")

# The directories the guest's init mounts on or writes to.
set(_UML_GUEST_DIRS
    proc
    sys
    dev
    tmp
    run
    mnt/host
    lib/modules
    .uml/bin)

function(uml_step_debootstrap)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;TARBALL;SUITE;VARIANT;INCLUDE;MIRROR;MMDEBSTRAP" "")
  set(UML_CONTEXT "uml_add_rootfs(${arg_NAME})")
  # Cached: a complete tarball is never made again.
  if(EXISTS "${arg_TARBALL}")
    return()
  endif()
  get_filename_component(dir "${arg_TARBALL}" DIRECTORY)
  file(MAKE_DIRECTORY "${dir}")
  # unshare as a user, root mode as root: mmdebstrap's auto mode picks.
  set(command
      "${arg_MMDEBSTRAP}"
      --variant=${arg_VARIANT}
      --include=${arg_INCLUDE}
      --mode=auto
      --format=tar
      "${arg_SUITE}"
      "${arg_TARBALL}.tmp")
  if(arg_MIRROR)
    list(APPEND command "${arg_MIRROR}")
  endif()
  execute_process(COMMAND ${command} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    file(REMOVE "${arg_TARBALL}.tmp")
    fail("mmdebstrap failed (${rc}); see its output above. As a user it needs unprivileged user namespaces "
         "(and the uidmap package); the mirror must be reachable (set UML_DEBIAN_MIRROR or MIRROR).")
  endif()
  file(RENAME "${arg_TARBALL}.tmp" "${arg_TARBALL}")
endfunction()

# The applets of a static busybox, as "dir/name" paths (--list-full); fails for a
# dynamically linked one, which could not run in every image.
function(_uml_busybox_applets out busybox readelf)
  execute_process(COMMAND "${readelf}" -l "${busybox}" OUTPUT_VARIABLE headers)
  if(headers MATCHES "INTERP")
    fail("${busybox} is dynamically linked; install Debian's busybox-static (apt-get install busybox-static).")
  endif()
  execute_process(COMMAND "${busybox}" --list-full OUTPUT_VARIABLE applets RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    fail("${busybox} --list-full failed; install Debian's busybox-static.")
  endif()
  # The applets "[" and "[[" would open CMake list brackets: swap them out.
  string(REPLACE "[" "<lb>" applets "${applets}")
  string(REPLACE "\n" ";" applets "${applets}")
  list(REMOVE_ITEM applets "" "bin/busybox")
  set(${out} "${applets}" PARENT_SCOPE)
endfunction()

function(uml_step_rootfs)
  cmake_parse_arguments(
    PARSE_ARGV 0 arg "" "NAME;TYPE;FROM;SIZE;IMAGE;STAGE;INIT;BUSYBOX;MKE2FS;DEBUGFS;TAR;READELF;DUMPE2FS;RESIZE2FS"
    "FILES;PROGRAMS")
  set(UML_CONTEXT "uml_add_rootfs(${arg_NAME})")
  set(UML_DEBUGFS "${arg_DEBUGFS}")
  if(arg_TYPE STREQUAL "debian")
    _uml_cache_touch_file("${arg_FROM}")
  endif()
  set(tmp_image "${arg_IMAGE}.tmp")
  file(REMOVE "${tmp_image}")
  file(REMOVE_RECURSE "${arg_STAGE}")
  get_filename_component(dir "${arg_IMAGE}" DIRECTORY)
  file(MAKE_DIRECTORY "${dir}")

  # PROGRAMS must run in the guest without the host's libraries.
  set(program_pairs "")
  foreach(program IN LISTS arg_PROGRAMS)
    execute_process(COMMAND "${arg_READELF}" -l "${program}" OUTPUT_VARIABLE headers RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      fail("PROGRAMS: ${program} is not an ELF executable.")
    endif()
    get_filename_component(program_name "${program}" NAME)
    if(headers MATCHES "INTERP")
      fail("PROGRAMS: ${program} is dynamically linked, so it cannot run in the guest. Link it statically: "
           "target_link_options(${program_name} PRIVATE -static)")
    endif()
    list(APPEND program_pairs "${program}=/usr/local/bin/${program_name}")
  endforeach()
  # A belt to uml_add_rootfs()'s check: no FILES guest path may go above / with "..".
  foreach(pair IN LISTS arg_FILES)
    string(REGEX MATCH "^([^=]+)=(.*)$" _ "${pair}")
    _uml_guest_path_leaves_root(leaves "${CMAKE_MATCH_2}")
    if(leaves)
      fail("FILES guest path '${CMAKE_MATCH_2}' leaves the image's root; give a path inside it, without '..'.")
    endif()
  endforeach()
  _uml_busybox_applets(applets "${arg_BUSYBOX}" "${arg_READELF}")
  set(overlay "${arg_INIT}=/.uml/init" "${arg_BUSYBOX}=/.uml/busybox" ${program_pairs} ${arg_FILES})

  if(arg_TYPE STREQUAL "image")
    _uml_image_from_image()
    return()
  endif()

  # Fill the stage.
  file(MAKE_DIRECTORY "${arg_STAGE}")
  if(arg_TYPE STREQUAL "busybox")
    foreach(
      d IN
      ITEMS bin
            sbin
            usr/bin
            usr/sbin
            usr/local/bin
            etc
            root
            var)
      file(MAKE_DIRECTORY "${arg_STAGE}/${d}")
    endforeach()
    file(COPY_FILE "${arg_BUSYBOX}" "${arg_STAGE}/bin/busybox")
    foreach(applet IN LISTS applets)
      string(REPLACE "<lb>" "[" applet "${applet}")
      file(CREATE_LINK /bin/busybox "${arg_STAGE}/${applet}" SYMBOLIC)
    endforeach()
    file(WRITE "${arg_STAGE}/etc/passwd" "root:x:0:0:root:/root:/bin/sh\n")
    file(WRITE "${arg_STAGE}/etc/shadow" "root::0:0:99999:7:::\n")
    file(WRITE "${arg_STAGE}/etc/group" "root:x:0:\n")
    file(WRITE "${arg_STAGE}/etc/hostname" "uml\n")
    file(WRITE "${arg_STAGE}/etc/profile" "export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin\nPS1='uml:\\w# '\n")
    file(WRITE "${arg_STAGE}/etc/fstab" "")
    file(WRITE "${arg_STAGE}/etc/os-release" "NAME=\"busybox (UserModeLinux)\"\nID=busybox\n")
    set(whole_stage_is_ours TRUE)
  elseif(arg_TYPE STREQUAL "directory")
    run("copying ${arg_FROM}" cp -a "${arg_FROM}/." "${arg_STAGE}/")
    set(whole_stage_is_ours TRUE)
  else() # tarball, debian
    run("unpacking ${arg_FROM}"
        "${arg_TAR}"
        -xpf
        "${arg_FROM}"
        --numeric-owner
        -C
        "${arg_STAGE}")
    set(whole_stage_is_ours FALSE)
  endif()

  # The overlay: the guest side, programs, files. An absolute link in a prepared root
  # (/sbin -> /usr/sbin) would lead a copy out of the stage: paths are resolved
  # inside it first.
  set(chown_paths "")
  foreach(pair IN LISTS overlay)
    string(REGEX MATCH "^([^=]+)=(.*)$" _ "${pair}")
    set(host "${CMAKE_MATCH_1}")
    set(guest "${CMAKE_MATCH_2}")
    _uml_stage_path(target "${arg_STAGE}" "${guest}")
    get_filename_component(parent "${target}" DIRECTORY)
    file(MAKE_DIRECTORY "${parent}")
    if(IS_DIRECTORY "${host}")
      file(COPY "${host}/" DESTINATION "${target}")
    else()
      file(REMOVE "${target}")
      file(COPY_FILE "${host}" "${target}")
    endif()
    list(APPEND chown_paths "${target}")
  endforeach()
  foreach(d IN LISTS _UML_GUEST_DIRS)
    _uml_stage_path(target "${arg_STAGE}" "/${d}")
    file(MAKE_DIRECTORY "${target}")
  endforeach()
  foreach(applet IN LISTS applets)
    get_filename_component(applet "${applet}" NAME)
    string(REPLACE "<lb>" "[" applet "${applet}")
    file(CREATE_LINK /.uml/busybox "${arg_STAGE}/.uml/bin/${applet}" SYMBOLIC)
  endforeach()
  list(APPEND chown_paths "${arg_STAGE}/.uml")
  foreach(executable IN ITEMS .uml/init .uml/busybox)
    file(
      CHMOD
      "${arg_STAGE}/${executable}"
      FILE_PERMISSIONS
      OWNER_READ
      OWNER_WRITE
      OWNER_EXECUTE
      GROUP_READ
      GROUP_EXECUTE
      WORLD_READ
      WORLD_EXECUTE)
  endforeach()
  if(whole_stage_is_ours)
    set(chown_paths "${arg_STAGE}")
  endif()

  # Size: the content plus headroom for modules and the guest's own writes.
  execute_process(COMMAND du -sk "${arg_STAGE}" OUTPUT_VARIABLE du_out)
  string(REGEX MATCH "^[0-9]+" content_kib "${du_out}")
  if(arg_SIZE STREQUAL "auto")
    math(EXPR size_kib "${content_kib} * 5 / 4 + 64 * 1024")
    set(size "${size_kib}K")
  else()
    _uml_size_kib(size_kib "${arg_SIZE}")
    set(size "${arg_SIZE}")
    # ext4 metadata takes a few percent; say so before mke2fs fails obscurely.
    math(EXPR needed_kib "${content_kib} * 11 / 10 + 4096")
    if(needed_kib GREATER size_kib)
      math(EXPR content_mib "(${content_kib} + 1023) / 1024")
      math(EXPR needed_mib "(${needed_kib} + 1023) / 1024")
      fail("the content (${content_mib} MiB) does not fit in SIZE ${arg_SIZE}; use SIZE ${needed_mib}M or more.")
    endif()
  endif()

  run("chown" chown -hR 0:0 ${chown_paths})
  run("mke2fs"
      "${arg_MKE2FS}"
      -q
      -F
      -t
      ext4
      -L
      "${arg_NAME}"
      -d
      "${arg_STAGE}"
      "${tmp_image}"
      ${size})
  file(RENAME "${tmp_image}" "${arg_IMAGE}")
  file(REMOVE_RECURSE "${arg_STAGE}")
endfunction()

# <stage><guest>, with the symbolic links of the stage's own directories resolved
# inside the stage: an unpacked root's /sbin -> /usr/sbin means <stage>/usr/sbin.
function(_uml_stage_path out stage guest)
  set(path "${stage}")
  string(REGEX REPLACE "^/+" "" rest "${guest}")
  string(REPLACE "/" ";" parts "${rest}")
  list(LENGTH parts count)
  set(i 0)
  set(hops 0)
  while(i LESS count)
    list(GET parts ${i} part)
    math(EXPR i "${i} + 1")
    if(i LESS count AND IS_SYMLINK "${path}/${part}")
      math(EXPR hops "${hops} + 1")
      if(hops GREATER 40)
        fail("too many symbolic links on the way to ${guest} in the image")
      endif()
      file(READ_SYMLINK "${path}/${part}" link)
      if(IS_ABSOLUTE "${link}")
        set(path "${stage}")
        string(REGEX REPLACE "^/+" "" link "${link}")
      endif()
      # Continue with the link's own parts, then the rest.
      string(REPLACE "/" ";" link_parts "${link}")
      list(SUBLIST parts ${i} -1 remaining)
      set(parts ${link_parts} ${remaining})
      list(LENGTH parts count)
      set(i 0)
    elseif(part STREQUAL "..")
      if(NOT path STREQUAL stage)
        get_filename_component(path "${path}" DIRECTORY)
      endif()
    elseif(NOT part STREQUAL "." AND NOT part STREQUAL "")
      set(path "${path}/${part}")
    endif()
  endwhile()
  set(${out} "${path}" PARENT_SCOPE)
endfunction()

# TYPE image: a copy of the user's image, the guest side and overlay written into it
# with debugfs (which resolves the image's own links inside the image).
macro(_uml_image_from_image)
  execute_process(
    COMMAND "${arg_DUMPE2FS}" -h "${arg_FROM}"
    RESULT_VARIABLE rc
    OUTPUT_QUIET
    ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    fail("FROM ${arg_FROM} is not a usable ext2/3/4 image: ${err}")
  endif()
  # A copy: the user's file is never written.
  run("copying ${arg_FROM}" cp --sparse=always "${arg_FROM}" "${tmp_image}")
  if(NOT arg_SIZE STREQUAL "auto")
    run("resizing the image to ${arg_SIZE}" "${arg_RESIZE2FS}" -f "${tmp_image}" "${arg_SIZE}")
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
  set(dirs "")
  foreach(d IN LISTS _UML_GUEST_DIRS)
    list(APPEND dirs "/${d}")
  endforeach()
  set(links "")
  foreach(applet IN LISTS applets)
    get_filename_component(applet "${applet}" NAME)
    if(NOT applet STREQUAL "<lb>" AND NOT applet STREQUAL "<lb><lb>") # "[" is a debugfs glob
      list(APPEND links "/.uml/bin/${applet}=/.uml/busybox")
    endif()
  endforeach()
  debugfs_write(
    "${tmp_image}"
    "${pairs}"
    DIRECTORIES
    ${dirs}
    SYMLINKS
    ${links}
    EXECUTABLES
    /.uml/init
    /.uml/busybox)
  file(RENAME "${tmp_image}" "${arg_IMAGE}")
endmacro()
