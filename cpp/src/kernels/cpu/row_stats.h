// row_stats.h - per-position statistics of a row of logits, one entry per ISA.
//
// For logits z (n entries) and a target id (or -1 for none):
//   argmax     = smallest i with z[i] = max z   (ties go to the lowest id)
//   max        = max z
//   logsumexp  = max + log(sum_i exp(z[i] - max))
//   target     = z[target] (NaN when target < 0)
// argmax and max are exact on every path; logsumexp uses each path's exp and
// a fixed summation order, so it agrees with the reference within a few ulp
// of the sum (tolerance stated in the tests) and is bitwise reproducible on
// the same path.
//
// Special values, the same on every path: a NaN anywhere gives argmax = the
// first NaN's index and max = logsumexp = NaN (as numpy's argmax/max); a +inf
// maximum gives logsumexp = +inf; a row of only -inf gives logsumexp = -inf.
// Preconditions, checked on every path: logits != NULL and n >= 1, else
// DTM_ERR_INVALID_ARGUMENT; target < n, else DTM_ERR_TOKEN_OUT_OF_RANGE.
#pragma once

#include <cstdint>

namespace dtm::cpu {

struct RowStats {
    int32_t argmax;
    float max;
    float logsumexp;
    float target_logit;
};

using RowStatsFn = RowStats (*)(const float * logits, int64_t n, int32_t target);

// Throws for arguments that break the preconditions above.
void check_row_stats_args(const float * logits, int64_t n, int32_t target);

RowStats row_stats_ref(const float * logits, int64_t n, int32_t target);
RowStats row_stats_avx2(const float * logits, int64_t n, int32_t target);
RowStats row_stats_avx512(const float * logits, int64_t n, int32_t target);

}  // namespace dtm::cpu
