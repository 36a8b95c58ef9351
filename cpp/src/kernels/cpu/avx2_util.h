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

#include "kernels/cpu/exp_poly.h"

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

// exp(d) for d <= 0 in the flushed form of exp_poly.h (exp_nonpos_ref, bit
// for bit): 0 below kExpMinArg and for -inf, NaN stays NaN.
inline __m256 exp_nonpos(__m256 d) {
    using namespace exp_poly;
    const __m256 dead = _mm256_cmp_ps(d, _mm256_set1_ps(kExpMinArg), _CMP_LT_OQ);
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(d, _mm256_set1_ps(kLog2e)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), d);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
    __m256 p = _mm256_set1_ps(kC6);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC0));
    // 2^n: biased exponent n + 127 in bits 23..30 (dead lanes' n may be
    // anything; they are cleared below, and a NaN lane stays NaN).
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(dead, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
}

}  // namespace
}  // namespace dtm::cpu
