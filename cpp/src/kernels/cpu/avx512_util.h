// avx512_util.h - small helpers shared by the AVX-512 kernel files (on top of
// avx2_util.h, which it includes).
//
// Only for files compiled with the AVX-512 flags (*_avx512.cpp; see
// CMakeLists.txt). Everything here has internal linkage (unnamed namespace):
// each kernel file gets its own copy compiled with its own flags, and the
// linker can never hand it to code of another instruction set.
#pragma once

#if !defined(__AVX512F__)
#error "avx512_util.h is for the *_avx512.cpp kernel files only"
#endif

#include <immintrin.h>

// GCC 12 warns about the self-initialised _mm512_undefined_*() inside its own
// AVX-512 intrinsics (vcvtph2ps, vpmovzxwd, masked ops; GCC bug 105593, fixed
// in GCC 13), not about dtm's code: silenced here, once, for every file that
// includes this header (the AVX-512 kernel files only).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdint>

#include "kernels/cpu/avx2_util.h"

namespace dtm::cpu {
namespace {

// The k-mask of lanes [0, n) of 16 (none for n <= 0, all for n >= 16).
inline __mmask16 mask16_below(int64_t n) {
    return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1u);
}

// int32 -> fp32 (exact below 2^24, else rounded to nearest even). The
// zero-masking form with a full mask is the same instruction as
// _mm512_cvtepi32_ps, whose undefined pass-through operand GCC 12 warns about.
inline __m512 int32_to_float(__m512i v) { return _mm512_maskz_cvtepi32_ps(__mmask16(0xffff), v); }

// The steps of exp_poly.h before the scaling by 2^n: sets *n = round(d *
// log2(e)) and returns p(r), r = d - n ln 2 (Cody-Waite). The flushed form
// below and row_stats_avx512's scalef form scale it differently.
inline __m512 exp_poly_reduced(__m512 d, __m512 * n) {
    using namespace exp_poly;
    *n = _mm512_roundscale_ps(_mm512_mul_ps(d, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(*n, _mm512_set1_ps(kLn2Hi), d);
    r = _mm512_fnmadd_ps(*n, _mm512_set1_ps(kLn2Lo), r);
    __m512 p = _mm512_set1_ps(kC6);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC1));
    return _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC0));
}

// exp(d) for d <= 0 in the flushed form of exp_poly.h (exp_nonpos_ref, bit
// for bit; 2^n built as on the AVX2 path, not with scalef): 0 below
// kExpMinArg and for -inf, NaN stays NaN.
inline __m512 exp_nonpos(__m512 d) {
    const __mmask16 live = _mm512_cmp_ps_mask(d, _mm512_set1_ps(exp_poly::kExpMinArg), _CMP_NLT_UQ);  // not d < -87
    __m512 n;
    const __m512 p = exp_poly_reduced(d, &n);
    const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps(live, p, _mm512_castsi512_ps(bits));
}

}  // namespace
}  // namespace dtm::cpu
