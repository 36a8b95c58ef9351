// row_stats_avx2.cpp - per-row statistics of logits, AVX2 + FMA.
//
// Three passes over the row (z, n entries), 8 lanes per vector:
//   1. m = max z with 4 independent max vectors, and a NaN check;
//   2. argmax = first i with z[i] == m (exact, ties to the lowest id);
//   3. s = sum exp(z[i] - m): exp by the polynomial of exp_poly.h in float;
//      each group of 4 vectors is added pairwise in float, (e0 + e1) +
//      (e2 + e3) (relative error <= 2 * 2^-24), widened to double and added
//      to two accumulators of 4 doubles (lanes 0-3, 4-7); leftover vectors
//      are widened one by one; finally lo + hi and its 4 lanes left to right.
//   logsumexp = float(m + log(s)).
// The row's tail (n % 8) is read with a masked load and its missing lanes
// set to -inf, neutral for the max and exp(-inf) = 0 for the sum.
//
// Compiled with AVX2 flags; called only after dispatch.cpp checked the CPU.
// Nothing here has external linkage besides row_stats_avx2.
#include <immintrin.h>
#include <math.h>

#include "kernels/cpu/avx2_util.h"
#include "kernels/cpu/row_stats.h"

namespace dtm::cpu {

namespace {

constexpr int kLanes = 8;
constexpr int kMaxUnroll = 4;  // vectors per step of the max pass (independent max chains)
constexpr int kSumGroup = 4;   // exp vectors added pairwise in float before widening to double

// Lanes [0, rem) of p, the others -inf (rem in 1..7).
__m256 load_tail(const float * p, int64_t rem) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(rem)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 v = _mm256_maskload_ps(p, mask);
    return _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), v, _mm256_castsi256_ps(mask));
}

// exp(z - m) by avx2_util.h's exp_nonpos (exp_poly.h); <= 1.06 ulp, 0 below kExpMinArg.
__m256 exp_of_diff(const float * z, __m256 m) { return exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(z), m)); }

// Adds the 8 lanes of e to two accumulators of 4 doubles (lanes 0-3, 4-7).
void add_wide(__m256 e, __m256d & lo, __m256d & hi) {
    lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
}

int64_t first_nan(const float * z, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        if (z[i] != z[i]) return i;
    }
    return -1;
}

// Pass 1: max of z (NaN lanes ignored); *has_nan tells whether any was seen.
float row_max(const float * z, int64_t n, bool * has_nan) {
    __m256 mx[kMaxUnroll];
    for (int j = 0; j < kMaxUnroll; ++j) mx[j] = _mm256_set1_ps(-INFINITY);
    __m256 nan = _mm256_setzero_ps();  // all-ones lanes where a NaN was seen
    int64_t i = 0;
    for (; i + kMaxUnroll * kLanes <= n; i += kMaxUnroll * kLanes) {
#pragma GCC unroll 4
        for (int j = 0; j < kMaxUnroll; ++j) {
            const __m256 v = _mm256_loadu_ps(z + i + j * kLanes);
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
            mx[j] = _mm256_max_ps(mx[j], v);
        }
    }
    for (; i + kLanes <= n; i += kLanes) {
        const __m256 v = _mm256_loadu_ps(z + i);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        mx[0] = _mm256_max_ps(mx[0], v);
    }
    if (i < n) {
        const __m256 v = load_tail(z + i, n - i);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        mx[0] = _mm256_max_ps(mx[0], v);
    }
    *has_nan = _mm256_movemask_ps(nan) != 0;
    __m256 m = _mm256_max_ps(_mm256_max_ps(mx[0], mx[1]), _mm256_max_ps(mx[2], mx[3]));
    m = _mm256_max_ps(m, _mm256_permute2f128_ps(m, m, 1));           // lanes i, i+4
    m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, _MM_SHUFFLE(1, 0, 3, 2)));  // i, i+2
    m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, _MM_SHUFFLE(2, 3, 0, 1)));  // i, i+1
    return _mm256_cvtss_f32(m);
}

// Pass 2: first i with z[i] == m (m is an entry of z, so one exists).
int64_t first_equal(const float * z, int64_t n, float m) {
    const __m256 mv = _mm256_set1_ps(m);
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        const int eq = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(z + i), mv, _CMP_EQ_OQ));
        if (eq != 0) return i + __builtin_ctz(unsigned(eq));
    }
    if (i < n) {
        const int eq = _mm256_movemask_ps(_mm256_cmp_ps(load_tail(z + i, n - i), mv, _CMP_EQ_OQ));
        if (eq != 0) return i + __builtin_ctz(unsigned(eq));
    }
    return 0;  // only if m were not in z (cannot happen)
}

// Pass 3: sum exp(z[i] - m) in a fixed order (see the file comment).
double sum_exp(const float * z, int64_t n, float m) {
    const __m256 mv = _mm256_set1_ps(m);
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + kSumGroup * kLanes <= n; i += kSumGroup * kLanes) {
        static_assert(kSumGroup == 4, "the pairwise sum below adds 4 vectors");
        const __m256 e0 = exp_of_diff(z + i, mv), e1 = exp_of_diff(z + i + kLanes, mv);
        const __m256 e2 = exp_of_diff(z + i + 2 * kLanes, mv), e3 = exp_of_diff(z + i + 3 * kLanes, mv);
        add_wide(_mm256_add_ps(_mm256_add_ps(e0, e1), _mm256_add_ps(e2, e3)), lo, hi);
    }
    for (; i + kLanes <= n; i += kLanes) add_wide(exp_of_diff(z + i, mv), lo, hi);
    if (i < n) add_wide(exp_nonpos(_mm256_sub_ps(load_tail(z + i, n - i), mv)), lo, hi);

    alignas(32) double lanes[4];
    _mm256_store_pd(lanes, _mm256_add_pd(lo, hi));
    double s = 0.0;
    for (int j = 0; j < 4; ++j) s += lanes[j];
    return s;
}

}  // namespace

RowStats row_stats_avx2(const float * logits, int64_t n, int32_t target) {
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
