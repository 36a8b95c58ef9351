// test_matmul_half.cpp - 16-bit panels (bf16, fp16) and the matmul_half paths.
//
// A 16-bit weight widens to fp32 exactly, and every matmul_half path then
// does the fp32 kernel's operations: its outputs must be BITWISE those of
// matmul_ref on the fp32 panels of the widened weights, on every path, shape,
// panel range and batch size (NaN only has to meet NaN, as in test_matmul).
//
// A path this CPU lacks is reported as skipped (GTEST_SKIP), never as passed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

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

const char * kind_name(HalfKind kind) { return kind == HalfKind::kBf16 ? "bf16" : "fp16"; }

// Random finite 16-bit values of `kind`: every sign, mantissa and exponent
// (zeros and subnormals included) except the all-ones exponent (inf/NaN);
// exponents are kept near 1 so that products stay well inside fp32.
std::vector<uint16_t> random_halves(size_t n, uint32_t seed, HalfKind kind) {
    std::mt19937 rng(seed);
    std::vector<uint16_t> out(n);
    for (uint16_t & h : out) {
        const uint32_t r = rng();
        if (kind == HalfKind::kBf16) {
            const uint32_t exponent = r % 16 == 0 ? (r >> 4) % 3 : 112 + (r >> 4) % 24;  // 0..2 (tiny) or 2^-15 .. 2^8
            h = uint16_t(((r >> 9) & 0x8000u) | (exponent << 7) | ((r >> 16) & 0x7fu));
        } else {
            const uint32_t exponent = (r >> 4) % 31;  // 0 (subnormal) .. 30 (up to 65504)
            h = uint16_t(((r >> 9) & 0x8000u) | (exponent << 10) | ((r >> 16) & 0x3ffu));
        }
    }
    return out;
}

std::vector<float> widened(const std::vector<uint16_t> & h, HalfKind kind) {
    std::vector<float> out(h.size());
    for (size_t i = 0; i < h.size(); ++i) out[i] = widen_half(h[i], kind);
    return out;
}

// y (n_tokens, ldy), pre-filled with the sentinel, after fn over panels
// [p0, p1); a guard zone after y must stay untouched.
template <typename Fn, typename Matrix>
std::vector<float> run(Fn fn, const Matrix & w, const std::vector<float> & x, int64_t ldx, int64_t n_tokens,
                       int64_t ldy, int64_t p0, int64_t p1) {
    const size_t n = size_t(n_tokens * ldy), guard = 64;
    std::vector<float> y(n + guard, sentinel());
    fn(w, x.data(), ldx, y.data(), ldy, n_tokens, p0, p1);
    for (size_t i = n; i < n + guard; ++i) EXPECT_EQ(bits_of(y[i]), kSentinelBits) << "written past y, at " << i;
    y.resize(n);
    return y;
}

::testing::AssertionResult same_outputs(const std::vector<float> & got, const std::vector<float> & want) {
    if (got.size() != want.size()) return ::testing::AssertionFailure() << "sizes differ";
    for (size_t i = 0; i < got.size(); ++i) {
        const bool both_nan = std::isnan(got[i]) && std::isnan(want[i]) && bits_of(got[i]) != kSentinelBits &&
                              bits_of(want[i]) != kSentinelBits;
        if (bits_of(got[i]) != bits_of(want[i]) && !both_nan) {
            return ::testing::AssertionFailure() << "output " << i << " = " << got[i] << ", reference " << want[i];
        }
    }
    return ::testing::AssertionSuccess();
}

TEST(PackedHalfMatrix, KeepsTheBitsAndWidensExactly) {
    for (HalfKind kind : {HalfKind::kBf16, HalfKind::kFp16}) {
        for (int64_t rows : {1, 15, 16, 17, 33}) {
            for (int64_t cols : {1, 7, 513}) {
                const int64_t ld = cols + 3;
                const std::vector<uint16_t> w = random_halves(size_t(rows * ld), uint32_t(rows * 100 + cols), kind);
                const PackedHalfMatrix p = PackedHalfMatrix::pack(w.data(), rows, cols, ld, kind);
                EXPECT_EQ(p.kind(), kind);
                EXPECT_EQ(p.n_panels(), (rows + 15) / 16);
                EXPECT_EQ(reinterpret_cast<uintptr_t>(p.panel(0)) % 64, 0u);
                EXPECT_EQ(p.bytes(), size_t(p.n_panels() * 16 * cols) * 2);
                std::vector<uint16_t> bits(size_t(rows * cols));
                std::vector<float> values(size_t(rows * cols));
                p.unpack_bits(bits.data(), cols);
                p.unpack(values.data(), cols);
                for (int64_t r = 0; r < rows; ++r) {
                    for (int64_t k = 0; k < cols; ++k) {
                        const uint16_t h = w[size_t(r * ld + k)];
                        ASSERT_EQ(bits[size_t(r * cols + k)], h);
                        ASSERT_EQ(bits_of(values[size_t(r * cols + k)]), bits_of(widen_half(h, kind)));
                    }
                }
                // Padding rows of the last panel are zero.
                for (int64_t r = rows; r < p.n_panels() * 16; ++r) {
                    for (int64_t k = 0; k < cols; ++k) ASSERT_EQ(p.panel(r / 16)[k * 16 + r % 16], 0u);
                }
            }
        }
    }
    // Widening: bf16 is the top half of the fp32; fp16 by IEEE rules.
    EXPECT_EQ(widen_half(0x3f80, HalfKind::kBf16), 1.0f);
    EXPECT_EQ(widen_half(0xc040, HalfKind::kBf16), -3.0f);
    EXPECT_EQ(widen_half(0x3c00, HalfKind::kFp16), 1.0f);
    EXPECT_EQ(widen_half(0x7bff, HalfKind::kFp16), 65504.0f);
    EXPECT_EQ(widen_half(0x0001, HalfKind::kFp16), 0x1p-24f);
}

struct HalfCase {
    dtm_isa isa;
    HalfKind kind;
};

class MatmulHalfPath : public ::testing::TestWithParam<HalfCase> {
protected:
    void SetUp() override {
        if (!isa_supported(GetParam().isa)) GTEST_SKIP() << isa_name(GetParam().isa) << " is not supported by this CPU";
        fn_ = kernels(GetParam().isa).matmul_half;
    }
    MatmulHalfFn fn_ = nullptr;
};

// The fp32 reference of the same problem: matmul_ref on the widened weights.
struct HalfProblem {
    int64_t rows, cols, n_tokens, ldx, ldy;
    PackedHalfMatrix half;
    PackedMatrix fp32;
    std::vector<float> x;

    HalfProblem(HalfKind kind, int64_t rows_, int64_t cols_, int64_t n_tokens_, uint32_t seed, int64_t pad = 0)
        : rows(rows_), cols(cols_), n_tokens(n_tokens_), ldx(cols_ + pad), ldy(rows_ + pad) {
        const std::vector<uint16_t> w = random_halves(size_t(rows * cols), seed, kind);
        half = PackedHalfMatrix::pack(w.data(), rows, cols, cols, kind);
        const std::vector<float> wf = widened(w, kind);
        fp32 = PackedMatrix::pack(wf.data(), rows, cols, cols);
        x = random_floats(size_t(n_tokens * ldx), seed + 1);
    }
};

TEST_P(MatmulHalfPath, BitwiseEqualToTheFp32ReferenceOnAwkwardShapes) {
    const HalfKind kind = GetParam().kind;
    for (int64_t rows : {1, 15, 17, 33, 300}) {
        for (int64_t cols : {1, 7, 513, 2053}) {  // 2053: partial sums rest in y between k blocks
            for (int64_t n_tokens : {1, 2, 3, 5, 13, 64}) {
                const HalfProblem pr(kind, rows, cols, n_tokens, uint32_t(rows * 7919 + cols * 31 + n_tokens),
                                     n_tokens % 2);
                const int64_t np = pr.half.n_panels();
                const std::vector<float> want = run(&matmul_ref, pr.fp32, pr.x, pr.ldx, n_tokens, pr.ldy, 0, np);
                ASSERT_TRUE(same_outputs(run(fn_, pr.half, pr.x, pr.ldx, n_tokens, pr.ldy, 0, np), want))
                    << kind_name(kind) << " " << rows << "x" << cols << ", " << n_tokens << " tokens";
                // The scalar 16-bit reference too.
                ASSERT_TRUE(same_outputs(run(&matmul_half_ref, pr.half, pr.x, pr.ldx, n_tokens, pr.ldy, 0, np), want));
            }
        }
    }
}

TEST_P(MatmulHalfPath, PanelRangesAndBatchesGiveTheSameOutputs) {
    const HalfKind kind = GetParam().kind;
    const HalfProblem pr(kind, 300, 1100, 64, 5);  // 19 panels, the last one 12 rows
    const std::vector<float> all = run(fn_, pr.half, pr.x, pr.ldx, 64, pr.ldy, 0, 19);
    for (const auto & [p0, p1] : {std::pair<int64_t, int64_t>{0, 1}, {3, 7}, {18, 19}, {5, 5}}) {
        const std::vector<float> part = run(fn_, pr.half, pr.x, pr.ldx, 64, pr.ldy, p0, p1);
        for (int64_t t = 0; t < 64; ++t) {
            for (int64_t o = 0; o < pr.rows; ++o) {
                const bool inside = o >= p0 * 16 && o < p1 * 16;
                const float v = part[size_t(t * pr.ldy + o)];
                ASSERT_EQ(bits_of(v), inside ? bits_of(all[size_t(t * pr.ldy + o)]) : kSentinelBits)
                    << "panels [" << p0 << ", " << p1 << "), y[" << t << "][" << o << "]";
            }
        }
    }
    // One token alone == that token inside the batch (prefill == decode).
    for (int64_t t : {0, 7, 63}) {
        std::vector<float> one(size_t(pr.ldy), sentinel());
        fn_(pr.half, pr.x.data() + t * pr.ldx, pr.ldx, one.data(), pr.ldy, 1, 0, 19);
        ASSERT_EQ(std::memcmp(one.data(), all.data() + t * pr.ldy, size_t(pr.rows) * sizeof(float)), 0) << "token " << t;
    }
}

std::string case_name(const ::testing::TestParamInfo<HalfCase> & info) {
    return std::string(isa_name(info.param.isa)) + "_" + kind_name(info.param.kind);
}

INSTANTIATE_TEST_SUITE_P(AllPaths, MatmulHalfPath,
                         ::testing::Values(HalfCase{DTM_ISA_SCALAR, HalfKind::kBf16}, HalfCase{DTM_ISA_SCALAR, HalfKind::kFp16},
                                           HalfCase{DTM_ISA_AVX2, HalfKind::kBf16}, HalfCase{DTM_ISA_AVX2, HalfKind::kFp16},
                                           HalfCase{DTM_ISA_AVX512, HalfKind::kBf16}, HalfCase{DTM_ISA_AVX512, HalfKind::kFp16}),
                         case_name);

}  // namespace
}  // namespace dtm::cpu
