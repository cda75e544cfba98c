# Root filesystem images and module install, end to end: every kind of image,
# owners, PROGRAMS, modules and their index, the user's image left untouched,
# the expected failures, and what a module edit re-does.
#   -DPACKAGE_DIR -DPROJECT_DIR -DWORK_DIR -DCACHE_DIR [-DCMAKE_C_COMPILER_LAUNCHER] [-DHELPER]
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")

set(src "${WORK_DIR}/src")
set(build "${WORK_DIR}/build")
set(data "${WORK_DIR}/data")
file(REMOVE_RECURSE "${WORK_DIR}")
file(COPY "${PROJECT_DIR}/" DESTINATION "${src}")
file(MAKE_DIRECTORY "${data}/user-root/etc")

# A user's own image (the seed's develop_fs), a file too big for 8M, a corrupt image.
file(WRITE "${data}/user-root/etc/user-marker" "mine\n")
run(out
    mke2fs
    -q
    -t
    ext4
    -d
    "${data}/user-root"
    "${data}/develop_fs"
    32M)
file(SHA256 "${data}/develop_fs" user_image_sha_before)
run(out
    dd
    if=/dev/urandom
    "of=${data}/big"
    bs=1M
    count=12
    status=none)
run(out
    dd
    if=/dev/urandom
    "of=${data}/corrupt.img"
    bs=1M
    count=4
    status=none)
# A root tarball with an owner that is not root, as distribution tarballs have.
file(MAKE_DIRECTORY "${data}/tar-root/etc" "${data}/tar-root/var/mail")
file(WRITE "${data}/tar-root/etc/tar-marker" "from tarball\n")
run(out
    tar
    --owner=0
    --group=0
    --numeric-owner
    -cf
    "${data}/root.tar"
    -C
    "${data}/tar-root"
    ./etc)
run(out
    tar
    --owner=0
    --group=8
    --numeric-owner
    -rf
    "${data}/root.tar"
    -C
    "${data}/tar-root"
    ./var/mail)

configure_command(
  configure_cmd
  "${src}"
  "${build}"
  "-DUML_CACHE_DIR=${CACHE_DIR}"
  "-DUML_TEST_PACKAGE_DIR=${PACKAGE_DIR}"
  "-DUML_TEST_KERNEL_FRAGMENT=${PROJECT_DIR}/../common/test-kernel.config"
  "-DUML_TEST_USER_IMAGE=${data}/develop_fs"
  "-DUML_TEST_BIG_FILE=${data}/big"
  "-DUML_TEST_CORRUPT_IMAGE=${data}/corrupt.img"
  "-DUML_TEST_TARBALL=${data}/root.tar")
run(out ${configure_cmd})
include("${build}/uml-info.cmake")
run(out
    "${CMAKE_COMMAND}"
    --build
    "${build}"
    --target
    test_kernel
    base
    user
    versioned
    guest_tool)

# Each kind of image, timed.
foreach(target IN ITEMS rootfs from_dir from_image from_tarball uml_modules_install)
  now(t0)
  run(out "${CMAKE_COMMAND}" --build "${build}" --target ${target})
  elapsed(seconds ${t0})
  message(STATUS "figure: building ${target} took ${seconds} s")
endforeach()

function(image_stat out image path)
  execute_process(COMMAND debugfs -R "stat ${path}" "${image}" OUTPUT_VARIABLE stat ERROR_QUIET)
  set(${out} "${stat}" PARENT_SCOPE)
endfunction()
function(image_cat out image path)
  execute_process(COMMAND debugfs -R "cat ${path}" "${image}" OUTPUT_VARIABLE content ERROR_QUIET)
  set(${out} "${content}" PARENT_SCOPE)
endfunction()

foreach(
  path IN
  ITEMS /.uml/init
        /.uml/busybox
        /bin/busybox
        /srv/data.txt
        /srv/tree/etc/marker
        /usr/local/bin/guest_tool
        /etc
        /)
  image_stat(stat "${rootfs_image}" "${path}")
  expect("busybox image: ${path} is owned by 0:0" stat MATCHES "User: +0 +Group: +0 ")
endforeach()
image_stat(stat "${rootfs_image}" /.uml/init)
expect("/.uml/init is executable" stat MATCHES "Mode: +0755")
image_cat(content "${rootfs_image}" /srv/data.txt)
expect("FILES put data.txt into the image" content STREQUAL "data file\n")
image_stat(stat "${from_dir_image}" /etc/marker)
expect("directory image: /etc/marker owned by 0:0" stat MATCHES "User: +0 +Group: +0 ")
image_cat(content "${from_image_image}" /etc/user-marker)
expect("image copy keeps the user's files" content STREQUAL "mine\n")
image_stat(stat "${from_image_image}" /.uml/init)
expect("image copy got /.uml/init, owned by 0:0" stat MATCHES "User: +0 +Group: +0 ")
expect("image copy: /.uml/init is executable" stat MATCHES "Mode: +0755")
foreach(
  path IN
  ITEMS /.uml/busybox
        /.uml/bin/sh
        /proc
        /sys
        /dev
        /run
        /tmp)
  image_stat(stat "${from_image_image}" "${path}")
  expect("image copy got ${path}" stat MATCHES "Inode:")
endforeach()

image_cat(content "${from_tarball_image}" /etc/tar-marker)
expect("tarball image has the tarball's files" content STREQUAL "from tarball\n")
image_stat(stat "${from_tarball_image}" /var/mail)
expect("tarball image keeps the archive's owners (/var/mail group 8)" stat MATCHES "User: +0 +Group: +8 ")
image_stat(stat "${from_tarball_image}" /.uml/init)
expect("tarball image: /.uml/init owned by 0:0" stat MATCHES "User: +0 +Group: +0 ")

# Modules and their index.
set(mods "/lib/modules/${kernel_release}")
image_cat(modules_dep "${installed_image}" "${mods}/modules.dep")
expect("modules.dep lists user.ko depending on base.ko" modules_dep MATCHES "extra/user.ko: extra/base.ko")
expect("modules.dep lists the kernel's own crc-ccitt.ko" modules_dep MATCHES "kernel/lib/crc-ccitt.ko:")
image_stat(stat "${installed_image}" "${mods}/extra/versioned.ko")
expect("versioned.ko is in the image, owned by 0:0" stat MATCHES "User: +0 +Group: +0 ")
image_stat(stat "${rootfs_image}" "${mods}/extra/versioned.ko")
expect("the rootfs image itself has no modules (a copy was made)" NOT stat MATCHES "Inode:")

# Failures that must be clear.
foreach(case IN ITEMS "with_dynamic_tool;is dynamically linked, so it cannot run in the guest"
                      "too_small;does not fit in SIZE 8M" "corrupt;is not a usable ext2/3/4 image")
  list(GET case 0 target)
  list(GET case 1 message)
  execute_process(
    COMMAND "${CMAKE_COMMAND}" --build "${build}" --target ${target}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  string(REGEX REPLACE "[ \n]+" " " flat "${out}")
  expect(
    "building ${target} fails: '${message}'"
    NOT
    rc
    EQUAL
    0
    AND
    flat
    MATCHES
    "${message}")
endforeach()

# A module edit re-does the install, and the new build is what the image holds.
execute_process(COMMAND sleep 1.1)
file(READ "${src}/modules/versioned.c" code)
string(REPLACE "versioned-v1" "versioned-v2" code "${code}")
file(WRITE "${src}/modules/versioned.c" "${code}")
now(t0)
run(out "${CMAKE_COMMAND}" --build "${build}" --target uml_modules_install)
elapsed(seconds ${t0})
message(STATUS "figure: rebuilding and re-installing one changed module took ${seconds} s")
expect("only the module and the install ran" NOT out MATCHES "Building UML kernel|Making UML root")
execute_process(COMMAND debugfs -R "dump ${mods}/extra/versioned.ko ${data}/versioned.ko" "${installed_image}"
                ERROR_QUIET)
file(STRINGS "${data}/versioned.ko" version REGEX "versioned-v2")
expect("the image holds the edited module (versioned-v2)" version)
# ... written alone into a copy of the last image: the module and depmod's index, not
# the kernel's modules.
expect("the install wrote only what changed" out MATCHES
       "uml_modules_install: wrote only what changed: [^\n]*versioned\\.ko")
expect("... not the kernel's modules or the others" NOT out MATCHES
       "wrote only what changed: [^\n]*(crc-ccitt|base\\.ko|user\\.ko)")
image_stat(stat "${installed_image}" "${mods}/extra/versioned.ko")
expect("the rewritten module is root's" stat MATCHES "User: +0 +Group: +0")

# The image made that way holds the same module tree as one made from the rootfs
# image: dumped from both, compared file by file (depmod's index included).
function(dump_modules out_dir)
  file(REMOVE_RECURSE "${out_dir}")
  file(MAKE_DIRECTORY "${out_dir}")
  execute_process(COMMAND debugfs -R "rdump ${mods} ${out_dir}" "${installed_image}" ERROR_QUIET COMMAND_ERROR_IS_FATAL
                                                                                     ANY)
endfunction()
dump_modules("${data}/incremental")
file(REMOVE "${installed_image}")
run(out "${CMAKE_COMMAND}" --build "${build}" --target uml_modules_install)
expect("a missing image is made from the rootfs image" NOT out MATCHES "wrote only what changed")
dump_modules("${data}/full")
run(out diff -r "${data}/incremental" "${data}/full")
file(GLOB_RECURSE dumped LIST_DIRECTORIES false "${data}/full/*")
list(LENGTH dumped dumped_count)
expect("both module trees are the same (${dumped_count} files)" dumped_count GREATER 5)

# A second edit after the full install is incremental again; an edit that leaves the
# .ko as it was writes nothing.
execute_process(COMMAND sleep 1.1)
string(REPLACE "versioned-v2" "versioned-v3" code "${code}")
file(WRITE "${src}/modules/versioned.c" "${code}")
run(out "${CMAKE_COMMAND}" --build "${build}" --target uml_modules_install)
expect("the next edit writes only what changed" out MATCHES "wrote only what changed: [^\n]*versioned\\.ko")
file(REMOVE "${data}/versioned.ko")
execute_process(COMMAND debugfs -R "dump ${mods}/extra/versioned.ko ${data}/versioned.ko" "${installed_image}"
                ERROR_QUIET)
file(STRINGS "${data}/versioned.ko" version REGEX "versioned-v3")
expect("the image holds versioned-v3" version)
# A module step that leaves every .ko as it was (here: its stamp touched, as after a
# comment-only edit on a kernel whose modules are reproducible; this one has gcov,
# whose data carries the compile time) writes nothing into the image.
file(SHA256 "${installed_image}" image_sha_before_touch)
execute_process(COMMAND sleep 1.1)
file(TOUCH "${build}/_uml/versioned.module.stamp")
run(out "${CMAKE_COMMAND}" --build "${build}" --target uml_modules_install)
file(SHA256 "${installed_image}" image_sha_after_touch)
expect(
  "an install whose modules did not change writes nothing"
  out
  MATCHES
  "nothing changed in /lib/modules"
  AND
  image_sha_before_touch
  STREQUAL
  image_sha_after_touch)
run(out "${CMAKE_COMMAND}" --build "${build}" --target uml_modules_install)
expect("... and the next build has nothing to do" NOT out MATCHES "Installing modules")
# A stage whose kernel part was changed by hand is not trusted: the image is made from
# the rootfs image again, with the kernel's modules.
get_filename_component(images_dir "${installed_image}" DIRECTORY)
file(GLOB_RECURSE staged_kernel_modules "${images_dir}/uml_modules_install.stage/*/crc-ccitt.ko")
expect("the stage holds the kernel's crc-ccitt.ko" staged_kernel_modules)
file(REMOVE ${staged_kernel_modules})
execute_process(COMMAND sleep 1.1)
file(TOUCH "${build}/_uml/versioned.module.stamp")
run(out "${CMAKE_COMMAND}" --build "${build}" --target uml_modules_install)
expect("a stage changed by hand means a full install" NOT out MATCHES "wrote only what changed|nothing changed")
image_cat(modules_dep "${installed_image}" "${mods}/modules.dep")
expect("... which has the kernel's modules again" modules_dep MATCHES "kernel/lib/crc-ccitt.ko:")

# The user's image is byte-identical.
file(SHA256 "${data}/develop_fs" user_image_sha_after)
expect("the user's image is unchanged" user_image_sha_before STREQUAL user_image_sha_after)
