// row_stats_avx512.cpp - per-row statistics of logits, AVX-512F.
//
// Three passes over the row (z, n entries), 16 lanes per vector:
//   1. m = max z with 4 independent max vectors, and a NaN check;
//   2. argmax = first i with z[i] == m (exact, ties to the lowest id);
//   3. s = sum exp(z[i] - m): exp by the polynomial of exp_poly.h in float;
//      each group of 4 vectors is added pairwise in float, (e0 + e1) +
//      (e2 + e3) (relative error <= 2 * 2^-24), widened to double and added
//      to two accumulators of 8 doubles (lanes 0-7, 8-15); leftover vectors
//      are widened one by one; finally lo + hi and its 8 lanes left to right.
//   logsumexp = float(m + log(s)).
// The row's tail (n % 16) is read with a masked load that fills -inf, which
// is neutral for the max and adds exp(-inf) = 0 to the sum.
//
// Compiled with AVX-512 flags; called only after dispatch.cpp checked the CPU.
// Nothing here has external linkage besides row_stats_avx512.
#include <immintrin.h>
#include <math.h>

#include "kernels/cpu/avx512_util.h"
#include "kernels/cpu/exp_poly.h"
#include "kernels/cpu/row_stats.h"

namespace dtm::cpu {

namespace {

constexpr int kLanes = 16;
constexpr int kMaxUnroll = 4;  // vectors per step of the max pass (independent max chains)
constexpr int kSumGroup = 4;   // exp vectors added pairwise in float before widening to double

__m512 load_tail(const float * p, int64_t rem) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), mask16_below(rem), p);
}

// exp(d) for d <= 0 or d = -inf (see exp_poly.h); <= 1.06 ulp, 0 for d = -inf.
__m512 exp_nonpos_scalef(__m512 d) {
    __m512 n;
    const __m512 p = exp_poly_reduced(_mm512_max_ps(d, _mm512_set1_ps(exp_poly::kExpMinArgScalef)), &n);
    return _mm512_scalef_ps(p, n);  // p * 2^n
}

__m512 exp_of_diff(const float * z, __m512 m) { return exp_nonpos_scalef(_mm512_sub_ps(_mm512_loadu_ps(z), m)); }

// Adds the 16 lanes of e to two accumulators of 8 doubles (lanes 0-7, 8-15).
void add_wide(__m512 e, __m512d & lo, __m512d & hi) {
    lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
}

int64_t first_nan(const float * z, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        if (z[i] != z[i]) return i;
    }
    return -1;
}

// Pass 1: max of z (NaN lanes ignored); *has_nan tells whether any was seen.
float row_max(const float * z, int64_t n, bool * has_nan) {
    __m512 mx[kMaxUnroll];
    for (int j = 0; j < kMaxUnroll; ++j) mx[j] = _mm512_set1_ps(-INFINITY);
    __mmask16 nan = 0;
    int64_t i = 0;
    for (; i + kMaxUnroll * kLanes <= n; i += kMaxUnroll * kLanes) {
#pragma GCC unroll 4
        for (int j = 0; j < kMaxUnroll; ++j) {
            const __m512 v = _mm512_loadu_ps(z + i + j * kLanes);
            nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
            mx[j] = _mm512_max_ps(mx[j], v);
        }
    }
    for (; i + kLanes <= n; i += kLanes) {
        const __m512 v = _mm512_loadu_ps(z + i);
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        mx[0] = _mm512_max_ps(mx[0], v);
    }
    if (i < n) {
        const __m512 v = load_tail(z + i, n - i);
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        mx[0] = _mm512_max_ps(mx[0], v);
    }
    *has_nan = nan != 0;
    const __m512 m = _mm512_max_ps(_mm512_max_ps(mx[0], mx[1]), _mm512_max_ps(mx[2], mx[3]));
    return _mm512_reduce_max_ps(m);
}

// Pass 2: first i with z[i] == m (m is an entry of z, so one exists).
int64_t first_equal(const float * z, int64_t n, float m) {
    const __m512 mv = _mm512_set1_ps(m);
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        const __mmask16 eq = _mm512_cmp_ps_mask(_mm512_loadu_ps(z + i), mv, _CMP_EQ_OQ);
        if (eq != 0) return i + __builtin_ctz(eq);
    }
    const __mmask16 eq = _mm512_cmp_ps_mask(load_tail(z + i, n - i), mv, _CMP_EQ_OQ);
    return eq != 0 ? i + __builtin_ctz(eq) : 0;  // 0 only if m were not in z (cannot happen)
}

// Pass 3: sum exp(z[i] - m) in a fixed order (see the file comment).
double sum_exp(const float * z, int64_t n, float m) {
    const __m512 mv = _mm512_set1_ps(m);
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i + kSumGroup * kLanes <= n; i += kSumGroup * kLanes) {
        static_assert(kSumGroup == 4, "the pairwise sum below adds 4 vectors");
        const __m512 e0 = exp_of_diff(z + i, mv), e1 = exp_of_diff(z + i + kLanes, mv);
        const __m512 e2 = exp_of_diff(z + i + 2 * kLanes, mv), e3 = exp_of_diff(z + i + 3 * kLanes, mv);
        add_wide(_mm512_add_ps(_mm512_add_ps(e0, e1), _mm512_add_ps(e2, e3)), lo, hi);
    }
    for (; i + kLanes <= n; i += kLanes) add_wide(exp_of_diff(z + i, mv), lo, hi);
    if (i < n) add_wide(exp_nonpos_scalef(_mm512_sub_ps(load_tail(z + i, n - i), mv)), lo, hi);

    alignas(64) double lanes[8];
    _mm512_store_pd(lanes, _mm512_add_pd(lo, hi));
    double s = 0.0;
    for (int j = 0; j < 8; ++j) s += lanes[j];
    return s;
}

}  // namespace

RowStats row_stats_avx512(const float * logits, int64_t n, int32_t target) {
    check_row_stats_args(logits, n, target);
    RowStats s;
    s.target_logit = target >= 0 ? logits[target] : NAN;

    bool has_nan = false;
    const float m = row_max(logits, n, &has_nan);
    if (has_nan) {
        s.argmax = int32_t(first_nan(logits, n));
        s.max = s.logsumexp = NAN;
        return s;
    }
    s.argmax = int32_t(first_equal(logits, n, m));
    s.max = logits[s.argmax];  // the entry itself: keeps the sign of a zero maximum
    if (__builtin_isinf(s.max)) {
        s.logsumexp = s.max;
        return s;
    }
    s.logsumexp = float(double(s.max) + log(sum_exp(logits, n, s.max)));
    return s;
}

}  // namespace dtm::cpu
