# The edit loop's fast path of uml_step_module: a module whose own .c/.h/.S files
# changed is rebuilt by rerunning the commands Kbuild recorded in the module directory's
# .cmd files, in Kbuild's order and under Kbuild's own conditions, instead of a Kbuild
# run (make reads the kernel's Makefiles and reruns its compiler probes, ~0.4 s on a
# fast machine, before it compiles anything):
#   an object older than its source or one of its own headers: its compile + fixdep
#   a composite object older than a member: its ld -r
#   a module object rebuilt: modules.order, then modpost (always; it is cheap, and its
#     output depends on more than the symbol set: srcversion, device-table aliases,
#     license and namespace checks, section mismatches)
#   a .mod.c newer than its .mod.o: its compile + fixdep; an object newer than the .ko:
#     the .ko's link
# The .cmd files are rewritten exactly as Kbuild does (fixdep), so a later Kbuild run
# finds everything up to date. Kbuild runs instead whenever anything else may have
# changed (the key below), or the fast path has a doubt (a file or command it does not
# know, more objects to compile than -j, a kernel option that adds steps).
#
#   _uml_fast_path_key(<out> MAKE_COMMAND <list> MODULE_DIR <dir> KERNEL_DIR <dir>
#     KERNEL_STAMP <file> [EXTRA_SYMBOLS <files>...] [COVERAGE <bool>])
#       every input of a module build other than its sources
#   _uml_fast_path_build(<result> MODULE_DIR <dir> KERNEL_DIR <dir> KERNEL_SOURCE_DIR <dir>
#     KEY <key> JOBS <n> [VARIABLES <NAME=value>...])
#       result: "built" or "Kbuild: <why>" (then nothing was run)
include_guard(GLOBAL)

set(_UML_FAST_PATH_STATE ".uml-fast-path")

# Environment variables Kbuild reads that change a module's commands (make imports the
# environment; the command line wins for the ones the step passes).
set(_UML_FAST_PATH_ENVIRONMENT
    KBUILD_EXTRA_WARN
    KBUILD_MODPOST_WARN
    KBUILD_MODPOST_NOFINAL
    KBUILD_EXTRA_SYMBOLS
    KBUILD_CHECKSRC
    KBUILD_ABS_SRCTREE
    KCFLAGS
    KCPPFLAGS
    KAFLAGS
    KRUSTFLAGS
    CFLAGS_MODULE
    AFLAGS_MODULE
    LDFLAGS_MODULE
    CROSS_COMPILE
    LLVM
    LLVM_IAS
    GCOV_PROFILE
    KCOV_INSTRUMENT
    KASAN_SANITIZE
    UBSAN_SANITIZE
    KCSAN_SANITIZE
    OBJECT_FILES_NON_STANDARD)

# Kernel options under which Kbuild runs more than the recorded command for an object
# or a module (genksyms, objtool, recordmcount, BTF, ...): the fast path stands aside.
set(_UML_FAST_PATH_UNSUPPORTED_OPTIONS
    CONFIG_MODVERSIONS
    CONFIG_TRIM_UNUSED_KSYMS
    CONFIG_OBJTOOL
    CONFIG_FTRACE_MCOUNT_USE_RECORDMCOUNT
    CONFIG_DEBUG_INFO_BTF_MODULES
    CONFIG_LTO_CLANG
    CONFIG_RUST)

function(_uml_fast_path_key out)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "MODULE_DIR;KERNEL_DIR;KERNEL_STAMP;COVERAGE" "MAKE_COMMAND;EXTRA_SYMBOLS")
  set(text "fast-path key 2\n")
  foreach(word IN LISTS arg_MAKE_COMMAND)
    string(APPEND text "make ${word}\n")
  endforeach()
  string(APPEND text "coverage ${arg_COVERAGE}\n")
  # make variables a Makefile generator's make passes down (make W=1): Kbuild takes them
  # as command-line ones.
  if("$ENV{MAKEFLAGS}" MATCHES "(^| )-- (.+)$")
    string(APPEND text "env MAKEFLAGS=${CMAKE_MATCH_2}\n")
  endif()
  # Each run of the kernel step (a kernel source or header changed, or the kernel was
  # rebuilt): Kbuild then decides what of the module its change reaches.
  set(stamp_time "missing")
  if(EXISTS "${arg_KERNEL_STAMP}")
    file(TIMESTAMP "${arg_KERNEL_STAMP}" stamp_time "%s.%f" UTC)
  endif()
  string(APPEND text "kernel step ${stamp_time}\n")
  foreach(variable IN LISTS _UML_FAST_PATH_ENVIRONMENT)
    if(DEFINED ENV{${variable}})
      string(APPEND text "env ${variable}=$ENV{${variable}}\n")
    endif()
  endforeach()
  # The kernel: its configuration, its symbols, the module linker script, its release.
  foreach(file IN ITEMS include/config/auto.conf Module.symvers scripts/module.lds include/generated/utsrelease.h)
    set(sum "missing")
    if(EXISTS "${arg_KERNEL_DIR}/${file}")
      file(SHA1 "${arg_KERNEL_DIR}/${file}" sum)
    endif()
    string(APPEND text "kernel ${file} ${sum}\n")
  endforeach()
  # Other modules' symbols (DEPENDS).
  foreach(file IN LISTS arg_EXTRA_SYMBOLS)
    set(sum "missing")
    if(EXISTS "${file}")
      file(SHA1 "${file}" sum)
    endif()
    string(APPEND text "symbols ${file} ${sum}\n")
  endforeach()
  # The module directory: which files it has (a new source means a new Kbuild rule), and
  # the content of every file that is not a source (Kbuild, Makefile, *.mk, ...).
  # Sources are the objects' dependencies, checked by time as make does.
  file(
    GLOB_RECURSE files
    LIST_DIRECTORIES false
    RELATIVE "${arg_MODULE_DIR}"
    "${arg_MODULE_DIR}/*")
  list(SORT files)
  foreach(file IN LISTS files)
    get_filename_component(base "${file}" NAME)
    if(base MATCHES "${_UML_KBUILD_OUTPUTS}" OR file MATCHES "(^|/)\\.")
      continue()
    endif()
    if(base MATCHES "\\.(c|h|S)$")
      string(APPEND text "source ${file}\n")
    else()
      file(SHA1 "${arg_MODULE_DIR}/${file}" sum)
      string(APPEND text "file ${file} ${sum}\n")
    endif()
  endforeach()
  # Kept as text, not a hash: a mismatch can then say what changed.
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# What differs between two keys, in words (the first difference).
function(_uml_fast_path_key_change out old new)
  string(REPLACE ";" "\\;" old "${old}")
  string(REPLACE ";" "\\;" new "${new}")
  string(REPLACE "\n" ";" old_lines "${old}")
  string(REPLACE "\n" ";" new_lines "${new}")
  set(gone "")
  foreach(line IN LISTS old_lines)
    if(NOT line IN_LIST new_lines)
      list(APPEND gone "${line}")
    endif()
  endforeach()
  set(came "")
  foreach(line IN LISTS new_lines)
    if(NOT line IN_LIST old_lines)
      list(APPEND came "${line}")
    endif()
  endforeach()
  set(why "something besides the module's sources changed")
  foreach(line IN LISTS came gone)
    if(line MATCHES "^fast-path key")
      set(why "the fast path's own format changed")
    elseif(line MATCHES "^make ")
      set(why "make's command line changed (the kernel's build directory, CC, KBUILD_VARIABLES or flags)")
    elseif(line MATCHES "^coverage ")
      set(why "coverage was switched")
    elseif(line MATCHES "^env ([^=]+)=")
      set(why "the environment variable ${CMAKE_MATCH_1} changed")
    elseif(line MATCHES "^kernel step ")
      set(why "the kernel step ran since (the kernel or its sources changed)")
    elseif(line MATCHES "^kernel ([^ ]+) ")
      set(why "the kernel's ${CMAKE_MATCH_1} changed")
    elseif(line MATCHES "^symbols ([^ ]+) ")
      set(why "the symbols of a module it uses changed (${CMAKE_MATCH_1})")
    elseif(line MATCHES "^(source|file) ([^ ]+)")
      set(file "${CMAKE_MATCH_2}")
      if(line IN_LIST came AND NOT "${CMAKE_MATCH_1} ${file}" IN_LIST gone)
        set(why "${file} is new")
        foreach(old_line IN LISTS gone)
          if(old_line MATCHES "^file ${file} ")
            set(why "${file} changed")
          endif()
        endforeach()
      elseif(line IN_LIST gone)
        set(why "${file} was removed")
      endif()
    else()
      continue()
    endif()
    break()
  endforeach()
  set(${out} "${why}" PARENT_SCOPE)
endfunction()

# A command as a .cmd file records it (Kbuild's make-cmd), as make reads it back and the
# shell runs it: $$ is $, $(pound) is #.
function(_uml_make_cmd_to_shell out recorded)
  string(REPLACE "$$" "@UML_DOLLAR@" text "${recorded}")
  string(REPLACE "$(pound)" "#" text "${text}")
  string(REPLACE "@UML_DOLLAR@" "$" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# A .cmd file: the recorded command (as make reads it back, and as the shell runs it),
# the target's name as Kbuild spelled it, its source, and its whole text (for
# _uml_cmd_own_deps). Not ok when Kbuild ran another step after the recorded command
# (genksyms' CRCs, gen_ksymdeps' lists are appended after fixdep's last line).
function(_uml_fast_path_read_cmd prefix cmd_file)
  set(${prefix}_ok FALSE PARENT_SCOPE)
  if(NOT EXISTS "${cmd_file}")
    return()
  endif()
  file(READ "${cmd_file}" content)
  string(FIND "${content}" "\n" end)
  if(end LESS 1)
    return()
  endif()
  string(SUBSTRING "${content}" 0 ${end} first)
  if(NOT first MATCHES "^(saved)?cmd_([^ ]+) := (.*)$")
    return()
  endif()
  set(target "${CMAKE_MATCH_2}")
  set(recorded "${CMAKE_MATCH_3}")
  math(EXPR rest_start "${end} + 1")
  string(SUBSTRING "${content}" ${rest_start} -1 rest)
  set(source "")
  if(NOT rest STREQUAL "")
    # fixdep's layout: source_, deps_ and its list, "<target>: $(deps_<target>)", and
    # last "$(deps_<target>):".
    if(NOT rest MATCHES "^\n*source_[^ \n]+ := ([^\n]*)\n" OR NOT rest MATCHES "\n\\$\\(deps_[^ \n]+\\):\n*$")
      return()
    endif()
    string(REGEX MATCH "^\n*source_[^ \n]+ := ([^\n]*)\n" _ "${rest}")
    set(source "${CMAKE_MATCH_1}")
  endif()
  _uml_make_cmd_to_shell(shell_command "${recorded}")
  set(${prefix}_ok TRUE PARENT_SCOPE)
  set(${prefix}_target "${target}" PARENT_SCOPE)
  set(${prefix}_recorded "${recorded}" PARENT_SCOPE)
  set(${prefix}_command "${shell_command}" PARENT_SCOPE)
  set(${prefix}_source "${source}" PARENT_SCOPE)
  set(${prefix}_text "${rest}" PARENT_SCOPE)
endfunction()

function(_uml_regex_escape out text)
  string(REGEX REPLACE "([][+.*?()^$|\\{}])" "\\\\\\1" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# The module's own files among the source and the dependencies fixdep recorded (the text
# after a .cmd file's first line): kernel files, named relative to the kernel build
# directory or below the kernel's source or build directory, change only with the kernel.
# List operations, not a loop: a module object's list names hundreds of kernel headers.
function(_uml_cmd_own_deps out text source kernel_source_dir kernel_dir)
  string(FIND "${text}" "\ndeps_" start)
  set(deps "")
  if(start GREATER -1)
    string(SUBSTRING "${text}" ${start} -1 block)
    string(REPLACE " \\\n" "\n" block "${block}")
    string(REPLACE "\n" ";" deps "${block}")
    list(FILTER deps INCLUDE REGEX "^  [^ $]")
    list(TRANSFORM deps STRIP)
  endif()
  if(source)
    list(APPEND deps "${source}")
  endif()
  _uml_regex_escape(source_re "${kernel_source_dir}")
  _uml_regex_escape(build_re "${kernel_dir}")
  list(FILTER deps EXCLUDE REGEX "^([^/]|${source_re}/|${build_re}/)")
  set(own "")
  foreach(dep IN LISTS deps)
    cmake_path(NORMAL_PATH dep)
    list(APPEND own "${dep}")
  endforeach()
  list(REMOVE_DUPLICATES own)
  set(${out} "${own}" PARENT_SCOPE)
endfunction()

# A path as the kernel's make sees it (relative ones to the kernel build directory).
function(_uml_fast_path_absolute out path kernel_dir)
  if(NOT IS_ABSOLUTE "${path}")
    set(path "${kernel_dir}/${path}")
  endif()
  cmake_path(NORMAL_PATH path)
  set(${out} "${path}" PARENT_SCOPE)
endfunction()

function(_uml_shell_quote out text)
  string(REPLACE "'" "'\\''" text "${text}")
  set(${out} "'${text}'" PARENT_SCOPE)
endfunction()

# The shell text of a rule Kbuild runs with if_changed_dep (compile, then fixdep rewrites
# the .cmd file), deleting the target if the compile fails. Recipes run under set -e in
# a subshell each (_uml_fast_path_add): the EXIT trap removes a half-made target.
function(_uml_fast_path_fixdep_recipe out prefix object cmd_file)
  get_filename_component(dir "${object}" DIRECTORY)
  get_filename_component(name "${object}" NAME)
  string(REPLACE "," "_" depfile "${dir}/.${name}.d")
  _uml_shell_quote(q_object "${object}")
  _uml_shell_quote(q_target "${${prefix}_target}")
  _uml_shell_quote(q_depfile "${depfile}")
  _uml_shell_quote(q_recorded "${${prefix}_recorded}")
  _uml_shell_quote(q_cmd_file "${cmd_file}")
  _uml_shell_quote(q_tmp "${cmd_file}.tmp")
  set(check "")
  # 6.1's rule_cc_o_c also checks the object for exported static symbols (6.12's modpost
  # does), with the tools Kbuild exports to it (UML builds are native; LLVM=1 is refused).
  if(ARGN)
    _uml_shell_quote(q_check "${ARGN}")
    set(check "NM=nm AWK=awk ${q_check} ${q_object}\n")
  endif()
  set(${out}
      "trap \"rm -f ${q_object}\" EXIT
${${prefix}_command}
scripts/basic/fixdep ${q_depfile} ${q_target} ${q_recorded} > ${q_tmp} && mv -f ${q_tmp} ${q_cmd_file}
rm -f ${q_depfile}
${check}trap - EXIT"
      PARENT_SCOPE)
endfunction()

# Recipes are shell text (with semicolons: never CMake list elements). A batch runs them
# in the kernel build directory at once, each in a subshell as make -j would, and fails
# if any fails.
# (A function, not a macro: a macro's ${recipe} would be evaluated again, backslashes
# and all.)
function(_uml_fast_path_add batch recipe)
  set(count 0)
  if(DEFINED ${batch}_count)
    set(count "${${batch}_count}")
  endif()
  set(script "${${batch}_script}( set -e\n${recipe}\n) &\np${count}=$!\n")
  math(EXPR count "${count} + 1")
  set(${batch}_script "${script}" PARENT_SCOPE)
  set(${batch}_count "${count}" PARENT_SCOPE)
endfunction()

function(_uml_fast_path_run ok kernel_dir batch)
  set(${ok} TRUE PARENT_SCOPE)
  if(NOT ${batch}_count)
    return()
  endif()
  set(script "${${batch}_script}rc=0\n")
  math(EXPR last "${${batch}_count} - 1")
  foreach(i RANGE ${last})
    string(APPEND script "wait $p${i} || rc=1\n")
  endforeach()
  string(APPEND script "exit $rc\n")
  execute_process(COMMAND sh -c "${script}" WORKING_DIRECTORY "${kernel_dir}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    set(${ok} FALSE PARENT_SCOPE)
  endif()
endfunction()

# TRUE when <target> is missing or older than (or as old as) one of <inputs>.
function(_uml_fast_path_stale out target)
  set(stale FALSE)
  if(NOT EXISTS "${target}")
    set(stale TRUE)
  endif()
  foreach(input IN LISTS ARGN)
    if("${input}" IS_NEWER_THAN "${target}")
      set(stale TRUE)
      break()
    endif()
  endforeach()
  set(${out} ${stale} PARENT_SCOPE)
endfunction()

function(_uml_fast_path_build result)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "MODULE_DIR;KERNEL_DIR;KERNEL_SOURCE_DIR;KEY;JOBS;NAME" "VARIABLES")
  set(dir "${arg_MODULE_DIR}")
  set(kdir "${arg_KERNEL_DIR}")
  set(state "${dir}/${_UML_FAST_PATH_STATE}")
  if(NOT EXISTS "${state}")
    set(${result} "Kbuild: the module's last build failed, or was not made by Kbuild yet" PARENT_SCOPE)
    return()
  endif()
  file(READ "${state}" last_key)
  if(NOT last_key STREQUAL arg_KEY)
    _uml_fast_path_key_change(why "${last_key}" "${arg_KEY}")
    set(${result} "Kbuild: ${why}" PARENT_SCOPE)
    return()
  endif()
  _uml_fast_path_refusal(why "${kdir}" ${arg_VARIABLES})
  if(why)
    set(${result} "Kbuild: ${why}" PARENT_SCOPE)
    return()
  endif()

  # The objects, from what Kbuild made: modules.order lists the modules, each module's
  # .mod file its objects (a single-file module's own .o, else the composite's members).
  # Leftover .cmd files of objects no module has any more are not in it.
  file(GLOB_RECURSE orders LIST_DIRECTORIES false "${dir}/modules.order")
  if(NOT orders STREQUAL "${dir}/modules.order")
    set(${result} "Kbuild: the module directory has subdirectories with modules of their own" PARENT_SCOPE)
    return()
  endif()
  file(STRINGS "${dir}/modules.order" order_lines) # 6.1 lists .ko files, 6.12 .o files
  set(modules "")
  set(compiled "")
  set(composites "")
  set(known_cmd_files "${dir}/.modules.order.cmd" "${dir}/.Module.symvers.cmd" "${dir}/..module-common.o.cmd")
  foreach(line IN LISTS order_lines)
    string(REGEX REPLACE "\\.k?o$" "" module "${line}")
    _uml_fast_path_absolute(module "${module}" "${kdir}")
    list(APPEND modules "${module}")
    get_filename_component(module_dir "${module}" DIRECTORY)
    get_filename_component(module_name "${module}" NAME)
    if(NOT EXISTS "${module}.mod")
      set(${result} "Kbuild: ${module}.mod is missing" PARENT_SCOPE)
      return()
    endif()
    file(STRINGS "${module}.mod" members)
    set(member_objects "")
    foreach(member IN LISTS members)
      string(STRIP "${member}" member)
      _uml_fast_path_absolute(member "${member}" "${kdir}")
      list(APPEND member_objects "${member}")
    endforeach()
    list(APPEND compiled ${member_objects})
    if(NOT member_objects STREQUAL "${module}.o")
      list(APPEND composites "${module}.o")
      set(members_of_${module}.o "${member_objects}")
    endif()
    list(APPEND known_cmd_files "${module_dir}/.${module_name}.mod.cmd" "${module_dir}/.${module_name}.mod.o.cmd"
         "${module_dir}/.${module_name}.ko.cmd")
  endforeach()
  list(REMOVE_DUPLICATES compiled)
  foreach(object IN LISTS compiled composites)
    get_filename_component(object_dir "${object}" DIRECTORY)
    get_filename_component(object_name "${object}" NAME)
    set(cmd_of_${object} "${object_dir}/.${object_name}.cmd")
    list(APPEND known_cmd_files "${cmd_of_${object}}")
    _uml_fast_path_read_cmd(rec "${cmd_of_${object}}")
    if(NOT rec_ok)
      set(${result} "Kbuild: ${cmd_of_${object}} is missing, or not as the fast path knows .cmd files" PARENT_SCOPE)
      return()
    endif()
    if(object IN_LIST composites)
      if(NOT rec_command MATCHES " -r .*-o ([^ ]+) @([^ ]+\\.mod)( |$)")
        set(${result} "Kbuild: ${cmd_of_${object}} records a command the fast path does not know" PARENT_SCOPE)
        return()
      endif()
    elseif(NOT rec_source)
      set(${result} "Kbuild: ${cmd_of_${object}} records no source" PARENT_SCOPE)
      return()
    endif()
    set(rec_text_${object} "${rec_text}")
    set(rec_source_${object} "${rec_source}")
  endforeach()
  # Any other step Kbuild recorded (a generated header, an .s for asm-offsets, a custom
  # if_changed rule) is one the fast path does not rerun. A .o.cmd whose source is gone
  # is a leftover of a removed object.
  file(GLOB_RECURSE cmd_files LIST_DIRECTORIES false "${dir}/.*.cmd")
  foreach(cmd_file IN LISTS cmd_files)
    if(cmd_file IN_LIST known_cmd_files)
      continue()
    endif()
    if(cmd_file MATCHES "\\.o\\.cmd$")
      _uml_fast_path_read_cmd(rec "${cmd_file}")
      if(rec_ok AND rec_source)
        _uml_fast_path_absolute(leftover_source "${rec_source}" "${kdir}")
        if(NOT EXISTS "${leftover_source}")
          continue()
        endif()
      endif()
    endif()
    set(${result} "Kbuild: ${cmd_file} records a step the fast path does not run" PARENT_SCOPE)
    return()
  endforeach()

  # Which objects are older than their own files (kernel files change only with the
  # kernel: the key), and any source or header no recorded command reads that changed
  # since the last build (a plain make rule's input).
  set(stale_objects "")
  set(all_inputs "")
  foreach(object IN LISTS compiled)
    _uml_cmd_own_deps(inputs "${rec_text_${object}}" "${rec_source_${object}}" "${arg_KERNEL_SOURCE_DIR}" "${kdir}")
    list(APPEND all_inputs ${inputs})
    _uml_fast_path_stale(stale "${object}" ${inputs})
    if(stale)
      list(APPEND stale_objects "${object}")
    endif()
  endforeach()
  file(GLOB_RECURSE sources LIST_DIRECTORIES false "${dir}/*.c" "${dir}/*.h" "${dir}/*.S")
  foreach(source IN LISTS sources)
    get_filename_component(base "${source}" NAME)
    if(NOT base MATCHES "${_UML_KBUILD_OUTPUTS}" AND NOT source IN_LIST all_inputs AND "${source}" IS_NEWER_THAN
                                                                                       "${state}")
      file(RELATIVE_PATH shown "${dir}" "${source}")
      set(${result} "Kbuild: ${shown} changed, and no command Kbuild recorded reads it" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  list(LENGTH stale_objects count)
  if(count GREATER arg_JOBS)
    set(${result} "Kbuild: ${count} objects to compile, more than -j${arg_JOBS} at once" PARENT_SCOPE)
    return()
  endif()

  # From here on commands run: until the step has succeeded, the next build is Kbuild's.
  file(REMOVE "${state}")

  # 1. Objects compiled from the module's files.
  set(done "")
  foreach(object IN LISTS stale_objects)
    _uml_fast_path_read_cmd(rec "${cmd_of_${object}}")
    set(check "")
    if(EXISTS "${arg_KERNEL_SOURCE_DIR}/scripts/check-local-export")
      set(check "${arg_KERNEL_SOURCE_DIR}/scripts/check-local-export")
    endif()
    _uml_fast_path_fixdep_recipe(recipe rec "${object}" "${cmd_of_${object}}" ${check})
    _uml_fast_path_add(compile "${recipe}")
    file(RELATIVE_PATH shown "${dir}" "${object}")
    list(APPEND done "CC ${shown}")
  endforeach()
  _uml_fast_path_run(ok "${kdir}" compile)
  if(NOT ok)
    set(${result} "failed" PARENT_SCOPE)
    return()
  endif()

  # 2. Composite objects (ld -r of their members, listed in their .mod file).
  foreach(object IN LISTS composites)
    string(REGEX REPLACE "\\.o$" ".mod" mod_file "${object}")
    _uml_fast_path_stale(stale "${object}" "${mod_file}" ${members_of_${object}})
    if(stale)
      _uml_fast_path_read_cmd(rec "${cmd_of_${object}}")
      _uml_shell_quote(q_object "${object}")
      _uml_fast_path_add(link "trap \"rm -f ${q_object}\" EXIT\n${rec_command}\ntrap - EXIT")
      file(RELATIVE_PATH shown "${dir}" "${object}")
      list(APPEND done "LD ${shown}")
    endif()
  endforeach()
  _uml_fast_path_run(ok "${kdir}" link)
  if(NOT ok)
    set(${result} "failed" PARENT_SCOPE)
    return()
  endif()

  # 3. modules.order when a module object is newer; modpost when Module.symvers is older
  #    than its inputs (as in Makefile.modpost; a failed modpost writes nothing, so it
  #    runs again).
  list(TRANSFORM modules APPEND ".o" OUTPUT_VARIABLE module_objects)
  _uml_fast_path_stale(order_stale "${dir}/modules.order" ${module_objects})
  foreach(target IN ITEMS modules.order Module.symvers)
    if(target STREQUAL "Module.symvers")
      _uml_fast_path_stale(symvers_stale "${dir}/Module.symvers" "${dir}/modules.order" "${kdir}/scripts/mod/modpost"
                           "${kdir}/Module.symvers")
      if(NOT symvers_stale)
        break()
      endif()
      list(APPEND done "MODPOST")
    elseif(NOT order_stale)
      continue()
    endif()
    _uml_fast_path_read_cmd(rec "${dir}/.${target}.cmd")
    if(NOT rec_ok)
      set(${result} "failed: ${dir}/.${target}.cmd is missing or unknown" PARENT_SCOPE)
      return()
    endif()
    unset(recorded_count)
    unset(recorded_script)
    _uml_fast_path_add(recorded "${rec_command}")
    _uml_fast_path_run(ok "${kdir}" recorded)
    if(NOT ok)
      set(${result} "failed" PARENT_SCOPE)
      return()
    endif()
  endforeach()

  # 4. The .mod.o of each module (modpost rewrites a .mod.c only when it changes).
  foreach(module IN LISTS modules)
    set(object "${module}.mod.o")
    get_filename_component(object_dir "${object}" DIRECTORY)
    get_filename_component(object_name "${object}" NAME)
    _uml_fast_path_stale(stale "${object}" "${module}.mod.c")
    if(stale)
      _uml_fast_path_read_cmd(rec "${object_dir}/.${object_name}.cmd")
      if(NOT rec_ok)
        set(${result} "failed: ${object_dir}/.${object_name}.cmd is missing or unknown" PARENT_SCOPE)
        return()
      endif()
      _uml_fast_path_fixdep_recipe(recipe rec "${object}" "${object_dir}/.${object_name}.cmd")
      _uml_fast_path_add(mod_compile "${recipe}")
      file(RELATIVE_PATH shown "${dir}" "${object}")
      list(APPEND done "CC ${shown}")
    endif()
  endforeach()
  _uml_fast_path_run(ok "${kdir}" mod_compile)
  if(NOT ok)
    set(${result} "failed" PARENT_SCOPE)
    return()
  endif()

  # 5. The .ko files.
  foreach(module IN LISTS modules)
    get_filename_component(ko_dir "${module}" DIRECTORY)
    get_filename_component(ko_name "${module}" NAME)
    _uml_fast_path_read_cmd(rec "${ko_dir}/.${ko_name}.ko.cmd")
    if(NOT rec_ok OR rec_command MATCHES "(^|[ ;])make ")
      set(${result} "failed: ${ko_dir}/.${ko_name}.ko.cmd is missing or unknown" PARENT_SCOPE)
      return()
    endif()
    set(inputs "${module}.o" "${module}.mod.o" "${kdir}/scripts/module.lds")
    if(EXISTS "${dir}/.module-common.o")
      list(APPEND inputs "${dir}/.module-common.o")
    endif()
    _uml_fast_path_stale(stale "${module}.ko" ${inputs})
    if(stale)
      _uml_shell_quote(q_ko "${module}.ko")
      _uml_fast_path_add(ko_link "trap \"rm -f ${q_ko}\" EXIT\n${rec_command}\ntrap - EXIT")
      list(APPEND done "LD ${ko_name}.ko")
    endif()
  endforeach()
  _uml_fast_path_run(ok "${kdir}" ko_link)
  if(NOT ok)
    set(${result} "failed" PARENT_SCOPE)
    return()
  endif()
  list(JOIN done ", " done)
  if(NOT done)
    set(done "nothing to do")
  endif()
  message("UML module ${arg_NAME}: Kbuild's recorded commands (fast path): ${done}")
  set(${result} "built" PARENT_SCOPE)
endfunction()

# Why Kbuild must run whatever changed: options that add checks or steps to every
# compile, from the step's variables, make's MAKEFLAGS (a Makefile generator passes the
# user's `make W=1` there), the environment, or the kernel's configuration.
function(_uml_fast_path_refusal out kernel_dir)
  set(why "")
  foreach(variable IN LISTS ARGN)
    if(variable MATCHES "^(C|W|KBUILD_EXTRA_WARN|KBUILD_CHECKSRC|LLVM)=")
      set(why "${variable} changes what Kbuild runs for every object")
    endif()
  endforeach()
  set(makeflags "$ENV{MAKEFLAGS}")
  if(makeflags MATCHES "(^| )-- (.+)$")
    set(why "MAKEFLAGS defines make variables (${CMAKE_MATCH_2})")
  elseif(makeflags MATCHES "^[A-Za-z]*i")
    set(why "make runs with -i (modpost would too)")
  endif()
  foreach(variable IN ITEMS KBUILD_EXTRA_WARN KBUILD_CHECKSRC LLVM)
    if(NOT "$ENV{${variable}}" STREQUAL "" AND NOT "$ENV{${variable}}" STREQUAL "0")
      set(why "the environment sets ${variable}, which changes what Kbuild runs for every object")
    endif()
  endforeach()
  if(NOT why)
    file(STRINGS "${kernel_dir}/include/config/auto.conf" options REGEX "^CONFIG_[A-Z0-9_]+=y$")
    foreach(option IN LISTS _UML_FAST_PATH_UNSUPPORTED_OPTIONS)
      if("${option}=y" IN_LIST options)
        set(why "the kernel has ${option}, which adds steps to a module's build")
      endif()
    endforeach()
  endif()
  set(${out} "${why}" PARENT_SCOPE)
endfunction()
