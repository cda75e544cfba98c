#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uml {

std::string base64_encode(std::string_view data);
// std::nullopt when data is not valid base64.
std::optional<std::string> base64_decode(std::string_view data);

// One word for sh: kept as it is when it holds only safe characters, else single-quoted.
std::string shell_quote(std::string_view word);
// argv as one sh -c string that runs exactly that argv.
std::string shell_join(const std::vector<std::string>& argv);

// UML's memory size syntax: a number with an optional K, M or G suffix (any case).
// std::nullopt when malformed or zero.
std::optional<std::uint64_t> parse_size(std::string_view text);
std::string format_bytes(std::uint64_t bytes);

// Lines of text, without their "\n" or "\r\n"; a last line without "\n" counts.
std::vector<std::string_view> split_lines(std::string_view text);
std::string_view trim(std::string_view text);

// The length of the valid UTF-8 sequence at text[pos] (1 for ASCII), or 0 when the bytes
// there are not one (overlong, surrogate, beyond U+10FFFF, truncated, stray continuation).
std::size_t utf8_length(std::string_view text, std::size_t pos);

// Text safe to print on a terminal: every byte of `text` as it is, except control
// characters (C0 but \n and \t, DEL, C1) and bytes that are not valid UTF-8, shown as
// \xNN (C1 as \u00NN). A guest's output must not move the cursor, clear the screen,
// set the title or the clipboard (OSC 52), or overwrite a line with a fake verdict (CR).
std::string terminal_safe(std::string_view text);

// terminal_safe for a stream of chunks: a UTF-8 sequence split between chunks is kept
// whole.
class TerminalSafeStream {
 public:
  std::string feed(std::string_view chunk);
  std::string finish();

 private:
  std::string held_;
};

// n random lower-case hex digits.
std::string random_hex(std::size_t n);

}  // namespace uml
