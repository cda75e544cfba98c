include_guard(GLOBAL)

#[=======================================================================[.md
### uml_add_module

```cmake
uml_add_module(<name> KERNEL <kernel>
  SOURCES <file.c|file.S|file.h>... [MODULE_NAME <ko-name>]
  [INCLUDE_DIRECTORIES <dir>...]
  [COMPILE_DEFINITIONS <NAME[=value]>...]
  [COMPILE_OPTIONS <flag>...]
  [DEPENDS <module>...]
  [EXCLUDE_FROM_ALL])

uml_add_module(<name> KERNEL <kernel>
  KBUILD_DIR <dir> [MODULE_NAMES <ko-name>...]
  [DEPENDS <module>...] [EXCLUDE_FROM_ALL])
```
Adds target `<name>` that builds `<name>.ko` with Kbuild (`make M=...`) against
the kernel target `<kernel>` (made by `uml_add_kernel()` earlier).

- `SOURCES`: one or many `.c`/`.S` files linked into one module; headers may be
  listed too (they are tracked anyway). A Kbuild file is generated; the sources
  are linked (symlinks) into the module's build directory, so the source tree
  stays clean and an edit rebuilds only what changed.
- `MODULE_NAME`: the `.ko` name when it differs from the target's, e.g. one
  module built for several kernels (`hello_6_1`, `hello_6_12`, both `hello.ko`).
- `INCLUDE_DIRECTORIES`, `COMPILE_DEFINITIONS`, `COMPILE_OPTIONS`: go to
  `ccflags-y`. The directories of the sources are always on the include path.
- `DEPENDS`: modules whose exported symbols this one uses (their
  `Module.symvers` is passed as `KBUILD_EXTRA_SYMBOLS`).
- `KBUILD_DIR`: build an existing Kbuild/Makefile module directory as it is
  (Kbuild writes its objects there); `MODULE_NAMES` lists the `.ko` files it
  makes (default: `<name>`).

Target properties: `UML_MODULE_FILES` (the `.ko` paths), `UML_MODULE_NAMES`,
`UML_MODULE_BUILD_DIR`, `UML_MODULE_SYMVERS`, `UML_MODULE_KERNEL`.
The modules' compile commands are merged into `${CMAKE_BINARY_DIR}/compile_commands.json`.
#]=======================================================================]
function(uml_add_module name)
  set(CMAKE_MESSAGE_CONTEXT uml_add_module)
  cmake_parse_arguments(PARSE_ARGV 1 arg "EXCLUDE_FROM_ALL" "KERNEL;KBUILD_DIR;MODULE_NAME"
                        "SOURCES;INCLUDE_DIRECTORIES;COMPILE_DEFINITIONS;COMPILE_OPTIONS;DEPENDS;MODULE_NAMES")
  _uml_check_target_name(uml_add_module "${name}")
  _uml_reject_unparsed(uml_add_module arg)
  if(arg_SOURCES AND arg_KBUILD_DIR)
    message(FATAL_ERROR "uml_add_module(${name}): give SOURCES or KBUILD_DIR, not both.")
  endif()
  if(NOT arg_SOURCES AND NOT arg_KBUILD_DIR)
    message(FATAL_ERROR "uml_add_module(${name}): SOURCES (files to build) or KBUILD_DIR (an existing "
                        "Kbuild directory) is required.")
  endif()
  if(arg_KBUILD_DIR AND (arg_INCLUDE_DIRECTORIES OR arg_COMPILE_DEFINITIONS OR arg_COMPILE_OPTIONS))
    message(FATAL_ERROR "uml_add_module(${name}): with KBUILD_DIR the directory's own Kbuild file sets the flags; "
                        "INCLUDE_DIRECTORIES, COMPILE_DEFINITIONS and COMPILE_OPTIONS apply to SOURCES only.")
  endif()
  if(arg_MODULE_NAMES AND NOT arg_KBUILD_DIR)
    message(FATAL_ERROR "uml_add_module(${name}): MODULE_NAMES applies to KBUILD_DIR only (with SOURCES, "
                        "MODULE_NAME names the one module).")
  endif()
  if(DEFINED arg_MODULE_NAME AND arg_KBUILD_DIR)
    message(FATAL_ERROR "uml_add_module(${name}): MODULE_NAME applies to SOURCES; with KBUILD_DIR use MODULE_NAMES.")
  endif()
  set(ko_name "${name}")
  if(DEFINED arg_MODULE_NAME)
    if(NOT arg_MODULE_NAME MATCHES "^[A-Za-z0-9_-]+$")
      message(FATAL_ERROR "uml_add_module(${name}): MODULE_NAME '${arg_MODULE_NAME}' is not a module name "
                          "(letters, digits, '_' and '-'; no .ko).")
    endif()
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
  if(arg_KBUILD_DIR)
    get_filename_component(module_dir "${arg_KBUILD_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${module_dir}/Kbuild" AND NOT EXISTS "${module_dir}/Makefile")
      message(FATAL_ERROR "uml_add_module(${name}): KBUILD_DIR ${module_dir} has no Kbuild or Makefile.")
    endif()
    set(ko_names ${arg_MODULE_NAMES})
    if(NOT ko_names)
      set(ko_names ${name})
    endif()
    file(GLOB_RECURSE tracked "${module_dir}/Kbuild" "${module_dir}/Makefile")
  else()
    set(module_dir "${state_dir}/module/${name}")
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

  set(ko_files "")
  foreach(ko IN LISTS ko_names)
    list(APPEND ko_files "${module_dir}/${ko}.ko")
  endforeach()
  get_target_property(kernel_stamp ${arg_KERNEL} UML_KERNEL_STAMP)
  get_target_property(kernel_source ${arg_KERNEL} UML_KERNEL_SOURCE_DIR)
  get_target_property(kernel_cc ${arg_KERNEL} UML_KERNEL_CC)
  set(stamp "${state_dir}/${name}.module.stamp")
  set(depfile "${state_dir}/${name}.module.d")
  set(compdb_fragment "${state_dir}/${name}.compile_commands.json")
  set(script "${_UML_PACKAGE_ROOT}/helpers/module.cmake")
  list(JOIN extra_symbols " " extra_symbols)
  add_custom_command(
    OUTPUT "${stamp}"
    BYPRODUCTS ${ko_files} "${module_dir}/Module.symvers" "${compdb_fragment}"
    COMMAND
      "${CMAKE_COMMAND}" -DUML_ACTION=build -DUML_MAKE=${UML_MAKE_EXECUTABLE} -DUML_KERNEL_DIR=${kernel_dir}
      -DUML_KERNEL_SOURCE_DIR=${kernel_source} -DUML_CC=${kernel_cc} -DUML_MODULE_DIR=${module_dir}
      "-DUML_EXTRA_SYMBOLS=${extra_symbols}" -DUML_JOBS=${UML_KERNEL_JOBS} -DUML_DEPFILE=${depfile} -DUML_STAMP=${stamp}
      -DUML_COMPDB=${compdb_fragment} -P "${script}"
    DEPENDS "${kernel_stamp}" ${tracked} ${depends_files} "${script}"
    DEPFILE "${depfile}"
    COMMENT "Building UML module ${name}"
    VERBATIM)
  _uml_add_custom_target(${name} "${arg_EXCLUDE_FROM_ALL}" DEPENDS "${stamp}" SOURCES ${arg_SOURCES})
  add_dependencies(${name} ${arg_KERNEL} ${arg_DEPENDS})
  set_target_properties(
    ${name}
    PROPERTIES UML_MODULE_FILES "${ko_files}"
               UML_MODULE_NAMES "${ko_names}"
               UML_MODULE_BUILD_DIR "${module_dir}"
               UML_MODULE_SYMVERS "${module_dir}/Module.symvers"
               UML_MODULE_KERNEL "${arg_KERNEL}"
               UML_MODULE_STAMP "${stamp}")
  _uml_register_compile_commands(${name} "${compdb_fragment}" "${kernel_dir}")
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
  set(quoted "")
  foreach(flag IN LISTS flags)
    # Kbuild hands ccflags to the shell: quote each flag, and escape make's $.
    string(REPLACE "'" "'\\''" flag "${flag}")
    string(REPLACE "$" "$$" flag "${flag}")
    string(APPEND quoted " \\\n  '${flag}'")
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
  add_custom_command(
    OUTPUT "${stamp}"
    COMMAND
      "${CMAKE_COMMAND}" -DUML_ACTION=merge-compile-commands "-DUML_FRAGMENTS=${fragments}"
      "-DUML_KERNEL_DIRS=${kernel_dirs}" -DUML_OUTPUT=${output} -DUML_STAMP=${stamp} -P
      "${_UML_PACKAGE_ROOT}/helpers/module.cmake"
    DEPENDS ${fragments} ${extra_depends} "${_UML_PACKAGE_ROOT}/helpers/module.cmake"
    COMMENT "Merging UML module compile commands into ${output}"
    VERBATIM)
  add_custom_target(uml_compile_commands ALL DEPENDS "${stamp}")
  add_dependencies(uml_compile_commands ${modules})
endfunction()
