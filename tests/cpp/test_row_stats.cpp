// test_row_stats.cpp - argmax / max / logsumexp / target logit of a logits row,
// every path against row_stats_ref (exp and sum in double).
//
// argmax, max and the target logit must be exactly the reference's. The
// logsumexp of a vector path differs by its exp and its float partial sums:
// each term is a float exp within 1.06 ulp (relative error < 1.3e-7, see
// exp_poly.h), groups of 4 terms are added pairwise in float (relative error
// <= 2 * 2^-24 = 1.2e-7) and the groups summed in double, so the sum is
// within 2.5e-7 relative, log(sum) within 2.5e-7 absolute; each side then
// rounds its float result once, which can put them one ulp of lse apart.
// Tolerance:
//
//   |lse - lse_ref| <= kLseAbsTol + 1 ulp(lse_ref),   kLseAbsTol = 3e-7
//
// A path this CPU lacks is reported as skipped (GTEST_SKIP).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/row_stats.h"
#include "test_support.h"

namespace dtm::cpu {
namespace {

using test::bits_of;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kLseAbsTol = 3e-7f;

float ulp(float v) {
    const float a = std::fabs(v);
    return std::nextafter(a, kInf) - a;
}

float lse_tolerance(float want) { return kLseAbsTol + ulp(want); }


std::vector<float> random_logits(int64_t n, uint32_t seed, float scale) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (float & f : v) f = dist(rng);
    return v;
}

class RowStatsPath : public ::testing::TestWithParam<dtm_isa> {
protected:
    void SetUp() override {
        if (!isa_supported(GetParam())) {
            GTEST_SKIP() << isa_name(GetParam()) << " is not supported by this CPU";
        }
        fn_ = kernels(GetParam()).row_stats;
    }

    // Runs the path and the reference and checks they agree (see the top).
    RowStats check(const std::vector<float> & z, int32_t target, const std::string & what) {
        const RowStats got = fn_(z.data(), int64_t(z.size()), target);
        const RowStats want = row_stats_ref(z.data(), int64_t(z.size()), target);
        EXPECT_EQ(got.argmax, want.argmax) << what;
        EXPECT_EQ(bits_of(got.max), bits_of(want.max)) << what << ": max " << got.max << " vs " << want.max;
        EXPECT_EQ(bits_of(got.target_logit), bits_of(want.target_logit)) << what;
        if (std::isnan(want.logsumexp) || std::isinf(want.logsumexp)) {
            EXPECT_EQ(bits_of(got.logsumexp), bits_of(want.logsumexp)) << what << ": lse " << got.logsumexp;
        } else {
            EXPECT_NEAR(got.logsumexp, want.logsumexp, lse_tolerance(want.logsumexp)) << what;
        }
        // Bitwise reproducible on the same path.
        const RowStats again = fn_(z.data(), int64_t(z.size()), target);
        EXPECT_EQ(bits_of(again.logsumexp), bits_of(got.logsumexp)) << what;
        return got;
    }

    RowStatsFn fn_ = nullptr;
};

TEST_P(RowStatsPath, AgreesWithTheReferenceOnRandomRows) {
    for (int64_t n : {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 32000, 32001}) {
        for (float scale : {0.1f, 3.0f, 30.0f}) {
            const std::vector<float> z = random_logits(n, uint32_t(n * 13 + int(scale * 10)), scale);
            const int32_t target = int32_t(n / 2);
            check(z, target, "n = " + std::to_string(n) + ", scale " + std::to_string(scale));
        }
    }
}

TEST_P(RowStatsPath, LargeOffsetsAreSubtractedFirst) {
    // exp(z) itself would overflow: logsumexp must subtract the max first.
    for (float offset : {1e3f, -1e3f, 1e5f, 3e37f}) {
        std::vector<float> z = random_logits(1000, 3, 2.0f);
        for (float & v : z) v += offset;
        check(z, 7, "offset " + std::to_string(offset));
    }
}

TEST_P(RowStatsPath, TiesGoToTheLowestId) {
    for (int64_t n : {5, 16, 17, 40, 32000}) {
        std::vector<float> z = random_logits(n, uint32_t(n), 1.0f);
        const int64_t first = n / 3, second = n - 1;  // the second in the row's tail
        z[size_t(first)] = z[size_t(second)] = 10.0f;
        if (n > 20) z[size_t(first + 9)] = 10.0f;
        EXPECT_EQ(check(z, -1, "n = " + std::to_string(n)).argmax, first);
    }
    // All equal: the first entry wins, and every exp is exactly 1.
    std::vector<float> flat(32000, 2.5f);
    const RowStats s = check(flat, 0, "flat row");
    EXPECT_EQ(s.argmax, 0);
    EXPECT_EQ(s.max, 2.5f);
    EXPECT_EQ(s.logsumexp, float(2.5 + std::log(32000.0)));
}

TEST_P(RowStatsPath, ZeroMaximumKeepsItsSign) {
    const RowStats s = check({-0.0f, 0.0f, -1.0f}, -1, "signed zeros");
    EXPECT_EQ(s.argmax, 0);
    EXPECT_TRUE(std::signbit(s.max));
}

TEST_P(RowStatsPath, MinusInfinityEntriesAddNothing) {
    std::vector<float> z(37, -kInf);
    z[20] = 1.5f;
    z[30] = 0.5f;
    const RowStats s = check(z, 3, "mostly -inf");
    EXPECT_EQ(s.argmax, 20);
    EXPECT_EQ(s.target_logit, -kInf);
    EXPECT_NEAR(s.logsumexp, float(1.5 + std::log1p(std::exp(-1.0))), lse_tolerance(s.logsumexp));

    std::vector<float> masked(32000, -kInf);  // masked vocabulary: only a few live entries
    masked[31999] = -3.0f;
    masked[12345] = -3.0f;
    EXPECT_EQ(check(masked, 31999, "masked vocabulary").argmax, 12345);
}

TEST_P(RowStatsPath, AllMinusInfinityHasLogOfZero) {
    for (int64_t n : {1, 3, 16, 33}) {
        const RowStats s = check(std::vector<float>(size_t(n), -kInf), -1, "all -inf");
        EXPECT_EQ(s.argmax, 0);
        EXPECT_EQ(s.max, -kInf);
        EXPECT_EQ(s.logsumexp, -kInf);
    }
}

TEST_P(RowStatsPath, PlusInfinityDominates) {
    std::vector<float> z = random_logits(50, 9, 1.0f);
    z[41] = kInf;
    z[44] = kInf;
    const RowStats s = check(z, 41, "+inf");
    EXPECT_EQ(s.argmax, 41);
    EXPECT_EQ(s.max, kInf);
    EXPECT_EQ(s.logsumexp, kInf);
}

TEST_P(RowStatsPath, NaNIsReportedNotHidden) {
    for (int64_t where : {0, 5, 16, 32001}) {
        std::vector<float> z = random_logits(32002, 4, 1.0f);
        z[size_t(where)] = kNaN;
        z[32001 - size_t(where) / 2] = kNaN;  // a later NaN does not move the answer
        z[100] = 50.0f;
        const RowStats s = check(z, 1, "NaN at " + std::to_string(where));
        EXPECT_EQ(s.argmax, std::min<int64_t>(where, 32001 - where / 2));
        EXPECT_TRUE(std::isnan(s.max));
        EXPECT_TRUE(std::isnan(s.logsumexp));
    }
}

TEST_P(RowStatsPath, SingleEntry) {
    for (float v : {0.0f, -7.25f, 1e30f}) {
        const RowStats s = check({v}, 0, "n = 1");
        EXPECT_EQ(s.argmax, 0);
        EXPECT_EQ(s.max, v);
        EXPECT_EQ(s.logsumexp, v);  // log(exp(0)) = 0 exactly on every path
        EXPECT_EQ(s.target_logit, v);
    }
}

TEST_P(RowStatsPath, TargetLogit) {
    const std::vector<float> z = random_logits(100, 2, 1.0f);
    EXPECT_EQ(check(z, 0, "target 0").target_logit, z[0]);
    EXPECT_EQ(check(z, 99, "target 99").target_logit, z[99]);
    EXPECT_TRUE(std::isnan(check(z, -1, "no target").target_logit));
}

TEST_P(RowStatsPath, ExpIsAccurateOverItsRange) {
    // Rows {0, d}: logsumexp = log(1 + e^d), sweeping d down to where e^d
    // underflows; and rows of 1000 copies of d plus one 0, where the sum is
    // dominated by the exp of d and its error shows fully.
    for (float d = 0.0f; d > -100.0f; d -= 0.37f) {
        check({0.0f, d}, -1, "d = " + std::to_string(d));
        std::vector<float> many(1001, d);
        many[500] = 0.0f;
        check(many, -1, "1000 x d = " + std::to_string(d));
    }
}

TEST_P(RowStatsPath, RejectsBadArguments) {
    const std::vector<float> z(10, 1.0f);
    auto status_of = [&](const float * p, int64_t n, int32_t target) {
        try {
            fn_(p, n, target);
        } catch (const Error & e) {
            return e.status();
        }
        return DTM_OK;
    };
    EXPECT_EQ(status_of(z.data(), 0, -1), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(status_of(nullptr, 10, -1), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(status_of(z.data(), 10, 10), DTM_ERR_TOKEN_OUT_OF_RANGE);
    EXPECT_EQ(status_of(z.data(), 10, 9), DTM_OK);
}

INSTANTIATE_TEST_SUITE_P(AllPaths, RowStatsPath,
                         ::testing::Values(DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512),
                         [](const ::testing::TestParamInfo<dtm_isa> & info) {
                             return std::string(isa_name(info.param));
                         });

TEST(RowStatsRef, MatchesTheDefinition) {
    const std::vector<float> z = {1.0f, 3.0f, 2.0f, 3.0f};
    const RowStats s = row_stats_ref(z.data(), 4, 2);
    EXPECT_EQ(s.argmax, 1);
    EXPECT_EQ(s.max, 3.0f);
    EXPECT_EQ(s.target_logit, 2.0f);
    const double want = std::log(std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0));
    EXPECT_NEAR(s.logsumexp, want, 1e-6);
}

}  // namespace
}  // namespace dtm::cpu
