#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uml {

// Every UML boot calibrates the kernel's delay loop ("Calibrating delay loop...
// (lpj=N)"), which counts loops over several 10 ms ticks: ~80 ms of a ~0.25 s boot.
// The kernel argument lpj=N skips it. N depends only on the host CPU and the kernel's
// HZ, so the helper remembers what a kernel printed on this host and passes it to
// that kernel's later boots.

// N from a console that calibrated; std::nullopt when the boot skipped calibration,
// the line is missing, or N is outside [min_lpj, max_lpj].
std::optional<std::uint64_t> calibrated_lpj(std::string_view console);
// The same, from the kernel's own boot only: the part of the console before init's
// first marker of this nonce (init_output_start). A guest process that prints a
// calibration line later must not set the delay loop of the kernel's next boots.
std::optional<std::uint64_t> calibrated_lpj(std::string_view console, std::string_view nonce);

// Values a calibration can give (HZ 100..1000, hosts from ~10 MHz to ~1 THz of loops).
constexpr std::uint64_t min_lpj = 1000;
constexpr std::uint64_t max_lpj = 100'000'000'000ULL;

// The cache file: $UML_HELPER_CACHE_DIR, else $XDG_CACHE_HOME/uml-helper, else
// $HOME/.cache/uml-helper, with the file name "lpj"; std::nullopt without any.
std::optional<std::filesystem::path> lpj_cache_file();

// One cache line per kernel: which kernel file (path, size, mtime), on which CPU.
struct LpjKey {
  std::string kernel;  // absolute, symlinks resolved
  std::uintmax_t size = 0;
  std::int64_t mtime_ns = 0;
  std::string cpu;  // /proc/cpuinfo's "model name"
};
std::optional<LpjKey> lpj_key(const std::filesystem::path& kernel);

// Lookup and update of the cache's text (pure, for tests): lines of
// "<lpj>\t<size>\t<mtime_ns>\t<cpu>\t<kernel>". The update replaces the kernel's
// line (with the larger of the two values when the key is the same, but at most twice
// the old one: one odd boot cannot make later delays much too long) and keeps the
// newest `keep` lines.
std::optional<std::uint64_t> find_lpj(std::string_view cache, const LpjKey& key);
std::string update_lpj(std::string_view cache, const LpjKey& key, std::uint64_t lpj,
                       std::size_t keep = 32);

// The kernel's cached value on this host; std::nullopt for one boot in 16, which
// calibrates again. Never throws: the cache only saves time.
std::optional<std::uint64_t> cached_lpj(const std::filesystem::path& kernel);
// Records what the console shows the kernel calibrated. Never throws.
void remember_lpj(const std::filesystem::path& kernel, std::string_view console,
                  std::string_view nonce);

// True when the user's extra kernel arguments set lpj= themselves.
bool sets_lpj(const std::vector<std::string>& append);

}  // namespace uml
