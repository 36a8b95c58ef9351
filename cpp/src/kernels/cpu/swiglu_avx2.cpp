// swiglu_avx2.cpp - the MLP's gated activation (swiglu.h), AVX2 + FMA: the
// reference's operations on 8 lanes at a time, the tail under a lane mask.
//
// Compiled with AVX2 flags and called only after dispatch.cpp checked the
// CPU; nothing here has external linkage besides swiglu_avx2.
#include <immintrin.h>

#include "kernels/cpu/avx2_util.h"
#include "kernels/cpu/swiglu.h"

namespace dtm::cpu {

namespace {

__m256 swiglu8(__m256 v, __m256 u) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 e = exp_nonpos(_mm256_or_ps(v, sign));  // -|v|
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 num = _mm256_blendv_ps(e, one, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GE_OQ));
    const __m256 s = _mm256_div_ps(num, _mm256_add_ps(one, e));
    return _mm256_mul_ps(_mm256_mul_ps(v, s), u);
}

}  // namespace

void swiglu_avx2(float * gate, const float * up, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(gate + i, swiglu8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
    if (i < n) {
        const __m256i m = lanes_below(n - i);
        _mm256_maskstore_ps(gate + i, m, swiglu8(_mm256_maskload_ps(gate + i, m), _mm256_maskload_ps(up + i, m)));
    }
}

}  // namespace dtm::cpu
