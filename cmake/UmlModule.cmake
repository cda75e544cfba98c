include_guard(GLOBAL)

#[=======================================================================[.md
### uml_add_module

```cmake
uml_add_module(<name> KERNEL <kernel>
  SOURCES <file.c|file.S|file.h>... [MODULE_NAME <ko-name>]
  [INCLUDE_DIRECTORIES <dir>...]
  [COMPILE_DEFINITIONS <NAME[=value]>...]
  [COMPILE_OPTIONS <flag>...]
  [KBUILD_VARIABLES <NAME=value>...]
  [DEPENDS <module>...]
  [EXCLUDE_FROM_ALL])

uml_add_module(<name> KERNEL <kernel>
  KBUILD_DIR <dir> [MODULE_NAMES <ko-name>...]
  [INCLUDE_DIRECTORIES <dir>...]
  [COMPILE_DEFINITIONS <NAME[=value]>...]
  [COMPILE_OPTIONS <flag>...]
  [KBUILD_VARIABLES <NAME=value>...]
  [DEPENDS <module>...] [EXCLUDE_FROM_ALL])
```
Adds target `<name>` that builds `<name>.ko` with Kbuild (`make M=...`) against
the kernel target `<kernel>` (made by `uml_add_kernel()` earlier). Either way the
module is built in `<build>/_uml/module/<name>` from links to its sources: the
source tree is never written, and a host build of the same directory does not
fight over its objects.

- `SOURCES`: one or many `.c`/`.S` files linked into one module; headers may be
  listed too (they are tracked anyway). A Kbuild file is generated.
- `MODULE_NAME`: the `.ko` name when it differs from the target's, e.g. one
  module built for several kernels (`hello_6_1`, `hello_6_12`, both `hello.ko`).
- `KBUILD_DIR`: an existing Kbuild/Makefile module directory, built with its own
  Makefile (the part Kbuild reads). Its files are linked into the build directory
  at every build, and its parent's other entries beside it (up to the project's
  top directory when it is inside the project), so `$(src)/../include` and
  `$(PWD)/../include` reach sibling directories as they do in the tree; `PWD` is
  the linked directory. `MODULE_NAMES` lists the `.ko` files it makes; without it,
  they are what Kbuild's `modules.order` lists after the build.
- `INCLUDE_DIRECTORIES`, `COMPILE_DEFINITIONS`, `COMPILE_OPTIONS`: with `SOURCES`
  they go to `ccflags-y` (the sources' directories are always on the include
  path); with `KBUILD_DIR` to `KCPPFLAGS`/`KCFLAGS`, added to the Makefile's own.
- `KBUILD_VARIABLES`: make variables on Kbuild's command line, as a textbook
  Makefile's outer part passes them (`$(MAKE) -C $(KDIR) M=$(PWD) FOO=1 modules`).
  When a compile fails, the variables the directory's Makefile used but nobody set
  are named (an empty one behind a bare `-I` is the usual cause).
- `DEPENDS`: modules whose exported symbols this one uses (their
  `Module.symvers` is passed as `KBUILD_EXTRA_SYMBOLS`).

Module names must be unique per kernel (`-` and `_` count as the same, as for
`modprobe`): two modules giving the same `.ko` name for one kernel are a
configure error (names a `KBUILD_DIR` makes without `MODULE_NAMES` are checked by
`uml_modules_install()` at build time), and a module named like one of the
kernel's own, built in (`modules.builtin`, e.g. `ext4`) or loadable
(`modules.order`), fails its build step: `modprobe` would use the kernel's and
never load the project's. Rename it (`MODULE_NAME`, or `obj-m`).

Target properties: `UML_MODULE_FILES` (the `.ko` paths, when the names are known
at configure time), `UML_MODULE_NAMES` (empty for a `KBUILD_DIR` without
`MODULE_NAMES`), `UML_MODULE_ORDER` (Kbuild's `modules.order` of the build:
every module it made), `UML_MODULE_BUILD_DIR`, `UML_MODULE_SYMVERS`,
`UML_MODULE_KERNEL`. The compile commands of the modules not
`EXCLUDE_FROM_ALL` are merged into `${CMAKE_BINARY_DIR}/compile_commands.json`
(merging an excluded one's would build it).
#]=======================================================================]
function(uml_add_module name)
  list(APPEND CMAKE_MESSAGE_CONTEXT uml_add_module)
  cmake_parse_arguments(
    PARSE_ARGV 1 arg "EXCLUDE_FROM_ALL" "KERNEL;KBUILD_DIR;MODULE_NAME"
    "SOURCES;INCLUDE_DIRECTORIES;COMPILE_DEFINITIONS;COMPILE_OPTIONS;KBUILD_VARIABLES;DEPENDS;MODULE_NAMES")
  _uml_check_target_name(uml_add_module "${name}")
  _uml_reject_unparsed(uml_add_module arg)
  foreach(kw IN ITEMS KERNEL KBUILD_DIR MODULE_NAME)
    if(kw IN_LIST arg_KEYWORDS_MISSING_VALUES)
      message(FATAL_ERROR "uml_add_module(${name}): ${kw} needs a value.")
    endif()
  endforeach()
  if(arg_SOURCES AND arg_KBUILD_DIR)
    message(FATAL_ERROR "uml_add_module(${name}): give SOURCES or KBUILD_DIR, not both.")
  endif()
  if(NOT arg_SOURCES AND NOT arg_KBUILD_DIR)
    message(FATAL_ERROR "uml_add_module(${name}): SOURCES (files to build) or KBUILD_DIR (an existing "
                        "Kbuild directory) is required.")
  endif()
  if(arg_MODULE_NAMES AND NOT arg_KBUILD_DIR)
    message(FATAL_ERROR "uml_add_module(${name}): MODULE_NAMES applies to KBUILD_DIR only (with SOURCES, "
                        "MODULE_NAME names the one module).")
  endif()
  if(DEFINED arg_MODULE_NAME AND arg_KBUILD_DIR)
    message(FATAL_ERROR "uml_add_module(${name}): MODULE_NAME applies to SOURCES; with KBUILD_DIR use MODULE_NAMES.")
  endif()
  foreach(ko IN LISTS arg_MODULE_NAME arg_MODULE_NAMES)
    if(NOT ko MATCHES "^[A-Za-z0-9_-]+$")
      message(FATAL_ERROR "uml_add_module(${name}): '${ko}' is not a module name (letters, digits, '_' and '-'; "
                          "no .ko).")
    endif()
  endforeach()
  foreach(variable IN LISTS arg_KBUILD_VARIABLES)
    if(NOT variable MATCHES "^[A-Za-z_][A-Za-z0-9_]*=")
      message(FATAL_ERROR "uml_add_module(${name}): KBUILD_VARIABLES entry '${variable}' must be NAME=value "
                          "(a make variable, e.g. DRIVER_DEBUG=1).")
    endif()
    if(variable MATCHES "^(ARCH|CC|HOSTCC|M|O|KBUILD_EXTMOD|KBUILD_EXTRA_SYMBOLS|KCFLAGS|KCPPFLAGS)=")
      message(FATAL_ERROR "uml_add_module(${name}): KBUILD_VARIABLES cannot set ${CMAKE_MATCH_1}: the package "
                          "sets it (use COMPILE_OPTIONS, INCLUDE_DIRECTORIES or DEPENDS instead).")
    endif()
  endforeach()
  set(ko_name "${name}")
  if(DEFINED arg_MODULE_NAME)
    set(ko_name "${arg_MODULE_NAME}")
  endif()

  if(NOT arg_KERNEL)
    message(FATAL_ERROR "uml_add_module(${name}): KERNEL is required: the uml_add_kernel() target to build against.")
  endif()
  set(context "uml_add_module(${name})")
  _uml_target_property(kernel_dir "${context}" KERNEL "${arg_KERNEL}" UML_KERNEL_BUILD_DIR "uml_add_kernel()")
  # Modules this one links against, by their Module.symvers.
  set(extra_symbols "")
  set(depends_files "")
  foreach(dep IN LISTS arg_DEPENDS)
    _uml_target_property(dep_symvers "${context}" DEPENDS "${dep}" UML_MODULE_SYMVERS "uml_add_module()")
    get_target_property(dep_kernel ${dep} UML_MODULE_KERNEL)
    if(NOT dep_kernel STREQUAL arg_KERNEL)
      message(FATAL_ERROR "uml_add_module(${name}): DEPENDS '${dep}' is built for kernel '${dep_kernel}', "
                          "not '${arg_KERNEL}'.")
    endif()
    get_target_property(dep_stamp ${dep} UML_MODULE_STAMP)
    list(APPEND extra_symbols "${dep_symvers}")
    list(APPEND depends_files "${dep_stamp}")
  endforeach()

  set(state_dir "${CMAKE_CURRENT_BINARY_DIR}/_uml")
  set(mirror_root "${state_dir}/module/${name}")
  set(step_KCPPFLAGS "")
  set(step_KCFLAGS "")
  set(step_MIRROR_SOURCE "")
  set(step_MIRROR_ANCHOR "")
  set(step_MIRROR_ROOT "")
  set(step_MIRROR_EXCLUDE "")
  if(arg_KBUILD_DIR)
    get_filename_component(source_dir "${arg_KBUILD_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${source_dir}/Kbuild" AND NOT EXISTS "${source_dir}/Makefile")
      message(FATAL_ERROR "uml_add_module(${name}): KBUILD_DIR ${source_dir} has no Kbuild or Makefile.")
    endif()
    # The linked tree starts at the project's top directory when the module is inside
    # it, else at the module directory's parent: relative paths to siblings resolve.
    cmake_path(IS_PREFIX CMAKE_SOURCE_DIR "${source_dir}" NORMALIZE inside_project)
    if(inside_project AND NOT source_dir STREQUAL CMAKE_SOURCE_DIR)
      set(anchor "${CMAKE_SOURCE_DIR}")
    else()
      get_filename_component(anchor "${source_dir}" DIRECTORY)
    endif()
    file(RELATIVE_PATH rel "${anchor}" "${source_dir}")
    set(module_dir "${mirror_root}/${rel}")
    set(step_MIRROR_SOURCE "${source_dir}")
    set(step_MIRROR_ANCHOR "${anchor}")
    set(step_MIRROR_ROOT "${mirror_root}")
    # Build trees inside the sources are never linked (their objects are not sources).
    set(step_MIRROR_EXCLUDE "${CMAKE_BINARY_DIR}")
    set(ko_names ${arg_MODULE_NAMES})
    _uml_module_flags(flags "${arg_INCLUDE_DIRECTORIES}" "${arg_COMPILE_DEFINITIONS}" "" "")
    _uml_kbuild_quote_flags(step_KCPPFLAGS ${flags})
    _uml_kbuild_quote_flags(step_KCFLAGS ${arg_COMPILE_OPTIONS})
    file(GLOB_RECURSE tracked "${source_dir}/Kbuild" "${source_dir}/Makefile" "${source_dir}/*.mk")
  else()
    set(module_dir "${mirror_root}")
    set(ko_names ${ko_name})
    _uml_module_mirror_sources(
      tracked
      "${name}"
      "${ko_name}"
      "${module_dir}"
      "${arg_INCLUDE_DIRECTORIES}"
      "${arg_COMPILE_DEFINITIONS}"
      "${arg_COMPILE_OPTIONS}"
      ${arg_SOURCES})
  endif()

  # make splits M=<dir> and object names at spaces: such a module cannot build.
  if(module_dir MATCHES "[ \t\n]")
    message(
      FATAL_ERROR
        "uml_add_module(${name}): its build directory '${module_dir}' contains a space, which "
        "Kbuild's M=<dir> cannot take (make splits at spaces). Use a build directory and module "
        "directory (KBUILD_DIR) without spaces; SOURCES may live anywhere.")
  endif()
  _uml_claim_module_names("${name}" "${arg_KERNEL}" "${ko_names}")
  set(ko_files "")
  foreach(ko IN LISTS ko_names)
    list(APPEND ko_files "${module_dir}/${ko}.ko")
  endforeach()
  get_target_property(kernel_stamp ${arg_KERNEL} UML_KERNEL_STAMP)
  set(stamp "${state_dir}/${name}.module.stamp")
  set(depfile "${state_dir}/${name}.module.d")
  set(compdb_fragment "${state_dir}/${name}.compile_commands.json")
  set(step_NAME "${name}")
  set(step_MAKE "${UML_MAKE_EXECUTABLE}")
  get_target_property(step_KERNEL_SOURCE_DIR ${arg_KERNEL} UML_KERNEL_SOURCE_DIR)
  set(step_KERNEL_DIR "${kernel_dir}")
  set(step_KERNEL_STAMP "${kernel_stamp}")
  get_target_property(step_CC ${arg_KERNEL} UML_KERNEL_CC)
  set(step_MODULE_DIR "${module_dir}")
  set(step_MODULE_NAMES "${ko_names}")
  set(step_EXTRA_SYMBOLS "${extra_symbols}")
  set(step_VARIABLES "${arg_KBUILD_VARIABLES}")
  set(step_JOBS "${UML_KERNEL_JOBS}")
  set(step_DEPFILE "${depfile}")
  set(step_STAMP "${stamp}")
  set(step_COMPDB "${compdb_fragment}")
  get_target_property(step_COVERAGE ${arg_KERNEL} UML_KERNEL_COVERAGE)
  set(step_FAST_PATH "${UML_KBUILD_FAST_PATH}")
  if(step_COVERAGE)
    # The coverage report shows the project's sources: the module's directories.
    if(arg_KBUILD_DIR)
      set(coverage_sources "${source_dir}")
    else()
      set(coverage_sources "")
      foreach(source IN LISTS arg_SOURCES)
        get_filename_component(source "${source}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
        get_filename_component(source_parent "${source}" DIRECTORY)
        list(APPEND coverage_sources "${source_parent}")
      endforeach()
    endif()
    set_property(GLOBAL APPEND PROPERTY _UML_COVERAGE_SOURCE_DIRS ${coverage_sources})
  endif()
  set(script "${state_dir}/steps/${name}.module-build.cmake")
  _uml_write_step_script(
    "${script}"
    module
    uml_step_module
    NAME
    MAKE
    KERNEL_SOURCE_DIR
    KERNEL_DIR
    KERNEL_STAMP
    CC
    MODULE_DIR
    MODULE_NAMES
    EXTRA_SYMBOLS
    VARIABLES
    KCPPFLAGS
    KCFLAGS
    MIRROR_SOURCE
    MIRROR_ANCHOR
    MIRROR_ROOT
    MIRROR_EXCLUDE
    JOBS
    DEPFILE
    STAMP
    COMPDB
    COVERAGE
    FAST_PATH)
  add_custom_command(
    OUTPUT "${stamp}"
    BYPRODUCTS ${ko_files} "${module_dir}/Module.symvers" "${module_dir}/modules.order" "${compdb_fragment}"
    COMMAND "${CMAKE_COMMAND}" -P "${script}"
    DEPENDS "${kernel_stamp}" ${tracked} ${depends_files} "${script}" ${_UML_STEP_DEPENDS}
    DEPFILE "${depfile}"
    COMMENT "Building UML module ${name}"
    VERBATIM)
  _uml_add_custom_target(${name} "${arg_EXCLUDE_FROM_ALL}" DEPENDS "${stamp}" SOURCES ${arg_SOURCES})
  add_dependencies(${name} ${arg_KERNEL} ${arg_DEPENDS})
  set_target_properties(
    ${name}
    PROPERTIES UML_MODULE_FILES "${ko_files}"
               UML_MODULE_NAMES "${ko_names}"
               UML_MODULE_ORDER "${module_dir}/modules.order"
               UML_MODULE_BUILD_DIR "${module_dir}"
               UML_MODULE_SYMVERS "${module_dir}/Module.symvers"
               UML_MODULE_KERNEL "${arg_KERNEL}"
               UML_MODULE_STAMP "${stamp}")
  # Not an EXCLUDE_FROM_ALL module: the merge target is built by default and would
  # build it.
  if(NOT arg_EXCLUDE_FROM_ALL)
    _uml_register_compile_commands(${name} "${compdb_fragment}" "${kernel_dir}")
  endif()
endfunction()

# Two modules for one kernel giving the same .ko name would overwrite each other in an
# image's /lib/modules and modprobe would load either: an error. modprobe treats '-'
# and '_' alike. The same name for different kernels is fine (hello_6_1, hello_6_12).
# Names known only after the build (KBUILD_DIR without MODULE_NAMES) are checked by
# uml_modules_install() when it runs.
function(_uml_claim_module_names name kernel ko_names)
  get_property(claimed GLOBAL PROPERTY _UML_MODULE_NAMES_OF_${kernel})
  foreach(ko IN LISTS ko_names)
    string(REPLACE "-" "_" key "${ko}")
    foreach(entry IN LISTS claimed)
      string(REGEX MATCH "^([^|]*)\\|([^|]*)\\|(.*)$" _ "${entry}")
      if(CMAKE_MATCH_1 STREQUAL key)
        message(
          FATAL_ERROR
            "uml_add_module(${name}): its module '${ko}.ko' has the name of module target "
            "'${CMAKE_MATCH_2}''s '${CMAKE_MATCH_3}.ko' (both for kernel '${kernel}'; '-' and '_' "
            "are the same to modprobe): one would replace the other in the image. Rename one "
            "(MODULE_NAME <other> for SOURCES, obj-m in a KBUILD_DIR's Kbuild file).")
      endif()
    endforeach()
    set_property(GLOBAL APPEND PROPERTY _UML_MODULE_NAMES_OF_${kernel} "${key}|${name}|${ko}")
  endforeach()
endfunction()

# -I and -D flags of INCLUDE_DIRECTORIES and COMPILE_DEFINITIONS (paths relative
# to the current source directory), then <source_dirs> as -I, then <options>.
function(_uml_module_flags out include_dirs definitions source_dirs options)
  set(flags "")
  foreach(dir IN LISTS include_dirs)
    get_filename_component(dir "${dir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND flags "-I${dir}")
  endforeach()
  foreach(dir IN LISTS source_dirs)
    list(APPEND flags "-I${dir}")
  endforeach()
  foreach(definition IN LISTS definitions)
    list(APPEND flags "-D${definition}")
  endforeach()
  list(APPEND flags ${options})
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()

# Links the sources into the module's build directory (Kbuild builds where the
# sources are; before Linux 6.13 there is no separate output directory for M=)
# and writes the Kbuild file. Returns the files the build depends on.
function(
  _uml_module_mirror_sources
  out
  name
  ko_name
  module_dir
  include_dirs
  definitions
  options)
  set(objects "")
  set(flags "")
  set(tracked "")
  set(source_dirs "")
  foreach(source IN LISTS ARGN)
    get_filename_component(abs "${source}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${abs}")
      message(FATAL_ERROR "uml_add_module(${name}): source not found: ${abs}")
    endif()
    cmake_path(IS_PREFIX CMAKE_CURRENT_SOURCE_DIR "${abs}" inside)
    if(inside)
      file(RELATIVE_PATH rel "${CMAKE_CURRENT_SOURCE_DIR}" "${abs}")
    else()
      get_filename_component(rel "${abs}" NAME)
    endif()
    get_filename_component(dir "${abs}" DIRECTORY)
    list(APPEND source_dirs "${dir}")
    list(APPEND tracked "${abs}")
    if(rel MATCHES "\\.(c|S)$" AND rel MATCHES "[ \t\n]")
      message(
        FATAL_ERROR "uml_add_module(${name}): source '${rel}' has a space in its path; Kbuild names objects by "
                    "that path and splits its lists at spaces, so it cannot build. Rename the file or " "directory.")
    endif()
    if(rel MATCHES "\\.(c|S)$")
      string(REGEX REPLACE "\\.(c|S)$" ".o" object "${rel}")
      if(object IN_LIST objects)
        message(FATAL_ERROR "uml_add_module(${name}): two sources make the object ${object}.")
      endif()
      list(APPEND objects "${object}")
      get_filename_component(link_dir "${module_dir}/${rel}" DIRECTORY)
      file(MAKE_DIRECTORY "${link_dir}")
      file(CREATE_LINK "${abs}" "${module_dir}/${rel}" SYMBOLIC)
    elseif(NOT rel MATCHES "\\.(h|hpp|inc)$")
      message(FATAL_ERROR "uml_add_module(${name}): ${source} is not a .c, .S or header file.")
    endif()
  endforeach()
  if(NOT objects)
    message(FATAL_ERROR "uml_add_module(${name}): SOURCES has no .c or .S file.")
  endif()

  # One source named like the module is the module; otherwise a composite.
  list(LENGTH objects count)
  if(count EQUAL 1 AND objects STREQUAL "${ko_name}.o")
    set(kbuild "obj-m := ${ko_name}.o\n")
  elseif("${ko_name}.o" IN_LIST objects)
    message(FATAL_ERROR "uml_add_module(${name}): a module made of several sources cannot have a source named "
                        "${ko_name}.c (Kbuild would make ${ko_name}.o twice); rename that file or the module.")
  else()
    list(JOIN objects " " object_list)
    set(kbuild "obj-m := ${ko_name}.o\n${ko_name}-y := ${object_list}\n")
  endif()

  list(REMOVE_DUPLICATES source_dirs)
  _uml_module_flags(flags "${include_dirs}" "${definitions}" "${source_dirs}" "${options}")
  set(quoted "")
  foreach(flag IN LISTS flags)
    _uml_kbuild_quote_flags(flag "${flag}")
    string(APPEND quoted " \\\n  ${flag}")
  endforeach()
  string(APPEND kbuild "ccflags-y +=${quoted}\n")
  file(CONFIGURE OUTPUT "${module_dir}/Kbuild" CONTENT
       "# Generated by uml_add_module(${name}); edit the CMakeLists.txt instead.\n${kbuild}" @ONLY)
  list(APPEND tracked "${module_dir}/Kbuild")
  set(${out} "${tracked}" PARENT_SCOPE)
endfunction()

# Collects each module's compile commands; one target merges them into the
# build tree's compile_commands.json once the whole project is configured.
function(_uml_register_compile_commands name fragment kernel_dir)
  set_property(GLOBAL APPEND PROPERTY _UML_COMPDB_FRAGMENTS "${fragment}")
  set_property(GLOBAL APPEND PROPERTY _UML_COMPDB_MODULES "${name}")
  set_property(GLOBAL APPEND PROPERTY _UML_COMPDB_KERNEL_DIRS "${kernel_dir}")
  get_property(scheduled GLOBAL PROPERTY _UML_COMPDB_SCHEDULED)
  if(NOT scheduled)
    set_property(GLOBAL PROPERTY _UML_COMPDB_SCHEDULED TRUE)
    cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _uml_add_compile_commands_target)
  endif()
endfunction()

function(_uml_add_compile_commands_target)
  get_property(fragments GLOBAL PROPERTY _UML_COMPDB_FRAGMENTS)
  get_property(modules GLOBAL PROPERTY _UML_COMPDB_MODULES)
  get_property(kernel_dirs GLOBAL PROPERTY _UML_COMPDB_KERNEL_DIRS)
  list(REMOVE_DUPLICATES kernel_dirs)
  set(output "${CMAKE_BINARY_DIR}/compile_commands.json")
  set(stamp "${CMAKE_BINARY_DIR}/_uml/compile_commands.stamp")
  set(extra_depends "")
  if(CMAKE_EXPORT_COMPILE_COMMANDS)
    # CMake rewrites compile_commands.json when it generates; a file whose
    # content changes at every generate makes the merge run again after that.
    string(TIMESTAMP now "%s%f")
    file(GENERATE OUTPUT "${CMAKE_BINARY_DIR}/_uml/generated.stamp" CONTENT "${now}\n")
    list(APPEND extra_depends "${CMAKE_BINARY_DIR}/_uml/generated.stamp")
  endif()
  set(step_FRAGMENTS "${fragments}")
  set(step_KERNEL_DIRS "${kernel_dirs}")
  set(step_OUTPUT "${output}")
  set(step_STAMP "${stamp}")
  set(script "${CMAKE_BINARY_DIR}/_uml/steps/compile_commands.cmake")
  _uml_write_step_script(
    "${script}"
    module
    uml_step_merge_compile_commands
    FRAGMENTS
    KERNEL_DIRS
    OUTPUT
    STAMP)
  add_custom_command(
    OUTPUT "${stamp}"
    COMMAND "${CMAKE_COMMAND}" -P "${script}"
    DEPENDS ${fragments} ${extra_depends} "${script}" ${_UML_STEP_DEPENDS}
    COMMENT "Merging UML module compile commands into ${output}"
    VERBATIM)
  add_custom_target(uml_compile_commands ALL DEPENDS "${stamp}")
  add_dependencies(uml_compile_commands ${modules})
endfunction()
