// avx2_util.h - small helpers shared by the AVX2 kernel files.
//
// Only for files compiled with the AVX2 flags (*_avx2.cpp, and *_avx512.cpp,
// whose flags include them; see CMakeLists.txt). Everything here has internal
// linkage (unnamed namespace): each kernel file gets its own copy compiled
// with its own flags, and the linker can never hand one ISA's copy to
// another file's code.
#pragma once

#if !defined(__AVX2__)
#error "avx2_util.h is for the *_avx2.cpp and *_avx512.cpp kernel files only"
#endif

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace dtm::cpu {
namespace {

// All-ones int32 lanes [0, n) of 8 (n clamped to [0, 8]): the mask of
// _mm256_maskload_ps / _mm256_maskstore_ps for the first n floats.
inline __m256i lanes_below(int64_t n) {
    const int32_t live = int32_t(n < 0 ? 0 : n > 8 ? 8 : n);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(live), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The 4 bytes at p (any alignment) as one int32: a group of 4 int8
// activations, to broadcast.
inline int32_t load_4_bytes(const int8_t * p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace
}  // namespace dtm::cpu
