# UserModeLinux for plain Make/Kbuild projects. One line in a module's Makefile,
#
#     include /path/to/UserModeLinux/helpers/uml.mk
#
# adds `make uml-kernel uml-modules uml-image uml-run uml-test uml-debug ...`
# (`make uml-help` lists every target and variable). The work is done by the
# CMake project in make-project/ beside this file, configured into
# $(UML_BUILD_DIR) from the variables below: the same package, helper and
# defaults as a CMake project gets. Use an absolute path in the include line:
# Kbuild reads the Makefile again from the kernel's build directory.

# Kbuild reading the Makefile (make -C <kernel> M=...): define nothing.
ifeq ($(KERNELRELEASE),)

# Including this file must not change the Makefile's default goal (its `all:`).
_uml_saved_goal := $(.DEFAULT_GOAL)

# Where this file is, and the Makefile that included it (the module directory).
_uml_mk := $(abspath $(lastword $(MAKEFILE_LIST)))
_uml_includer := $(lastword $(filter-out $(lastword $(MAKEFILE_LIST)),$(MAKEFILE_LIST)))
_uml_driver := $(dir $(_uml_mk))make-project

# Variables a user may set (on the command line, in the Makefile before the
# include line, or in the environment). Empty means the default, except for
# UML_LOAD_MODULES and UML_COMPILER_LAUNCHER, where it means none.
_uml_default_dir := $(abspath $(dir $(_uml_includer)))
_uml_default_cache = $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/uml
_uml_default_generator = $(if $(shell command -v ninja 2>/dev/null),Ninja,Unix Makefiles)
UML_MODULE_DIR ?= $(_uml_default_dir)
UML_MODULES ?=
UML_LOAD_MODULES ?= $(or $(_uml_modules),*)
UML_BUILD_DIR ?= $(_uml_module_dir)/.uml-build
UML_CACHE_DIR ?= $(_uml_default_cache)
UML_CACHE_MAX_SIZE ?= 20G
UML_KERNEL_SOURCE ?=
UML_CONFIG ?= minimal
UML_CONFIG_FRAGMENTS ?=
UML_CHECKS ?=
UML_COVERAGE ?=
UML_ROOTFS ?= busybox
UML_MEM ?=
UML_TIMEOUT ?= 60
UML_TEST_COMMAND ?=
UML_KERNEL_JOBS ?=
UML_COMPILER_LAUNCHER ?= $(if $(shell command -v ccache 2>/dev/null),ccache)
UML_GENERATOR ?= $(_uml_default_generator)
UML_CMAKE ?= cmake
UML_CTEST ?= ctest

# The values used (recipes only: $(shell) never runs for the Makefile's own targets).
_uml_module_dir = $(or $(UML_MODULE_DIR),$(_uml_default_dir))
_uml_cache = $(or $(UML_CACHE_DIR),$(_uml_default_cache))
_uml_generator = $(or $(UML_GENERATOR),$(_uml_default_generator))
_uml_cmake_exe = $(or $(UML_CMAKE),cmake)
_uml_ctest_exe = $(or $(UML_CTEST),ctest)

# Module names: UML_MODULES, else obj-m (read when a recipe runs, so obj-m may
# be set after the include line). Empty (the classic layout sets obj-m only when
# Kbuild reads the Makefile): every module Kbuild makes, from its modules.order.
_uml_modules = $(strip $(or $(UML_MODULES),$(patsubst %.o,%,$(obj-m))))

_uml_empty :=
_uml_space := $(_uml_empty) $(_uml_empty)
# Shell quoting, and Make's space-separated lists as CMake lists.
_uml_q = '$(subst ','\'',$(1))'
_uml_list = $(subst $(_uml_space),;,$(strip $(1)))
_uml_b = $(abspath $(or $(UML_BUILD_DIR),$(_uml_module_dir)/.uml-build))
_uml_bq = $(call _uml_q,$(_uml_b))

# The configure command's -D values: every variable, always, so that dropping
# one from the command line restores its default.
_uml_args = \
  -DUML_MODULE_DIR:STRING=$(call _uml_q,$(_uml_module_dir)) \
  -DUML_MODULES:STRING=$(call _uml_q,$(call _uml_list,$(_uml_modules))) \
  -DUML_LOAD_MODULES:STRING=$(call _uml_q,$(call _uml_list,$(UML_LOAD_MODULES))) \
  -DUML_CACHE_DIR:STRING=$(call _uml_q,$(_uml_cache)) \
  -DUML_CACHE_MAX_SIZE:STRING=$(call _uml_q,$(UML_CACHE_MAX_SIZE)) \
  -DUML_KERNEL_SOURCE:STRING=$(call _uml_q,$(UML_KERNEL_SOURCE)) \
  -DUML_CONFIG:STRING=$(call _uml_q,$(UML_CONFIG)) \
  -DUML_CONFIG_FRAGMENTS:STRING=$(call _uml_q,$(call _uml_list,$(UML_CONFIG_FRAGMENTS))) \
  -DUML_CHECKS:STRING=$(call _uml_q,$(call _uml_list,$(UML_CHECKS))) \
  -DUML_COVERAGE:BOOL=$(if $(filter 1 y yes on ON YES,$(UML_COVERAGE)),ON,OFF) \
  -DUML_ROOTFS:STRING=$(call _uml_q,$(UML_ROOTFS)) \
  -DUML_MEM:STRING=$(call _uml_q,$(UML_MEM)) \
  -DUML_TIMEOUT:STRING=$(call _uml_q,$(UML_TIMEOUT)) \
  -DUML_TEST_COMMAND:STRING=$(call _uml_q,$(UML_TEST_COMMAND)) \
  -DUML_KERNEL_COMPILER_LAUNCHER:STRING=$(call _uml_q,$(or $(UML_COMPILER_LAUNCHER),none)) \
  -DUML_COMPILER_LAUNCHER:STRING=$(call _uml_q,$(UML_COMPILER_LAUNCHER)) \
  $(if $(UML_KERNEL_JOBS),-DUML_KERNEL_JOBS:STRING=$(call _uml_q,$(UML_KERNEL_JOBS)),-UUML_KERNEL_JOBS)

# CMake, ninja and Kbuild below are not sub-makes of this make: they get a clean
# MAKEFLAGS (no jobserver they could not reach), keeping a -jN for Kbuild.
_uml_cmake = MAKEFLAGS=$(call _uml_q,$(filter-out -j,$(filter -j%,$(MAKEFLAGS)))) MAKELEVEL= $(_uml_cmake_exe)
_uml_ctest = MAKEFLAGS= MAKELEVEL= $(_uml_ctest_exe)

.PHONY: uml-configure uml-kernel uml-modules uml-image uml-run uml-test uml-debug uml-coverage uml-attach uml-menuconfig uml-clean uml-help \
  uml-cache-list uml-cache-prune

# (Re)configures the build directory when a variable changed (the -D values of
# the last configure are kept in uml-make.args; unchanged, no cmake runs). The
# module is built from links to this directory in the build directory, so a host
# build here and the UML build never share objects.
uml-configure:
	$(if $(filter 1,$(words $(_uml_module_dir))),,$(error uml.mk: the module directory '$(_uml_module_dir)' has a space in its path, which Kbuild cannot build))
	@set -e; \
	if ! command -v $(_uml_cmake_exe) >/dev/null 2>&1; then \
	  echo "uml.mk: error: '$(_uml_cmake_exe)' not found: install CMake 3.25 or newer (apt-get install cmake ninja-build) or set UML_CMAKE." >&2; \
	  exit 1; \
	fi; \
	mkdir -p $(_uml_bq); \
	args=$$(printf '%s\n' $(_uml_args)); \
	if [ ! -f $(_uml_bq)/CMakeCache.txt ] || [ "$$args" != "$$(cat $(_uml_bq)/uml-make.args 2>/dev/null)" ]; then \
	  echo "uml.mk: configuring $(_uml_b)"; \
	  rm -f $(_uml_bq)/uml-make.args; \
	  $(_uml_cmake) -S $(call _uml_q,$(_uml_driver)) -B $(_uml_bq) \
	    $(if $(wildcard $(_uml_b)/CMakeCache.txt),,-G $(call _uml_q,$(_uml_generator))) $(_uml_args); \
	  printf '%s\n' "$$args" > $(_uml_bq)/uml-make.args; \
	fi

uml-kernel: uml-configure
	$(_uml_cmake) --build $(_uml_bq) --target uml_kernel

# With the compile database (UML_BUILD_DIR/compile_commands.json) for IDEs.
uml-modules: uml-configure
	$(_uml_cmake) --build $(_uml_bq) --target uml_modules uml_compile_commands

uml-image: uml-configure
	$(_uml_cmake) --build $(_uml_bq) --target uml_modules_install

uml-run: uml-configure
	$(_uml_cmake) --build $(_uml_bq) --target uml_run

uml-test: uml-configure
	$(_uml_cmake) --build $(_uml_bq)
	$(_uml_ctest) --test-dir $(_uml_bq) --output-on-failure

uml-debug: uml-configure
	$(_uml_cmake) --build $(_uml_bq) --target uml_debug

# With UML_COVERAGE=1: the report of the last uml-test's coverage data.
uml-coverage: uml-configure
	$(_uml_cmake) --build $(_uml_bq) --target uml_coverage

uml-attach: uml-configure
	$(_uml_cmake) --build $(_uml_bq) --target uml_attach

uml-menuconfig: uml-configure
	$(_uml_cmake) --build $(_uml_bq) --target uml_kernel_menuconfig

# The kernels, sources and Debian roots UML_CACHE_DIR holds (shared with every
# project of this user), and pruning it to UML_CACHE_MAX_SIZE, least recently used first.
uml-cache-list: uml-configure
	$(_uml_cmake) --build $(_uml_bq) --target uml_cache_list

uml-cache-prune: uml-configure
	$(_uml_cmake) --build $(_uml_bq) --target uml_cache_prune

# Only a directory this file configured is removed (UML_BUILD_DIR could be
# set to anything); the kernel stays in UML_CACHE_DIR.
uml-clean:
	@if [ -f $(_uml_bq)/uml-make-info.sh ]; then \
	  echo "rm -rf $(_uml_b)"; rm -rf $(_uml_bq); \
	elif [ -e $(_uml_bq) ]; then \
	  echo "uml.mk: $(_uml_b) was not made by uml.mk; not removing it." >&2; exit 1; \
	fi

uml-help:
	@echo 'UserModeLinux targets (uml.mk; the same package as the CMake API):'
	@echo '  uml-kernel      build the UML kernel (shared through UML_CACHE_DIR)'
	@echo '  uml-modules     build this directory'"'"'s modules against it, and compile_commands.json'
	@echo '  uml-image       a root filesystem image with the modules installed'
	@echo '  uml-run         boot it with a shell on this terminal (exit or Ctrl-D ends it)'
	@echo '  uml-test        build everything, boot, load UML_LOAD_MODULES, run UML_TEST_COMMAND'
	@echo '  uml-debug       boot under gdb'
	@echo '  uml-coverage    coverage report of the last uml-test (with UML_COVERAGE=1)'
	@echo '  uml-attach      attach gdb to a running uml-run'
	@echo '  uml-menuconfig  edit the kernel configuration'
	@echo '  uml-configure   (re)configure UML_BUILD_DIR'
	@echo '  uml-clean       remove UML_BUILD_DIR'
	@echo '  uml-cache-list  what UML_CACHE_DIR holds (kernels, sources, Debian roots)'
	@echo '  uml-cache-prune prune UML_CACHE_DIR to UML_CACHE_MAX_SIZE, least recently used first'
	@echo 'Variables (make <target> VAR=value; empty means the default, or none for UML_LOAD_MODULES and UML_COMPILER_LAUNCHER):'
	@echo '  UML_MODULES          = $(value UML_MODULES)  [from obj-m: $(patsubst %.o,%,$(obj-m)); empty: all Kbuild makes]'
	@echo '  UML_LOAD_MODULES     = $(_uml_help_load)  [*: every module the directory makes]'
	@echo '  UML_KERNEL_SOURCE    = $(UML_KERNEL_SOURCE)  [empty: Debian'"'"'s /usr/src/linux-source-*.tar.xz]'
	@echo '  UML_CONFIG           = $(UML_CONFIG)  [minimal, defconfig or a .config file]'
	@echo '  UML_CONFIG_FRAGMENTS = $(UML_CONFIG_FRAGMENTS)'
	@echo '  UML_CHECKS           = $(UML_CHECKS)  [kernel checks: kasan ubsan lockdep atomic-sleep debug-objects list slab fortify kmemleak, or all]'
	@echo '  UML_COVERAGE         = $(UML_COVERAGE)  [1: kernel with gcov, modules profiled; then uml-coverage]'
	@echo '  UML_ROOTFS           = $(UML_ROOTFS)  [busybox, debian, directory:DIR, tarball:FILE, image:FILE]'
	@echo '  UML_MEM              = $(UML_MEM)  [empty: 128M]'
	@echo '  UML_TIMEOUT          = $(UML_TIMEOUT)  [seconds, uml-test]'
	@echo '  UML_TEST_COMMAND     = $(subst ','"'"',$(UML_TEST_COMMAND))  [empty: the loaded modules are in /proc/modules]'
	@echo '  UML_BUILD_DIR        = $(_uml_b)'
	@echo '  UML_CACHE_DIR        = $(_uml_cache)'
	@echo '  UML_CACHE_MAX_SIZE   = $(UML_CACHE_MAX_SIZE)  [pruned to this after a kernel build; empty: never]'
	@echo '  UML_KERNEL_JOBS      = $(UML_KERNEL_JOBS)  [empty: auto, all cores or the distcc slots; make -jN wins]'
	@echo '  UML_COMPILER_LAUNCHER = $(UML_COMPILER_LAUNCHER)'
	@echo '  UML_MODULE_DIR       = $(_uml_module_dir)'
_uml_help_load = $(subst ','"'"',$(UML_LOAD_MODULES))

.DEFAULT_GOAL := $(_uml_saved_goal)

endif
