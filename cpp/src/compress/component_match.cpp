#include "compress/component_match.h"

#include <cctype>

#include "core/error.h"

namespace dtm::compress {

namespace {

struct Range {
    int64_t lo, hi;
    size_t end;  // index in the pattern after ']'
};

Range parse_range(const std::string & p, size_t open) {
    auto number = [&](size_t & i) {
        const size_t start = i;
        int64_t v = 0;
        while (i < p.size() && std::isdigit(static_cast<unsigned char>(p[i])) && i - start < 9) v = v * 10 + (p[i++] - '0');
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

// Backtracking match of p[pi..] against n[ni..]; patterns are short.
bool match_from(const std::string & p, size_t pi, const std::string & n, size_t ni) {
    while (pi < p.size()) {
        const char c = p[pi];
        if (c == '*') {
            for (size_t k = ni; k <= n.size(); ++k) {
                if (match_from(p, pi + 1, n, k)) return true;
            }
            return false;
        }
        if (c == '[') {
            const Range r = parse_range(p, pi);
            size_t k = ni;
            int64_t v = 0;
            while (k < n.size() && std::isdigit(static_cast<unsigned char>(n[k])) && k - ni < 9) v = v * 10 + (n[k++] - '0');
            if (k == ni || v < r.lo || v > r.hi) return false;
            pi = r.end;
            ni = k;
            continue;
        }
        if (ni >= n.size()) return false;
        if (c != '?' && c != n[ni]) return false;
        ++pi;
        ++ni;
    }
    return ni == n.size();
}

}  // namespace

bool name_matches(const std::string & pattern, const std::string & name) {
    // Validate every range up front, so a malformed pattern is an error even
    // when matching would stop before reaching it.
    for (size_t i = pattern.find('['); i != std::string::npos; i = pattern.find('[', i + 1)) parse_range(pattern, i);
    return match_from(pattern, 0, name, 0);
}

std::vector<int32_t> find_matching(const std::string & pattern, const std::vector<std::string> & names) {
    std::vector<int32_t> found;
    for (size_t i = 0; i < names.size(); ++i) {
        if (name_matches(pattern, names[i])) found.push_back(int32_t(i));
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
