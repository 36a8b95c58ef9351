// fnv.h - 64-bit FNV-1a hashes of byte ranges, for content checks (not
// cryptographic). Two variants whose values differ:
//   fnv1a_bytes - the standard FNV-1a, one byte per step: the evaluation
//                 tokens that cached layer inputs were made for
//                 (runtime/layer_inputs.h);
//   fnv1a_words - the same step over 64-bit little-endian words and the tail
//                 byte by byte, eight times faster: a model's fingerprint
//                 (Model::fingerprint), which candidate files record, so its
//                 values must never change.
// Start from kFnvOffsetBasis and feed ranges in turn: h = fnv1a_*(h, p, n).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dtm {

constexpr uint64_t kFnvOffsetBasis = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

inline uint64_t fnv1a_bytes(uint64_t h, const void * data, size_t n) {
    const auto * p = static_cast<const uint8_t *>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
    return h;
}

inline uint64_t fnv1a_words(uint64_t h, const void * data, size_t n) {
    const auto * p = static_cast<const uint8_t *>(data);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * kFnvPrime;
    }
    for (; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
    return h;
}

}  // namespace dtm
