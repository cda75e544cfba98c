# uml-gdb.py: gdb setup for User-Mode Linux kernels and their out-of-tree modules.
#
# Loaded by `uml-helper debug` and `uml-helper attach` (gdb -x uml-gdb.py), or by hand
# or from an IDE: `source <this file>` in gdb. Needs gdb with Python (Debian's gdb).
#
# What it does:
# - lets the signals UML uses for itself pass without stopping: SIGSEGV (UML's page
#   faults and its fault catcher for uaccess), SIGUSR1 (wake-up after suspend);
#   SIGIO, SIGALRM, SIGWINCH and SIGCHLD already pass silently by gdb's defaults;
# - stays with UML when it forks (every guest process is a host process that UML
#   ptraces itself: gdb must let go of them) and keeps those forks quiet;
# - loads the kernel's own gdb scripts (lx-dmesg, lx-ps, ...) from vmlinux-gdb.py
#   beside the kernel, when the kernel was built with CONFIG_GDB_SCRIPTS;
# - loads the symbols of out-of-tree modules when the kernel loads them, with every
#   section placed where the kernel put it, .init.text included, so a breakpoint in
#   a module's __init function works (the kernel's own lx-symbols leaves .init.text
#   out). Modules loaded before gdb came (attach) are loaded on the first stop.
#   Two things gdb would otherwise get wrong: since Linux 6.10 a module's .data has an
#   address in the .ko, and gdb then offsets all of its debug information like .text
#   (such modules are loaded from a copy with the addresses cleared); and module code
#   lives in memory UML shares with the host processes it forks for guest processes,
#   so gdb, taking its breakpoints out of each fork it lets go, takes them out of
#   UML too (they are written back after each fork).
#
# Commands:
#   uml-module-path DIR...  where to look for <module>.ko (added to the list)
#   uml-load-modules        (re)load the symbols of every module loaded now
#   uml-modules             list the modules and the symbol files loaded for them

import atexit
import os
import re
import shutil
import struct
import sys
import tempfile

import gdb

MESSAGE_PREFIX = "uml-gdb: "


def note(text):
    gdb.write(MESSAGE_PREFIX + text + "\n")


# --- settings UML needs -------------------------------------------------------------

def apply_settings():
    for command in (
        # UML handles these itself; stopping on each would make the kernel unusable.
        "handle SIGSEGV nostop noprint pass",
        "handle SIGUSR1 nostop noprint pass",
        # Guest processes are forks of UML that UML ptraces: gdb must stay with UML.
        "set follow-fork-mode parent",
        "set detach-on-fork on",
        "set print inferior-events off",
        "set print thread-events off",
        # Breakpoints in modules resolve when the module loads.
        "set breakpoint pending on",
    ):
        gdb.execute(command, to_string=True)


# --- the kernel's own gdb scripts ---------------------------------------------------

_kernel_scripts_loaded = set()


def load_kernel_scripts(executable):
    """Sources vmlinux-gdb.py beside the kernel executable (CONFIG_GDB_SCRIPTS)."""
    if not executable:
        return
    build_dir = os.path.dirname(os.path.realpath(executable))
    script = os.path.join(build_dir, "vmlinux-gdb.py")
    if build_dir in _kernel_scripts_loaded:
        return
    _kernel_scripts_loaded.add(build_dir)
    # Kernel objects that came from ccache may name another build tree as their
    # compilation directory; their source names are relative to a build
    # directory, so this one finds them (the sources are the same).
    gdb.execute("directory " + build_dir, to_string=True)
    if not os.path.exists(script):
        note("no vmlinux-gdb.py beside the kernel (CONFIG_GDB_SCRIPTS is off): "
             "the lx-* commands are not available")
        return
    # Run with its own __file__: `source` from inside this script would leave ours in
    # place, and vmlinux-gdb.py finds its modules (scripts/gdb/linux) through it.
    namespace = {"__file__": script, "__name__": "vmlinux_gdb", "gdb": gdb, "sys": sys}
    try:
        with open(script) as f:
            code = compile(f.read(), script, "exec")
        exec(code, namespace)
    except Exception as e:  # a kernel's scripts may not suit this gdb: go on without
        note("the kernel's gdb scripts did not load ({}): {}".format(script, e))


def on_new_objfile(event):
    progspace = event.new_objfile.progspace
    if progspace is not None and progspace.filename == event.new_objfile.filename:
        load_kernel_scripts(progspace.filename)


# --- module files -------------------------------------------------------------------

SHF_ALLOC = 0x2


class KoFile:
    """The section table of a module's ELF64 file."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        if self.data[:4] != b"\x7fELF" or self.data[4] != 2:
            raise ValueError("not a 64-bit ELF file")
        self.endian = "<" if self.data[5] == 1 else ">"
        self.shoff, = struct.unpack_from(self.endian + "Q", self.data, 0x28)
        self.shentsize, self.shnum, shstrndx = struct.unpack_from(self.endian + "HHH",
                                                                   self.data, 0x3A)
        names = self._header(shstrndx)
        names = self.data[names[4]:names[4] + names[5]]
        self.sections = []  # (name, flags, addr, size)
        for i in range(1, self.shnum):
            name_offset, _, flags, addr, _, size = self._header(i)
            name = names[name_offset:names.index(b"\0", name_offset)].decode()
            self.sections.append((name, flags, addr, size))

    def _header(self, i):
        # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size
        return struct.unpack_from(self.endian + "IIQQQQ", self.data,
                                  self.shoff + i * self.shentsize)

    def allocated(self):
        """Names of the sections that occupy memory (SHF_ALLOC, not empty)."""
        return {name for name, flags, _, size in self.sections if flags & SHF_ALLOC and size}

    def has_addresses(self):
        return any(flags & SHF_ALLOC and addr for _, flags, addr, _ in self.sections)

    def without_addresses(self):
        """The file with every section address (sh_addr) zero."""
        data = bytearray(self.data)
        for i in range(self.shnum):
            struct.pack_into(self.endian + "Q", data, self.shoff + i * self.shentsize + 16, 0)
        return bytes(data)


_copies_dir = None


def symbol_file_for(ko, kofile):
    """The file to give add-symbol-file for `ko`.

    gdb places each section of a relocatable file where add-symbol-file -s says and
    relocates the debug information to match, but only when every section's address in
    the file is 0; otherwise the DWARF of every section is offset like .text, and
    breakpoints in .init.text and data symbols land at wrong addresses. Since Linux
    6.10 the module linker script gives .data an address (alloc tags), so such modules
    are loaded from a copy with the addresses cleared.
    """
    global _copies_dir
    if not kofile.has_addresses():
        return ko
    if _copies_dir is None:
        _copies_dir = tempfile.mkdtemp(prefix="uml-gdb-")
        atexit.register(shutil.rmtree, _copies_dir, True)
    copy = os.path.join(_copies_dir, os.path.basename(ko))
    with open(copy, "wb") as f:
        f.write(kofile.without_addresses())
    return copy


class ModuleFiles:
    """Finds <name>.ko for a module name ('-' and '_' are the same in module names)."""

    def __init__(self):
        self.dirs = []

    def add_dir(self, path):
        path = os.path.abspath(os.path.expanduser(path))
        if not os.path.isdir(path):
            raise gdb.GdbError("uml-module-path: {}: not a directory".format(path))
        if path not in self.dirs:
            self.dirs.append(path)

    @staticmethod
    def _matches(file_name, module_name):
        stem, ext = os.path.splitext(file_name)
        return ext == ".ko" and stem.replace("-", "_") == module_name.replace("-", "_")

    def find(self, module_name, kernel_dir):
        for directory in self.dirs:
            try:
                entries = sorted(os.listdir(directory))
            except OSError:
                continue
            for entry in entries:
                if self._matches(entry, module_name):
                    return os.path.join(directory, entry)
        # The kernel's own modules (CONFIG_X=m): modules.order lists them.
        if kernel_dir:
            try:
                with open(os.path.join(kernel_dir, "modules.order")) as f:
                    lines = f.read().split()
            except OSError:
                lines = []
            for line in lines:
                ko = os.path.join(kernel_dir, re.sub(r"\.o$", ".ko", line))
                if self._matches(os.path.basename(ko), module_name) and os.path.exists(ko):
                    return ko
        return None


# --- the kernel's module list -------------------------------------------------------

def _has_field(value, name):
    return any(f.name == name for f in value.type.strip_typedefs().fields())


def kernel_modules():
    """Every struct module on the kernel's `modules` list, as gdb.Value."""
    symbol = gdb.lookup_global_symbol("modules") or gdb.lookup_static_symbol("modules")
    if symbol is None:
        return []
    head = symbol.value()
    module_ptr = gdb.lookup_type("struct module").pointer()
    ulong = gdb.lookup_type("unsigned long")
    offset = int(gdb.parse_and_eval("(unsigned long)&((struct module *)0)->list"))
    result = []
    node = head["next"]
    end = int(head.address)
    while int(node) != end and int(node) != 0:
        result.append((node.cast(ulong) - offset).cast(module_ptr).dereference())
        node = node["next"]
        if len(result) > 10000:  # a corrupt list must not hang gdb
            break
    return result


def _enum(name, default):
    try:
        return int(gdb.parse_and_eval(name))
    except gdb.error:
        return default


def memory_bases(module):
    """(text base, init text base) from mod->mem (6.4+) or the layouts (older)."""
    if _has_field(module, "mem"):
        mem = module["mem"]
        return (int(mem[_enum("MOD_TEXT", 0)]["base"]),
                int(mem[_enum("MOD_INIT_TEXT", 4)]["base"]))
    if _has_field(module, "core_layout"):
        return (int(module["core_layout"]["base"]), int(module["init_layout"]["base"]))
    return (int(module["module_core"]), int(module["module_init"]))


def section_addresses(module):
    """Section name -> address, as the kernel placed them (needs CONFIG_KALLSYMS)."""
    if not _has_field(module, "sect_attrs"):
        return {}
    pointer = module["sect_attrs"]
    if int(pointer) == 0:
        return {}
    attrs = pointer.dereference()
    result = {}
    count = int(attrs["nsections"]) if _has_field(attrs, "nsections") else 0
    if _has_field(attrs, "attrs"):  # up to 6.13: {battr, address}
        for i in range(count):
            entry = attrs["attrs"][i]
            result[entry["battr"]["attr"]["name"].string()] = int(entry["address"])
    elif _has_field(attrs, "battrs"):  # later: the address is the attribute's private
        group = attrs["grp"]["bin_attrs"]
        i = 0
        while count == 0 or i < count:
            battr = group[i]
            if int(battr) == 0:
                break
            battr = battr.dereference()
            result[battr["attr"]["name"].string()] = int(battr["private"])
            i += 1
    return result


# --- loading symbols ----------------------------------------------------------------

class LoadedModule:
    def __init__(self, ko, symbol_file, text, with_init):
        self.ko = ko
        self.symbol_file = symbol_file  # ko, or its copy without section addresses
        self.text = text
        self.with_init = with_init


class ModuleSymbols:
    def __init__(self):
        self.files = ModuleFiles()
        self.loaded = {}  # module name -> LoadedModule
        self.missing_reported = set()
        self.synced_pids = set()

    def kernel_dir(self):
        executable = gdb.current_progspace().filename
        return os.path.dirname(os.path.realpath(executable)) if executable else None

    def _remove(self, name):
        entry = self.loaded.pop(name, None)
        if entry is not None:
            try:
                gdb.execute("remove-symbol-file " + gdb_quote(entry.symbol_file),
                            to_string=True)
            except gdb.error:
                pass

    def _add(self, name, module, coming, verbose):
        ko = self.files.find(name, self.kernel_dir())
        if ko is None:
            if name not in self.missing_reported:
                self.missing_reported.add(name)
                where = ", ".join(self.files.dirs) or "no directory given"
                note("no {}.ko for module '{}' (looked in: {}; add its directory with "
                     "uml-module-path DIR)".format(name, name, where))
            return
        text_base, init_base = memory_bases(module)
        addresses = section_addresses(module)
        try:
            kofile = KoFile(ko)
            symbol_file = symbol_file_for(ko, kofile)
        except (OSError, ValueError) as e:
            note("cannot read {}: {}".format(ko, e))
            return
        in_file = kofile.allocated()
        if not addresses:
            # No sect_attrs (CONFIG_KALLSYMS or CONFIG_SYSFS off): code only.
            addresses = {".text": text_base}
            if init_base:
                addresses[".init.text"] = init_base
            if name not in self.missing_reported:
                self.missing_reported.add(name)
                note("the kernel has no section addresses for '{}' (CONFIG_KALLSYMS off?): "
                     "only its code is placed, data symbols are wrong".format(name))
        text = addresses.get(".text", text_base)
        sections = []
        for section, address in sorted(addresses.items()):
            if section == ".text" or section not in in_file:
                continue
            # After init the kernel frees .init.*: those addresses may hold another module.
            if not coming and section.startswith(".init"):
                continue
            sections.append("-s {} {:#x}".format(section, address))
        command = "add-symbol-file {} {:#x} {}".format(gdb_quote(symbol_file), text,
                                                       " ".join(sections))
        gdb.execute(command, to_string=True)
        self.loaded[name] = LoadedModule(ko, symbol_file, text, coming)
        if verbose:
            note("loaded symbols of {} ({}) at {:#x}".format(name, ko, text))

    def sync(self, verbose=False):
        """Makes gdb's module symbols match the kernel's module list."""
        coming_state = _enum("MODULE_STATE_COMING", 1)
        unformed_state = _enum("MODULE_STATE_UNFORMED", 3)
        # gdb asks before add-symbol-file; nobody can answer inside a breakpoint.
        confirm = gdb.parameter("confirm")
        pagination = gdb.parameter("pagination")
        gdb.execute("set confirm off", to_string=True)
        gdb.execute("set pagination off", to_string=True)
        try:
            present = set()
            for module in kernel_modules():
                state = int(module["state"])
                if state == unformed_state:
                    continue
                name = module["name"].string()
                present.add(name)
                coming = state == coming_state
                text_base, _ = memory_bases(module)
                text = section_addresses(module).get(".text", text_base)
                entry = self.loaded.get(name)
                if entry is not None and entry.text == text and entry.with_init == coming:
                    continue  # loaded as it is now
                self._remove(name)
                self._add(name, module, coming, verbose)
            for name in list(self.loaded):
                if name not in present:
                    self._remove(name)  # unloaded
        finally:
            gdb.execute("set confirm {}".format("on" if confirm else "off"), to_string=True)
            gdb.execute("set pagination {}".format("on" if pagination else "off"),
                        to_string=True)


def gdb_quote(path):
    if re.search(r"[\s\"'\\]", path):
        return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return path


SYMBOLS = ModuleSymbols()


class ModuleLoadBreakpoint(gdb.Breakpoint):
    """Stops silently where the kernel is about to run a new module's init function."""

    def __init__(self):
        super().__init__("do_init_module", internal=True)
        self.silent = True

    def stop(self):
        try:
            SYMBOLS.sync()
        except gdb.error as e:
            note("loading module symbols failed: {}".format(e))
        return False  # keep running: breakpoints in the module are now in place


def rearm_breakpoints():
    """Writes the int3 of every inserted software breakpoint again.

    Module code lives in UML's physical memory, a file every host process of UML
    maps shared. When UML starts a host process for a new guest address space
    (a fork), gdb detaches from the child and first takes its breakpoints out of
    the child's memory: for the module area that is the parent's memory too, and
    gdb still believes them inserted. Writing the original bytes through gdb puts
    the breakpoint instructions back (gdb keeps them over its own writes).
    """
    inferior = gdb.selected_inferior()
    for breakpoint in gdb.breakpoints():
        if breakpoint.type != gdb.BP_BREAKPOINT or not breakpoint.enabled:
            continue
        for location in getattr(breakpoint, "locations", []):  # gdb 13+
            if not location.enabled or location.address is None:
                continue
            try:
                original = inferior.read_memory(location.address, 1)
                inferior.write_memory(location.address, original)
            except gdb.MemoryError:
                pass


class ForkRearmBreakpoint(gdb.Breakpoint):
    """Right after UML made a host process for a new guest address space."""

    def __init__(self, address):
        super().__init__("*{:#x}".format(address), internal=True)
        self.silent = True

    def stop(self):
        rearm_breakpoints()
        return False


def _function_range(name):
    symbol = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    if symbol is None:
        return None
    block = gdb.block_for_pc(int(symbol.value().address))
    while block is not None and block.function is None:
        block = block.superblock
    return (block.start, block.end) if block is not None else None


def return_sites(callee, caller):
    """Addresses right after each call of `callee` in `caller` (direct, or through a
    register loaded with its address, as UML's -mcmodel=large code does)."""
    callee_symbol = gdb.lookup_global_symbol(callee) or gdb.lookup_static_symbol(callee)
    caller_range = _function_range(caller)
    if callee_symbol is None or caller_range is None:
        return []
    target = "{:#x}".format(int(callee_symbol.value().address))
    architecture = gdb.selected_inferior().architecture()
    sites = []
    loaded = False
    for insn in architecture.disassemble(caller_range[0], caller_range[1] - 1):
        asm = insn["asm"]
        is_call = re.match(r"\s*call", asm) is not None
        if is_call and (loaded or target in asm or "<{}>".format(callee) in asm):
            sites.append(insn["addr"] + insn["length"])
            loaded = False
        elif is_call:
            loaded = False
        elif target in asm:
            loaded = True
    return sites


_internal_breakpoints = []


def ensure_internal_breakpoints():
    """The module loader's breakpoint and the fork re-arm ones, once a kernel is loaded."""
    if any(b.is_valid() for b in _internal_breakpoints):
        return
    if gdb.lookup_global_symbol("do_init_module") is None and \
            gdb.lookup_static_symbol("do_init_module") is None:
        return  # no kernel loaded yet, or one without module support
    del _internal_breakpoints[:]
    _internal_breakpoints.append(ModuleLoadBreakpoint())
    try:
        sites = return_sites("start_userspace", "init_new_context")
    except gdb.error:
        sites = []
    for address in sites:
        _internal_breakpoints.append(ForkRearmBreakpoint(address))
    if not sites:
        note("cannot find where UML starts guest processes (init_new_context): a breakpoint "
             "in a module may stop working once the guest starts a process; hbreak does not")
    elif not hasattr(gdb.Breakpoint, "locations"):
        note("gdb older than 13: a breakpoint in a module may stop working once the guest "
             "starts a process; hbreak does not")


def on_stop(event):
    # The first stop of a process gdb attached to: modules loaded before gdb came.
    pid = gdb.selected_inferior().pid
    if pid == 0 or pid in SYMBOLS.synced_pids:
        return
    SYMBOLS.synced_pids.add(pid)
    try:
        SYMBOLS.sync()
    except gdb.error as e:
        note("loading module symbols failed: {}".format(e))


_announced_pids = set()


def on_new_thread(event):
    # Once per process gdb started (attached ones are stopped by gdb's own Ctrl-C).
    inferior = gdb.selected_inferior()
    pid = inferior.pid
    if pid == 0 or pid in _announced_pids or getattr(inferior, "was_attached", False):
        return
    _announced_pids.add(pid)
    note("UML is process {0}; `kill -INT {0}` from another terminal stops it in gdb "
         "(while the guest's console has this terminal, Ctrl-C goes to the guest)".format(pid))


def on_exited(event):
    # The next run loads its modules anew, maybe elsewhere: the old symbols must go.
    for name in list(SYMBOLS.loaded):
        SYMBOLS._remove(name)
    SYMBOLS.synced_pids.clear()
    _announced_pids.clear()


class UmlModulePath(gdb.Command):
    """Adds directories where uml-gdb looks for out-of-tree modules' .ko files.
Usage: uml-module-path DIR...
Without arguments, lists them. The kernel's own modules (CONFIG_X=m) are found
through modules.order in the kernel's build directory."""

    def __init__(self):
        super().__init__("uml-module-path", gdb.COMMAND_FILES, gdb.COMPLETE_FILENAME)

    def invoke(self, argument, from_tty):
        for path in gdb.string_to_argv(argument):
            SYMBOLS.files.add_dir(path)
        if not argument.strip():
            for path in SYMBOLS.files.dirs:
                gdb.write(path + "\n")


class UmlLoadModules(gdb.Command):
    """Loads the symbols of every module the kernel has loaded now.
Usage: uml-load-modules
Done by itself when a module loads and on the first stop after attaching."""

    def __init__(self):
        super().__init__("uml-load-modules", gdb.COMMAND_FILES)

    def invoke(self, argument, from_tty):
        if gdb.selected_inferior().pid == 0:
            raise gdb.GdbError("uml-load-modules: the kernel is not running")
        ensure_internal_breakpoints()
        SYMBOLS.sync(verbose=True)


class UmlModules(gdb.Command):
    """Lists the modules whose symbols uml-gdb loaded.
Usage: uml-modules"""

    def __init__(self):
        super().__init__("uml-modules", gdb.COMMAND_STATUS)

    def invoke(self, argument, from_tty):
        if not SYMBOLS.loaded:
            gdb.write("no module symbols loaded\n")
        for name, entry in sorted(SYMBOLS.loaded.items()):
            gdb.write("{} {:#x} {}{}\n".format(name, entry.text, entry.ko,
                                                " (with .init sections)" if entry.with_init
                                                else ""))


def setup():
    global SYMBOLS, _internal_breakpoints, _kernel_scripts_loaded, _announced_pids
    # Sourced again (an IDE's setup and ours), the first load's state stays in use: its
    # commands and event handlers are registered already and find it here.
    state = getattr(gdb, "_uml_gdb_state", None)
    if state is not None:
        SYMBOLS, _internal_breakpoints, _kernel_scripts_loaded, _announced_pids = state
        apply_settings()
        return
    gdb._uml_gdb_state = (SYMBOLS, _internal_breakpoints, _kernel_scripts_loaded,
                          _announced_pids)
    apply_settings()
    UmlModulePath()
    UmlLoadModules()
    UmlModules()
    gdb.events.new_objfile.connect(on_new_objfile)
    gdb.events.new_objfile.connect(lambda event: ensure_internal_breakpoints())
    gdb.events.stop.connect(on_stop)
    gdb.events.new_thread.connect(on_new_thread)
    gdb.events.exited.connect(on_exited)
    executable = gdb.current_progspace().filename
    if executable:
        load_kernel_scripts(executable)
        ensure_internal_breakpoints()


setup()
