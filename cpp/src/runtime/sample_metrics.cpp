#include "runtime/sample_metrics.h"

#include <cmath>

namespace dtm {

SampleMetrics reduce_sample(const int32_t * diverged, const float * logprob, const float * base_logprob,
                            const float * kl, int32_t N) {
    int32_t fdt = N, sdt = 0;
    double nll = 0, dp = 0, klsum = 0;
    for (int32_t i = 0; i < N; ++i) {
        if (diverged[i]) {
            if (fdt == N) fdt = i;
            ++sdt;
        }
        nll -= logprob[i];
        dp += std::exp(double(logprob[i])) - std::exp(double(base_logprob[i]));
        klsum += kl[i];
    }
    return SampleMetrics{fdt, sdt, float(nll / N), float(dp / N), float(klsum / N)};
}

}  // namespace dtm
