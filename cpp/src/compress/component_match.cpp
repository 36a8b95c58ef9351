#include "compress/component_match.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace dtm::compress {

namespace {

// Digits a range reads at most (9 keep the value within int64).
constexpr size_t kRangeDigits = 9;

// One element of a pattern.
struct Token {
    enum Kind { kChar, kAnyChar, kStar, kRange } kind;
    char c = 0;              // kChar
    int64_t lo = 0, hi = 0;  // kRange
};

struct Range {
    int64_t lo, hi;
    size_t end;  // index in the pattern after ']'
};

Range parse_range(const std::string & p, size_t open) {
    auto number = [&](size_t & i) {
        const size_t start = i;
        int64_t v = 0;
        while (i < p.size() && std::isdigit(static_cast<unsigned char>(p[i])) && i - start < kRangeDigits) {
            v = v * 10 + (p[i++] - '0');
        }
        if (i == start) throw Error(DTM_ERR_INVALID_ARGUMENT, "bad range in component pattern '" + p + "': expected [from-to]");
        return v;
    };
    size_t i = open + 1;
    Range r{};
    r.lo = number(i);
    if (i >= p.size() || p[i] != '-') throw Error(DTM_ERR_INVALID_ARGUMENT, "bad range in component pattern '" + p + "': expected [from-to]");
    ++i;
    r.hi = number(i);
    if (i >= p.size() || p[i] != ']') throw Error(DTM_ERR_INVALID_ARGUMENT, "bad range in component pattern '" + p + "': expected [from-to]");
    if (r.hi < r.lo) throw Error(DTM_ERR_INVALID_ARGUMENT, "empty range in component pattern '" + p + "'");
    r.end = i + 1;
    return r;
}

// The pattern as tokens, every range validated (so a malformed pattern is an
// error whatever the name), runs of '*' merged into one.
std::vector<Token> compile(const std::string & p) {
    if (p.size() > kMaxPatternLength) {
        const size_t shown = 24;
        throw Error(DTM_ERR_INVALID_ARGUMENT, "component pattern '" + p.substr(0, shown) + "...' has " +
                                                  std::to_string(p.size()) + " characters, more than the limit of " +
                                                  std::to_string(kMaxPatternLength));
    }
    std::vector<Token> tokens;
    for (size_t i = 0; i < p.size();) {
        Token t{Token::kChar};
        if (p[i] == '*') {
            t.kind = Token::kStar;
            ++i;
            if (!tokens.empty() && tokens.back().kind == Token::kStar) continue;
        } else if (p[i] == '?') {
            t.kind = Token::kAnyChar;
            ++i;
        } else if (p[i] == '[') {
            const Range r = parse_range(p, i);
            t.kind = Token::kRange;
            t.lo = r.lo;
            t.hi = r.hi;
            i = r.end;
        } else {
            t.c = p[i++];
        }
        tokens.push_back(t);
    }
    return tokens;
}

constexpr size_t kNoMatch = std::string::npos;

// Where a token other than '*' that starts at n[k] ends, or kNoMatch. A
// range reads all the digits there (at most kRangeDigits).
size_t match_token(const Token & t, const std::string & n, size_t k) {
    if (t.kind == Token::kRange) {
        size_t e = k;
        int64_t v = 0;
        while (e < n.size() && std::isdigit(static_cast<unsigned char>(n[e])) && e - k < kRangeDigits) {
            v = v * 10 + (n[e++] - '0');
        }
        return e > k && v >= t.lo && v <= t.hi ? e : kNoMatch;
    }
    if (k >= n.size()) return kNoMatch;
    return t.kind == Token::kAnyChar || t.c == n[k] ? k + 1 : kNoMatch;
}

// Matches with one backtracking point, the last '*' seen: when the tokens
// after it fail (or end before the name does), that star takes one more
// character and they are tried again. Going back only to the last star is
// enough because where the tokens between two stars end grows with where
// they start (each token reads a fixed length, or a range all the digits at
// its place), so their leftmost match leaves the most of the name to the
// rest. Each retry advances the star, so at most (name length + 1) passes
// over the tokens.
bool match_tokens(const std::vector<Token> & tokens, const std::string & n) {
    size_t ti = 0, ni = 0;
    size_t star = kNoMatch;  // token index of the last star seen
    size_t star_ni = 0;      // where the name continues after what that star took
    for (;;) {
        if (ti < tokens.size() && tokens[ti].kind == Token::kStar) {
            star = ti++;
            star_ni = ni;
            continue;
        }
        if (ti < tokens.size()) {
            const size_t end = match_token(tokens[ti], n, ni);
            if (end != kNoMatch) {
                ni = end;
                ++ti;
                continue;
            }
        } else if (ni == n.size()) {
            return true;
        }
        if (star == kNoMatch || star_ni >= n.size()) return false;
        ti = star + 1;
        ni = ++star_ni;
    }
}

}  // namespace

bool name_matches(const std::string & pattern, const std::string & name) {
    return match_tokens(compile(pattern), name);
}

std::vector<int32_t> find_matching(const std::string & pattern, const std::vector<std::string> & names) {
    const std::vector<Token> tokens = compile(pattern);
    std::vector<int32_t> found;
    for (size_t i = 0; i < names.size(); ++i) {
        if (match_tokens(tokens, names[i])) found.push_back(int32_t(i));
    }
    if (found.empty()) {
        std::string msg = "no component matches '" + pattern + "'; the model has " + std::to_string(names.size()) +
                          " components: ";
        const size_t shown = std::min<size_t>(names.size(), 9);
        for (size_t i = 0; i < shown; ++i) msg += (i ? ", " : "") + names[i];
        if (names.size() > shown) msg += ", ... , " + names.back() + " (patterns: '*', '?', '[0-3]')";
        throw Error(DTM_ERR_INVALID_ARGUMENT, msg);
    }
    return found;
}

}  // namespace dtm::compress
