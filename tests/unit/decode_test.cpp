#include "decode.hpp"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "report.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace uml;

namespace {

void write(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// The first kernel the test cache holds (tests/CMakeLists.txt's UML_TEST_CACHE_DIR):
// an ET_EXEC UML executable with DWARF, when one was built on this machine.
std::optional<fs::path> cached_kernel() {
  std::error_code ec;
  for (const auto& dir : {fs::path("/tmp/dev/xdg/uml/kernel")}) {
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const auto kernel = it->path() / "linux";
      if (fs::is_regular_file(kernel, ec)) {
        return kernel;
      }
    }
  }
  return std::nullopt;
}

// A module-like object (ET_REL, as a .ko) compiled by the host gcc into dir/name.
bool compile_object(const fs::path& dir, const std::string& name, const std::string& source,
                    const std::string& flags) {
  write(dir / "mod.c", source);
  const auto command = "gcc -g " + flags + " -c -o '" + (dir / name).string() + "' '" +
                       (dir / "mod.c").string() + "' 2>/dev/null";
  const int status = std::system(command.c_str());
  return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Lines of mod.c, 1-based: the test's expectations name them.
const std::string module_source =
    "static volatile int sink;\n"                                         // 1
    "static inline __attribute__((always_inline)) void store(int v) {\n"  // 2
    "  sink = v * 3;\n"                                                   // 3
    "}\n"                                                                 // 4
    "int buggy_func(int x) {\n"                                           // 5
    "  store(x + 1);\n"                                                   // 6
    "  return sink + 7;\n"                                                // 7
    "}\n";                                                                // 8

FrameLine frame(const std::string& symbol, std::uint64_t offset, const std::string& module = "",
                bool reliable = true) {
  FrameLine f;
  f.symbol = symbol;
  f.offset = offset;
  f.size = 0x40;
  f.module = module;
  f.reliable = reliable;
  return f;
}

}  // namespace

TEST_CASE("UML's show_stack frame lines are parsed", "[decode]") {
  const auto f = parse_frame_line(" [<8482504b>] ? bug_on_load_init+0x4b/0x1000 [bug_on_load]");
  REQUIRE(f);
  CHECK(f->symbol == "bug_on_load_init");
  CHECK(f->offset == 0x4b);
  CHECK(f->size == 0x1000);
  CHECK(f->module == "bug_on_load");
  CHECK_FALSE(f->reliable);
  CHECK(f->text() == "bug_on_load_init+0x4b/0x1000 [bug_on_load]");

  const auto reliable = parse_frame_line(" [<6001bc2c>] do_one_initcall+0x9c/0x240");
  REQUIRE(reliable);
  CHECK(reliable->reliable);
  CHECK(reliable->module.empty());
  CHECK(reliable->text() == "do_one_initcall+0x9c/0x240");

  // printk's time and caller prefixes, CRLF, a build id, kmemleak's deeper indentation.
  const auto stamped =
      parse_frame_line("[   12.345678][    T1]  [<60034a2e>] foo.cold+0x1e/0x40\r");
  REQUIRE(stamped);
  CHECK(stamped->symbol == "foo.cold");
  const auto id =
      parse_frame_line(" [<60034a2e>] f+0x1/0x2 [my-mod 0123456789abcdef0123456789abcdef01234567]");
  REQUIRE(id);
  CHECK(id->module == "my-mod");
  CHECK(parse_frame_line("    [<0000000012345678>] kmalloc_trace+0x2a/0x90"));
}

TEST_CASE("stack depot and RIP frame lines are parsed", "[decode]") {
  const auto depot = parse_frame_line("  kasan_save_stack+0x22/0x50");
  REQUIRE(depot);
  CHECK(depot->reliable);
  CHECK(depot->symbol == "kasan_save_stack");
  const auto module = parse_frame_line(" buggy_uaf+0x5c/0x90 [buggy]");
  REQUIRE(module);
  CHECK(module->module == "buggy");

  const auto rip = parse_frame_line("RIP: 0033:demo_crash+0xf/0x20 [uml_demo_test]");
  REQUIRE(rip);
  CHECK(rip->registers);
  CHECK(rip->reliable);
  CHECK(rip->symbol == "demo_crash");
  CHECK(rip->module == "uml_demo_test");
}

TEST_CASE("hostile and other lines are not frames", "[decode]") {
  const std::vector<std::string> lines = {
      "",
      "foo+0x1e/0x40",                       // not indented: any text
      " foo+0x1e",                           // no size
      " foo+0x1e/0x40 trailing",             // more text
      " foo+0x1e/0x40 [mod",                 // unclosed
      " foo+0x1e/0x40 [../../etc/passwd]",   // not a module name
      " foo+0x1e/0x40 [a zz]",               // build id not hex
      " foo+0x11111111111111111/0x40",       // 17 hex digits
      " foo+0x/0x40",                        // no digits
      " f\x1b[2Jo+0x1/0x2",                  // escape in the name
      " [<6001e290>] ? 0x6001e290",          // no symbol
      " [<6001e290>]? show_stack+0x0/0xc0",  // no blank after the address
      " [<zz>] show_stack+0x0/0xc0",         // not hex
      "RIP: 00033:f+0x1/0x2",                // selector too long
      "Call Trace:",
      " 00000000 7ca03c10 60414ef7 7ca03d00",          // the Stack: words
      " " + std::string(129, 'a') + "+0x1/0x2",        // name over 128
      " f+0x1/0x2 [" + std::string(65, 'm') + "]",     // module over 64
      " [<1>] " + std::string(600, 'a') + "+0x1/0x2",  // line over the bound
  };
  for (const auto& line : lines) {
    INFO(line);
    CHECK_FALSE(parse_frame_line(line));
  }
  CHECK(parse_frame_line(" " + std::string(128, 'a') + "+0x1/0x2"));
  CHECK(parse_frame_line(" f+0xffffffffffffffff/0x2 [" + std::string(64, 'm') + "]"));
}

TEST_CASE("addr2line output is split per address with inline chains", "[decode]") {
  const std::string output =
      "0x0000000000000010\n"
      "store\n"
      "/src/mod.c:3 (discriminator 1)\n"
      "buggy_func\n"
      "/src/mod.c:6\n"
      "0x0000000000000020\n"
      "??\n"
      "??:0\n"
      "0x0000000000000030\n"
      "buggy_func\n"
      "/src/mod.c:?\n";
  const auto decoded = parse_addr2line(output, 3);
  REQUIRE(decoded.size() == 3);
  REQUIRE(decoded[0].size() == 2);
  CHECK(decoded[0][0].function == "store");
  CHECK(decoded[0][0].file == "/src/mod.c");
  CHECK(decoded[0][0].line == 3);
  CHECK(decoded[0][1].function == "buggy_func");
  CHECK(decoded[0][1].line == 6);
  CHECK(decoded[1].empty());
  REQUIRE(decoded[2].size() == 1);
  CHECK(decoded[2][0].line == 0);
  CHECK(describe(decoded[0]) ==
        std::vector<std::string>{"at store (/src/mod.c:3)",
                                 "  (inlined into buggy_func at /src/mod.c:6)"});
  // Fewer groups than addresses, or more: no crash, the missing ones empty.
  CHECK(parse_addr2line("0x1\nf\n/a.c:1\n0x2\ng\n/b.c:2\n", 1).size() == 1);
  CHECK(parse_addr2line("garbage\n", 2) == std::vector<FrameDecoding>(2));
}

TEST_CASE("kernel source paths are shown from the kernel tree on", "[decode]") {
  CHECK(
      display_path("/c/kernel/linux-source-6.12-ee03/../../src/linux-source-6.12-44fd/init/main.c",
                   true) == "init/main.c");
  CHECK(display_path("/usr/src/linux/mm/slub.c", true) == "mm/slub.c");
  CHECK(display_path("/home/u/proj/./buggy.c", true) == "/home/u/proj/buggy.c");
  CHECK(display_path("/b/linux-6.1/x/../mm/slub.c", false) == "/b/linux-6.1/mm/slub.c");
  CHECK(display_path("??", true) == "??");
}

TEST_CASE("malformed ELF files are refused, not crashed on", "[decode]") {
  TempDir dir("decode");
  const std::set<std::string, std::less<>> wanted{"f"};
  write(dir.path / "empty", "");
  CHECK_FALSE(read_elf_symbols(dir.path / "empty", wanted));
  write(dir.path / "text", std::string(4096, 'x'));
  CHECK_FALSE(read_elf_symbols(dir.path / "text", wanted));
  CHECK_FALSE(read_elf_symbols(dir.path / "missing", wanted));
  CHECK_FALSE(read_elf_symbols(dir.path, wanted));

  // A real object, then truncated and with its section header offset corrupted.
  if (!compile_object(dir.path, "good.o", module_source, "-O2")) {
    WARN("gcc could not compile a test object: ELF corruption cases skipped");
    return;
  }
  std::ifstream in(dir.path / "good.o", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() > 64);
  REQUIRE(read_elf_symbols(dir.path / "good.o", {"buggy_func"}));
  for (std::size_t cut : {std::size_t{63}, std::size_t{64}, bytes.size() / 2, bytes.size() - 1}) {
    write(dir.path / "cut.o", bytes.substr(0, cut));
    CHECK_FALSE(read_elf_symbols(dir.path / "cut.o", {"buggy_func"}));
  }
  // Every byte of the header and of the section headers flipped in turn: any answer
  // but a crash (ASan/UBSan builds see out-of-bounds reads).
  for (std::size_t i = 0; i < bytes.size(); i += (i < 64 ? 1 : 7)) {
    auto bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0xff);
    write(dir.path / "bad.o", bad);
    (void)read_elf_symbols(dir.path / "bad.o", {"buggy_func", "store", "sink"});
  }
}

TEST_CASE("a module-like object compiled by gcc is decoded", "[decode]") {
  TempDir dir("decode");
  fs::create_directories(dir.path / "build" / "sub");
  // -ffunction-sections: the function lies in .text.buggy_func, so -j must name it.
  if (!compile_object(dir.path, "build/sub/my-mod.ko", module_source, "-O2 -ffunction-sections")) {
    WARN("gcc could not compile a test object: skipped");
    return;
  }
  const auto found = find_module_object("my_mod", {dir.path});
  REQUIRE(found);
  CHECK(found->filename() == "my-mod.ko");
  CHECK_FALSE(find_module_object("../my_mod", {dir.path}));
  CHECK_FALSE(find_module_object("other", {dir.path}));

  const auto symbols = read_elf_symbols(*found, {"buggy_func"});
  REQUIRE(symbols);
  CHECK(symbols->relocatable);
  const auto it = symbols->symbols.find("buggy_func");
  REQUIRE(it != symbols->symbols.end());
  CHECK(it->second.section == ".text.buggy_func");
  CHECK(it->second.function);

  // Every offset of the function: one addr2line run for all of them.
  std::vector<FrameLine> frames;
  for (std::uint64_t off = 0; off < it->second.size; ++off) {
    frames.push_back(frame("buggy_func", off, "my_mod", false));
  }
  frames.push_back(frame("no_such_symbol", 1, "my_mod"));
  frames.push_back(frame("f", 1, "absent_mod"));
  frames.push_back(frame("g", 2, "absent_mod"));
  DecodeSetup setup;
  setup.kernel = dir.path / "no-kernel";
  setup.module_dirs = {dir.path / "nothing-here", dir.path};
  const auto decoded = decode_frames(frames, setup);
  REQUIRE(decoded.frames.size() == frames.size());
  bool inlined = false;
  for (std::size_t k = 0; k + 3 < frames.size(); ++k) {
    INFO(k);
    REQUIRE_FALSE(decoded.frames[k].empty());
    CHECK(decoded.project[k]);
    const auto& chain = decoded.frames[k];
    CHECK(chain.back().function == "buggy_func");
    CHECK(fs::path(chain.back().file).filename() == "mod.c");
    CHECK(chain.back().line >= 5);
    CHECK(chain.back().line <= 8);
    if (chain.size() == 2 && chain.front().function == "store" && chain.front().line == 3 &&
        chain.back().line == 6) {
      inlined = true;
    }
  }
  CHECK(inlined);
  CHECK(decoded.frames[frames.size() - 3].empty());
  CHECK(decoded.frames[frames.size() - 1].empty());
  CHECK_FALSE(decoded.project[frames.size() - 1]);
  // One note per missing module, one for the unknown symbol; the kernel is not needed.
  std::size_t absent = 0;
  for (const auto& note : decoded.notes) {
    absent += note.find("absent_mod") != std::string::npos ? 1 : 0;
  }
  CHECK(absent == 1);
  CHECK(decoded.notes.size() == 2);
}

TEST_CASE("decoding is bounded and tolerates a missing addr2line", "[decode]") {
  TempDir dir("decode");
  std::vector<FrameLine> frames(300, frame("start_kernel", 0));
  DecodeSetup setup;
  setup.kernel = dir.path / "linux";
  setup.addr2line = dir.path / "no-addr2line";
  const auto decoded = decode_frames(frames, setup);
  CHECK(decoded.frames.size() == 300);
  REQUIRE(decoded.notes.size() == 2);
  CHECK(decoded.notes[0] == "only the first 256 of 300 stack frames were decoded");
  CHECK(decoded.notes[1].starts_with("install binutils to decode stack traces"));

  // An addr2line that never ends: the time limit stops it.
  write(dir.path / "slow", "#!/bin/sh\nexec sleep 30\n");
  fs::permissions(dir.path / "slow", fs::perms::owner_all);
  if (!compile_object(dir.path, "linux", "int start_kernel(void) { return 0; }\n", "")) {
    WARN("gcc could not compile a test object: skipped");
    return;
  }
  setup.addr2line = dir.path / "slow";
  setup.time_limit = std::chrono::milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  const auto slow = decode_frames({frame("start_kernel", 0)}, setup);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK(slow.frames[0].empty());
  REQUIRE_FALSE(slow.notes.empty());
  CHECK(slow.notes[0].find("did not finish in time") != std::string::npos);
}

TEST_CASE("the first project frame of the deciding report is named", "[decode]") {
  TempDir dir("decode");
  if (!compile_object(dir.path, "my_mod.ko", module_source, "-O0")) {
    WARN("gcc could not compile a test object: skipped");
    return;
  }
  const std::string console =
      "UML-BOOTED n\n"                                       // 0
      "WARNING: CPU: 0 PID: 1 at x.c:1 other+0x1/0x2\n"      // 1
      " [<60001000>] ? buggy_func+0x1/0x40 [my_mod]\n"       // 2
      "---[ end trace 0000000000000000 ]---\n"               // 3
      "BUG: failure at mod.c:6/buggy_func()!\n"              // 4
      "Kernel panic - not syncing: BUG!\n"                   // 5
      "Call Trace:\n"                                        // 6
      " [<60001000>] ? vpanic+0xfd/0x2f5\n"                  // 7
      " [<84825000>] ? buggy_func+0x0/0x1000 [my_mod]\n"     // 8
      " [<8482504b>] ? buggy_func+0x4/0x1000 [my_mod]\n"     // 9
      " [<8482504b>] ? buggy_func+0x8/0x1000 [other_mod]\n"  // 10
      "\n";
  ConsoleFindings findings;
  findings.booted = true;
  findings.warnings.push_back({1, "WARNING: ..."});
  findings.oopses.push_back({4, "BUG: failure at mod.c:6/buggy_func()!"});
  findings.panics.push_back({5, "Kernel panic - not syncing: BUG!"});
  Outcome outcome;
  outcome.code = ExitCode::KernelOops;
  outcome.summary = "kernel oops/BUG: BUG: failure at mod.c:6/buggy_func()!";
  DecodeSetup setup;
  setup.kernel = dir.path / "no-kernel";
  setup.module_dirs = {dir.path};
  // The oops decided (the earlier warning does not count): its first "?" frame past a
  // function's start in a project module.
  auto trace = decode_failure_trace(console, findings, outcome, false, 60, setup);
  REQUIRE(trace.first_project_frame);
  CHECK(trace.first_project_frame->starts_with("buggy_func at mod.c:"));
  CHECK(trace.annotations.contains(9));
  CHECK(trace.annotations.contains(2));  // shown in the excerpt: decoded too
  CHECK_FALSE(trace.annotations.contains(10));
  REQUIRE_FALSE(trace.annotations[9].empty());
  CHECK(trace.annotations[9][0].starts_with("at buggy_func ("));

  // A reliable frame wins over "?" frames.
  auto reliable = console;
  reliable += " [<60001000>] buggy_func+0x10/0x40 [my_mod]\n";
  trace = decode_failure_trace(reliable, findings, outcome, false, 60, setup);
  REQUIRE(trace.first_project_frame);
  CHECK(trace.first_project_frame->find(" at mod.c:") != std::string::npos);

  // Without its module's object: the frame as printed is not named (not a project one).
  setup.module_dirs.clear();
  trace = decode_failure_trace(console, findings, outcome, false, 60, setup);
  CHECK_FALSE(trace.first_project_frame);
  CHECK_FALSE(trace.notes.empty());
}

TEST_CASE("frames of a real kernel are decoded", "[decode]") {
  const auto kernel = cached_kernel();
  if (!kernel) {
    WARN("no test kernel under /tmp/dev/xdg/uml/kernel: skipped");
    return;
  }
  const auto symbols = read_elf_symbols(*kernel, {"start_kernel", "do_one_initcall"});
  REQUIRE(symbols);
  CHECK_FALSE(symbols->relocatable);
  CHECK(symbols->symbols.count("start_kernel") == 1);

  DecodeSetup setup;
  setup.kernel = *kernel;
  const auto decoded = decode_frames({frame("start_kernel", 0), frame("no_such_fn", 0)}, setup);
  REQUIRE_FALSE(decoded.frames[0].empty());
  CHECK(decoded.frames[0].back().function == "start_kernel");
  CHECK(decoded.frames[0].back().file == "init/main.c");
  CHECK(decoded.frames[1].empty());
  CHECK_FALSE(decoded.project[0]);
}

TEST_CASE("a 16 MiB console of frame-like lines is handled within bounds", "[decode]") {
  std::string console = "UML-BOOTED n\nKernel panic - not syncing: x\n";
  const std::string line = " [<60001000>] ? f+0x1/0x2 [m]\n";
  while (console.size() < (std::size_t{16} << 20)) {
    console += line;
  }
  ConsoleFindings findings;
  findings.booted = true;
  findings.panics.push_back({1, "Kernel panic - not syncing: x"});
  Outcome outcome;
  outcome.code = ExitCode::KernelPanic;
  DecodeSetup setup;
  setup.kernel = "/nonexistent/linux";
  const auto start = std::chrono::steady_clock::now();
  const auto trace = decode_failure_trace(console, findings, outcome, false, 60, setup);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  CHECK(trace.annotations.empty());
  CHECK_FALSE(trace.first_project_frame);
}
