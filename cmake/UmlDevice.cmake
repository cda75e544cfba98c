include_guard(GLOBAL)

#[=======================================================================[.md
### uml_add_device

```cmake
uml_add_device(<name> MODEL <executable-target-or-path>
  KIND pci|i2c|virtio [VIRTIO_ID <id>]
  [ARGS <model-argument>...])
```
Declares a simulated device: a model program (an `add_executable()` linking
`UserModeLinux::device`, or the package's ready `UserModeLinux::i2c-regmap`) that the
helper starts before each boot listing `<name>` in its `DEVICES`, as
`<model> --socket <path> <ARGS>...`, and that UML reaches over vhost-user
(`virtio_uml.device=<path>:<virtio id>`). `KIND` gives the virtio id: `pci` the
kernel's `CONFIG_UML_PCI_OVER_VIRTIO_DEVICE_ID`, `i2c` 34, `virtio` the `VIRTIO_ID`
given. `ARGS` may hold generator expressions (`$<TARGET_FILE:...>`, paths).

Boots list devices with `DEVICES` (`uml_add_run`, `uml_add_test`,
`uml_discover_kunit_tests`); their kernel needs the transport: `uml_add_kernel(... DEVICES)`
(or the symbols of `templates/config/devices.config` by other means). A boot that lists
a device on a kernel without them is a configure error naming the missing symbols. The
helper stops UML and fails the test with exit code 9 when a model crashes or reports that
the guest broke its protocol; each model's output is in the test's log, each line as
`[device <name>] ...`. A boot with a `pci` device also gets `virt_pci.max_delay_us=1000000`
(UML waits that long for a model's answer to a read, not 40 ms). With a multi-config
generator the model of the first configuration is used.
#]=======================================================================]
function(uml_add_device name)
  list(APPEND CMAKE_MESSAGE_CONTEXT uml_add_device)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "MODEL;KIND;VIRTIO_ID" "ARGS")
  _uml_reject_unparsed(uml_add_device arg)
  if(NOT name MATCHES "^[A-Za-z0-9_-]+$" OR name MATCHES "^.{33}")
    message(FATAL_ERROR "uml_add_device(${name}): a device name is 1 to 32 letters, digits, '_' or '-'.")
  endif()
  get_property(taken GLOBAL PROPERTY _UML_DEVICE_${name}_KIND SET)
  if(taken)
    message(FATAL_ERROR "uml_add_device(${name}): a device with this name exists already.")
  endif()
  if(NOT arg_MODEL)
    message(FATAL_ERROR "uml_add_device(${name}): MODEL is required: the model's executable target "
                        "(add_executable linking UserModeLinux::device) or program.")
  endif()
  if(TARGET "${arg_MODEL}")
    get_target_property(type ${arg_MODEL} TYPE)
    if(NOT type STREQUAL "EXECUTABLE")
      message(FATAL_ERROR "uml_add_device(${name}): MODEL '${arg_MODEL}' is a ${type} target, not an executable.")
    endif()
    set(program "$<TARGET_FILE:${arg_MODEL}>")
  else()
    get_filename_component(program "${arg_MODEL}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${program}" OR IS_DIRECTORY "${program}")
      message(FATAL_ERROR "uml_add_device(${name}): MODEL '${arg_MODEL}' is neither a target nor a program "
                          "(no file at ${program}).")
    endif()
  endif()
  if(arg_KIND STREQUAL "virtio")
    if(NOT arg_VIRTIO_ID MATCHES "^[0-9]+$")
      message(
        FATAL_ERROR "uml_add_device(${name}): KIND virtio needs VIRTIO_ID <number> (include/uapi/linux/virtio_ids.h).")
    endif()
  elseif(arg_KIND MATCHES "^(pci|i2c)$")
    if(DEFINED arg_VIRTIO_ID)
      message(FATAL_ERROR "uml_add_device(${name}): VIRTIO_ID is for KIND virtio; KIND ${arg_KIND} has its own.")
    endif()
  else()
    message(FATAL_ERROR "uml_add_device(${name}): unknown KIND '${arg_KIND}': expected pci, i2c or virtio.")
  endif()
  # Each argument as written (a list would split "a;b"), for the description's lines.
  set(args "")
  set(in_args FALSE)
  math(EXPR last "${ARGC} - 1")
  foreach(i RANGE 1 ${last})
    if(in_args)
      _uml_encode_word(word "${ARGV${i}}")
      list(APPEND args "${word}")
    elseif(ARGV${i} STREQUAL "ARGS")
      set(in_args TRUE)
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY _UML_DEVICE_${name}_KIND "${arg_KIND}")
  set_property(GLOBAL PROPERTY _UML_DEVICE_${name}_VIRTIO_ID "${arg_VIRTIO_ID}")
  set_property(GLOBAL PROPERTY _UML_DEVICE_${name}_PROGRAM "${program}")
  set_property(GLOBAL PROPERTY _UML_DEVICE_${name}_MODEL "${arg_MODEL}")
  set_property(GLOBAL PROPERTY _UML_DEVICE_${name}_ARGS "${args}")
endfunction()

# The description lines of a boot's DEVICES (device= and device-arg=, with generator
# expressions) in <lines_out>, each checked against the kernel: the kernel symbols the
# kind needs must be set, and a PCI device's virtio id is the kernel's. The model targets
# go to <targets_out>.
function(_uml_boot_devices lines_out targets_out context kernel devices)
  set(lines "")
  set(targets "")
  set(pci_delay_set FALSE)
  get_target_property(config ${kernel} UML_KERNEL_CONFIG)
  foreach(device IN LISTS devices)
    get_property(known GLOBAL PROPERTY _UML_DEVICE_${device}_KIND SET)
    if(NOT known)
      message(FATAL_ERROR "${context}: DEVICES '${device}' is not a device; declare it with uml_add_device().")
    endif()
    get_property(kind GLOBAL PROPERTY _UML_DEVICE_${device}_KIND)
    get_property(id GLOBAL PROPERTY _UML_DEVICE_${device}_VIRTIO_ID)
    get_property(program GLOBAL PROPERTY _UML_DEVICE_${device}_PROGRAM)
    get_property(model GLOBAL PROPERTY _UML_DEVICE_${device}_MODEL)
    get_property(args GLOBAL PROPERTY _UML_DEVICE_${device}_ARGS)
    set(needed VIRTIO_UML)
    if(kind STREQUAL "pci")
      list(APPEND needed UML_PCI_OVER_VIRTIO)
    elseif(kind STREQUAL "i2c")
      list(APPEND needed I2C I2C_VIRTIO)
      set(id 34)
    endif()
    set(missing "")
    foreach(symbol IN LISTS needed)
      _uml_config_value(value "${config}" ${symbol})
      if(NOT value MATCHES "^[ym]$")
        list(APPEND missing CONFIG_${symbol})
      endif()
    endforeach()
    if(kind STREQUAL "pci" AND NOT missing)
      _uml_config_value(id "${config}" UML_PCI_OVER_VIRTIO_DEVICE_ID)
      if(NOT id MATCHES "^[0-9]+$")
        list(APPEND missing "CONFIG_UML_PCI_OVER_VIRTIO_DEVICE_ID (a number, not '${id}')")
      endif()
    endif()
    if(missing)
      list(JOIN missing ", " missing_text)
      message(
        FATAL_ERROR
          "${context}: device '${device}' (KIND ${kind}) needs a kernel with ${missing_text}, and "
          "kernel '${kernel}' has not got them: add DEVICES to its uml_add_kernel() (the fragment "
          "templates/config/devices.config), or those symbols to its CONFIG_FRAGMENTS.")
    endif()
    if(kind STREQUAL "pci" AND NOT pci_delay_set)
      # virt-pci waits for a read's answer 40 ms by default, then warns and reads all
      # ones: a model on a busy machine may need longer (6.12; 6.1 has no such parameter
      # and says so on the console).
      _uml_boot_line(lines append "virt_pci.max_delay_us=1000000")
      set(pci_delay_set TRUE)
    endif()
    _uml_boot_line(lines device "${device}:${id}:${program}")
    foreach(arg IN LISTS args)
      _uml_decode_word(arg "${arg}")
      _uml_boot_line(lines device-arg "${device}:${arg}")
    endforeach()
    # A model this project builds must be built before the boot (an imported one is).
    if(TARGET "${model}")
      get_target_property(aliased ${model} ALIASED_TARGET)
      get_target_property(imported ${model} IMPORTED)
      if(aliased)
        list(APPEND targets "${aliased}")
      elseif(NOT imported)
        list(APPEND targets "${model}")
      endif()
    endif()
  endforeach()
  set(${lines_out} "${lines}" PARENT_SCOPE)
  set(${targets_out} "${targets}" PARENT_SCOPE)
endfunction()

# Writes the device lines of boot <name> to <name>.devices.boot at generate time (the
# models' paths are generator expressions) and returns the line that includes it.
function(_uml_boot_devices_file include_out name lines)
  if(lines STREQUAL "")
    set(${include_out} "" PARENT_SCOPE)
    return()
  endif()
  set(file "${CMAKE_CURRENT_BINARY_DIR}/_uml/boot/${name}.devices.boot")
  get_property(multi GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  set(condition 1)
  if(multi AND CMAKE_CONFIGURATION_TYPES)
    list(GET CMAKE_CONFIGURATION_TYPES 0 first)
    set(condition "$<CONFIG:${first}>")
  endif()
  file(
    GENERATE
    OUTPUT "${file}"
    CONTENT "# Generated for boot ${name}: its device models.\n${lines}"
    CONDITION "${condition}")
  set(include "")
  _uml_boot_line(include boot "${file}")
  set(${include_out} "${include}" PARENT_SCOPE)
endfunction()
