#include "decode.hpp"

#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <optional>

#include <boost/process.hpp>
#include <fmt/format.h>

#include "console.hpp"
#include "process/errors.hpp"
#include "process/files.hpp"
#include "process/proc_table.hpp"
#include "process/spawn.hpp"
#include "text.hpp"

namespace uml {

namespace fs = std::filesystem;
namespace bp = boost::process;
using process::Failure;
using process::Result;

namespace {

// Longer lines are no frame lines: parsing stays cheap on a flood of guest text.
constexpr std::size_t max_frame_line = 512;
constexpr std::size_t max_symbol = 128;
constexpr std::size_t max_module = 64;
// addr2line's output for 256 frames with their inline chains is far below this.
constexpr std::size_t max_addr2line_output = std::size_t{4} << 20;

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_symbol_char(char c) {
  return is_alnum(c) || c == '_' || c == '.' || c == '$';
}
bool is_module_char(char c) {
  return is_alnum(c) || c == '_' || c == '-';
}
bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

// The leading characters of s that satisfy pred, at most max + 1 of them (so that a
// caller sees "too long" without scanning the rest).
template <class Pred>
std::string_view leading(std::string_view s, Pred pred, std::size_t max) {
  std::size_t n = 0;
  while (n < s.size() && n <= max && pred(s[n])) {
    ++n;
  }
  return s.substr(0, n);
}

bool eat(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) {
    return false;
  }
  s.remove_prefix(prefix.size());
  return true;
}

void skip_blanks(std::string_view& s) {
  while (!s.empty() && is_blank(s.front())) {
    s.remove_prefix(1);
  }
}

// 1 to 16 hex digits (a 64-bit value cannot overflow).
std::optional<std::uint64_t> take_hex(std::string_view& s) {
  const auto digits = leading(s, is_hex, 16);
  if (digits.empty() || digits.size() > 16) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (const char c : digits) {
    const auto v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    value = value << 4 | static_cast<std::uint64_t>(v);
  }
  s.remove_prefix(digits.size());
  return value;
}

// %pS to the end of the line: "symbol+0xoff/0xsize", then " [module]" (or, with
// CONFIG_STACKTRACE_BUILD_ID, " [module buildid]").
std::optional<FrameLine> parse_symbol(std::string_view s) {
  FrameLine frame;
  const auto name = leading(s, is_symbol_char, max_symbol);
  if (name.empty() || name.size() > max_symbol) {
    return std::nullopt;
  }
  frame.symbol = std::string(name);
  s.remove_prefix(name.size());
  std::optional<std::uint64_t> offset, size;
  if (!eat(s, "+0x") || !(offset = take_hex(s)) || !eat(s, "/0x") || !(size = take_hex(s))) {
    return std::nullopt;
  }
  frame.offset = *offset;
  frame.size = *size;
  if (eat(s, " [")) {
    const auto module = leading(s, is_module_char, max_module);
    if (module.empty() || module.size() > max_module) {
      return std::nullopt;
    }
    frame.module = std::string(module);
    s.remove_prefix(module.size());
    if (eat(s, " ")) {
      const auto id = leading(s, is_hex, 64);
      if (id.empty() || id.size() > 64) {
        return std::nullopt;
      }
      s.remove_prefix(id.size());
    }
    if (!eat(s, "]")) {
      return std::nullopt;
    }
  }
  skip_blanks(s);
  if (!s.empty()) {
    return std::nullopt;
  }
  return frame;
}

}  // namespace

std::string FrameLine::text() const {
  return fmt::format("{}+{:#x}/{:#x}{}", symbol, offset, size,
                     module.empty() ? std::string() : " [" + module + "]");
}

std::optional<FrameLine> parse_frame_line(std::string_view line) {
  if (line.size() > max_frame_line) {
    return std::nullopt;
  }
  auto s = strip_console_prefix(line);
  if (eat(s, "RIP: ")) {
    // "RIP: 0033:symbol+..." (the CS selector, then %pS).
    const auto cs = leading(s, is_hex, 4);
    if (cs.empty() || cs.size() > 4) {
      return std::nullopt;
    }
    s.remove_prefix(cs.size());
    if (!eat(s, ":")) {
      return std::nullopt;
    }
    auto frame = parse_symbol(s);
    if (frame) {
      frame->registers = true;
    }
    return frame;
  }
  const bool indented = !s.empty() && is_blank(s.front());
  skip_blanks(s);
  if (eat(s, "[<")) {
    if (!take_hex(s) || !eat(s, ">]") || s.empty() || !is_blank(s.front())) {
      return std::nullopt;
    }
    skip_blanks(s);
    const bool unreliable = eat(s, "? ");
    auto frame = parse_symbol(s);
    if (frame) {
      frame->reliable = !unreliable;
    }
    return frame;
  }
  // stack_trace_print's " %pS" lines are always indented; an unindented "x+0x1/0x2" is
  // more likely some other text.
  return indented ? parse_symbol(s) : std::nullopt;
}

// ---- ELF ----

namespace {

// A read-only mapping of a whole file.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_ != nullptr) {
      ::munmap(const_cast<unsigned char*>(data_), size_);
    }
  }

  Result<void> open(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Failure{process::errno_text(path.string(), errno)};
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Failure{fmt::format("{}: not a regular file", path.string())};
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ == 0) {
      ::close(fd);
      return Failure{fmt::format("{}: empty file", path.string())};
    }
    void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    const int error = errno;
    ::close(fd);
    if (map == MAP_FAILED) {
      size_ = 0;
      return Failure{process::errno_text(path.string() + ": mmap", error)};
    }
    data_ = static_cast<const unsigned char*>(map);
    return {};
  }

  std::size_t size() const { return size_; }

  // [offset, offset + length) lies in the file (no overflow).
  bool holds(std::uint64_t offset, std::uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }

  // A copy of the struct at offset (memcpy: the offset need not be aligned).
  template <class T>
  std::optional<T> read(std::uint64_t offset) const {
    if (!holds(offset, sizeof(T))) {
      return std::nullopt;
    }
    T value;
    std::memcpy(&value, data_ + offset, sizeof(T));
    return value;
  }

  // The NUL-terminated string at table[index] of a string table [table, table + length),
  // up to `max` bytes; nullopt when out of bounds, unterminated or longer.
  std::optional<std::string_view> string_at(std::uint64_t table, std::uint64_t length,
                                            std::uint64_t index, std::size_t max) const {
    if (!holds(table, length) || index >= length) {
      return std::nullopt;
    }
    const auto* start = reinterpret_cast<const char*>(data_ + table + index);
    const auto room = static_cast<std::size_t>(std::min<std::uint64_t>(length - index, max + 1));
    const auto* end = static_cast<const char*>(std::memchr(start, '\0', room));
    if (end == nullptr) {
      return std::nullopt;
    }
    return std::string_view(start, static_cast<std::size_t>(end - start));
  }

 private:
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace

Result<ElfSymbols> read_elf_symbols(const fs::path& file,
                                    const std::set<std::string, std::less<>>& wanted) {
  if constexpr (std::endian::native != std::endian::little) {
    return Failure{"decoding needs a little-endian host"};
  }
  MappedFile elf;
  if (auto opened = elf.open(file); !opened) {
    return Failure{opened.error()};
  }
  const auto bad = [&](std::string_view why) {
    return Failure{fmt::format("{}: not a usable ELF64 file ({})", file.string(), why)};
  };
  const auto header = elf.read<Elf64_Ehdr>(0);
  if (!header || std::memcmp(header->e_ident, ELFMAG, SELFMAG) != 0) {
    return bad("no ELF header");
  }
  if (header->e_ident[EI_CLASS] != ELFCLASS64 || header->e_ident[EI_DATA] != ELFDATA2LSB) {
    return bad("not 64-bit little-endian");
  }
  if (header->e_shentsize != sizeof(Elf64_Shdr) || header->e_shoff == 0) {
    return bad("no section headers");
  }
  const auto section = [&](std::uint64_t index) {
    // index < count was checked by the callers; the multiplication cannot overflow
    // because count * sizeof(Elf64_Shdr) was checked to fit in the file.
    return elf.read<Elf64_Shdr>(header->e_shoff + index * sizeof(Elf64_Shdr));
  };
  // Extended numbering (e_shnum 0, e_shstrndx SHN_XINDEX): the values sit in section 0.
  std::uint64_t count = header->e_shnum;
  std::uint64_t names_index = header->e_shstrndx;
  if (count == 0 || names_index == SHN_XINDEX) {
    const auto first = elf.read<Elf64_Shdr>(header->e_shoff);
    if (!first) {
      return bad("section headers out of the file");
    }
    if (count == 0) {
      count = first->sh_size;
    }
    if (names_index == SHN_XINDEX) {
      names_index = first->sh_link;
    }
  }
  if (count == 0 || count > elf.size() / sizeof(Elf64_Shdr) ||
      !elf.holds(header->e_shoff, count * sizeof(Elf64_Shdr))) {
    return bad("section headers out of the file");
  }
  if (names_index >= count) {
    return bad("no section name table");
  }
  const auto names = section(names_index);
  if (!names || names->sh_type != SHT_STRTAB || !elf.holds(names->sh_offset, names->sh_size)) {
    return bad("section name table out of the file");
  }

  // .symtab, else .dynsym (a stripped executable still has that).
  std::optional<Elf64_Shdr> table;
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto sh = section(i);
    if (sh && sh->sh_type == SHT_SYMTAB) {
      table = sh;
      break;
    }
    if (sh && sh->sh_type == SHT_DYNSYM && !table) {
      table = sh;
    }
  }
  if (!table) {
    return bad("no symbol table");
  }
  if (table->sh_entsize != sizeof(Elf64_Sym) || !elf.holds(table->sh_offset, table->sh_size) ||
      table->sh_link >= count) {
    return bad("symbol table out of the file");
  }
  const auto strings = section(table->sh_link);
  if (!strings || strings->sh_type != SHT_STRTAB ||
      !elf.holds(strings->sh_offset, strings->sh_size)) {
    return bad("symbol string table out of the file");
  }

  ElfSymbols out;
  out.relocatable = header->e_type == ET_REL;
  std::map<std::uint64_t, std::string> section_names;  // only those of matched symbols
  const auto entries = table->sh_size / sizeof(Elf64_Sym);
  for (std::uint64_t i = 1; i < entries; ++i) {
    const auto sym = elf.read<Elf64_Sym>(table->sh_offset + i * sizeof(Elf64_Sym));
    if (!sym) {
      break;
    }
    const auto type = ELF64_ST_TYPE(sym->st_info);
    if (type != STT_FUNC && type != STT_NOTYPE && type != STT_OBJECT) {
      continue;
    }
    // Defined in a section of the file (not undefined, absolute, common or extended).
    if (sym->st_shndx == SHN_UNDEF || sym->st_shndx >= SHN_LORESERVE || sym->st_shndx >= count) {
      continue;
    }
    const auto name = elf.string_at(strings->sh_offset, strings->sh_size, sym->st_name, max_symbol);
    if (!name || name->empty()) {
      continue;
    }
    const auto wanted_it = wanted.find(*name);
    if (wanted_it == wanted.end()) {
      continue;
    }
    auto known = section_names.find(sym->st_shndx);
    if (known == section_names.end()) {
      std::string text;
      if (const auto sh = section(sym->st_shndx)) {
        if (const auto s = elf.string_at(names->sh_offset, names->sh_size, sh->sh_name, 256)) {
          text = std::string(*s);
        }
      }
      known = section_names.emplace(sym->st_shndx, std::move(text)).first;
    }
    if (known->second.empty()) {
      continue;  // a section addr2line -j could not name
    }
    out.symbols.emplace(*wanted_it,
                        ElfSymbol{sym->st_value, sym->st_size, known->second, type == STT_FUNC});
  }
  return out;
}

std::optional<ObjectAddress> locate(const ElfSymbols& symbols, const FrameLine& frame) {
  const auto [begin, end] = symbols.symbols.equal_range(frame.symbol);
  if (begin == end) {
    return std::nullopt;
  }
  // kallsyms' size is the distance to the next symbol, so it may exceed st_size (the
  // padding; a module's init function even shows its whole section): a guide only.
  auto rank = [&](const ElfSymbol& s) {
    return (s.size == frame.size ? 2 : 0) + (s.function ? 1 : 0);
  };
  auto best = begin;
  for (auto it = begin; it != end; ++it) {
    if (rank(it->second) > rank(best->second)) {
      best = it;
    }
  }
  const auto& sym = best->second;
  if (frame.offset > std::numeric_limits<std::uint64_t>::max() - sym.value) {
    return std::nullopt;
  }
  ObjectAddress where;
  where.address = sym.value + frame.offset;
  if (symbols.relocatable) {
    where.section = sym.section;
  }
  return where;
}

// ---- addr2line ----

std::vector<FrameDecoding> parse_addr2line(std::string_view output, std::size_t addresses) {
  std::vector<FrameDecoding> out(addresses);
  std::size_t group = 0;
  bool started = false;
  std::optional<std::string> function;  // waiting for its file:line
  for (const auto raw : split_lines(output)) {
    const auto line = trim(raw);
    if (line.starts_with("0x") && line.size() > 2 &&
        line.find_first_not_of("0123456789abcdefABCDEF", 2) == std::string_view::npos) {
      if (started) {
        ++group;
      }
      started = true;
      function.reset();
      continue;
    }
    if (!started || group >= addresses) {
      continue;
    }
    if (!function) {
      function = std::string(line);
      continue;
    }
    SourceLocation where;
    where.function = function->empty() ? "??" : *function;
    function.reset();
    // "file:line", "file:line (discriminator N)", "??:0", "??:?".
    auto text = line;
    if (const auto paren = text.find(" ("); paren != std::string_view::npos) {
      text = text.substr(0, paren);
    }
    const auto colon = text.rfind(':');
    where.file = std::string(colon == std::string_view::npos ? text : text.substr(0, colon));
    if (colon != std::string_view::npos) {
      const auto digits = text.substr(colon + 1);
      if (!digits.empty() && digits.size() <= 9 &&
          digits.find_first_not_of("0123456789") == std::string_view::npos) {
        where.line = static_cast<unsigned>(std::strtoul(std::string(digits).c_str(), nullptr, 10));
      }
    }
    if (where.file.empty()) {
      where.file = "??";
    }
    out[group].push_back(std::move(where));
  }
  for (auto& chain : out) {
    // addr2line's answer for an address it knows nothing of.
    if (chain.size() == 1 && chain.front().function == "??" && chain.front().file == "??") {
      chain.clear();
    }
  }
  return out;
}

namespace {

using Clock = std::chrono::steady_clock;

std::string_view path_variable_or_default() {
  const char* variable = std::getenv("PATH");
  return variable != nullptr ? variable : "/usr/bin:/bin";
}

// A program's standard output, bounded in time and size (its session is killed past
// either), as process::capture_output but with the size bound.
Result<std::string> run_bounded(const fs::path& exe, const std::vector<std::string>& args,
                                Clock::time_point deadline) {
  std::optional<bp::pipe> out;
  try {
    out.emplace(process::cloexec_pipe());
  } catch (const process::SystemError& e) {
    return Failure{e.what()};
  }
  std::error_code ec;
  bp::child child(bp::exe = exe.string(), bp::args = args, bp::std_out > *out,
                  bp::std_err > bp::null, bp::std_in < bp::null, process::SessionSetup(::getpid()),
                  ec);
  if (ec) {
    return Failure{fmt::format("cannot start {}: {}", exe.string(), ec.message())};
  }
  const int fd = out->native_source();
  process::set_nonblocking(fd);
  std::string text;
  bool open = true;
  bool too_much = false;
  while (open && !too_much && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 50);
    open = process::drain(fd, [&](std::string_view chunk) {
      if (text.size() + chunk.size() > max_addr2line_output) {
        too_much = true;
      } else {
        text += chunk;
      }
    });
  }
  if (open) {
    process::kill_session(child.id());
  }
  child.wait(ec);
  if (too_much) {
    return Failure{
        fmt::format("{} wrote more than {} bytes", exe.filename().string(), max_addr2line_output)};
  }
  if (open) {
    return Failure{fmt::format("{} did not finish in time", exe.filename().string())};
  }
  if (ec || WIFSIGNALED(child.native_exit_code()) || child.exit_code() != 0) {
    return Failure{fmt::format("{} failed", exe.filename().string())};
  }
  return text;
}

std::string normalized_module_name(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

bool valid_module_name(std::string_view name) {
  return !name.empty() && name.size() <= max_module &&
         std::all_of(name.begin(), name.end(), is_module_char);
}

// The kernel's top-level source directories: a path component before one of them that
// starts with "linux" is the root of a kernel tree.
bool kernel_top_dir(std::string_view name) {
  static constexpr std::string_view dirs[] = {
      "arch", "block",    "certs",   "crypto",   "drivers", "fs",  "include",
      "init", "io_uring", "ipc",     "kernel",   "lib",     "mm",  "net",
      "rust", "samples",  "scripts", "security", "sound",   "usr", "virt"};
  return std::find(std::begin(dirs), std::end(dirs), name) != std::end(dirs);
}

}  // namespace

std::optional<fs::path> find_module_object(std::string_view name,
                                           const std::vector<fs::path>& dirs) {
  if (!valid_module_name(name)) {
    return std::nullopt;
  }
  const auto want = normalized_module_name(name) + ".ko";
  // Bounded: a module dir that is a large tree (or has a symlink loop) costs at most this.
  constexpr std::size_t max_entries = 200000;
  constexpr int max_depth = 3;
  std::size_t seen = 0;
  for (const auto& dir : dirs) {
    std::error_code ec;
    fs::recursive_directory_iterator it(dir,
                                        fs::directory_options::skip_permission_denied |
                                            fs::directory_options::follow_directory_symlink,
                                        ec);
    // Shallowest first would need a breadth-first walk; the first match in
    // directory order is as good, as Kbuild names are unique per kernel (UmlModule.cmake).
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (++seen > max_entries) {
        return std::nullopt;
      }
      const auto& entry = *it;
      if (it.depth() >= max_depth) {
        it.disable_recursion_pending();
      }
      const auto file = entry.path().filename().string();
      if (file.size() == want.size() && normalized_module_name(file) == want &&
          entry.is_regular_file(ec)) {
        return entry.path();
      }
      ec.clear();
    }
  }
  return std::nullopt;
}

std::string display_path(std::string_view file, bool kernel) {
  if (file.empty() || file == "??") {
    return "??";
  }
  const auto normal = fs::path(std::string(file)).lexically_normal();
  if (kernel) {
    fs::path tail;
    bool found = false;
    auto it = normal.begin();
    for (; it != normal.end(); ++it) {
      const auto name = it->string();
      auto next = std::next(it);
      if ((name == "linux" || name.starts_with("linux-")) && next != normal.end() &&
          kernel_top_dir(next->string())) {
        found = true;
        ++it;
        break;
      }
    }
    if (found) {
      for (; it != normal.end(); ++it) {
        tail /= *it;
      }
      return tail.string();
    }
  }
  return normal.string();
}

std::vector<std::string> describe(const FrameDecoding& decoding) {
  std::vector<std::string> out;
  const auto where = [](const SourceLocation& s) {
    return s.line > 0 ? fmt::format("{}:{}", s.file, s.line) : s.file;
  };
  for (std::size_t i = 0; i < decoding.size(); ++i) {
    const auto& s = decoding[i];
    out.push_back(i == 0 ? fmt::format("at {} ({})", s.function, where(s))
                         : fmt::format("  (inlined into {} at {})", s.function, where(s)));
  }
  return out;
}

DecodedFrames decode_frames(const std::vector<FrameLine>& all, const DecodeSetup& setup) {
  DecodedFrames out;
  out.frames.resize(all.size());
  out.project.resize(all.size(), false);
  const auto count = std::min(all.size(), setup.max_frames);
  if (all.size() > count) {
    out.notes.push_back(
        fmt::format("only the first {} of {} stack frames were decoded", count, all.size()));
  }

  // The objects: "" the kernel, else the normalized module name; path empty: not found.
  struct Object {
    fs::path path;
    std::vector<std::size_t> frames;
  };
  std::map<std::string, Object> objects;
  for (std::size_t i = 0; i < count; ++i) {
    const auto key = normalized_module_name(all[i].module);
    auto [it, added] = objects.try_emplace(key);
    if (added) {
      if (key.empty()) {
        it->second.path = setup.kernel;
      } else if (auto found = find_module_object(all[i].module, setup.module_dirs)) {
        it->second.path = *found;
      } else {
        out.notes.push_back(
            setup.module_dirs.empty()
                ? fmt::format("module [{}]: not decoded (no --module-dir given)", all[i].module)
                : fmt::format("module [{}]: no {}.ko in the --module-dir directories; its "
                              "frames are not decoded",
                              all[i].module, key));
      }
    }
    it->second.frames.push_back(i);
    out.project[i] = !key.empty() && !it->second.path.empty();
  }

  const auto addr2line = setup.addr2line
                             ? std::optional<fs::path>(setup.addr2line)
                             : process::find_on_path("addr2line", path_variable_or_default());
  if (!addr2line || !process::is_executable_file(*addr2line)) {
    out.notes.push_back("install binutils to decode stack traces (addr2line was not found)");
    return out;
  }
  const auto deadline = Clock::now() + setup.time_limit;
  bool out_of_time = false;
  for (const auto& [key, object] : objects) {
    if (object.path.empty()) {
      continue;
    }
    const auto label = key.empty() ? std::string("the kernel") : fmt::format("[{}]", key);
    std::set<std::string, std::less<>> wanted;
    for (const auto i : object.frames) {
      wanted.insert(all[i].symbol);
    }
    const auto symbols = read_elf_symbols(object.path, wanted);
    if (!symbols) {
      out.notes.push_back(fmt::format("{}: not decoded: {}", label, symbols.error()));
      continue;
    }
    // addr2line -j takes one section: one run per section of this object.
    std::map<std::string, std::map<std::uint64_t, std::vector<std::size_t>>> by_section;
    std::size_t unknown = 0;
    for (const auto i : object.frames) {
      if (const auto where = locate(*symbols, all[i])) {
        // A trace frame is a return address: the call is the instruction before it (as
        // %pB and gdb look it up); the RIP of a register dump is the faulting one.
        const bool returns = !all[i].registers && all[i].offset > 0;
        by_section[where->section][where->address - (returns ? 1 : 0)].push_back(i);
      } else {
        ++unknown;
      }
    }
    if (unknown > 0) {
      out.notes.push_back(fmt::format("{}: {} frame(s) name symbols not in {}", label, unknown,
                                      object.path.filename().string()));
    }
    for (const auto& [section, addresses] : by_section) {
      if (Clock::now() >= deadline) {
        out_of_time = true;
        break;
      }
      std::vector<std::string> args{"-e", object.path.string()};
      if (!section.empty()) {
        args.insert(args.end(), {"-j", section});
      }
      args.insert(args.end(), {"-a", "-f", "-i"});
      for (const auto& [address, frames] : addresses) {
        args.push_back(fmt::format("{:#x}", address));
      }
      const auto output = run_bounded(*addr2line, args, deadline);
      if (!output) {
        out.notes.push_back(fmt::format("{}: not decoded: {}", label, output.error()));
        continue;
      }
      auto decoded = parse_addr2line(*output, addresses.size());
      std::size_t n = 0;
      for (const auto& [address, frames] : addresses) {
        auto& chain = decoded[n++];
        for (auto& level : chain) {
          level.file = display_path(level.file, key.empty());
          if (!key.empty() && level.file != "??") {
            // A module's sources are linked into its build dir (UmlModule.cmake): show
            // the file the user edits.
            std::error_code ec;
            if (auto real = fs::canonical(level.file, ec); !ec) {
              level.file = real.string();
            }
          }
        }
        for (const auto i : frames) {
          out.frames[i] = chain;
        }
      }
    }
  }
  if (out_of_time) {
    out.notes.push_back(fmt::format("decoding stopped after {} s; some frames are not decoded",
                                    setup.time_limit.count() / 1000));
  }
  return out;
}

}  // namespace uml
