// attention_avx2.cpp - one head's attention (attention.h), AVX2.
//
// The operations of attend_ref, lane by lane:
//   1. Scores, kKeyBlock = 8 keys at a time (with 16 registers, q is read
//      from memory). Key r of the block has its own accumulator vector whose
//      lanes are the reference's 8 partial sums: acc_r += q[i..i+7] *
//      k_r[i..i+7] (mul, then add) in increasing i; the head_dim % 8 tail is
//      read with a masked load whose missing lanes are 0, adding +0, which
//      leaves a partial sum unchanged (a sum started at +0 never becomes -0).
//      Two rounds of hadd and one add of the 128-bit halves then combine the
//      8 accumulators exactly as the reference does, ((a0 + a1) + (a2 + a3))
//      + ((a4 + a5) + (a6 + a7)), into one vector of 8 dot products, scaled by
//      one multiply. A last, partial block repeats the last key in its
//      missing lanes (never stored, neutral for the max).
//   2. max by maxps(s, m) = (s > m ? s : m), the reference's comparison.
//   3. e_j = exp(s_j - m) by the flushed polynomial of exp_poly.h, 8 at a
//      time (the tail under a lane mask), then their sum in increasing j.
//   4. p_j = e_j / sum, 8 at a time (a vector division rounds as divss).
//   5. out += p_j * v_j in increasing j, with up to kOutVectors vectors of out
//      held in registers (64 floats; larger heads go in column blocks).
//
// Compiled with AVX2 flags; called only after dispatch.cpp checked the CPU.
// Nothing here has external linkage besides attend_avx2, and no std::
// templates are used that the compiler could emit out of line, so no AVX
// code leaks into baseline callers through the linker.
#include <immintrin.h>
#include <math.h>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/avx2_util.h"

namespace dtm::cpu {

namespace {

constexpr int kLanes = 8;
constexpr int kKeyBlock = 8;    // keys whose dot products run side by side (one lane each at the end)
constexpr int kOutVectors = 8;  // vectors of out accumulated in registers by the weighted sum

// Lane r = dot(q, k[r]) in the reference's order, r = 0..7 (head_dim = n).
__m256 dot8(const float * q, const float * const * k, int32_t n, __m256i tail) {
    __m256 acc[kKeyBlock];
#pragma GCC unroll 8
    for (int r = 0; r < kKeyBlock; ++r) acc[r] = _mm256_setzero_ps();
    int32_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        const __m256 qv = _mm256_loadu_ps(q + i);
#pragma GCC unroll 8
        for (int r = 0; r < kKeyBlock; ++r) {
            acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(qv, _mm256_loadu_ps(k[r] + i)));
        }
    }
    if (i < n) {
        const __m256 qv = _mm256_maskload_ps(q + i, tail);
#pragma GCC unroll 8
        for (int r = 0; r < kKeyBlock; ++r) {
            acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(qv, _mm256_maskload_ps(k[r] + i, tail)));
        }
    }
    // hadd(a, b) = [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7]
    const __m256 h01 = _mm256_hadd_ps(acc[0], acc[1]), h23 = _mm256_hadd_ps(acc[2], acc[3]);
    const __m256 h45 = _mm256_hadd_ps(acc[4], acc[5]), h67 = _mm256_hadd_ps(acc[6], acc[7]);
    // Lane r < 4 of g0: (a0+a1)+(a2+a3) of key r; lane 4 + r: (a4+a5)+(a6+a7). g1: keys 4..7.
    const __m256 g0 = _mm256_hadd_ps(h01, h23), g1 = _mm256_hadd_ps(h45, h67);
    return _mm256_add_ps(_mm256_permute2f128_ps(g0, g1, 0x20), _mm256_permute2f128_ps(g0, g1, 0x31));
}

// out[0, 8 * NV) (the last vector only its lanes in `tail` when TAIL) =
// sum_j p[j] * v_j, in increasing j.
template <int NV, bool TAIL>
void weighted_sum(float * out, const float * values, int64_t stride, const float * p, int32_t n_keys,
                  __m256i tail) {
    __m256 acc[NV];
#pragma GCC unroll 8
    for (int u = 0; u < NV; ++u) acc[u] = _mm256_setzero_ps();
    const float * v = values;
    for (int32_t j = 0; j < n_keys; ++j, v += stride) {
        const __m256 pj = _mm256_set1_ps(p[j]);
#pragma GCC unroll 8
        for (int u = 0; u < NV; ++u) {
            const __m256 vv = (TAIL && u == NV - 1) ? _mm256_maskload_ps(v + u * kLanes, tail)
                                                    : _mm256_loadu_ps(v + u * kLanes);
            acc[u] = _mm256_add_ps(acc[u], _mm256_mul_ps(pj, vv));
        }
    }
#pragma GCC unroll 8
    for (int u = 0; u < NV; ++u) {
        if (TAIL && u == NV - 1) {
            _mm256_maskstore_ps(out + u * kLanes, tail, acc[u]);
        } else {
            _mm256_storeu_ps(out + u * kLanes, acc[u]);
        }
    }
}

using WeightedSumFn = void (*)(float *, const float *, int64_t, const float *, int32_t, __m256i);

template <bool TAIL>
WeightedSumFn weighted_sum_for(int nv) {
    static_assert(kOutVectors == 8, "update the table below");
    switch (nv) {
        case 1: return &weighted_sum<1, TAIL>;
        case 2: return &weighted_sum<2, TAIL>;
        case 3: return &weighted_sum<3, TAIL>;
        case 4: return &weighted_sum<4, TAIL>;
        case 5: return &weighted_sum<5, TAIL>;
        case 6: return &weighted_sum<6, TAIL>;
        case 7: return &weighted_sum<7, TAIL>;
        default: return &weighted_sum<8, TAIL>;
    }
}

}  // namespace

void attend_avx2(float * out, const float * q, const float * keys, const float * values, int64_t stride,
                 int32_t n_keys, int32_t head_dim, float * scores) {
    const float scale = 1.0f / sqrtf(float(head_dim));

    // 1-2. Scores and their maximum.
    const __m256i dot_tail = lanes_below(head_dim % kLanes);
    const __m256 vscale = _mm256_set1_ps(scale);
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (int32_t j0 = 0; j0 < n_keys; j0 += kKeyBlock) {
        const float * k[kKeyBlock];
#pragma GCC unroll 8
        for (int r = 0; r < kKeyBlock; ++r) {
            const int32_t j = j0 + r < n_keys ? j0 + r : n_keys - 1;
            k[r] = keys + j * stride;
        }
        const __m256 s = _mm256_mul_ps(dot8(q, k, head_dim, dot_tail), vscale);
        vmax = _mm256_max_ps(s, vmax);
        if (j0 + kKeyBlock <= n_keys) {
            _mm256_storeu_ps(scores + j0, s);
        } else {
            _mm256_maskstore_ps(scores + j0, lanes_below(n_keys - j0), s);
        }
    }
    alignas(32) float lane_max[kLanes];
    _mm256_store_ps(lane_max, vmax);
    float max = -INFINITY;
    for (int r = 0; r < kLanes; ++r) {
        if (lane_max[r] > max) max = lane_max[r];
    }

    // 3. Exponentials (8 at a time), then their sum in increasing j.
    const __m256 vmax_all = _mm256_set1_ps(max);
    int32_t j = 0;
    for (; j + kLanes <= n_keys; j += kLanes) {
        _mm256_storeu_ps(scores + j, exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(scores + j), vmax_all)));
    }
    if (j < n_keys) {
        const __m256i tail = lanes_below(n_keys - j);
        const __m256 s = _mm256_maskload_ps(scores + j, tail);
        _mm256_maskstore_ps(scores + j, tail, exp_nonpos(_mm256_sub_ps(s, vmax_all)));
    }
    float sum = 0.0f;
    for (j = 0; j < n_keys; ++j) sum += scores[j];

    // 4. Probabilities.
    const __m256 vsum = _mm256_set1_ps(sum);
    for (j = 0; j + kLanes <= n_keys; j += kLanes) {
        _mm256_storeu_ps(scores + j, _mm256_div_ps(_mm256_loadu_ps(scores + j), vsum));
    }
    for (; j < n_keys; ++j) scores[j] = scores[j] / sum;

    // 5. Weighted sum of the values, in column blocks of up to kOutVectors vectors.
    for (int32_t i0 = 0; i0 < head_dim; i0 += kOutVectors * kLanes) {
        const int32_t width = head_dim - i0 < kOutVectors * kLanes ? head_dim - i0 : kOutVectors * kLanes;
        const int32_t rem = width % kLanes;
        const int nv = (width + kLanes - 1) / kLanes;
        const WeightedSumFn fn = rem != 0 ? weighted_sum_for<true>(nv) : weighted_sum_for<false>(nv);
        fn(out + i0, values + i0, stride, scores, n_keys, lanes_below(rem));
    }
}

}  // namespace dtm::cpu
