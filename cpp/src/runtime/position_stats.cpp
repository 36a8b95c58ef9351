#include "runtime/position_stats.h"

#include <algorithm>
#include <cmath>

namespace dtm {

namespace {

// A divergence rounded below zero is zero; NaN stays NaN (std::max(0.0, NaN)
// would give 0 and report a broken candidate as perfect).
double clamp_at_zero(double kl) { return kl < 0.0 ? 0.0 : kl; }

}  // namespace

void top_k_ids(const float * z, int64_t n, int32_t k, int32_t * ids) {
    // ids[0..filled) sorted by (value desc, id asc). A candidate enters only
    // when strictly larger than the current last, so among equal values the
    // lower id (seen first) stays ahead.
    int32_t filled = 0;
    for (int64_t v = 0; v < n; ++v) {
        const float x = z[v];
        if (filled == k && !(x > z[ids[k - 1]])) continue;
        int32_t i = filled < k ? filled++ : k - 1;
        while (i > 0 && x > z[ids[i - 1]]) {
            ids[i] = ids[i - 1];
            --i;
        }
        ids[i] = int32_t(v);
    }
}

double kl_exact(const float * zF, float lseF, const float * zC, float lseC, int64_t n) {
    double kl = 0.0;
    for (int64_t v = 0; v < n; ++v) {
        const double lpF = double(zF[v]) - double(lseF);
        const double lpC = double(zC[v]) - double(lseC);
        const double p = std::exp(lpF);
        if (p != 0.0) kl += p * (lpF - lpC);  // 0 log 0 = 0; a NaN p or log-probability propagates
    }
    return clamp_at_zero(kl);
}

double kl_top_k(const int32_t * ids, const float * logprobs_F, int32_t k, const float * zC, float lseC) {
    double kl = 0.0, massF = 0.0, massC = 0.0;
    for (int32_t j = 0; j < k; ++j) {
        const double lpF = logprobs_F[j];
        const double lpC = double(zC[ids[j]]) - double(lseC);
        const double p = std::exp(lpF);
        massF += p;
        massC += std::exp(lpC);
        if (p != 0.0) kl += p * (lpF - lpC);  // as in kl_exact
    }
    const double tF = 1.0 - massF, tC = 1.0 - massC;
    // Tails below 1e-6 are rounding of the float log-probabilities, not mass.
    if (tF > 1e-6) {
        // tC can round to <= 0 when C puts (almost) all its mass on F's top-k.
        kl += tF * (std::log(tF) - std::log(tC < 1e-30 ? 1e-30 : tC));  // a NaN tC stays NaN
    }
    return clamp_at_zero(kl);
}

}  // namespace dtm
