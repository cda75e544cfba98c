# Injected into the example projects the e2e tests build
# (-DCMAKE_PROJECT_INCLUDE=<this>): once the top-level directory is processed,
# writes <build>/uml-targets.cmake with the UML kernels and modules the project
# made and where find_package() found the package, for the test to check.
include_guard(GLOBAL)

function(_uml_test_collect_targets out dir)
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    _uml_test_collect_targets(sub_targets "${sub}")
    list(APPEND targets ${sub_targets})
  endforeach()
  set(${out} "${targets}" PARENT_SCOPE)
endfunction()

function(_uml_test_write_info)
  _uml_test_collect_targets(targets "${CMAKE_SOURCE_DIR}")
  set(kernels "")
  set(modules "")
  set(text "")
  foreach(target IN LISTS targets)
    get_target_property(image ${target} UML_KERNEL_IMAGE)
    if(image)
      list(APPEND kernels ${target})
      foreach(property IN ITEMS RELEASE BUILD_DIR IMAGE STAMP)
        get_target_property(value ${target} UML_KERNEL_${property})
        string(TOLOWER "${property}" key)
        string(APPEND text "set(kernel_${target}_${key} \"${value}\")\n")
      endforeach()
    endif()
    get_target_property(files ${target} UML_MODULE_FILES)
    if(files)
      list(APPEND modules ${target})
      get_target_property(kernel ${target} UML_MODULE_KERNEL)
      string(APPEND text "set(module_${target}_files \"${files}\")\nset(module_${target}_kernel \"${kernel}\")\n")
    endif()
  endforeach()
  string(APPEND text "set(uml_kernels \"${kernels}\")\nset(uml_modules \"${modules}\")\n"
         "set(package_dir \"${UserModeLinux_DIR}\")\n")
  file(WRITE "${CMAKE_BINARY_DIR}/uml-targets.cmake" "${text}")
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _uml_test_write_info)
