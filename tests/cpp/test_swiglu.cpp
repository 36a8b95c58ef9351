// test_swiglu.cpp - the MLP's gated activation (kernels/cpu/swiglu.h): every
// path bit for bit against swiglu_ref (all paths perform the reference's
// operations, so no tolerance; two NaNs count as equal), and the reference
// against v * sigmoid(v) * u in double within a few float ulps.
// A path this CPU lacks is reported as skipped (GTEST_SKIP).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/swiglu.h"
#include "test_support.h"

namespace dtm::cpu {
namespace {

using test::bits_of;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kGuard = -12345.5f;  // written past the n floats; must survive

bool same_bits(float a, float b) { return bits_of(a) == bits_of(b) || (std::isnan(a) && std::isnan(b)); }

class SwigluPath : public ::testing::TestWithParam<dtm_isa> {
protected:
    void SetUp() override {
        if (!isa_supported(GetParam())) {
            GTEST_SKIP() << isa_name(GetParam()) << " is not supported by this CPU";
        }
        fn_ = kernels(GetParam()).swiglu;
    }

    // Runs the path and the reference on the first n of gate / up and
    // compares every output bit for bit; checks the guards past n.
    void expect_reference_bits(std::vector<float> gate, const std::vector<float> & up, int64_t n) {
        std::vector<float> want = gate;
        swiglu_ref(want.data(), up.data(), n);
        gate.push_back(kGuard);
        fn_(gate.data(), up.data(), n);
        for (int64_t i = 0; i < n; ++i) {
            ASSERT_TRUE(same_bits(gate[size_t(i)], want[size_t(i)]))
                << isa_name(GetParam()) << " n = " << n << " i = " << i << ": v = " << want[size_t(i)]
                << " got " << gate[size_t(i)] << ", reference " << want[size_t(i)];
        }
        for (size_t i = size_t(n); i < gate.size(); ++i) {
            ASSERT_EQ(bits_of(gate[i]), bits_of(i + 1 == gate.size() ? kGuard : want[i])) << "wrote past n = " << n;
        }
    }

    SwigluFn fn_ = nullptr;
};

TEST_P(SwigluPath, EqualsTheReferenceOnEveryLengthAndTail) {
    std::mt19937 rng(11);
    std::normal_distribution<float> dist(0.0f, 4.0f);
    for (int64_t n = 0; n <= 70; ++n) {
        std::vector<float> gate(static_cast<size_t>(n)), up(static_cast<size_t>(n));
        for (float & v : gate) v = dist(rng);
        for (float & v : up) v = dist(rng);
        expect_reference_bits(gate, up, n);
    }
}

TEST_P(SwigluPath, EqualsTheReferenceOverTheWholeRangeOfV) {
    // Magnitudes from 2^-30 to 2^30 of both signs, and every float near the
    // flush point of the exponential (|v| around 87).
    std::vector<float> gate;
    for (int e = -30; e <= 30; ++e) {
        for (float m = 1.0f; m < 2.0f; m += 0.0625f) {
            gate.push_back(std::ldexp(m, e));
            gate.push_back(-std::ldexp(m, e));
        }
    }
    for (float v = 86.99f; v <= 87.01f; v = std::nextafter(v, kInf)) {
        gate.push_back(v);
        gate.push_back(-v);
    }
    std::vector<float> up(gate.size());
    std::mt19937 rng(12);
    std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
    for (float & u : up) u = dist(rng);
    expect_reference_bits(gate, up, int64_t(gate.size()));
}

TEST_P(SwigluPath, SpecialValuesAsTheReference) {
    const float denorm = std::numeric_limits<float>::denorm_min();
    const std::vector<float> gate = {0.0f, -0.0f, kInf, -kInf, kNaN, -kNaN, denorm, -denorm,
                                     std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                                     1.0f, -1.0f, 88.0f, -88.0f, 104.0f, -104.0f, 20.0f};
    const std::vector<float> up = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f,
                                   kInf, kNaN, 0.0f, -0.0f, 2.0f, -2.0f, 1.0f};
    expect_reference_bits(gate, up, int64_t(gate.size()));

    std::vector<float> r = gate;
    swiglu_ref(r.data(), up.data(), int64_t(r.size()));
    EXPECT_EQ(bits_of(r[0]), bits_of(0.0f));
    EXPECT_EQ(bits_of(r[1]), bits_of(-0.0f));  // -0 * 0.5 * 1
    EXPECT_EQ(r[2], kInf);                      // inf * sigmoid(inf) = inf
    EXPECT_TRUE(std::isnan(r[3]));              // -inf * 0
    EXPECT_TRUE(std::isnan(r[4]));
    EXPECT_TRUE(std::isnan(r[5]));
    EXPECT_EQ(r[16], 20.0f * (1.0f / (1.0f + std::exp(-20.0f))));
}

INSTANTIATE_TEST_SUITE_P(AllPaths, SwigluPath, ::testing::Values(DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512),
                         [](const ::testing::TestParamInfo<dtm_isa> & info) {
                             return std::string(isa_name(info.param));
                         });

// The reference is v * sigmoid(v) * u to within a few float ulps wherever the
// result is a normal number: the exponential's 1.06 ulp, one division and
// two multiplies.
TEST(SwigluReference, IsSiluTimesUpWithinFourUlps) {
    std::mt19937 rng(13);
    std::uniform_real_distribution<float> dist(-40.0f, 40.0f);
    int checked = 0;
    for (int i = 0; i < 200000; ++i) {
        const float v = dist(rng), u = 1.0f + float(i % 7) / 8.0f;
        float g = v;
        swiglu_ref(&g, &u, 1);
        const double want = double(v) / (1.0 + std::exp(-double(v))) * double(u);
        if (!std::isnormal(float(want))) continue;
        const double ulp = std::ldexp(1.0, std::ilogb(float(want)) - 23);
        ASSERT_LE(std::fabs(double(g) - want), 4.0 * ulp) << "v = " << v << " u = " << u;
        ++checked;
    }
    EXPECT_GT(checked, 190000);
}

}  // namespace
}  // namespace dtm::cpu
