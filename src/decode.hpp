#pragma once

// Kernel stack traces on the console decoded to function, file and line: frame lines
// parsed from the guest's text (hostile: validated names only), the symbols looked up
// in the ELF symbol tables of the kernel and of the project's modules, and the
// addresses decoded by one bounded addr2line per object.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "process/result.hpp"

namespace uml {

// One stack frame as the kernel printed it with %pS: "symbol+0xoff/0xsize [module]".
struct FrameLine {
  std::string symbol;  // [A-Za-z0-9_.$]{1,128}
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::string module;      // [A-Za-z0-9_-]{1,64}; empty: the kernel itself
  bool reliable = true;    // false: UML's "? " (a text address found by scanning the stack)
  bool registers = false;  // the "RIP: 0033:..." line of a register dump: where it faulted

  std::string text() const;  // "symbol+0xoff/0xsize [module]"
};

// A frame line of the console (printk's time and caller prefixes allowed):
//   " [<60034a2e>] ? foo+0x1e/0x40 [mod]"  UML's show_stack (arch/um/kernel/sysrq.c)
//   "  foo+0x1e/0x40 [mod]"                stack_trace_print, stack depot (KASAN, SLUB)
//   "RIP: 0033:foo+0x1e/0x40 [mod]"        UML's show_regs (arch/x86/um/sysrq_64.c)
// Anything else, or a name, offset or size out of bounds, is not a frame.
std::optional<FrameLine> parse_frame_line(std::string_view line);

// A symbol of an ELF file, as far as decoding needs it.
struct ElfSymbol {
  std::uint64_t value = 0;
  std::uint64_t size = 0;
  std::string section;  // the name of its section (what addr2line -j takes)
  bool function = false;
};

struct ElfSymbols {
  bool relocatable = false;                       // ET_REL (a .ko): values are section offsets
  std::multimap<std::string, ElfSymbol> symbols;  // only the names asked for
};

// The symbols named in `wanted` from the ELF64 file's symbol table (.symtab, else
// .dynsym). Every offset, size and index is checked against the file; a malformed file
// is a Failure, never a crash.
process::Result<ElfSymbols> read_elf_symbols(const std::filesystem::path& file,
                                             const std::set<std::string, std::less<>>& wanted);

// Where a frame lies in an object: the address to give addr2line, and for a relocatable
// object the section it is relative to (addr2line -j SECTION, as scripts/faddr2line).
struct ObjectAddress {
  std::uint64_t address = 0;
  std::string section;  // empty for an executable
};
// Of several symbols of that name (static functions), the one whose size matches the
// frame's, else a function, else the first.
std::optional<ObjectAddress> locate(const ElfSymbols& symbols, const FrameLine& frame);

// One level of a decoded frame.
struct SourceLocation {
  std::string function;  // "??" when unknown
  std::string file;      // "??" when unknown
  unsigned line = 0;     // 0 when unknown

  bool operator==(const SourceLocation&) const = default;
};
// A decoded frame: the innermost (inlined) function first, then those it was inlined
// into; empty when the frame was not decoded.
using FrameDecoding = std::vector<SourceLocation>;

// addr2line -a -f -i output for the addresses given, in that order ("0x..." lines
// start each address's group). Missing or unparsable groups give empty decodings.
std::vector<FrameDecoding> parse_addr2line(std::string_view output, std::size_t addresses);

struct DecodeSetup {
  std::filesystem::path kernel;  // the UML executable (vmlinux)
  std::vector<std::filesystem::path> module_dirs;
  std::optional<std::filesystem::path> addr2line;  // default: addr2line on PATH
  std::chrono::milliseconds time_limit{20000};     // for all of addr2line's runs together
  std::size_t max_frames = 256;
};

struct DecodedFrames {
  std::vector<FrameDecoding> frames;  // aligned with the frames given
  std::vector<bool> project;          // the frame's module was found in a module dir
  std::vector<std::string> notes;     // why something was not decoded, each said once
};

// Decodes the frames (the first setup.max_frames of them): one addr2line per object and
// section with all of its addresses; a trace frame past its function's start at its
// address - 1 (the call, not the instruction after it). A missing addr2line, module or
// symbol is a note, never an error.
DecodedFrames decode_frames(const std::vector<FrameLine>& frames, const DecodeSetup& setup);

// The <name>.ko in the directories (each searched to depth 3), '-' and '_' alike as
// Kbuild's module names; the name must be a valid module name.
std::optional<std::filesystem::path> find_module_object(
    std::string_view name, const std::vector<std::filesystem::path>& dirs);

// A file name as shown: normalized; a kernel source path from the linux-* tree on.
std::string display_path(std::string_view file, bool kernel);

// The lines shown under a frame: "at inner (file:10)", "  (inlined into outer at file:42)".
std::vector<std::string> describe(const FrameDecoding& decoding);

}  // namespace uml
