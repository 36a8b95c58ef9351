// test_matmul.cpp - packing, the fp32 matmul paths and the kernel dispatch.
//
// Every matmul path must be BITWISE equal to matmul_ref (same per-output
// operation order, see matmul.h): outputs are compared with memcmp-like
// equality of their bit patterns. The one exception is NaN, whose payload
// and sign are not specified by IEEE 754 for operations on NaN/inf operands
// and which x86 FMA forms choose by operand position: a NaN output must be a
// NaN on every path, nothing more.
//
// A path this CPU lacks is reported as skipped (GTEST_SKIP), never as passed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/packed_matrix.h"
#include "test_support.h"

namespace dtm::cpu {
namespace {

using test::bits_of;
using test::kSentinelBits;
using test::random_floats;
using test::sentinel;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
// Written to y before a product, to see which outputs a kernel touched.



// A product of a rows x cols matrix with n_tokens token rows, with strides
// ldx >= cols and ldy >= rows, on one kernel path.
struct Problem {
    int64_t rows, cols, n_tokens, ldx, ldy;
    PackedMatrix w;
    std::vector<float> x;  // (n_tokens, ldx)

    Problem(int64_t rows_, int64_t cols_, int64_t n_tokens_, uint32_t seed, int64_t ldx_pad = 0,
            int64_t ldy_pad = 0)
        : rows(rows_), cols(cols_), n_tokens(n_tokens_), ldx(cols_ + ldx_pad), ldy(rows_ + ldy_pad) {
        const std::vector<float> wv = random_floats(size_t(rows * cols), seed);
        w = PackedMatrix::pack(wv.data(), rows, cols, cols);
        x = random_floats(size_t(n_tokens * ldx), seed + 1);
    }

    // y (n_tokens, ldy) pre-filled with the sentinel, after fn over panels
    // [p0, p1). A guard zone after y must stay untouched.
    std::vector<float> run(MatmulFn fn, int64_t p0, int64_t p1) const {
        const size_t n = size_t(n_tokens * ldy), guard = 64;
        std::vector<float> y(n + guard, sentinel());
        fn(w, x.data(), ldx, y.data(), ldy, n_tokens, p0, p1);
        for (size_t i = n; i < n + guard; ++i) {
            EXPECT_EQ(bits_of(y[i]), kSentinelBits) << "written past the end of y, at y[" << i << "]";
        }
        y.resize(n);
        return y;
    }
    std::vector<float> run(MatmulFn fn) const { return run(fn, 0, w.n_panels()); }
};

// Bitwise equal, except that a NaN only has to meet a NaN. Reports the first
// mismatch with its token and output.
::testing::AssertionResult same_outputs(const std::vector<float> & got, const std::vector<float> & want,
                                        int64_t ldy) {
    if (got.size() != want.size()) return ::testing::AssertionFailure() << "sizes differ";
    for (size_t i = 0; i < got.size(); ++i) {
        const bool both_nan = std::isnan(got[i]) && std::isnan(want[i]) &&
                              bits_of(got[i]) != kSentinelBits && bits_of(want[i]) != kSentinelBits;
        if (bits_of(got[i]) != bits_of(want[i]) && !both_nan) {
            return ::testing::AssertionFailure()
                   << "y[" << i / size_t(ldy) << "][" << i % size_t(ldy) << "] = " << got[i] << " (0x"
                   << std::hex << bits_of(got[i]) << "), reference " << std::dec << want[i] << " (0x"
                   << std::hex << bits_of(want[i]) << ")";
        }
    }
    return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------
// Packing

TEST(PackedMatrix, RoundTripKeepsEveryWeight) {
    for (int64_t rows : {1, 15, 16, 17, 33, 300}) {
        for (int64_t cols : {1, 7, 513}) {
            const int64_t ld = cols + 3;
            const std::vector<float> w = random_floats(size_t(rows * ld), uint32_t(rows * 1000 + cols));
            const PackedMatrix p = PackedMatrix::pack(w.data(), rows, cols, ld);
            EXPECT_EQ(p.rows(), rows);
            EXPECT_EQ(p.cols(), cols);
            EXPECT_EQ(p.n_panels(), (rows + 15) / 16);
            EXPECT_EQ(reinterpret_cast<uintptr_t>(p.panel(0)) % 64, 0u);

            const int64_t ld_out = cols + 5;
            std::vector<float> back(size_t(rows * ld_out), sentinel());
            p.unpack(back.data(), ld_out);
            for (int64_t r = 0; r < rows; ++r) {
                for (int64_t k = 0; k < cols; ++k) {
                    ASSERT_EQ(bits_of(back[r * ld_out + k]), bits_of(w[r * ld + k]))
                        << rows << "x" << cols << " at (" << r << ", " << k << ")";
                }
                for (int64_t k = cols; k < ld_out; ++k) {  // the stride's gap is not written
                    ASSERT_EQ(bits_of(back[r * ld_out + k]), kSentinelBits);
                }
            }
        }
    }
}

TEST(PackedMatrix, LayoutIsKMajorPanelsWithZeroPadding) {
    const int64_t rows = 20, cols = 3;
    std::vector<float> w(size_t(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t k = 0; k < cols; ++k) w[r * cols + k] = float(r * 100 + k + 1);
    }
    const PackedMatrix p = PackedMatrix::pack(w.data(), rows, cols, cols);
    ASSERT_EQ(p.n_panels(), 2);
    for (int64_t panel = 0; panel < 2; ++panel) {
        for (int64_t k = 0; k < cols; ++k) {
            for (int64_t r = 0; r < kPanelRows; ++r) {
                const int64_t row = panel * kPanelRows + r;
                const float want = row < rows ? float(row * 100 + k + 1) : 0.0f;
                EXPECT_EQ(bits_of(p.panel(panel)[k * kPanelRows + r]), bits_of(want));
            }
        }
    }
    EXPECT_EQ(p.bytes(), size_t(2 * cols * kPanelRows) * sizeof(float));
}

TEST(PackedMatrix, RejectsBadShapes) {
    const std::vector<float> w(64, 1.0f);
    try {
        PackedMatrix::pack(w.data(), 4, 8, 7);  // stride shorter than a row
        FAIL() << "ld < cols was accepted";
    } catch (const Error & e) {
        EXPECT_EQ(e.status(), DTM_ERR_INVALID_ARGUMENT);
    }
    try {
        PackedMatrix::pack(w.data(), -1, 8, 8);
        FAIL() << "negative rows were accepted";
    } catch (const Error & e) {
        EXPECT_EQ(e.status(), DTM_ERR_INVALID_ARGUMENT);
    }
    try {
        PackedMatrix::pack(w.data(), int64_t(1) << 40, int64_t(1) << 40, int64_t(1) << 40);
        FAIL() << "an impossible size was accepted";
    } catch (const Error & e) {
        EXPECT_EQ(e.status(), DTM_ERR_OUT_OF_MEMORY);
    }
}

// ---------------------------------------------------------------------------
// The reference itself, on a product small enough to write out.

TEST(MatmulRef, ComputesTheProductInKOrder) {
    // W = [[1, 2, 3], [4, 5, 6]], x = [[1, 0, -1], [0.5, 0.25, 2]]
    const float w[] = {1, 2, 3, 4, 5, 6};
    const float x[] = {1, 0, -1, 0.5f, 0.25f, 2};
    const PackedMatrix p = PackedMatrix::pack(w, 2, 3, 3);
    float y[4];
    matmul_ref(p, x, 3, y, 2, 2, 0, 1);
    EXPECT_EQ(y[0], -2.0f);
    EXPECT_EQ(y[1], -2.0f);
    EXPECT_EQ(y[2], 0.5f + 0.5f + 6.0f);
    EXPECT_EQ(y[3], 2.0f + 1.25f + 12.0f);

    // One rounding per step, in increasing k: (1e8 + 1) rounds the 1 away
    // before -1e8 cancels, so the result is 0, not the exact 1 (that a
    // compiler reassociating to (1e8 - 1e8) + 1 would give).
    const float w2[] = {1e8f, 1.0f, -1e8f};
    const float x2[] = {1.0f, 1.0f, 1.0f};
    const PackedMatrix p2 = PackedMatrix::pack(w2, 1, 3, 3);
    float y2 = -1.0f;
    matmul_ref(p2, x2, 3, &y2, 1, 1, 0, 1);
    EXPECT_EQ(y2, 0.0f);
}

TEST(MatmulRef, SingleRoundingPerStep) {
    // a = 1 + 2^-23, a * a = 1 + 2^-22 + 2^-46. Step 0 stores round(-(a * a))
    // = -(1 + 2^-22); step 1 adds the unrounded a * a and rounds once, so the
    // result is exactly the 2^-46 that a separate multiply would have lost.
    const float a = 1.0f + 0x1p-23f;
    const float w[] = {a, a};
    const float x[] = {-a, a};  // step 0: fma(a, -a, 0) = round(-(a*a)); step 1: fma(a, a, acc)
    const PackedMatrix p = PackedMatrix::pack(w, 1, 2, 2);
    float y = 0.0f;
    matmul_ref(p, x, 2, &y, 1, 1, 0, 1);
    const double exact_sq = double(a) * double(a);
    EXPECT_EQ(double(y), exact_sq - double(float(exact_sq)));
}

// ---------------------------------------------------------------------------
// Every path against the reference

class MatmulPath : public ::testing::TestWithParam<dtm_isa> {
protected:
    void SetUp() override {
        if (!isa_supported(GetParam())) {
            GTEST_SKIP() << isa_name(GetParam()) << " is not supported by this CPU";
        }
        fn_ = kernels(GetParam()).matmul;
    }
    MatmulFn fn_ = nullptr;
};

TEST_P(MatmulPath, BitwiseEqualOnAwkwardShapes) {
    for (int64_t rows : {1, 15, 16, 17, 33, 300}) {
        // 2053 > any k block of the vector paths: partial sums rest in y between blocks.
        for (int64_t cols : {1, 7, 513, 768, 2053}) {
            for (int64_t n_tokens : {1, 2, 3, 5, 13, 64}) {
                const Problem pr(rows, cols, n_tokens, uint32_t(rows * 7919 + cols * 31 + n_tokens));
                ASSERT_TRUE(same_outputs(pr.run(fn_), pr.run(&matmul_ref), pr.ldy))
                    << rows << "x" << cols << ", " << n_tokens << " tokens";
            }
        }
    }
}

TEST_P(MatmulPath, PartialPanelRangesWriteOnlyTheirOutputs) {
    // 19 panels, the last one 12 rows; 1100 columns are cut into k blocks
    // (13 tokens); 1 and 2 tokens take the strided walk of decoding, whose
    // ranges of 5, 7, 17, 18 and 19 panels leave 1-3 panels (and the padded
    // last one) to the contiguous tiles at the end.
    for (int64_t cols : {61, 1100}) {
        for (int64_t n_tokens : {1, 2, 13}) {
            const Problem pr(300, cols, n_tokens, 7, 3, 9);
            struct Range { int64_t p0, p1; };
            for (const Range r : {Range{0, 1}, Range{3, 7}, Range{18, 19}, Range{17, 19}, Range{5, 5},
                                  Range{0, 19}, Range{1, 18}, Range{2, 9}, Range{0, 17}, Range{0, 18}}) {
                const std::vector<float> got = pr.run(fn_, r.p0, r.p1);
                ASSERT_TRUE(same_outputs(got, pr.run(&matmul_ref, r.p0, r.p1), pr.ldy))
                    << cols << " cols, " << n_tokens << " tokens, panels [" << r.p0 << ", " << r.p1 << ")";
                for (int64_t t = 0; t < pr.n_tokens; ++t) {
                    for (int64_t o = 0; o < pr.ldy; ++o) {
                        const bool inside = o >= r.p0 * kPanelRows && o < r.p1 * kPanelRows && o < pr.rows;
                        ASSERT_EQ(bits_of(got[t * pr.ldy + o]) != kSentinelBits, inside)
                            << "panels [" << r.p0 << ", " << r.p1 << "), y[" << t << "][" << o << "]";
                    }
                }
            }
        }
    }
}

TEST_P(MatmulPath, HonoursRowStrides) {
    for (int64_t cols : {513, 2100}) {
        for (int64_t n_tokens : {1, 3, 13}) {
            const Problem pr(33, cols, n_tokens, 11, /*ldx_pad=*/17, /*ldy_pad=*/5);
            ASSERT_TRUE(same_outputs(pr.run(fn_), pr.run(&matmul_ref), pr.ldy))
                << cols << " cols, " << n_tokens << " tokens";
        }
    }
}

TEST_P(MatmulPath, OutputOfATokenDoesNotDependOnTheBatch) {
    // The law behind "prefill logits == decode logits": token t alone gives the
    // same bits as token t inside a batch of 64.
    const Problem pr(300, 768, 64, 5);
    const std::vector<float> batch = pr.run(fn_);
    for (int64_t t : {0, 7, 8, 31, 63}) {
        std::vector<float> one(size_t(pr.ldy), sentinel());
        fn_(pr.w, pr.x.data() + t * pr.ldx, pr.ldx, one.data(), pr.ldy, 1, 0, pr.w.n_panels());
        ASSERT_EQ(std::memcmp(one.data(), batch.data() + t * pr.ldy, size_t(pr.rows) * sizeof(float)), 0)
            << "token " << t;
    }
}

TEST_P(MatmulPath, ZeroInputsGivePositiveZero) {
    Problem pr(17, 7, 3, 3);
    std::fill(pr.x.begin(), pr.x.end(), 0.0f);
    const std::vector<float> y = pr.run(fn_);
    ASSERT_TRUE(same_outputs(y, pr.run(&matmul_ref), pr.ldy));
    for (int64_t t = 0; t < pr.n_tokens; ++t) {
        for (int64_t o = 0; o < pr.rows; ++o) EXPECT_EQ(bits_of(y[t * pr.ldy + o]), 0u);
    }
}

TEST_P(MatmulPath, ZeroColumnsGiveZero) {
    Problem pr(17, 0, 3, 3, 1, 0);
    const std::vector<float> y = pr.run(fn_);
    ASSERT_TRUE(same_outputs(y, pr.run(&matmul_ref), pr.ldy));
    for (float v : y) EXPECT_EQ(bits_of(v), 0u);
}

TEST_P(MatmulPath, ExtremeValuesPropagateAsInTheReference) {
    // Huge values that overflow, tiny ones and denormals that underflow or
    // lose bits, signed zeros, infinities (inf * 0 = NaN, inf - inf = NaN)
    // and NaN, sprinkled over random data.
    const float specials[] = {3e38f, -3e38f, 1e-30f, -1e-30f, 1e-40f, -1e-45f,
                              std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min(),
                              0.0f, -0.0f, kInf, -kInf, kNaN, 65504.0f, 1e20f, -1e19f};
    const size_t n_special = sizeof(specials) / sizeof(specials[0]);
    for (int64_t cols : {7, 40, 513}) {
        for (int64_t n_tokens : {1, 3, 13}) {
            const int64_t rows = 33;
            std::vector<float> wv = random_floats(size_t(rows * cols), uint32_t(cols + n_tokens), -4.0f, 4.0f);
            std::vector<float> xv = random_floats(size_t(n_tokens * cols), uint32_t(cols * n_tokens), -4.0f, 4.0f);
            std::mt19937 rng(uint32_t(cols * 3 + n_tokens));
            // Mostly finite extremes; infinities and NaN in a few places only,
            // so that most outputs stay finite and are compared bit for bit.
            for (size_t i = 0; i < wv.size(); i += 1 + rng() % 5) wv[i] = specials[rng() % 10];
            for (size_t i = 0; i < xv.size(); i += 1 + rng() % 7) xv[i] = specials[rng() % 10];
            for (int j = 0; j < 3; ++j) wv[rng() % wv.size()] = specials[10 + rng() % (n_special - 10)];
            xv[rng() % xv.size()] = specials[10 + rng() % (n_special - 10)];

            Problem pr(rows, cols, n_tokens, 1);
            pr.w = PackedMatrix::pack(wv.data(), rows, cols, cols);
            pr.x = xv;
            ASSERT_TRUE(same_outputs(pr.run(fn_), pr.run(&matmul_ref), pr.ldy))
                << cols << " cols, " << n_tokens << " tokens";
        }
    }
}

TEST_P(MatmulPath, DenormalProductsAreNotFlushed) {
    // 2^-75 * 2^-75 = 2^-150 rounds to 0, but 2^-70 * 2^-70 = 2^-140 is a
    // denormal that must survive (no flush-to-zero on any path).
    const float w[] = {0x1p-70f};
    const float x[] = {0x1p-70f};
    const PackedMatrix p = PackedMatrix::pack(w, 1, 1, 1);
    float y = 1.0f;
    fn_(p, x, 1, &y, 1, 1, 0, 1);
    EXPECT_EQ(y, 0x1p-140f);
}

INSTANTIATE_TEST_SUITE_P(AllPaths, MatmulPath,
                         ::testing::Values(DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512),
                         [](const ::testing::TestParamInfo<dtm_isa> & info) {
                             return std::string(isa_name(info.param));
                         });

// ---------------------------------------------------------------------------
// Dispatch: detection, the DTM_ISA override and its errors

// Sets (or unsets, for nullptr) $DTM_ISA for one scope.
struct ScopedIsaEnv : test::ScopedEnv {
    explicit ScopedIsaEnv(const char * value) : test::ScopedEnv("DTM_ISA", value) {}
};

// The status of the dtm::Error that fn throws (DTM_OK if none).
template <typename Fn>
dtm_status status_of(Fn fn, std::string * message = nullptr) {
    try {
        fn();
    } catch (const Error & e) {
        if (message) *message = e.what();
        return e.status();
    }
    return DTM_OK;
}

TEST(Dispatch, BestIsaIsConcreteAndSupported) {
    const dtm_isa best = best_isa();
    EXPECT_NE(best, DTM_ISA_AUTO);
    EXPECT_TRUE(isa_supported(best));
    EXPECT_TRUE(isa_supported(DTM_ISA_SCALAR));
    EXPECT_FALSE(isa_supported(DTM_ISA_AUTO));
    // The paths are nested: a CPU with AVX-512 also runs AVX2.
    if (isa_supported(DTM_ISA_AVX512)) {
        EXPECT_TRUE(isa_supported(DTM_ISA_AVX2));
    }
    std::printf("[ info ] best ISA of this CPU: %s\n", isa_name(best));
}

TEST(Dispatch, AutoWithoutEnvIsTheBest) {
    ScopedIsaEnv env(nullptr);
    EXPECT_EQ(resolve_isa(DTM_ISA_AUTO), best_isa());
    ScopedIsaEnv empty("");
    EXPECT_EQ(resolve_isa(DTM_ISA_AUTO), best_isa());
}

TEST(Dispatch, EnvForcesALowerPath) {
    {
        ScopedIsaEnv env("scalar");
        EXPECT_EQ(resolve_isa(DTM_ISA_AUTO), DTM_ISA_SCALAR);
        // An explicit request wins over the environment.
        EXPECT_EQ(resolve_isa(best_isa()), best_isa());
    }
    {
        ScopedIsaEnv env("AVX2");  // any case
        if (isa_supported(DTM_ISA_AVX2)) {
            EXPECT_EQ(resolve_isa(DTM_ISA_AUTO), DTM_ISA_AVX2);
        } else {
            EXPECT_EQ(status_of([] { resolve_isa(DTM_ISA_AUTO); }), DTM_ERR_UNSUPPORTED);
        }
    }
    {
        ScopedIsaEnv env("auto");
        EXPECT_EQ(resolve_isa(DTM_ISA_AUTO), best_isa());
    }
}

TEST(Dispatch, UnknownValuesAreInvalidArguments) {
    std::string message;
    {
        ScopedIsaEnv env("avx9000");
        EXPECT_EQ(status_of([] { resolve_isa(DTM_ISA_AUTO); }, &message), DTM_ERR_INVALID_ARGUMENT);
        EXPECT_NE(message.find("avx9000"), std::string::npos) << message;
    }
    EXPECT_EQ(status_of([] { resolve_isa(42); }), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(status_of([] { resolve_isa(-1); }), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(status_of([] { kernels(DTM_ISA_AUTO); }), DTM_ERR_INVALID_ARGUMENT);
}

TEST(Dispatch, UnsupportedChoicesNameTheIsa) {
    dtm_isa missing = DTM_ISA_AUTO;
    for (dtm_isa isa : {DTM_ISA_AVX512, DTM_ISA_AVX2}) {
        if (!isa_supported(isa)) missing = isa;
    }
    if (missing == DTM_ISA_AUTO) GTEST_SKIP() << "this CPU supports every path";
    std::string message;
    EXPECT_EQ(status_of([&] { resolve_isa(missing); }, &message), DTM_ERR_UNSUPPORTED);
    EXPECT_NE(message.find(isa_name(missing)), std::string::npos) << message;
    ScopedIsaEnv env(isa_name(missing));
    EXPECT_EQ(status_of([] { resolve_isa(DTM_ISA_AUTO); }, &message), DTM_ERR_UNSUPPORTED);
    EXPECT_NE(message.find(isa_name(missing)), std::string::npos) << message;
    EXPECT_EQ(status_of([&] { kernels(missing); }), DTM_ERR_UNSUPPORTED);
}

TEST(Dispatch, TablesMatchTheirIsa) {
    for (dtm_isa isa : {DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512}) {
        if (!isa_supported(isa)) continue;
        const KernelTable & t = kernels(isa);
        EXPECT_EQ(t.isa, isa);
        EXPECT_STREQ(t.name, isa_name(isa));
        EXPECT_NE(t.matmul, nullptr);
        EXPECT_NE(t.row_stats, nullptr);
    }
    EXPECT_EQ(kernels(DTM_ISA_SCALAR).matmul, &matmul_ref);
    EXPECT_STREQ(isa_name(DTM_ISA_AUTO), "auto");
    EXPECT_STREQ(isa_name(DTM_ISA_SCALAR), "scalar");
    EXPECT_STREQ(isa_name(DTM_ISA_AVX2), "avx2");
    EXPECT_STREQ(isa_name(DTM_ISA_AVX512), "avx512");
    EXPECT_STREQ(isa_name(17), "unknown");
}

}  // namespace
}  // namespace dtm::cpu
