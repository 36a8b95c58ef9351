// attention_avx512.cpp - one head's attention (attention.h), AVX-512F/VL.
//
// The operations of attend_ref, lane by lane:
//   1. Scores, kKeyBlock = 8 keys at a time. Key r of the block has its own
//      8-lane accumulator (a ymm) whose lanes are the reference's 8 partial
//      sums: acc_r += q[i..i+7] * k_r[i..i+7] (mul, then add) in increasing i;
//      the head_dim % 8 tail is read with a zero-masked load, adding +0, which
//      leaves a partial sum unchanged (a sum started at +0 never becomes -0).
//      Up to kMaxFixedChunks chunks of 8, q stays in registers (AVX-512 has 32)
//      and the chunk loop is unrolled for the head_dim at hand. Two rounds of
//      hadd and one add of the 128-bit halves then combine the 8 accumulators
//      exactly as the reference does, ((a0 + a1) + (a2 + a3)) + ((a4 + a5) +
//      (a6 + a7)), into one vector of 8 dot products, scaled by one multiply.
//      A last, partial block repeats the last key in its missing lanes (never
//      stored, neutral for the max).
//   2. max by maxps(s, m) = (s > m ? s : m), the reference's comparison.
//   3. e_j = exp(s_j - m) by the flushed polynomial of exp_poly.h, 16 at a
//      time (the tail under a lane mask), then their sum in increasing j.
//   4. p_j = e_j / sum, 16 at a time (a vector division rounds as divss).
//   5. out += p_j * v_j in increasing j, with up to kOutVectors zmm of out
//      held in registers (128 floats; larger heads go in column blocks).
//
// The kernel is bound by reading the keys and values (rows of a KV cache,
// head_dim floats every `stride`, mostly from L2), not by its arithmetic:
// on Zen 5, dropping the exponentials altogether saves only ~6 %.
//
// Compiled with AVX-512 flags; called only after dispatch.cpp checked the
// CPU. Nothing here has external linkage besides attend_avx512, and no std::
// templates are used that the compiler could emit out of line, so no AVX-512
// code leaks into baseline callers through the linker.
#include <immintrin.h>
#include <math.h>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/avx512_util.h"

namespace dtm::cpu {

namespace {

constexpr int kLanes = 8;        // partial sums of a dot product (one ymm)
constexpr int kWideLanes = 16;   // lanes of a zmm
constexpr int kKeyBlock = 8;     // keys whose dot products run side by side (one lane each at the end)
constexpr int kMaxFixedChunks = 16;  // head_dim / 8 up to which q stays in registers (head_dim < 136)
constexpr int kOutVectors = 8;   // zmm of out accumulated in registers by the weighted sum

__mmask8 mask8(int32_t n) { return __mmask8((1u << n) - 1u); }                                   // n in 0..8

// Lane r = scale * (the reference's pairwise combination of acc[r]'s 8 lanes).
__m256 combine8(const __m256 * acc, __m256 vscale) {
    // hadd(a, b) = [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7]
    const __m256 h01 = _mm256_hadd_ps(acc[0], acc[1]), h23 = _mm256_hadd_ps(acc[2], acc[3]);
    const __m256 h45 = _mm256_hadd_ps(acc[4], acc[5]), h67 = _mm256_hadd_ps(acc[6], acc[7]);
    // Lane r < 4 of g0: (a0+a1)+(a2+a3) of key r; lane 4 + r: (a4+a5)+(a6+a7). g1: keys 4..7.
    const __m256 g0 = _mm256_hadd_ps(h01, h23), g1 = _mm256_hadd_ps(h45, h67);
    const __m256 d = _mm256_add_ps(_mm256_permute2f128_ps(g0, g1, 0x20), _mm256_permute2f128_ps(g0, g1, 0x31));
    return _mm256_mul_ps(d, vscale);
}

// Rows of the keys j0 .. j0+7; past the last key (n_keys - 1) its row again.
void key_rows(const float * keys, int64_t stride, int32_t j0, int32_t n_keys, const float ** k) {
    if (j0 + kKeyBlock <= n_keys) {
        const float * k0 = keys + j0 * stride;
#pragma GCC unroll 8
        for (int r = 0; r < kKeyBlock; ++r) k[r] = k0 + r * stride;
    } else {
        for (int r = 0; r < kKeyBlock; ++r) k[r] = keys + (j0 + r < n_keys ? j0 + r : n_keys - 1) * stride;
    }
}

// Stores the scores of keys j0 .. j0+7 that exist and folds them into vmax.
void put_scores(__m256 s, float * scores, int32_t j0, int32_t n_keys, __m256 * vmax) {
    *vmax = _mm256_max_ps(s, *vmax);  // (s > m ? s : m); repeated last keys change nothing
    if (j0 + kKeyBlock <= n_keys) {
        _mm256_storeu_ps(scores + j0, s);
    } else {
        _mm256_mask_storeu_ps(scores + j0, mask8(n_keys - j0), s);
    }
}

// Scores of all keys for a head of NC full chunks of 8 and a tail of
// `tail` (0..7) floats: q stays in registers, and each key's accumulator
// runs through the chunks in order.
template <int NC>
__m256 scores_fixed(const float * q, const float * keys, int64_t stride, int32_t n_keys, int32_t tail,
                    __m256 vscale, float * scores) {
    __m256 qv[NC + 1];
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) qv[c] = _mm256_loadu_ps(q + c * kLanes);
    const __mmask8 tm = mask8(tail);
    qv[NC] = _mm256_maskz_loadu_ps(tm, q + NC * kLanes);
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (int32_t j0 = 0; j0 < n_keys; j0 += kKeyBlock) {
        const float * k[kKeyBlock];
        key_rows(keys, stride, j0, n_keys, k);
        __m256 acc[kKeyBlock];
#pragma GCC unroll 8
        for (int r = 0; r < kKeyBlock; ++r) {
            __m256 a = _mm256_setzero_ps();
#pragma GCC unroll 16
            for (int c = 0; c < NC; ++c) a = _mm256_add_ps(a, _mm256_mul_ps(qv[c], _mm256_loadu_ps(k[r] + c * kLanes)));
            if (tail != 0) a = _mm256_add_ps(a, _mm256_mul_ps(qv[NC], _mm256_maskz_loadu_ps(tm, k[r] + NC * kLanes)));
            acc[r] = a;
        }
        put_scores(combine8(acc, vscale), scores, j0, n_keys, &vmax);
    }
    return vmax;
}

// The same for any head_dim, with the chunks in a loop (q read from memory).
__m256 scores_any(const float * q, const float * keys, int64_t stride, int32_t n_keys, int32_t head_dim,
                  __m256 vscale, float * scores) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (int32_t j0 = 0; j0 < n_keys; j0 += kKeyBlock) {
        const float * k[kKeyBlock];
        key_rows(keys, stride, j0, n_keys, k);
        __m256 acc[kKeyBlock];
#pragma GCC unroll 8
        for (int r = 0; r < kKeyBlock; ++r) acc[r] = _mm256_setzero_ps();
        int32_t i = 0;
        for (; i + kLanes <= head_dim; i += kLanes) {
            const __m256 qv = _mm256_loadu_ps(q + i);
#pragma GCC unroll 8
            for (int r = 0; r < kKeyBlock; ++r) {
                acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(qv, _mm256_loadu_ps(k[r] + i)));
            }
        }
        if (i < head_dim) {
            const __mmask8 tm = mask8(head_dim - i);
            const __m256 qv = _mm256_maskz_loadu_ps(tm, q + i);
#pragma GCC unroll 8
            for (int r = 0; r < kKeyBlock; ++r) {
                acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(qv, _mm256_maskz_loadu_ps(tm, k[r] + i)));
            }
        }
        put_scores(combine8(acc, vscale), scores, j0, n_keys, &vmax);
    }
    return vmax;
}

using ScoresFixedFn = __m256 (*)(const float *, const float *, int64_t, int32_t, int32_t, __m256, float *);

// scores_fixed for head_dim / 8 full chunks, or nullptr past kMaxFixedChunks.
ScoresFixedFn scores_fixed_for(int32_t n_chunks) {
    static_assert(kMaxFixedChunks == 16, "update the table below");
    switch (n_chunks) {
        case 0: return &scores_fixed<0>;
        case 1: return &scores_fixed<1>;
        case 2: return &scores_fixed<2>;
        case 3: return &scores_fixed<3>;
        case 4: return &scores_fixed<4>;
        case 5: return &scores_fixed<5>;
        case 6: return &scores_fixed<6>;
        case 7: return &scores_fixed<7>;
        case 8: return &scores_fixed<8>;
        case 9: return &scores_fixed<9>;
        case 10: return &scores_fixed<10>;
        case 11: return &scores_fixed<11>;
        case 12: return &scores_fixed<12>;
        case 13: return &scores_fixed<13>;
        case 14: return &scores_fixed<14>;
        case 15: return &scores_fixed<15>;
        case 16: return &scores_fixed<16>;
        default: return nullptr;
    }
}

// out[0, 16 * NV) (the last zmm only its lanes in `tail`) = sum_j p[j] * v_j,
// in increasing j.
template <int NV>
void weighted_sum(float * out, const float * values, int64_t stride, const float * p, int32_t n_keys,
                  __mmask16 tail) {
    __m512 acc[NV];
#pragma GCC unroll 8
    for (int u = 0; u < NV; ++u) acc[u] = _mm512_setzero_ps();
    const float * v = values;
    for (int32_t j = 0; j < n_keys; ++j, v += stride) {
        const __m512 pj = _mm512_set1_ps(p[j]);
#pragma GCC unroll 8
        for (int u = 0; u < NV; ++u) {
            const __m512 vv = u == NV - 1 ? _mm512_maskz_loadu_ps(tail, v + u * kWideLanes)
                                          : _mm512_loadu_ps(v + u * kWideLanes);
            acc[u] = _mm512_add_ps(acc[u], _mm512_mul_ps(pj, vv));
        }
    }
#pragma GCC unroll 8
    for (int u = 0; u < NV - 1; ++u) _mm512_storeu_ps(out + u * kWideLanes, acc[u]);
    _mm512_mask_storeu_ps(out + (NV - 1) * kWideLanes, tail, acc[NV - 1]);
}

using WeightedSumFn = void (*)(float *, const float *, int64_t, const float *, int32_t, __mmask16);

WeightedSumFn weighted_sum_for(int nv) {
    static_assert(kOutVectors == 8, "update the table below");
    switch (nv) {
        case 1: return &weighted_sum<1>;
        case 2: return &weighted_sum<2>;
        case 3: return &weighted_sum<3>;
        case 4: return &weighted_sum<4>;
        case 5: return &weighted_sum<5>;
        case 6: return &weighted_sum<6>;
        case 7: return &weighted_sum<7>;
        default: return &weighted_sum<8>;
    }
}

}  // namespace

void attend_avx512(float * out, const float * q, const float * keys, const float * values, int64_t stride,
                   int32_t n_keys, int32_t head_dim, float * scores) {
    const float scale = 1.0f / sqrtf(float(head_dim));

    // 1-2. Scores and their maximum.
    const __m256 vscale = _mm256_set1_ps(scale);
    const ScoresFixedFn fixed = scores_fixed_for(head_dim / kLanes);
    const __m256 vmax = fixed != nullptr ? fixed(q, keys, stride, n_keys, head_dim % kLanes, vscale, scores)
                                         : scores_any(q, keys, stride, n_keys, head_dim, vscale, scores);
    alignas(32) float lane_max[kLanes];
    _mm256_store_ps(lane_max, vmax);
    float max = -INFINITY;
    for (int r = 0; r < kLanes; ++r) {
        if (lane_max[r] > max) max = lane_max[r];
    }

    // 3. Exponentials (16 at a time), then their sum in increasing j.
    const __m512 vmax_all = _mm512_set1_ps(max);
    int32_t j = 0;
    for (; j + kWideLanes <= n_keys; j += kWideLanes) {
        _mm512_storeu_ps(scores + j, exp_nonpos(_mm512_sub_ps(_mm512_loadu_ps(scores + j), vmax_all)));
    }
    if (j < n_keys) {
        const __mmask16 tail = mask16_below(n_keys - j);
        const __m512 s = _mm512_maskz_loadu_ps(tail, scores + j);
        _mm512_mask_storeu_ps(scores + j, tail, exp_nonpos(_mm512_sub_ps(s, vmax_all)));
    }
    float sum = 0.0f;
    for (j = 0; j < n_keys; ++j) sum += scores[j];

    // 4. Probabilities.
    const __m512 vsum = _mm512_set1_ps(sum);
    for (j = 0; j + kWideLanes <= n_keys; j += kWideLanes) {
        _mm512_storeu_ps(scores + j, _mm512_div_ps(_mm512_loadu_ps(scores + j), vsum));
    }
    for (; j < n_keys; ++j) scores[j] = scores[j] / sum;

    // 5. Weighted sum of the values, in column blocks of up to kOutVectors zmm.
    for (int32_t i0 = 0; i0 < head_dim; i0 += kOutVectors * kWideLanes) {
        const int32_t width = head_dim - i0 < kOutVectors * kWideLanes ? head_dim - i0 : kOutVectors * kWideLanes;
        const int nv = (width + kWideLanes - 1) / kWideLanes;
        weighted_sum_for(nv)(out + i0, values + i0, stride, scores, n_keys, mask16_below(width - (nv - 1) * kWideLanes));
    }
}

}  // namespace dtm::cpu
