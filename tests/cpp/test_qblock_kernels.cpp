// test_qblock_kernels.cpp - llama.cpp's q8_0 / q4_0 blocks: the block
// quantizers, the QBlockPanels layout, and the block products on every kernel
// path.
//
// The block products are exact integer dot products per block followed by
// the same fp32 operations in the same order on every path, so every path
// must be BITWISE equal to qblock_gemm_ref, and the reference must equal the
// documented formula evaluated here from the row-major values. A path this
// CPU lacks is reported as skipped (GTEST_SKIP), never as passed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/qblock_gemm.h"
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



// ---------------------------------------------------------------------------
// Block quantizers

TEST(QuantizeBlockQ8_0, ScaleIsAbsmaxOver127AndErrorIsHalfAStep) {
    for (uint32_t seed = 1; seed <= 50; ++seed) {
        const std::vector<float> v = random_floats(32, seed, -2.0f, 2.0f);
        int8_t q[32];
        int32_t sum = 0;
        const uint16_t dh = quantize_block_q8_0(v.data(), q, &sum);
        float absmax = 0.0f;
        for (float f : v) absmax = std::fmax(absmax, std::fabs(f));
        const float d = absmax / 127.0f;
        ASSERT_EQ(dh, fp32_to_fp16(d));
        const double d16 = fp16_to_fp32(dh);
        int32_t want_sum = 0;
        for (int j = 0; j < 32; ++j) {
            want_sum += q[j];
            ASSERT_GE(q[j], -127);
            // Quantized with the fp32 d (half a step), dequantized with the fp16 d.
            const double err = std::fabs(double(v[size_t(j)]) - double(q[j]) * d16);
            ASSERT_LE(err, 0.5 * d * (1 + 1e-5) + 127.0 * std::fabs(d16 - d)) << j;
        }
        ASSERT_EQ(sum, want_sum);
    }
    const float zeros[32] = {};
    int8_t q[32];
    EXPECT_EQ(quantize_block_q8_0(zeros, q, nullptr), 0);
    for (int8_t v : q) EXPECT_EQ(v, 0);
}

TEST(QuantizeBlockQ4_0, LargestValueMapsToMinus8AndErrorIsBounded) {
    for (uint32_t seed = 1; seed <= 50; ++seed) {
        std::vector<float> v = random_floats(32, seed, -2.0f, 2.0f);
        int8_t q[32];
        const uint16_t dh = quantize_block_q4_0(v.data(), q);
        int jmax = 0;
        for (int j = 1; j < 32; ++j) {
            if (std::fabs(v[size_t(j)]) > std::fabs(v[size_t(jmax)])) jmax = j;
        }
        const float d = v[size_t(jmax)] / -8.0f;
        ASSERT_EQ(dh, fp32_to_fp16(d));
        ASSERT_EQ(q[jmax], -8);
        const double d16 = fp16_to_fp32(dh);
        for (int j = 0; j < 32; ++j) {
            ASSERT_GE(q[j], -8);
            ASSERT_LE(q[j], 7);
            const double scaled = double(v[size_t(j)]) / double(d);
            // Nearest of the 16 levels, except beyond 7.5 steps (the other
            // side of the largest value), which rounds to 7: up to one step.
            const double step_err = std::fabs(scaled - q[j]);
            ASSERT_LE(step_err, scaled > 7.5 ? 1.0 + 1e-5 : 0.5 + 1e-5) << j;
            const double err = std::fabs(double(v[size_t(j)]) - double(q[j]) * d16);
            ASSERT_LE(err, step_err * std::fabs(d) * (1 + 1e-5) + 8.0 * std::fabs(d16 - d)) << j;
        }
    }
    float zeros[32] = {};
    int8_t q[32];
    EXPECT_EQ(quantize_block_q4_0(zeros, q), 0);
    for (int8_t v : q) EXPECT_EQ(v, 0);  // stored nibble 8
}

TEST(QuantizeBlockQ4_0, FollowsTheTruncationRule) {
    // m = -4 (largest magnitude, negative): d = 0.5; w / d + 8.5 truncated.
    float v[32] = {};
    v[0] = -4.0f;  // -8 + 8.5 = 0.5 -> 0 -> q -8
    v[1] = 4.0f;   // 8 + 8.5 = 16.5 -> 16 -> capped 15 -> q 7
    v[2] = 0.25f;  // 0.5 + 8.5 = 9 -> q 1
    v[3] = 0.24f;  // 8.98 -> 8 -> q 0
    v[4] = -0.26f; // -0.52 + 8.5 = 7.98 -> 7 -> q -1
    int8_t q[32];
    EXPECT_EQ(fp16_to_fp32(quantize_block_q4_0(v, q)), 0.5f);
    EXPECT_EQ(q[0], -8);
    EXPECT_EQ(q[1], 7);
    EXPECT_EQ(q[2], 1);
    EXPECT_EQ(q[3], 0);
    EXPECT_EQ(q[4], -1);
    EXPECT_EQ(q[5], 0);
}

// ---------------------------------------------------------------------------
// Layout

TEST(QBlockPanels, RoundTripAndLayout) {
    for (dtm_weight_format format : {DTM_FORMAT_Q8_0, DTM_FORMAT_Q4_0}) {
        const bool q4 = format == DTM_FORMAT_Q4_0;
        for (int64_t rows : {1, 16, 17, 35}) {
            for (int64_t cols : {32, 96}) {
                const std::vector<int8_t> q = random_int8(size_t(rows * cols), uint32_t(rows + cols), q4 ? -8 : -128,
                                                          q4 ? 7 : 127);
                std::vector<uint16_t> d(static_cast<size_t>(rows * cols / 32));
                for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint16_t>(0x3000 + i);
                const QBlockPanels p = QBlockPanels::pack(format, q.data(), d.data(), rows, cols);
                EXPECT_EQ(p.block_bytes(), q4 ? 256 : 512);
                EXPECT_EQ(p.offset(), q4 ? 8 : 128);
                std::vector<int8_t> q_back(q.size());
                std::vector<uint16_t> d_back(d.size());
                p.unpack(q_back.data(), d_back.data());
                ASSERT_EQ(q_back, q);
                ASSERT_EQ(d_back, d);
                // Spot the documented byte positions.
                for (int64_t r = 0; r < rows; ++r) {
                    for (int64_t k = 0; k < cols; ++k) {
                        const int64_t b = k / 32, j = k % 32, g = j / 4, i = j % 4;
                        const uint8_t * block = p.values(r / 16, b);
                        const int want = q[size_t(r * cols + k)];
                        if (!q4) {
                            ASSERT_EQ(int(block[(g * 16 + r % 16) * 4 + i]), want + 128);
                        } else {
                            const uint8_t byte = block[((g % 4) * 16 + r % 16) * 4 + i];
                            ASSERT_EQ(g < 4 ? (byte & 0x0f) : (byte >> 4), want + 8);
                        }
                    }
                }
            }
        }
    }
}

TEST(QBlockPanels, RejectsColsThatAreNotBlocks) {
    const std::vector<int8_t> q(48, 0);
    const std::vector<uint16_t> d(2, 0);
    try {
        QBlockPanels::pack(DTM_FORMAT_Q4_0, q.data(), d.data(), 1, 48);
        FAIL() << "cols = 48 was accepted";
    } catch (const Error & e) {
        EXPECT_EQ(e.status(), DTM_ERR_INVALID_ARGUMENT);
        EXPECT_NE(std::string(e.what()).find("q4_0"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("48"), std::string::npos) << e.what();
    }
}

// ---------------------------------------------------------------------------
// Products

struct QBlockProblem {
    dtm_weight_format format;
    int64_t rows, cols, n_tokens, ldq, ldb, ldy;
    std::vector<int8_t> w;     // (rows, cols) signed values
    std::vector<uint16_t> dw;  // (rows, cols / 32)
    QBlockPanels panels;
    std::vector<int8_t> xq;    // (n_tokens, ldq)
    std::vector<float> xd;     // (n_tokens, ldb)
    std::vector<int32_t> xs;   // (n_tokens, ldb)

    QBlockProblem(dtm_weight_format format_, int64_t rows_, int64_t cols_, int64_t n_tokens_, uint32_t seed)
        : format(format_), rows(rows_), cols(cols_), n_tokens(n_tokens_), ldq(cols_ + 32), ldb(cols_ / 32 + 1),
          ldy(rows_ + 5) {
        const bool q4 = format == DTM_FORMAT_Q4_0;
        w = random_int8(size_t(rows * cols), seed, q4 ? -8 : -127, q4 ? 7 : 127);
        for (int64_t k = 0; k < cols && rows > 2; ++k) {
            w[size_t(cols + k)] = q4 ? -8 : -127;  // the extremes of the format
            w[size_t(2 * cols + k)] = q4 ? 7 : 127;
        }
        const int64_t n_blocks = cols / 32;
        dw.resize(size_t(rows * n_blocks));
        const std::vector<float> scales = random_floats(dw.size(), seed + 1, q4 ? -0.05f : 0.0f, 0.05f);
        for (size_t i = 0; i < dw.size(); ++i) dw[i] = fp32_to_fp16(scales[i]);
        if (!dw.empty()) dw[0] = 0;  // an all-zero block
        panels = QBlockPanels::pack(format, w.data(), dw.data(), rows, cols);
        xq = random_int8(size_t(n_tokens * ldq), seed + 2, -128, 127);
        for (int64_t k = 0; k < cols && n_tokens > 1; ++k) xq[size_t(ldq + k)] = -128;
        xd = random_floats(size_t(n_tokens * ldb), seed + 3, 0.001f, 0.1f);
        xs.assign(size_t(n_tokens * ldb), 0);
        for (int64_t t = 0; t < n_tokens; ++t) {
            for (int64_t k = 0; k < cols; ++k) xs[size_t(t * ldb + k / 32)] += xq[size_t(t * ldq + k)];
        }
    }

    QBlockTokens tokens() const { return {xq.data(), ldq, xd.data(), xs.data(), ldb}; }

    std::vector<float> run(QBlockGemmFn fn, int64_t p0, int64_t p1) const {
        const size_t n = size_t(n_tokens * ldy), guard = 64;
        std::vector<float> y(n + guard, sentinel());
        fn(panels, tokens(), n_tokens, y.data(), ldy, p0, p1);
        for (size_t i = n; i < n + guard; ++i) EXPECT_EQ(float_bits(y[i]), kSentinelBits) << "written past y";
        y.resize(n);
        return y;
    }
    std::vector<float> run(QBlockGemmFn fn) const { return run(fn, 0, panels.n_panels()); }

    // The documented formula, from the row-major values.
    float formula(int64_t t, int64_t o) const {
        float acc = 0.0f;
        for (int64_t b = 0; b < cols / 32; ++b) {
            int32_t isum = 0;
            for (int64_t j = 0; j < 32; ++j) isum += int32_t(w[size_t(o * cols + b * 32 + j)]) * xq[size_t(t * ldq + b * 32 + j)];
            acc = std::fmaf(fp16_to_fp32(dw[size_t(o * (cols / 32) + b)]) * xd[size_t(t * ldb + b)], float(isum), acc);
        }
        return acc;
    }
};

::testing::AssertionResult same_bits(const std::vector<float> & got, const std::vector<float> & want, int64_t ld) {
    for (size_t i = 0; i < got.size(); ++i) {
        if (float_bits(got[i]) != float_bits(want[i])) {
            return ::testing::AssertionFailure() << "y[" << i / size_t(ld) << "][" << i % size_t(ld) << "] = " << got[i]
                                                 << ", reference " << want[i];
        }
    }
    return ::testing::AssertionSuccess();
}

TEST(QBlockGemmRef, EqualsTheDocumentedFormula) {
    for (dtm_weight_format format : {DTM_FORMAT_Q8_0, DTM_FORMAT_Q4_0}) {
        const QBlockProblem pr(format, 21, 96, 4, 17);
        const std::vector<float> y = pr.run(&qblock_gemm_ref);
        for (int64_t t = 0; t < pr.n_tokens; ++t) {
            for (int64_t o = 0; o < pr.rows; ++o) {
                ASSERT_EQ(float_bits(y[size_t(t * pr.ldy + o)]), float_bits(pr.formula(t, o))) << t << ", " << o;
            }
            for (int64_t o = pr.rows; o < pr.ldy; ++o) ASSERT_EQ(float_bits(y[size_t(t * pr.ldy + o)]), kSentinelBits);
        }
    }
}

struct QBlockPath {
    const char * name;
    QBlockGemmFn fn;
    bool (*available)();
};

bool always() { return true; }
bool has_avx2() { return isa_supported(DTM_ISA_AVX2); }

const QBlockPath kPaths[] = {
    {"scalar", &qblock_gemm_ref, &always},
    {"avx2", &qblock_gemm_avx2, &has_avx2},
    {"avx512vnni", &qblock_gemm_avx512vnni, &cpu_has_avx512_vnni},
};

class QBlockGemmPath : public ::testing::TestWithParam<QBlockPath> {
protected:
    void SetUp() override {
        if (!GetParam().available()) GTEST_SKIP() << GetParam().name << " is not supported by this CPU";
    }
};

TEST_P(QBlockGemmPath, BitwiseEqualToTheReferenceOnAwkwardShapes) {
    struct Shape { int64_t rows, cols, n_tokens; };
    const Shape shapes[] = {{1, 32, 1}, {1, 32, 7}, {15, 64, 3}, {16, 32, 2}, {17, 160, 5},
                            {33, 288, 9}, {70, 96, 4}, {129, 64, 13}, {48, 256, 64}};
    uint32_t seed = 500;
    for (dtm_weight_format format : {DTM_FORMAT_Q8_0, DTM_FORMAT_Q4_0}) {
        for (const Shape & s : shapes) {
            const QBlockProblem pr(format, s.rows, s.cols, s.n_tokens, seed++);
            EXPECT_TRUE(same_bits(pr.run(GetParam().fn), pr.run(&qblock_gemm_ref), pr.ldy))
                << (format == DTM_FORMAT_Q4_0 ? "q4_0 " : "q8_0 ") << s.rows << " x " << s.cols << ", "
                << s.n_tokens << " tokens";
        }
    }
}

TEST_P(QBlockGemmPath, PartialPanelRangesWriteOnlyTheirOutputs) {
    for (dtm_weight_format format : {DTM_FORMAT_Q8_0, DTM_FORMAT_Q4_0}) {
        const QBlockProblem pr(format, 70, 64, 5, 41);
        const std::vector<float> full = pr.run(&qblock_gemm_ref);
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
}

TEST_P(QBlockGemmPath, OutputOfATokenDoesNotDependOnTheBatch) {
    for (dtm_weight_format format : {DTM_FORMAT_Q8_0, DTM_FORMAT_Q4_0}) {
        const QBlockProblem pr(format, 40, 128, 11, 61);
        const std::vector<float> batch = pr.run(GetParam().fn);
        for (int64_t t = 0; t < pr.n_tokens; ++t) {
            std::vector<float> y(static_cast<size_t>(pr.ldy), sentinel());
            const QBlockTokens one{pr.xq.data() + t * pr.ldq, pr.ldq, pr.xd.data() + t * pr.ldb, pr.xs.data() + t * pr.ldb,
                                   pr.ldb};
            GetParam().fn(pr.panels, one, 1, y.data(), pr.ldy, 0, pr.panels.n_panels());
            const std::vector<float> row(batch.begin() + t * pr.ldy, batch.begin() + (t + 1) * pr.ldy);
            ASSERT_TRUE(same_bits(y, row, pr.ldy)) << "token " << t;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, QBlockGemmPath, ::testing::ValuesIn(kPaths),
                         [](const ::testing::TestParamInfo<QBlockPath> & info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------
// The q8_0 token quantizer: every path gives quantize_block_q8_0's bits

class QuantizeTokensQ8Path : public ::testing::TestWithParam<dtm_isa> {
protected:
    void SetUp() override {
        if (!isa_supported(GetParam())) GTEST_SKIP() << isa_name(GetParam()) << " is not supported by this CPU";
    }
};

TEST_P(QuantizeTokensQ8Path, EqualsTheBlockQuantizer) {
    const QuantizeTokensQ8_0Fn fn = quant_kernels(GetParam()).quantize_tokens_q8_0;
    const int64_t cols = 96, n_tokens = 6, ldx = cols + 1, ldq = cols + 2, ldb = 4;
    std::vector<float> x = random_floats(static_cast<size_t>(n_tokens * ldx), 5, -3.0f, 3.0f);
    for (int64_t k = 0; k < 32; ++k) {
        x[size_t(0 * ldx + k)] = 0.0f;                               // a zero block
        x[size_t(1 * ldx + 32 + k)] = float(k % 7) * 0.5f - 1.5f;    // ties
    }
    x[size_t(2 * ldx + 70)] = 1e9f;                                   // scale beyond fp16: not finite
    x[size_t(3 * ldx + 95)] = std::numeric_limits<float>::quiet_NaN();
    x[size_t(4 * ldx + 40)] = 5000.0f;                                // large but fine
    std::vector<int8_t> q(static_cast<size_t>(n_tokens * ldq), 99), q_ref = q;
    std::vector<float> d(static_cast<size_t>(n_tokens * ldb)), d_ref = d;
    std::vector<int32_t> sum(static_cast<size_t>(n_tokens * ldb)), sum_ref = sum;
    std::vector<uint8_t> finite(static_cast<size_t>(n_tokens)), finite_ref = finite;
    fn(x.data(), ldx, n_tokens, cols, q.data(), ldq, d.data(), sum.data(), ldb, finite.data());
    quantize_tokens_q8_0_ref(x.data(), ldx, n_tokens, cols, q_ref.data(), ldq, d_ref.data(), sum_ref.data(), ldb,
                             finite_ref.data());
    ASSERT_EQ(finite, finite_ref);
    EXPECT_EQ(finite[2], 0);
    EXPECT_EQ(finite[3], 0);
    EXPECT_EQ(finite[4], 1);
    for (int64_t t = 0; t < n_tokens; ++t) {
        if (!finite[size_t(t)]) continue;
        for (int64_t b = 0; b < cols / 32; ++b) {
            ASSERT_EQ(float_bits(d[size_t(t * ldb + b)]), float_bits(d_ref[size_t(t * ldb + b)])) << t << ", " << b;
            ASSERT_EQ(sum[size_t(t * ldb + b)], sum_ref[size_t(t * ldb + b)]) << t << ", " << b;
        }
        for (int64_t k = 0; k < ldq; ++k) ASSERT_EQ(q[size_t(t * ldq + k)], q_ref[size_t(t * ldq + k)]) << t << ", " << k;
    }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, QuantizeTokensQ8Path, ::testing::Values(DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512),
                         [](const ::testing::TestParamInfo<dtm_isa> & info) { return std::string(isa_name(info.param)); });

TEST(QBlockKernels, TableFollowsTheKernelPath) {
    const test::ScopedEnv vnni_as_detected("DTM_NO_VNNI", nullptr);
    EXPECT_EQ(quant_kernels(DTM_ISA_SCALAR).qblock_gemm, &qblock_gemm_ref);
    if (isa_supported(DTM_ISA_AVX2)) {
        EXPECT_EQ(quant_kernels(DTM_ISA_AVX2).qblock_gemm, &qblock_gemm_avx2);
    }
    if (isa_supported(DTM_ISA_AVX512)) {
        EXPECT_EQ(quant_kernels(DTM_ISA_AVX512).qblock_gemm,
                  cpu_has_avx512_vnni() ? &qblock_gemm_avx512vnni : &qblock_gemm_avx2);
    }
}

// The avx512 path as on a CPU without VNNI ($DTM_NO_VNNI=1): a block kernel
// compiled without VNNI, bitwise equal to the VNNI kernel and the reference.
TEST(QBlockKernels, Avx512WithoutVnniGivesTheSameBits) {
    if (!isa_supported(DTM_ISA_AVX512)) GTEST_SKIP() << "avx512 is not supported by this CPU";
    QBlockGemmFn without = nullptr;
    {
        const test::ScopedEnv off("DTM_NO_VNNI", "1");
        without = quant_kernels(DTM_ISA_AVX512).qblock_gemm;
    }
    EXPECT_EQ(without, &qblock_gemm_avx2);
    const test::ScopedEnv vnni_as_detected("DTM_NO_VNNI", nullptr);
    uint32_t seed = 900;
    for (dtm_weight_format format : {DTM_FORMAT_Q8_0, DTM_FORMAT_Q4_0}) {
        for (int64_t n_tokens : {int64_t(1), int64_t(5), int64_t(64)}) {
            const QBlockProblem pr(format, 33, 288, n_tokens, seed++);
            const std::vector<float> want = pr.run(&qblock_gemm_ref);
            EXPECT_TRUE(same_bits(pr.run(without), want, pr.ldy)) << n_tokens << " tokens";
            if (cpu_has_avx512_vnni()) {
                EXPECT_TRUE(same_bits(pr.run(quant_kernels(DTM_ISA_AVX512).qblock_gemm), want, pr.ldy)) << "vnni";
            }
        }
    }
}

}  // namespace
}  // namespace dtm::cpu
