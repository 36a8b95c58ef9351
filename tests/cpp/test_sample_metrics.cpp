// test_sample_metrics.cpp - the per-sample reduction of the divergent token
// metrics (runtime/sample_metrics.h), a pure function of per-position values.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "runtime/sample_metrics.h"

namespace dtm {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(SampleMetrics, FdtCountsTheTokensBeforeTheFirstDivergenceAndSdtAllOfThem) {
    const std::vector<int32_t> d = {0, 0, 1, 0, 1, 1};
    const std::vector<float> lp = {-1, -2, -3, -4, -5, -6}, base = {-1, -1, -1, -1, -1, -1}, kl = {0, 1, 2, 3, 4, 5};
    const SampleMetrics m = reduce_sample(d.data(), lp.data(), base.data(), kl.data(), 6);
    EXPECT_EQ(m.fdt, 2);
    EXPECT_EQ(m.sdt, 3);
    EXPECT_FLOAT_EQ(m.nll, 21.0f / 6);
    EXPECT_FLOAT_EQ(m.kl, 15.0f / 6);
    double dp = 0;
    for (size_t i = 0; i < lp.size(); ++i) dp += std::exp(double(lp[i])) - std::exp(double(base[i]));
    EXPECT_FLOAT_EQ(m.delta_p, float(dp / 6));
}

TEST(SampleMetrics, NoDivergenceGivesFdtNAndSdtZero) {
    const std::vector<int32_t> d = {0, 0, 0};
    const std::vector<float> lp = {-0.5f, -0.5f, -0.5f}, base = lp, kl = {0, 0, 0};
    const SampleMetrics m = reduce_sample(d.data(), lp.data(), base.data(), kl.data(), 3);
    EXPECT_EQ(m.fdt, 3);
    EXPECT_EQ(m.sdt, 0);
    EXPECT_EQ(m.delta_p, 0.0f);
    EXPECT_EQ(m.kl, 0.0f);
}

TEST(SampleMetrics, DivergingAtTheFirstTokenGivesFdtZero) {
    const std::vector<int32_t> d = {1, 0};
    const std::vector<float> lp = {-1, -1}, base = {-1, -1}, kl = {0, 0};
    EXPECT_EQ(reduce_sample(d.data(), lp.data(), base.data(), kl.data(), 2).fdt, 0);
}

TEST(SampleMetrics, NaNInputsGiveNaNMeansNeverANumber) {
    const std::vector<int32_t> d = {0, 0};
    const std::vector<float> lp = {-1, kNaN}, base = {kNaN, kNaN}, kl = {0.1f, kNaN};
    const SampleMetrics m = reduce_sample(d.data(), lp.data(), base.data(), kl.data(), 2);
    EXPECT_TRUE(std::isnan(m.nll));
    EXPECT_TRUE(std::isnan(m.delta_p));  // no base log-probs
    EXPECT_TRUE(std::isnan(m.kl));
}

}  // namespace
}  // namespace dtm
