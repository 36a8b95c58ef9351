// test_int8_kernels.cpp - the int8 layouts (Int8Panels, Int8KMajorPanels),
// the W8A8 product and the weight-only int8 product on every kernel path,
// the rounding and fp16 helpers, and the absmax quantizer.
//
// Integer sums are exact, so every W8A8 path must be BITWISE equal to
// int8_gemm_ref, and the reference must equal a product computed here in
// int64 from the row-major values. The weight-only product is fp32 with one
// FMA per k, also bitwise equal on every path. A path this CPU lacks is
// reported as skipped (GTEST_SKIP), never as passed.
#include <gtest/gtest.h>

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/int8_gemm.h"
#include "kernels/cpu/int8_weight_matmul.h"
#include "kernels/cpu/quant_kernels.h"
#include "kernels/cpu/quant_math.h"
#include "kernels/cpu/quant_panels.h"
#include "kernels/cpu/quantize_tokens.h"
#include "kernels/cpu/quantize_values.h"
#include "test_support.h"

namespace dtm::cpu {
namespace {

using test::kSentinelBits;
using test::random_floats;
using test::random_int8;
using test::sentinel;



// Bitwise equal, except that a NaN only has to meet a NaN.
::testing::AssertionResult same_bits(const std::vector<float> & got, const std::vector<float> & want, int64_t ld) {
    if (got.size() != want.size()) return ::testing::AssertionFailure() << "sizes differ";
    for (size_t i = 0; i < got.size(); ++i) {
        const bool both_nan = std::isnan(got[i]) && std::isnan(want[i]) && float_bits(got[i]) != kSentinelBits &&
                              float_bits(want[i]) != kSentinelBits;
        if (float_bits(got[i]) != float_bits(want[i]) && !both_nan) {
            return ::testing::AssertionFailure() << "y[" << i / size_t(ld) << "][" << i % size_t(ld) << "] = " << got[i]
                                                 << ", reference " << want[i];
        }
    }
    return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------
// Rounding and fp16

TEST(QuantMath, RoundsToNearestEvenAndClamps) {
    EXPECT_EQ(round_clamped(0.5f, 127.0f), 0);
    EXPECT_EQ(round_clamped(1.5f, 127.0f), 2);
    EXPECT_EQ(round_clamped(2.5f, 127.0f), 2);
    EXPECT_EQ(round_clamped(-2.5f, 127.0f), -2);
    EXPECT_EQ(round_clamped(-0.5f, 127.0f), 0);
    EXPECT_EQ(round_clamped(2.5000002f, 127.0f), 3);
    EXPECT_EQ(round_clamped(126.7f, 127.0f), 127);
    EXPECT_EQ(round_clamped(127.4f, 127.0f), 127);
    EXPECT_EQ(round_clamped(1e30f, 127.0f), 127);
    EXPECT_EQ(round_clamped(-1e30f, 127.0f), -127);
    EXPECT_EQ(round_clamped(-std::numeric_limits<float>::infinity(), 127.0f), -127);
}

TEST(QuantMath, EveryHalfRoundTripsThroughFloat) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = fp16_to_fp32(static_cast<uint16_t>(h));
        const bool nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
        if (nan) {
            ASSERT_TRUE(std::isnan(f)) << std::hex << h;
            ASSERT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(f))));
        } else {
            ASSERT_EQ(fp32_to_fp16(f), h) << std::hex << h;
        }
    }
    EXPECT_EQ(fp16_to_fp32(0x3c00), 1.0f);
    EXPECT_EQ(fp16_to_fp32(0x7bff), 65504.0f);
    EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));
    EXPECT_EQ(fp16_to_fp32(0xc000), -2.0f);
}

TEST(QuantMath, FloatToHalfRoundsToNearestEven) {
    EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);
    EXPECT_EQ(fp32_to_fp16(65519.996f), 0x7bff);
    EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);  // the tie goes to the even "65536" = inf
    EXPECT_EQ(fp32_to_fp16(-1e10f), 0xfc00);
    EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);         // tie between 0 and 2^-24: even
    EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);         // tie between 1 and 2 units: even
    EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -14)), 0x0400);         // smallest normal
    EXPECT_EQ(fp32_to_fp16(std::ldexp(1023.5f, -24)), 0x0400);      // rounds up into the normals
    EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie: even
    EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(3.0f, -11)), 0x3c02);  // tie: even (up)
    EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
}

__attribute__((target("f16c"))) uint16_t hardware_fp16(float f) {
    return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

TEST(QuantMath, FloatToHalfMatchesF16c) {
    if (!isa_supported(DTM_ISA_AVX2)) GTEST_SKIP() << "no F16C on this CPU";
    std::mt19937 rng(7);
    for (int i = 0; i < 1000000; ++i) {
        const float f = float_from_bits(rng());
        if (std::isnan(f)) continue;
        ASSERT_EQ(fp32_to_fp16(f), hardware_fp16(f)) << f;
    }
}

// ---------------------------------------------------------------------------
// The absmax quantizer

TEST(QuantizeInt8Absmax, MaxMapsTo127AndErrorIsAtMostHalfAStep) {
    for (int64_t n : {1, 7, 300}) {
        std::vector<float> v = random_floats(size_t(n), uint32_t(n), -3.0f, 3.0f);
        std::vector<int8_t> q(static_cast<size_t>(n));
        int32_t sum = 0;
        const float scale = quantize_int8_absmax(v.data(), n, INFINITY, q.data(), &sum);
        float absmax = 0.0f;
        for (float f : v) absmax = std::fmax(absmax, std::fabs(f));
        EXPECT_EQ(scale, absmax / 127.0f);
        int32_t want_sum = 0, max_q = 0;
        for (int64_t k = 0; k < n; ++k) {
            want_sum += q[size_t(k)];
            max_q = std::max(max_q, std::abs(int32_t(q[size_t(k)])));
            EXPECT_GE(q[size_t(k)], -127);
            const double err = std::fabs(double(v[size_t(k)]) - double(q[size_t(k)]) * double(scale));
            EXPECT_LE(err, double(scale) * (0.5 + 1e-5)) << k;
        }
        EXPECT_EQ(sum, want_sum);
        EXPECT_EQ(max_q, 127);
    }
}

TEST(QuantizeInt8Absmax, ZeroRowAndOutliers) {
    const std::vector<float> zeros(9, 0.0f);
    std::vector<int8_t> q(9, 5);
    EXPECT_EQ(quantize_int8_absmax(zeros.data(), 9, INFINITY, q.data(), nullptr), 0.0f);
    for (int8_t v : q) EXPECT_EQ(v, 0);

    // |v| > 6 are outliers: they become 0 and do not set the scale.
    const std::vector<float> v = {1.0f, -20.0f, 0.5f, 6.0f, -6.5f, -2.0f};
    std::vector<int8_t> q2(v.size());
    int32_t sum = 0;
    const float scale = quantize_int8_absmax(v.data(), int64_t(v.size()), 6.0f, q2.data(), &sum);
    EXPECT_EQ(scale, 6.0f / 127.0f);
    EXPECT_EQ(q2[1], 0);
    EXPECT_EQ(q2[4], 0);
    EXPECT_EQ(q2[3], 127);
    EXPECT_EQ(q2[0], 21);  // 1 / (6/127) = 21.17
    EXPECT_EQ(sum, q2[0] + q2[2] + q2[3] + q2[5]);
}

// ---------------------------------------------------------------------------
// Layouts

TEST(Int8Panels, RoundTripAndLayout) {
    for (int64_t rows : {1, 15, 16, 17, 40}) {
        for (int64_t cols : {1, 3, 4, 5, 33}) {
            const std::vector<int8_t> q = random_int8(size_t(rows * cols), uint32_t(rows * 100 + cols));
            const Int8Panels p = Int8Panels::pack(q.data(), rows, cols);
            EXPECT_EQ(p.k_groups(), (cols + 3) / 4);
            EXPECT_EQ(reinterpret_cast<uintptr_t>(p.panel(0)) % 64, 0u);
            std::vector<int8_t> back(q.size());
            p.unpack(back.data());
            ASSERT_EQ(back, q);
            for (int64_t r = 0; r < rows; ++r) {
                for (int64_t k = 0; k < cols; ++k) {
                    const uint8_t stored = p.panel(r / 16)[((k / 4) * 16 + r % 16) * 4 + k % 4];
                    ASSERT_EQ(int(stored), int(q[size_t(r * cols + k)]) + 128);
                }
            }
            // Padding (k past cols, rows past rows) holds q = 0.
            const uint8_t * last = p.panel(p.n_panels() - 1);
            for (int64_t r = rows % 16 == 0 ? 16 : rows % 16; r < 16; ++r) EXPECT_EQ(last[r * 4], 128);
            for (int64_t k = cols; k < p.k_groups() * 4; ++k) EXPECT_EQ(p.panel(0)[((k / 4) * 16) * 4 + k % 4], 128);
        }
    }
}

TEST(Int8KMajorPanels, RoundTripAndLayout) {
    const int64_t rows = 21, cols = 5;
    const std::vector<int8_t> q = random_int8(size_t(rows * cols), 3);
    const Int8KMajorPanels p = Int8KMajorPanels::pack(q.data(), rows, cols);
    std::vector<int8_t> back(q.size());
    p.unpack(back.data());
    EXPECT_EQ(back, q);
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t k = 0; k < cols; ++k) EXPECT_EQ(p.panel(r / 16)[k * 16 + r % 16], q[size_t(r * cols + k)]);
    }
    EXPECT_EQ(p.panel(1)[0 * 16 + 5], 0);  // row 21 does not exist: zero
}

// ---------------------------------------------------------------------------
// The W8A8 product

struct Int8Problem {
    int64_t rows, cols, n_tokens, ldq, ldy;
    std::vector<int8_t> w;       // (rows, cols)
    Int8Panels panels;
    std::vector<float> w_scale;  // (n_panels * 16)
    std::vector<int8_t> xq;      // (n_tokens, ldq)
    std::vector<int32_t> x_sum;
    std::vector<float> x_scale;

    Int8Problem(int64_t rows_, int64_t cols_, int64_t n_tokens_, uint32_t seed, bool unit_scales = false)
        : rows(rows_), cols(cols_), n_tokens(n_tokens_), ldq(0), ldy(rows_ + 3) {
        w = random_int8(size_t(rows * cols), seed);
        // Extreme rows: all -128, all 127, all 0 (when there are enough rows).
        for (int64_t k = 0; k < cols; ++k) {
            if (rows > 2) w[size_t(1 * cols + k)] = -128;
            if (rows > 3) w[size_t(2 * cols + k)] = 127;
            if (rows > 4) w[size_t(3 * cols + k)] = 0;
        }
        panels = Int8Panels::pack(w.data(), rows, cols);
        ldq = panels.k_groups() * 4 + 8;
        w_scale = random_floats(size_t(panels.n_panels() * 16), seed + 1, 0.001f, 0.1f);
        xq.assign(size_t(n_tokens * ldq), 0);
        const std::vector<int8_t> xv = random_int8(size_t(n_tokens * cols), seed + 2);
        for (int64_t t = 0; t < n_tokens; ++t) {
            for (int64_t k = 0; k < cols; ++k) {
                int8_t v = xv[size_t(t * cols + k)];
                if (t == 1) v = -128;  // a token of the most negative activations
                if (t == 2) v = 127;
                xq[size_t(t * ldq + k)] = v;
            }
        }
        x_sum.assign(size_t(n_tokens), 0);
        for (int64_t t = 0; t < n_tokens; ++t) {
            for (int64_t k = 0; k < cols; ++k) x_sum[size_t(t)] += xq[size_t(t * ldq + k)];
        }
        x_scale = random_floats(size_t(n_tokens), seed + 3, 0.001f, 0.1f);
        if (unit_scales) {
            std::fill(w_scale.begin(), w_scale.end(), 1.0f);
            std::fill(x_scale.begin(), x_scale.end(), 1.0f);
        }
    }

    Int8Tokens tokens() const { return {xq.data(), ldq, x_sum.data(), x_scale.data()}; }

    std::vector<float> run(Int8GemmFn fn, int64_t p0, int64_t p1) const {
        const size_t n = size_t(n_tokens * ldy), guard = 64;
        std::vector<float> y(n + guard, sentinel());
        fn(panels, w_scale.data(), tokens(), n_tokens, y.data(), ldy, p0, p1);
        for (size_t i = n; i < n + guard; ++i) EXPECT_EQ(float_bits(y[i]), kSentinelBits) << "written past y";
        y.resize(n);
        return y;
    }
    std::vector<float> run(Int8GemmFn fn) const { return run(fn, 0, panels.n_panels()); }

    // The exact integer product of token t and row o.
    int64_t exact(int64_t t, int64_t o) const {
        int64_t s = 0;
        for (int64_t k = 0; k < cols; ++k) s += int64_t(w[size_t(o * cols + k)]) * xq[size_t(t * ldq + k)];
        return s;
    }
};

TEST(Int8GemmRef, EqualsTheInt64ProductAndTheDocumentedEpilogue) {
    const Int8Problem pr(37, 45, 5, 11);
    const std::vector<float> y = pr.run(&int8_gemm_ref);
    for (int64_t t = 0; t < pr.n_tokens; ++t) {
        for (int64_t o = 0; o < pr.rows; ++o) {
            const float want = (float(pr.exact(t, o)) * pr.x_scale[size_t(t)]) * pr.w_scale[size_t(o)];
            ASSERT_EQ(float_bits(y[size_t(t * pr.ldy + o)]), float_bits(want)) << t << ", " << o;
        }
        for (int64_t o = pr.rows; o < pr.ldy; ++o) EXPECT_EQ(float_bits(y[size_t(t * pr.ldy + o)]), kSentinelBits);
    }
}

struct Int8Path {
    const char * name;
    Int8GemmFn fn;
    bool (*available)();
};

bool always() { return true; }
bool has_avx2() { return isa_supported(DTM_ISA_AVX2); }

const Int8Path kInt8Paths[] = {
    {"scalar", &int8_gemm_ref, &always},
    {"avx2", &int8_gemm_avx2, &has_avx2},
    {"avx512vnni", &int8_gemm_avx512vnni, &cpu_has_avx512_vnni},
};

class Int8GemmPath : public ::testing::TestWithParam<Int8Path> {
protected:
    void SetUp() override {
        if (!GetParam().available()) GTEST_SKIP() << GetParam().name << " is not supported by this CPU";
    }
};

TEST_P(Int8GemmPath, BitwiseEqualToTheReferenceOnAwkwardShapes) {
    struct Shape { int64_t rows, cols, n_tokens; };
    const Shape shapes[] = {{1, 1, 1}, {1, 1, 9}, {15, 7, 3}, {16, 4, 1}, {17, 9, 2}, {33, 513, 7},
                            {300, 64, 13}, {5, 1000, 4}, {70, 130, 6}, {129, 31, 17}, {48, 288, 64}};
    uint32_t seed = 100;
    for (const Shape & s : shapes) {
        const Int8Problem pr(s.rows, s.cols, s.n_tokens, seed++);
        EXPECT_TRUE(same_bits(pr.run(GetParam().fn), pr.run(&int8_gemm_ref), pr.ldy))
            << s.rows << " x " << s.cols << ", " << s.n_tokens << " tokens";
    }
}

TEST_P(Int8GemmPath, IntegerSumsAreExact) {
    // Unit scales: y is float(exact integer sum), exact below 2^24.
    const Int8Problem pr(35, 200, 6, 5, /*unit_scales=*/true);
    const std::vector<float> y = pr.run(GetParam().fn);
    for (int64_t t = 0; t < pr.n_tokens; ++t) {
        for (int64_t o = 0; o < pr.rows; ++o) ASSERT_EQ(double(y[size_t(t * pr.ldy + o)]), double(pr.exact(t, o)));
    }
}

TEST_P(Int8GemmPath, LargestColsDoNotOverflow) {
    // cols = kInt8MaxCols with the extreme values: 127 * -128 and -128 * -128
    // summed over 65536 k (|sum| up to 2^30; the biased sums reach -2^31 + 8M).
    const int64_t cols = kInt8MaxCols;
    std::vector<int8_t> w(static_cast<size_t>(2 * cols));
    for (int64_t k = 0; k < cols; ++k) {
        w[size_t(k)] = 127;
        w[size_t(cols + k)] = -128;
    }
    const Int8Panels panels = Int8Panels::pack(w.data(), 2, cols);
    const std::vector<int8_t> xq(static_cast<size_t>(cols), -128);
    const int32_t x_sum = int32_t(-128 * cols);
    const float one = 1.0f;
    const std::vector<float> w_scale(16, 1.0f);
    float y[2] = {0.0f, 0.0f};
    GetParam().fn(panels, w_scale.data(), Int8Tokens{xq.data(), cols, &x_sum, &one}, 1, y, 2, 0, 1);
    EXPECT_EQ(double(y[0]), -127.0 * 128.0 * double(cols));
    EXPECT_EQ(double(y[1]), 128.0 * 128.0 * double(cols));
}

TEST_P(Int8GemmPath, PartialPanelRangesWriteOnlyTheirOutputs) {
    const Int8Problem pr(70, 37, 9, 21);  // 5 panels, the last one partial
    const std::vector<float> full = pr.run(&int8_gemm_ref);
    for (int64_t p0 = 0; p0 < 5; ++p0) {
        for (int64_t p1 = p0 + 1; p1 <= 5; ++p1) {
            const std::vector<float> part = pr.run(GetParam().fn, p0, p1);
            for (int64_t t = 0; t < pr.n_tokens; ++t) {
                for (int64_t o = 0; o < pr.ldy; ++o) {
                    const bool inside = o >= p0 * 16 && o < std::min(pr.rows, p1 * 16);
                    const float want = inside ? full[size_t(t * pr.ldy + o)] : sentinel();
                    ASSERT_EQ(float_bits(part[size_t(t * pr.ldy + o)]), float_bits(want))
                        << "panels [" << p0 << ", " << p1 << "), token " << t << ", output " << o;
                }
            }
        }
    }
}

TEST_P(Int8GemmPath, OutputOfATokenDoesNotDependOnTheBatch) {
    const Int8Problem pr(50, 77, 23, 31);
    const std::vector<float> batch = pr.run(GetParam().fn);
    for (int64_t t = 0; t < pr.n_tokens; ++t) {
        std::vector<float> y(static_cast<size_t>(pr.ldy), sentinel());
        const Int8Tokens one{pr.xq.data() + t * pr.ldq, pr.ldq, pr.x_sum.data() + t, pr.x_scale.data() + t};
        GetParam().fn(pr.panels, pr.w_scale.data(), one, 1, y.data(), pr.ldy, 0, pr.panels.n_panels());
        const std::vector<float> row(batch.begin() + t * pr.ldy, batch.begin() + (t + 1) * pr.ldy);
        ASSERT_TRUE(same_bits(y, row, pr.ldy)) << "token " << t;
    }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, Int8GemmPath, ::testing::ValuesIn(kInt8Paths),
                         [](const ::testing::TestParamInfo<Int8Path> & info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------
// The weight-only product

struct WeightOnlyProblem {
    int64_t rows, cols, n_tokens, ldx, ldy;
    std::vector<int8_t> w;
    Int8KMajorPanels panels;
    std::vector<float> w_scale;
    std::vector<float> x;

    WeightOnlyProblem(int64_t rows_, int64_t cols_, int64_t n_tokens_, uint32_t seed)
        : rows(rows_), cols(cols_), n_tokens(n_tokens_), ldx(cols_ + 2), ldy(rows_ + 1) {
        w = random_int8(size_t(rows * cols), seed, -127, 127);
        if (rows > 2) {
            for (int64_t k = 0; k < cols; ++k) w[size_t(cols + k)] = -127;
        }
        panels = Int8KMajorPanels::pack(w.data(), rows, cols);
        w_scale = random_floats(size_t(panels.n_panels() * 16), seed + 1, 0.001f, 0.1f);
        x = random_floats(size_t(n_tokens * ldx), seed + 2, -4.0f, 4.0f);
    }

    std::vector<float> run(Int8WeightMatmulFn fn) const {
        const size_t n = size_t(n_tokens * ldy), guard = 64;
        std::vector<float> y(n + guard, sentinel());
        fn(panels, w_scale.data(), x.data(), ldx, y.data(), ldy, n_tokens, 0, panels.n_panels());
        for (size_t i = n; i < n + guard; ++i) EXPECT_EQ(float_bits(y[i]), kSentinelBits) << "written past y";
        y.resize(n);
        return y;
    }
};

TEST(Int8WeightMatmulRef, OneFmaPerKThenTheScale) {
    const WeightOnlyProblem pr(19, 23, 3, 8);
    const std::vector<float> y = pr.run(&int8_weight_matmul_ref);
    for (int64_t t = 0; t < pr.n_tokens; ++t) {
        for (int64_t o = 0; o < pr.rows; ++o) {
            float acc = 0.0f;
            for (int64_t k = 0; k < pr.cols; ++k) {
                acc = std::fmaf(float(pr.w[size_t(o * pr.cols + k)]), pr.x[size_t(t * pr.ldx + k)], acc);
            }
            ASSERT_EQ(float_bits(y[size_t(t * pr.ldy + o)]), float_bits(pr.w_scale[size_t(o)] * acc));
        }
    }
}

class Int8WeightPath : public ::testing::TestWithParam<dtm_isa> {
protected:
    void SetUp() override {
        if (!isa_supported(GetParam())) GTEST_SKIP() << isa_name(GetParam()) << " is not supported by this CPU";
        fn_ = quant_kernels(GetParam()).int8_weight_matmul;
    }
    Int8WeightMatmulFn fn_ = nullptr;
};

TEST_P(Int8WeightPath, BitwiseEqualToTheReferenceOnAwkwardShapes) {
    struct Shape { int64_t rows, cols, n_tokens; };
    const Shape shapes[] = {{1, 1, 1}, {15, 7, 3}, {16, 4, 1}, {17, 9, 2}, {33, 513, 7}, {300, 64, 13}, {70, 130, 9}};
    uint32_t seed = 300;
    for (const Shape & s : shapes) {
        const WeightOnlyProblem pr(s.rows, s.cols, s.n_tokens, seed++);
        EXPECT_TRUE(same_bits(pr.run(fn_), pr.run(&int8_weight_matmul_ref), pr.ldy))
            << s.rows << " x " << s.cols << ", " << s.n_tokens << " tokens";
    }
}

TEST_P(Int8WeightPath, NonFiniteActivationsPropagateAsInTheReference) {
    WeightOnlyProblem pr(20, 11, 4, 9);
    pr.x[size_t(0 * pr.ldx + 3)] = std::numeric_limits<float>::quiet_NaN();
    pr.x[size_t(1 * pr.ldx + 5)] = std::numeric_limits<float>::infinity();
    const std::vector<float> y = pr.run(fn_);
    EXPECT_TRUE(same_bits(y, pr.run(&int8_weight_matmul_ref), pr.ldy));
    EXPECT_TRUE(std::isnan(y[0]));
}

INSTANTIATE_TEST_SUITE_P(AllPaths, Int8WeightPath, ::testing::Values(DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512),
                         [](const ::testing::TestParamInfo<dtm_isa> & info) { return std::string(isa_name(info.param)); });

// ---------------------------------------------------------------------------
// Token quantizers: every path gives the scalar quantizer's bits

class QuantizeTokensPath : public ::testing::TestWithParam<dtm_isa> {
protected:
    void SetUp() override {
        if (!isa_supported(GetParam())) GTEST_SKIP() << isa_name(GetParam()) << " is not supported by this CPU";
    }
};

TEST_P(QuantizeTokensPath, Int8EqualsTheScalarQuantizer) {
    const QuantizeTokensInt8Fn fn = quant_kernels(GetParam()).quantize_tokens_int8;
    for (int64_t cols : {1, 15, 16, 17, 100, 288}) {
        const int64_t n_tokens = 7, ldx = cols + 3, ldq = cols + 5;
        std::vector<float> x = random_floats(static_cast<size_t>(n_tokens * ldx), uint32_t(cols), -3.0f, 3.0f);
        for (int64_t k = 0; k < cols; ++k) {
            x[size_t(1 * ldx + k)] = 0.0f;                                  // all zero
            x[size_t(2 * ldx + k)] = float(k % 5) * 0.5f - 1.0f;            // ties x / scale = m + 0.5
            x[size_t(3 * ldx + k)] = 1e-44f * float(k % 3);                 // subnormal: scale underflows
        }
        x[size_t(4 * ldx + cols / 2)] = 50.0f;                              // an outlier at threshold 6
        x[size_t(5 * ldx + cols - 1)] = std::numeric_limits<float>::quiet_NaN();
        x[size_t(6 * ldx)] = -std::numeric_limits<float>::infinity();
        for (float skip : {INFINITY, 6.0f, 0.25f}) {
            std::vector<int8_t> q(static_cast<size_t>(n_tokens * ldq), 99), q_ref = q;
            std::vector<float> scale(static_cast<size_t>(n_tokens)), scale_ref = scale;
            std::vector<int32_t> sum(static_cast<size_t>(n_tokens)), sum_ref = sum;
            std::vector<uint8_t> finite(static_cast<size_t>(n_tokens)), finite_ref = finite;
            fn(x.data(), ldx, n_tokens, cols, skip, q.data(), ldq, scale.data(), sum.data(), finite.data());
            quantize_tokens_int8_ref(x.data(), ldx, n_tokens, cols, skip, q_ref.data(), ldq, scale_ref.data(),
                                     sum_ref.data(), finite_ref.data());
            ASSERT_EQ(finite, finite_ref);
            EXPECT_EQ(finite[5], 0);
            EXPECT_EQ(finite[6], 0);
            for (int64_t t = 0; t < n_tokens; ++t) {
                if (!finite[size_t(t)]) continue;
                ASSERT_EQ(float_bits(scale[size_t(t)]), float_bits(scale_ref[size_t(t)])) << cols << ", " << t;
                ASSERT_EQ(sum[size_t(t)], sum_ref[size_t(t)]) << cols << ", " << t;
                for (int64_t k = 0; k < ldq; ++k) {  // past cols: untouched
                    ASSERT_EQ(q[size_t(t * ldq + k)], q_ref[size_t(t * ldq + k)]) << cols << ", " << t << ", " << k;
                }
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, QuantizeTokensPath, ::testing::Values(DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512),
                         [](const ::testing::TestParamInfo<dtm_isa> & info) { return std::string(isa_name(info.param)); });

// ---------------------------------------------------------------------------
// The table

TEST(QuantKernels, FollowTheKernelPathAndRejectWhatTheCpuLacks) {
    const test::ScopedEnv vnni_as_detected("DTM_NO_VNNI", nullptr);
    EXPECT_EQ(quant_kernels(DTM_ISA_SCALAR).int8_gemm, &int8_gemm_ref);
    EXPECT_FALSE(kernels(DTM_ISA_SCALAR).int8_vnni);
    if (isa_supported(DTM_ISA_AVX512)) {
        EXPECT_EQ(kernels(DTM_ISA_AVX512).int8_vnni, cpu_has_avx512_vnni());
        const QuantKernels & k = quant_kernels(DTM_ISA_AVX512);
        EXPECT_EQ(k.int8_gemm, cpu_has_avx512_vnni() ? &int8_gemm_avx512vnni : &int8_gemm_avx2);
        EXPECT_EQ(k.int8_weight_matmul, &int8_weight_matmul_avx512);
    } else {
        try {
            quant_kernels(DTM_ISA_AVX512);
            FAIL() << "an unsupported path was handed out";
        } catch (const Error & e) {
            EXPECT_EQ(e.status(), DTM_ERR_UNSUPPORTED);
        }
    }
    try {
        quant_kernels(DTM_ISA_AUTO);
        FAIL() << "DTM_ISA_AUTO was accepted";
    } catch (const Error & e) {
        EXPECT_EQ(e.status(), DTM_ERR_INVALID_ARGUMENT);
    }
}

// $DTM_NO_VNNI=1 gives the avx512 path the int8 kernels of an AVX-512 CPU
// without VNNI (Skylake-SP), whatever this CPU has: every int8 kernel in that
// table is compiled without VNNI, and its sums are those of the VNNI kernel
// and of the reference, bit for bit.
TEST(QuantKernels, Avx512WithoutVnniUsesKernelsWithoutVnniAndGivesTheSameBits) {
    if (!isa_supported(DTM_ISA_AVX512)) GTEST_SKIP() << "avx512 is not supported by this CPU";
    const KernelTable * without = nullptr;
    {
        const test::ScopedEnv off("DTM_NO_VNNI", "1");
        without = &kernels(DTM_ISA_AVX512);
    }
    EXPECT_FALSE(without->int8_vnni);
    EXPECT_EQ(without->isa, DTM_ISA_AVX512);
    EXPECT_EQ(without->matmul, kernels(DTM_ISA_AVX512).matmul);  // the fp32 kernels need no VNNI
    const QuantKernels & q = quant_kernels(*without);
    EXPECT_EQ(q.int8_gemm, &int8_gemm_avx2);
    EXPECT_EQ(q.int8_weight_matmul, &int8_weight_matmul_avx512);
    EXPECT_EQ(q.quantize_tokens_int8, &quantize_tokens_int8_avx512);
    {
        const test::ScopedEnv on("DTM_NO_VNNI", "0");
        EXPECT_EQ(kernels(DTM_ISA_AVX512).int8_vnni, cpu_has_avx512_vnni());
    }

    struct Shape { int64_t rows, cols, n_tokens; };
    const Shape shapes[] = {{1, 1, 1}, {17, 9, 2}, {33, 513, 7}, {129, 31, 17}, {48, 288, 64}};
    uint32_t seed = 700;
    for (const Shape & s : shapes) {
        const Int8Problem pr(s.rows, s.cols, s.n_tokens, seed++);
        const std::vector<float> want = pr.run(&int8_gemm_ref);
        EXPECT_TRUE(same_bits(pr.run(q.int8_gemm), want, pr.ldy)) << s.rows << " x " << s.cols << ", " << s.n_tokens;
        if (cpu_has_avx512_vnni()) {
            EXPECT_TRUE(same_bits(pr.run(quant_kernels(DTM_ISA_AVX512).int8_gemm), want, pr.ldy)) << "vnni";
        }
    }
}

TEST(QuantKernels, NoVnniTakesZeroOrOneOnly) {
    if (!isa_supported(DTM_ISA_AVX512)) GTEST_SKIP() << "avx512 is not supported by this CPU";
    const test::ScopedEnv bad("DTM_NO_VNNI", "yes");
    try {
        kernels(DTM_ISA_AVX512);
        FAIL() << "DTM_NO_VNNI=yes was accepted";
    } catch (const Error & e) {
        EXPECT_EQ(e.status(), DTM_ERR_INVALID_ARGUMENT);
        EXPECT_NE(std::string(e.what()).find("DTM_NO_VNNI=\"yes\" is neither 0 nor 1"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(kernels(DTM_ISA_SCALAR).int8_vnni);  // read for the avx512 path only
}

}  // namespace
}  // namespace dtm::cpu
