// swiglu_avx512.cpp - the MLP's gated activation (swiglu.h), AVX-512F: the
// reference's operations on 16 lanes at a time, the tail under a k-mask.
// (2^n is built in the exponent field as on the AVX2 path, not with scalef,
// so that d < -87 gives 0 on every path.)
//
// Compiled with AVX-512 flags and called only after dispatch.cpp checked the
// CPU; nothing here has external linkage besides swiglu_avx512.
#include <immintrin.h>

#include "kernels/cpu/avx512_util.h"
#include "kernels/cpu/swiglu.h"

namespace dtm::cpu {

namespace {

__m512 swiglu16(__m512 v, __m512 u) {
    const __m512 e = exp_nonpos(_mm512_castsi512_ps(
        _mm512_or_si512(_mm512_castps_si512(v), _mm512_set1_epi32(int32_t(0x80000000u)))));  // -|v|
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 num = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GE_OQ), e, one);
    const __m512 s = _mm512_div_ps(num, _mm512_add_ps(one, e));
    return _mm512_mul_ps(_mm512_mul_ps(v, s), u);
}

}  // namespace

void swiglu_avx512(float * gate, const float * up, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm512_storeu_ps(gate + i, swiglu16(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
    }
    if (i < n) {
        const __mmask16 m = mask16_below(n - i);
        const __m512 v = _mm512_maskz_loadu_ps(m, gate + i), u = _mm512_maskz_loadu_ps(m, up + i);
        _mm512_mask_storeu_ps(gate + i, m, swiglu16(v, u));
    }
}

}  // namespace dtm::cpu
