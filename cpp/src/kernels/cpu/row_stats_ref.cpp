// row_stats_ref.cpp - the portable reference of the per-row statistics.
//
//   argmax    = smallest i with z[i] = max z         (ties to the lowest id)
//   max       = z[argmax]
//   logsumexp = max + log(sum_{i=0}^{n-1} exp(z[i] - max))
//
// exp and the sum are evaluated in double, in increasing i, so the reference
// is accurate to the final rounding to float. Special values:
//   - a NaN anywhere: argmax = index of the first NaN, max = logsumexp = NaN
//     (as numpy's argmax/max do; a broken model must not look healthy);
//   - max = +inf: logsumexp = +inf; all entries -inf: logsumexp = -inf;
//   - -inf entries contribute exp(-inf) = 0.
#include <cmath>
#include <cstdint>

#include "core/error.h"
#include "kernels/cpu/row_stats.h"

namespace dtm::cpu {

void check_row_stats_args(const float * logits, int64_t n, int32_t target) {
    if (logits == nullptr || n <= 0 || n > INT32_MAX) {
        fail(DTM_ERR_INVALID_ARGUMENT, "row statistics need 1 to 2^31-1 logits (got %s%lld)",
             logits == nullptr ? "NULL, n = " : "", static_cast<long long>(n));
    }
    if (target >= n) {
        fail(DTM_ERR_TOKEN_OUT_OF_RANGE, "target %d is outside the %lld logits", int(target),
             static_cast<long long>(n));
    }
}

RowStats row_stats_ref(const float * logits, int64_t n, int32_t target) {
    check_row_stats_args(logits, n, target);
    RowStats s;
    s.target_logit = target >= 0 ? logits[target] : NAN;

    for (int64_t i = 0; i < n; ++i) {
        if (std::isnan(logits[i])) {
            s.argmax = int32_t(i);
            s.max = s.logsumexp = NAN;
            return s;
        }
    }

    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i) {
        if (logits[i] > logits[best]) best = i;  // strict: the first maximum wins
    }
    s.argmax = int32_t(best);
    s.max = logits[best];
    if (std::isinf(s.max)) {  // +inf dominates; all -inf means log(0)
        s.logsumexp = s.max;
        return s;
    }

    const double m = s.max;
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(double(logits[i]) - m);
    s.logsumexp = float(m + std::log(sum));
    return s;
}

}  // namespace dtm::cpu
