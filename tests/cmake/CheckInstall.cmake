# What `cmake --install` must put into a prefix for find_package() users and
# for Make users (helpers/uml.mk): -DPREFIX=<prefix>.
set(expected
    bin/uml-helper
    share/cmake/UserModeLinux/UserModeLinuxConfig.cmake
    share/cmake/UserModeLinux/UserModeLinuxConfigVersion.cmake
    share/cmake/UserModeLinux/UserModeLinuxTargets.cmake
    share/UserModeLinux/cmake/UserModeLinux.cmake
    share/UserModeLinux/helpers/uml.mk
    share/UserModeLinux/helpers/make-project/CMakeLists.txt
    share/UserModeLinux/cmake/UmlKbuild.cmake
    share/UserModeLinux/cmake/steps/kernel.cmake
    share/UserModeLinux/cmake/steps/module.cmake
    share/UserModeLinux/cmake/steps/kbuild-progress.awk
    share/UserModeLinux/cmake/steps/cache.cmake
    share/UserModeLinux/cmake/UmlCoverage.cmake
    share/UserModeLinux/cmake/steps/coverage.cmake
    share/UserModeLinux/templates/config/minimal.config
    share/UserModeLinux/templates/guest/uml-init
    share/UserModeLinux/templates/gdb/uml-gdb.py)
set(missing "")
foreach(file IN LISTS expected)
  if(NOT EXISTS "${PREFIX}/${file}")
    list(APPEND missing "${file}")
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "missing from the install prefix ${PREFIX}: ${missing}")
endif()
# Executable bits survive the install (the helper, the guest's init).
foreach(file IN ITEMS bin/uml-helper share/UserModeLinux/templates/guest/uml-init)
  execute_process(COMMAND test -x "${PREFIX}/${file}" RESULT_VARIABLE not_executable)
  if(not_executable)
    message(FATAL_ERROR "${PREFIX}/${file} is not executable")
  endif()
endforeach()
# The repository's own scripts are not what users run: not installed.
foreach(file IN ITEMS install-deps quickstart run-tests)
  if(EXISTS "${PREFIX}/share/UserModeLinux/helpers/${file}")
    message(FATAL_ERROR "${PREFIX}/share/UserModeLinux/helpers/${file} is installed: only what users run should be")
  endif()
endforeach()
message(STATUS "install prefix ${PREFIX} has all ${expected}")
