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

// n random lower-case hex digits.
std::string random_hex(std::size_t n);

}  // namespace uml
