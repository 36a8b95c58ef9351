// component_match.h - addressing components by name pattern.
//
//   '*'      any run of characters (also none)
//   '?'      one character
//   "[a-b]"  one decimal number n with a <= n <= b (layer ranges)
// Anything else matches itself, so a plain name matches only that name. A
// range takes all the digits at its place (at most 9): "[1-2]" does not
// match the "1" of "12".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dtm::compress {

// The longest pattern accepted, in bytes; component names are far shorter.
constexpr size_t kMaxPatternLength = 1024;

// True when `name` matches `pattern`, in O(pattern length x name length)
// steps and constant stack. Throws dtm::Error(DTM_ERR_INVALID_ARGUMENT) for a
// malformed range ("[3-", "[b-a]", "[x-2]") or a pattern longer than
// kMaxPatternLength.
bool name_matches(const std::string & pattern, const std::string & name);

// Indices of the names that match, in order. When none does, throws
// dtm::Error(DTM_ERR_INVALID_ARGUMENT) with a message that lists what exists
// (the first names and a count), so a typo shows the right spelling.
std::vector<int32_t> find_matching(const std::string & pattern, const std::vector<std::string> & names);

}  // namespace dtm::compress
