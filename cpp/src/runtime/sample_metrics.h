// sample_metrics.h - the divergent token metrics of one sample (DESIGN.md
// section 1) from its per-position values: a pure reduction, the same
// however the positions were batched or on which backend they were scored.
#pragma once

#include <cstdint>

namespace dtm {

struct SampleMetrics {
    int32_t fdt;    // tokens before the first diverged position (N if none)
    int32_t sdt;    // diverged positions
    float nll;      // mean of -logprob
    float delta_p;  // mean of p - p_base (NaN where a base log-prob is NaN)
    float kl;       // mean of the per-position KL (NaN where one is NaN)
};

// Positions i = 0 .. N-1 (N >= 1) of one continuation: diverged[i] = 1 when
// the argmax is not the reference token, logprob[i] = log p_F'(y_i),
// base_logprob[i] = log p_F(y_i), kl[i] = KL at i. Sums run in double, in
// order i = 0 .. N-1.
SampleMetrics reduce_sample(const int32_t * diverged, const float * logprob, const float * base_logprob,
                            const float * kl, int32_t N);

}  // namespace dtm
