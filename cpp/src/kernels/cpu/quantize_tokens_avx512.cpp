// quantize_tokens_avx512.cpp - the token quantizers with AVX-512F
// (quantize_tokens.h): 16 values per step, the same IEEE operations as the
// scalar quantizers (|x| by clearing the sign, an exact max, one division
// per value, clamping to [-127, 127], rounding to nearest even by vcvtps2dq
// in the default rounding mode), so the same bits.
#include <immintrin.h>

#include "kernels/cpu/avx512_util.h"
#include "kernels/cpu/quant_math.h"
#include "kernels/cpu/quant_panels.h"
#include "kernels/cpu/quantize_tokens.h"

namespace dtm::cpu {

namespace {

// |v| >= inf or NaN: the unordered-or-not-less-than compare.
__mmask16 not_finite(__m512 abs_v) {
    return _mm512_cmp_ps_mask(abs_v, _mm512_set1_ps(__builtin_inff()), _CMP_NLT_UQ);
}

// GCC 12 warns about the undefined pass-through operand inside the plain
// forms of max, min and the reductions; the zero-masking forms with a full
// mask are the same instructions, and the reductions below are exact.
constexpr __mmask16 kAll = 0xffff;

float max_of_lanes(__m512 v) {
    float lanes[16];
    _mm512_storeu_ps(lanes, v);
    float m = lanes[0];
    for (int i = 1; i < 16; ++i) m = lanes[i] > m ? lanes[i] : m;
    return m;
}

int32_t sum_of_lanes(__m512i v) {
    int32_t lanes[16];
    _mm512_storeu_si512(lanes, v);
    int32_t s = 0;
    for (int i = 0; i < 16; ++i) s += lanes[i];
    return s;
}

// round(v / scale) clamped to [-127, 127], as int32 lanes.
__m512i quantize_lanes(__m512 v, __m512 scale) {
    __m512 r = _mm512_div_ps(v, scale);
    r = _mm512_maskz_max_ps(kAll, r, _mm512_set1_ps(-127.0f));
    r = _mm512_maskz_min_ps(kAll, r, _mm512_set1_ps(127.0f));
    return _mm512_maskz_cvtps_epi32(kAll, r);
}

}  // namespace

void quantize_tokens_int8_avx512(const float * x, int64_t ldx, int64_t n_tokens, int64_t cols, float skip_above,
                                 int8_t * q, int64_t ldq, float * scale, int32_t * q_sum, uint8_t * finite) {
    const __m512 skip = _mm512_set1_ps(skip_above);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float * xt = x + t * ldx;
        int8_t * qt = q + t * ldq;
        __m512 vmax = _mm512_setzero_ps();
        __mmask16 bad = 0;
        for (int64_t k = 0; k < cols; k += 16) {
            const __mmask16 m = mask16_below(cols - k);
            const __m512 a = _mm512_abs_ps(_mm512_maskz_loadu_ps(m, xt + k));
            bad |= not_finite(a) & m;
            const __mmask16 kept = _mm512_cmp_ps_mask(a, skip, _CMP_LE_OQ) & m;
            vmax = _mm512_mask_max_ps(vmax, kept, vmax, a);
        }
        finite[t] = bad == 0 ? 1 : 0;
        scale[t] = 0.0f;
        q_sum[t] = 0;
        if (bad != 0) continue;
        const float s = max_of_lanes(vmax) / 127.0f;
        scale[t] = s;
        const __m512 vs = _mm512_set1_ps(s != 0.0f ? s : 1.0f);
        __m512i vsum = _mm512_setzero_si512();
        for (int64_t k = 0; k < cols; k += 16) {
            const __mmask16 m = mask16_below(cols - k);
            const __m512 v = _mm512_maskz_loadu_ps(m, xt + k);
            const __mmask16 kept = _mm512_cmp_ps_mask(_mm512_abs_ps(v), skip, _CMP_LE_OQ) & m & (s != 0.0f ? 0xffff : 0);
            const __m512i qi = _mm512_maskz_mov_epi32(kept, quantize_lanes(v, vs));
            vsum = _mm512_add_epi32(vsum, qi);
            _mm512_mask_cvtepi32_storeu_epi8(qt + k, m, qi);
        }
        q_sum[t] = sum_of_lanes(vsum);
    }
}

void quantize_tokens_q8_0_avx512(const float * x, int64_t ldx, int64_t n_tokens, int64_t cols, int8_t * q,
                                 int64_t ldq, float * d, int32_t * q_sum, int64_t ldb, uint8_t * finite) {
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float * xt = x + t * ldx;
        bool ok = true;
        for (int64_t b = 0; ok && b < cols / kQBlockSize; ++b) {
            const __m512 lo = _mm512_loadu_ps(xt + b * kQBlockSize);
            const __m512 hi = _mm512_loadu_ps(xt + b * kQBlockSize + 16);
            const __m512 alo = _mm512_abs_ps(lo), ahi = _mm512_abs_ps(hi);
            if ((not_finite(alo) | not_finite(ahi)) != 0) {
                ok = false;
                break;
            }
            const float db = max_of_lanes(_mm512_maskz_max_ps(kAll, alo, ahi)) / 127.0f;
            const uint16_t dh = fp32_to_fp16(db);
            if ((dh & 0x7c00u) == 0x7c00u) ok = false;
            d[t * ldb + b] = fp16_to_fp32(dh);
            const __m512 vs = _mm512_set1_ps(db != 0.0f ? db : 1.0f);
            const __mmask16 nonzero = db != 0.0f ? 0xffff : 0;
            const __m512i qlo = _mm512_maskz_mov_epi32(nonzero, quantize_lanes(lo, vs));
            const __m512i qhi = _mm512_maskz_mov_epi32(nonzero, quantize_lanes(hi, vs));
            int8_t * qb = q + t * ldq + b * kQBlockSize;
            _mm_storeu_si128(reinterpret_cast<__m128i *>(qb), _mm512_maskz_cvtepi32_epi8(kAll, qlo));
            _mm_storeu_si128(reinterpret_cast<__m128i *>(qb + 16), _mm512_maskz_cvtepi32_epi8(kAll, qhi));
            q_sum[t * ldb + b] = sum_of_lanes(_mm512_add_epi32(qlo, qhi));
        }
        finite[t] = ok ? 1 : 0;
    }
}

}  // namespace dtm::cpu
