// test_quantized_linear.cpp - the quantized Linears behind compress/quantize.h:
// INT8, INT8_OUTLIER, INT8_WEIGHT, Q8_0 and Q4_0.
//
// For each format:
//   - forward equals a simulation in double of the documented arithmetic
//     (weights from the stored tensors, activations quantized by the same
//     quantizer) within the fp32 rounding of the few float operations, and
//     equals the product of the effective (dequantized) weights with the
//     unquantized activations within the activation-quantization bound;
//   - every kernel path and thread count gives bitwise the same outputs, and
//     a batch gives bitwise what one-token calls give;
//   - stored_tensors -> restore_quantized rebuilds a bitwise-equal Linear,
//     and quantizing the effective weights again gives the same storage;
//   - bad inputs throw dtm::Error with the documented status.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "compress/quantize.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/quant_math.h"
#include "kernels/cpu/quantize_values.h"
#include "model/linear.h"
#include "test_support.h"

namespace dtm::compress {
namespace {

using cpu::float_bits;
using cpu::fp16_to_fp32;
using test::random_floats;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr double kFloatEps = 1.0 / (1 << 23);  // 2^-23: one fp32 rounding is at most half of it, relative


dtm_compression spec_of(int32_t kind, float threshold = 0.0f) {
    dtm_compression s{};
    s.kind = kind;
    s.outlier_threshold = threshold;
    return s;
}

const int32_t kKinds[] = {DTM_COMPRESS_INT8, DTM_COMPRESS_INT8_OUTLIER, DTM_COMPRESS_INT8_WEIGHT, DTM_COMPRESS_Q8_0,
                          DTM_COMPRESS_Q4_0};

const char * kind_name(int32_t kind) {
    switch (kind) {
        case DTM_COMPRESS_INT8: return "int8";
        case DTM_COMPRESS_INT8_OUTLIER: return "int8_outlier";
        case DTM_COMPRESS_INT8_WEIGHT: return "int8_weight";
        case DTM_COMPRESS_Q8_0: return "q8_0";
        default: return "q4_0";
    }
}

dtm_weight_format format_of(int32_t kind) {
    switch (kind) {
        case DTM_COMPRESS_INT8: return DTM_FORMAT_INT8;
        case DTM_COMPRESS_INT8_OUTLIER: return DTM_FORMAT_INT8_OUTLIER;
        case DTM_COMPRESS_INT8_WEIGHT: return DTM_FORMAT_INT8_WEIGHT;
        case DTM_COMPRESS_Q8_0: return DTM_FORMAT_Q8_0;
        default: return DTM_FORMAT_Q4_0;
    }
}

// Weights with a zero row and a zero block, the rest uniform in [-1, 1].
std::vector<float> test_weights(int64_t rows, int64_t cols, uint32_t seed) {
    std::vector<float> w = random_floats(static_cast<size_t>(rows * cols), seed);
    if (rows > 3) {
        for (int64_t k = 0; k < cols; ++k) w[size_t(2 * cols + k)] = 0.0f;
        for (int64_t k = 0; k < std::min<int64_t>(cols, 32); ++k) w[size_t(3 * cols + k)] = 0.0f;
    }
    return w;
}

// Activations (n_tokens, ldx): uniform in [-2, 2], a few features up to +-40
// in the first token (outliers at the default threshold 6).
std::vector<float> test_activations(int64_t n_tokens, int64_t cols, int64_t ldx, uint32_t seed) {
    std::vector<float> x = random_floats(static_cast<size_t>(n_tokens * ldx), seed, -2.0f, 2.0f);
    if (n_tokens > 0 && cols > 5) {
        x[1] = 40.0f;
        x[size_t(cols - 2)] = -25.0f;
    }
    return x;
}

struct Output {
    std::vector<float> y;  // (n_tokens, ldy)
    int64_t ldy;
};

Output run(const Linear & lin, const std::vector<float> & x, int64_t ldx, int64_t n_tokens,
           const cpu::KernelTable & kernels, int threads) {
    const int64_t ldy = lin.rows() + 3;
    Output out{std::vector<float>(static_cast<size_t>(n_tokens * ldy), 12345.0f), ldy};
    ThreadPool pool(threads);
    lin.forward(x.data(), ldx, out.y.data(), ldy, n_tokens, cpu::CpuBackend(pool, kernels));
    for (int64_t t = 0; t < n_tokens; ++t) {  // the stride's gap is never written
        for (int64_t o = lin.rows(); o < ldy; ++o) EXPECT_EQ(out.y[size_t(t * ldy + o)], 12345.0f);
    }
    return out;
}

Output run(const Linear & lin, const std::vector<float> & x, int64_t ldx, int64_t n_tokens, dtm_isa isa, int threads) {
    return run(lin, x, ldx, n_tokens, cpu::kernels(isa), threads);
}

::testing::AssertionResult same_outputs(const Output & a, const Output & b, int64_t rows) {
    for (size_t i = 0; i < a.y.size(); ++i) {
        if (int64_t(i % size_t(a.ldy)) >= rows) continue;
        const bool both_nan = std::isnan(a.y[i]) && std::isnan(b.y[i]);
        if (float_bits(a.y[i]) != float_bits(b.y[i]) && !both_nan) {
            return ::testing::AssertionFailure() << "y[" << i / size_t(a.ldy) << "][" << i % size_t(a.ldy)
                                                 << "] = " << a.y[i] << " vs " << b.y[i];
        }
    }
    return ::testing::AssertionSuccess();
}

const StoredTensor & tensor(const std::vector<StoredTensor> & ts, const std::string & name) {
    for (const StoredTensor & t : ts) {
        if (t.name == name) return t;
    }
    throw std::runtime_error("no tensor " + name);
}

// What a simulation predicts for one output: the value and how far the
// kernel's fp32 arithmetic may be from it.
struct Predicted {
    double value;
    double tolerance;
};

// The documented arithmetic in double, from the stored tensors.
Predicted simulate(const Linear & lin, const float * xt, int64_t o) {
    const std::vector<StoredTensor> ts = lin.stored_tensors();
    const int64_t cols = lin.cols();
    const dtm_weight_format format = lin.format();
    if (format == DTM_FORMAT_Q8_0 || format == DTM_FORMAT_Q4_0) {
        const bool q4 = format == DTM_FORMAT_Q4_0;
        const int64_t n_blocks = cols / 32, bpb = q4 ? 18 : 34;
        const uint8_t * row = tensor(ts, "blocks").bytes.data() + o * n_blocks * bpb;
        double sum = 0.0, magnitude = 0.0;
        for (int64_t b = 0; b < n_blocks; ++b) {
            const uint8_t * blk = row + b * bpb;
            const double dw = fp16_to_fp32(static_cast<uint16_t>(blk[0] | (blk[1] << 8)));
            int8_t xq[32];
            const double dx = fp16_to_fp32(cpu::quantize_block_q8_0(xt + b * 32, xq, nullptr));
            int64_t isum = 0;
            for (int j = 0; j < 32; ++j) {
                const int qw = q4 ? ((j < 16 ? (blk[2 + j] & 0x0f) : (blk[2 + j - 16] >> 4)) - 8)
                                  : static_cast<int8_t>(blk[2 + j]);
                isum += int64_t(qw) * xq[j];
            }
            sum += dw * dx * double(isum);
            magnitude += std::fabs(dw * dx * double(isum));
        }
        return {sum, double(2 * n_blocks + 2) * kFloatEps * magnitude + 1e-30};
    }
    const int8_t * qw = reinterpret_cast<const int8_t *>(tensor(ts, "weight").bytes.data()) + o * cols;
    float sw;
    std::memcpy(&sw, tensor(ts, "weight_scale").bytes.data() + o * 4, 4);
    if (format == DTM_FORMAT_INT8_WEIGHT) {
        double sum = 0.0, magnitude = 0.0;
        for (int64_t k = 0; k < cols; ++k) {
            sum += double(qw[k]) * xt[k];
            magnitude += std::fabs(double(qw[k]) * xt[k]);
        }
        return {sw * sum, double(cols + 2) * kFloatEps * sw * magnitude + 1e-30};
    }
    float threshold = kInf;
    if (format == DTM_FORMAT_INT8_OUTLIER) std::memcpy(&threshold, tensor(ts, "outlier_threshold").bytes.data(), 4);
    std::vector<int8_t> xq(static_cast<size_t>(cols));
    const double sx = cpu::quantize_int8_absmax(xt, cols, threshold, xq.data(), nullptr);
    int64_t isum = 0;
    for (int64_t k = 0; k < cols; ++k) isum += int64_t(qw[k]) * xq[size_t(k)];
    const double int_part = double(isum) * sx * sw;
    double outliers = 0.0, magnitude = 0.0;
    int64_t n_outliers = 0;
    for (int64_t k = 0; k < cols; ++k) {
        if (std::fabs(xt[k]) > threshold) {
            const double term = double(xt[k]) * (double(qw[k]) * sw);
            outliers += term;
            magnitude += std::fabs(term);
            ++n_outliers;
        }
    }
    return {int_part + outliers,
            3 * kFloatEps * std::fabs(int_part) + double(2 * n_outliers + 2) * kFloatEps * (magnitude + std::fabs(int_part)) +
                1e-30};
}

// How far the quantized activations may move an output from the product of
// the effective weights with the unquantized activations.
double activation_error_bound(const Linear & lin, const float * xt, const float * w_row) {
    const int64_t cols = lin.cols();
    double bound = 0.0;
    switch (lin.format()) {
        case DTM_FORMAT_INT8_WEIGHT: return 0.0;
        case DTM_FORMAT_Q8_0:
        case DTM_FORMAT_Q4_0:
            for (int64_t b = 0; b < cols / 32; ++b) {
                float absmax = 0.0f;
                for (int j = 0; j < 32; ++j) absmax = std::fmax(absmax, std::fabs(xt[b * 32 + j]));
                const double d = absmax / 127.0f;
                int8_t xq[32];
                const double d16 = fp16_to_fp32(cpu::quantize_block_q8_0(xt + b * 32, xq, nullptr));
                const double step = 0.5 * d * (1 + 1e-5) + 127.0 * std::fabs(d16 - d);
                for (int j = 0; j < 32; ++j) bound += std::fabs(double(w_row[b * 32 + j])) * step;
            }
            return bound;
        default: {
            float threshold = kInf;
            if (lin.format() == DTM_FORMAT_INT8_OUTLIER) {
                std::memcpy(&threshold, tensor(lin.stored_tensors(), "outlier_threshold").bytes.data(), 4);
            }
            float absmax = 0.0f;
            for (int64_t k = 0; k < cols; ++k) {
                if (std::fabs(xt[k]) <= threshold) absmax = std::fmax(absmax, std::fabs(xt[k]));
            }
            const double step = 0.5 * double(absmax / 127.0f) * (1 + 1e-5);
            for (int64_t k = 0; k < cols; ++k) {
                if (std::fabs(xt[k]) <= threshold) bound += std::fabs(double(w_row[k])) * step;
            }
            return bound;
        }
    }
}

// ---------------------------------------------------------------------------

class QuantizedLinear : public ::testing::TestWithParam<int32_t> {};

TEST_P(QuantizedLinear, ForwardFollowsTheDocumentedArithmetic) {
    const int64_t rows = 45, cols = 96, n_tokens = 5, ldx = cols + 7;
    const std::vector<float> w = test_weights(rows, cols, 1);
    const std::shared_ptr<const Linear> lin = quantize(w.data(), rows, cols, spec_of(GetParam()));
    EXPECT_EQ(lin->format(), format_of(GetParam()));
    EXPECT_EQ(lin->rows(), rows);
    EXPECT_EQ(lin->cols(), cols);
    const std::vector<float> x = test_activations(n_tokens, cols, ldx, 2);
    std::vector<float> dense(static_cast<size_t>(rows * cols));
    lin->dense_weights(dense.data());
    const Output out = run(*lin, x, ldx, n_tokens, cpu::best_isa(), 2);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float * xt = x.data() + t * ldx;
        for (int64_t o = 0; o < rows; ++o) {
            const double y = out.y[size_t(t * out.ldy + o)];
            const Predicted p = simulate(*lin, xt, o);
            ASSERT_LE(std::fabs(y - p.value), p.tolerance) << "token " << t << ", output " << o << ": " << y
                                                           << " vs simulated " << p.value;
            double effective = 0.0, magnitude = 0.0;
            for (int64_t k = 0; k < cols; ++k) {
                effective += double(dense[size_t(o * cols + k)]) * xt[k];
                magnitude += std::fabs(double(dense[size_t(o * cols + k)]) * xt[k]);
            }
            const double bound = activation_error_bound(*lin, xt, dense.data() + o * cols) + p.tolerance +
                                 double(cols + 2) * kFloatEps * magnitude;
            ASSERT_LE(std::fabs(y - effective), bound) << "token " << t << ", output " << o;
        }
    }
}

TEST_P(QuantizedLinear, EveryPathAndThreadCountGivesTheSameBits) {
    const int64_t rows = 70, cols = 160, n_tokens = 70, ldx = cols;  // 70 tokens: two token blocks
    const std::vector<float> w = test_weights(rows, cols, 3);
    const std::shared_ptr<const Linear> lin = quantize(w.data(), rows, cols, spec_of(GetParam()));
    const std::vector<float> x = test_activations(n_tokens, cols, ldx, 4);
    const Output want = run(*lin, x, ldx, n_tokens, DTM_ISA_SCALAR, 1);
    for (dtm_isa isa : {DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512}) {
        if (!cpu::isa_supported(isa)) continue;  // the kernel tests report unsupported paths as skipped
        for (int threads : {1, 2, 3}) {
            EXPECT_TRUE(same_outputs(run(*lin, x, ldx, n_tokens, isa, threads), want, rows))
                << cpu::isa_name(isa) << ", " << threads << " threads";
        }
    }
    if (cpu::isa_supported(DTM_ISA_AVX512)) {  // and as on an AVX-512 CPU without VNNI
        const test::ScopedEnv no_vnni("DTM_NO_VNNI", "1");
        EXPECT_TRUE(same_outputs(run(*lin, x, ldx, n_tokens, cpu::kernels(DTM_ISA_AVX512), 2), want, rows))
            << "avx512 without VNNI";
    }
}

TEST_P(QuantizedLinear, BatchEqualsOneTokenCalls) {
    const int64_t rows = 33, cols = 64, n_tokens = 9, ldx = cols + 1;
    const std::vector<float> w = test_weights(rows, cols, 5);
    const std::shared_ptr<const Linear> lin = quantize(w.data(), rows, cols, spec_of(GetParam()));
    const std::vector<float> x = test_activations(n_tokens, cols, ldx, 6);
    const Output batch = run(*lin, x, ldx, n_tokens, cpu::best_isa(), 2);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const std::vector<float> xt(x.begin() + t * ldx, x.begin() + (t + 1) * ldx);
        const Output one = run(*lin, xt, ldx, 1, cpu::best_isa(), 1);
        for (int64_t o = 0; o < rows; ++o) {
            ASSERT_EQ(float_bits(one.y[size_t(o)]), float_bits(batch.y[size_t(t * batch.ldy + o)])) << t << ", " << o;
        }
    }
}

TEST_P(QuantizedLinear, NonFiniteActivations) {
    const int64_t rows = 20, cols = 32, n_tokens = 4, ldx = cols;
    const std::vector<float> w = test_weights(rows, cols, 7);
    const std::shared_ptr<const Linear> lin = quantize(w.data(), rows, cols, spec_of(GetParam()));
    std::vector<float> x = test_activations(n_tokens, cols, ldx, 8);
    x[size_t(1 * ldx + 3)] = kNaN;
    x[size_t(2 * ldx + 30)] = -kInf;
    const Output out = run(*lin, x, ldx, n_tokens, cpu::best_isa(), 2);
    for (int64_t t : {0, 3}) {  // the finite tokens are unaffected
        const std::vector<float> xt(x.begin() + t * ldx, x.begin() + (t + 1) * ldx);
        const Output one = run(*lin, xt, ldx, 1, cpu::best_isa(), 1);
        for (int64_t o = 0; o < rows; ++o) ASSERT_EQ(float_bits(one.y[size_t(o)]), float_bits(out.y[size_t(t * out.ldy + o)]));
    }
    if (lin->format() == DTM_FORMAT_INT8_WEIGHT) {
        // Weight-only keeps fp32 activations: IEEE propagation (a NaN input
        // makes every output NaN; -inf makes +-inf or NaN).
        for (int64_t o = 0; o < rows; ++o) EXPECT_TRUE(std::isnan(out.y[size_t(1 * out.ldy + o)]));
        for (int64_t o = 0; o < rows; ++o) EXPECT_FALSE(std::isfinite(out.y[size_t(2 * out.ldy + o)])) << o;
    } else {
        for (int64_t t : {1, 2}) {
            for (int64_t o = 0; o < rows; ++o) EXPECT_TRUE(std::isnan(out.y[size_t(t * out.ldy + o)])) << t << ", " << o;
        }
    }
}

TEST_P(QuantizedLinear, StoredTensorsRestoreBitwise) {
    const int64_t rows = 37, cols = 128, n_tokens = 6, ldx = cols;
    const std::vector<float> w = test_weights(rows, cols, 9);
    const std::shared_ptr<const Linear> lin = quantize(w.data(), rows, cols, spec_of(GetParam(), 4.5f));
    const std::vector<StoredTensor> ts = lin->stored_tensors();
    const std::shared_ptr<const Linear> back = restore_quantized(lin->format(), rows, cols, ts);
    EXPECT_EQ(back->format(), lin->format());
    EXPECT_EQ(back->nonzeros(), lin->nonzeros());
    EXPECT_EQ(back->storage_bytes(), lin->storage_bytes());
    const std::vector<StoredTensor> ts2 = back->stored_tensors();
    ASSERT_EQ(ts2.size(), ts.size());
    for (size_t i = 0; i < ts.size(); ++i) {
        EXPECT_EQ(ts2[i].name, ts[i].name);
        EXPECT_EQ(ts2[i].dtype, ts[i].dtype);
        EXPECT_EQ(ts2[i].shape, ts[i].shape);
        EXPECT_EQ(ts2[i].bytes, ts[i].bytes) << ts[i].name;
    }
    std::vector<float> d1(static_cast<size_t>(rows * cols)), d2(d1.size());
    lin->dense_weights(d1.data());
    back->dense_weights(d2.data());
    EXPECT_EQ(std::memcmp(d1.data(), d2.data(), d1.size() * sizeof(float)), 0);
    const std::vector<float> x = test_activations(n_tokens, cols, ldx, 10);
    EXPECT_TRUE(same_outputs(run(*back, x, ldx, n_tokens, cpu::best_isa(), 2),
                             run(*lin, x, ldx, n_tokens, cpu::best_isa(), 2), rows));
}

TEST_P(QuantizedLinear, QuantizingTheEffectiveWeightsAgainChangesNothing) {
    const int64_t rows = 19, cols = 64;
    const std::vector<float> w = test_weights(rows, cols, 11);
    const std::shared_ptr<const Linear> lin = quantize(w.data(), rows, cols, spec_of(GetParam()));
    std::vector<float> dense(static_cast<size_t>(rows * cols));
    lin->dense_weights(dense.data());
    const std::shared_ptr<const Linear> again = quantize(dense.data(), rows, cols, spec_of(GetParam()));
    const std::vector<StoredTensor> a = lin->stored_tensors(), b = again->stored_tensors();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].name == "weight_scale") continue;  // (127 * s) / 127 may differ from s by an ulp
        EXPECT_EQ(a[i].bytes, b[i].bytes) << a[i].name;
    }
}

TEST_P(QuantizedLinear, WeightQuantizationErrorAndNonzeros) {
    const int64_t rows = 21, cols = 96;
    const std::vector<float> w = test_weights(rows, cols, 12);
    const std::shared_ptr<const Linear> lin = quantize(w.data(), rows, cols, spec_of(GetParam()));
    std::vector<float> dense(static_cast<size_t>(rows * cols));
    lin->dense_weights(dense.data());
    int64_t nonzeros = 0;
    for (float v : dense) nonzeros += v != 0.0f;
    EXPECT_EQ(lin->nonzeros(), nonzeros);
    EXPECT_LT(nonzeros, rows * cols);  // the zero row stays zero
    for (int64_t k = 0; k < cols; ++k) EXPECT_EQ(float_bits(dense[size_t(2 * cols + k)]), 0u);  // +0
    const bool block = lin->format() == DTM_FORMAT_Q8_0 || lin->format() == DTM_FORMAT_Q4_0;
    const int64_t group = block ? 32 : cols;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t g0 = 0; g0 < cols; g0 += group) {
            double absmax = 0.0;
            for (int64_t k = g0; k < g0 + group; ++k) absmax = std::fmax(absmax, std::fabs(w[size_t(r * cols + k)]));
            // Half a step (int8, q8_0: absmax/127; q4_0: |m|/8, a whole step
            // on the far side), plus the fp16 rounding of the block scale.
            double step = absmax / 127.0;
            if (lin->format() == DTM_FORMAT_Q4_0) step = absmax / 8.0;
            const double fp16_slack = block ? (lin->format() == DTM_FORMAT_Q4_0 ? 8.0 : 127.0) * step / 2048.0 : 0.0;
            for (int64_t k = g0; k < g0 + group; ++k) {
                const double err = std::fabs(double(w[size_t(r * cols + k)]) - dense[size_t(r * cols + k)]);
                const double allowed = lin->format() == DTM_FORMAT_Q4_0 && std::fabs(w[size_t(r * cols + k)]) * 8.0 / absmax > 7.5
                                           ? step
                                           : step / 2;
                ASSERT_LE(err, allowed * (1 + 1e-5) + fp16_slack + 1e-12) << r << ", " << k;
            }
        }
    }
}

TEST_P(QuantizedLinear, StorageIsTheFormatsSize) {
    const int64_t rows = 32, cols = 64;  // whole panels and groups: no padding
    const std::vector<float> w = test_weights(rows, cols, 13);
    const std::shared_ptr<const Linear> lin = quantize(w.data(), rows, cols, spec_of(GetParam()));
    size_t want = 0;
    switch (lin->format()) {
        case DTM_FORMAT_INT8_OUTLIER: want = rows * cols + rows * 4 + 4; break;
        case DTM_FORMAT_INT8:
        case DTM_FORMAT_INT8_WEIGHT: want = rows * cols + rows * 4; break;
        case DTM_FORMAT_Q8_0: want = rows * (cols / 32) * 34; break;
        default: want = rows * (cols / 32) * 18; break;
    }
    EXPECT_EQ(lin->storage_bytes(), want);
}

TEST_P(QuantizedLinear, EmptyAndSingleShapes) {
    const int64_t cols = GetParam() == DTM_COMPRESS_Q8_0 || GetParam() == DTM_COMPRESS_Q4_0 ? 32 : 1;
    const std::vector<float> w(static_cast<size_t>(cols), 0.5f);
    const std::shared_ptr<const Linear> lin = quantize(w.data(), 1, cols, spec_of(GetParam()));
    const std::vector<float> x(static_cast<size_t>(cols), 2.0f);
    const Output out = run(*lin, x, cols, 1, cpu::best_isa(), 1);
    // 0.5 * 2 per feature; the fp16 block scales of q8_0 / q4_0 are within 2^-11.
    EXPECT_NEAR(out.y[0], double(cols), double(cols) * 2e-3);
    const std::shared_ptr<const Linear> empty = quantize(nullptr, 0, cols, spec_of(GetParam()));
    EXPECT_EQ(empty->rows(), 0);
    EXPECT_EQ(empty->nonzeros(), 0);
    const Output none = run(*empty, x, cols, 1, cpu::best_isa(), 1);
    EXPECT_EQ(none.y.size(), 3u);  // only the stride gap, untouched
}

INSTANTIATE_TEST_SUITE_P(AllFormats, QuantizedLinear, ::testing::ValuesIn(kKinds),
                         [](const ::testing::TestParamInfo<int32_t> & info) { return std::string(kind_name(info.param)); });

// ---------------------------------------------------------------------------
// Outliers

// The unquantized product, in double.
double exact_output(const std::vector<float> & w, int64_t cols, int64_t o, const float * xt) {
    double s = 0.0;
    for (int64_t k = 0; k < cols; ++k) s += double(w[size_t(o * cols + k)]) * xt[k];
    return s;
}

TEST(Int8Outlier, CloserToTheFp32ProductThanNaiveInt8WhenActivationsHaveOutliers) {
    const int64_t rows = 64, cols = 256, n_tokens = 8;
    const std::vector<float> w = random_floats(static_cast<size_t>(rows * cols), 21, -0.1f, 0.1f);
    std::vector<float> x = random_floats(static_cast<size_t>(n_tokens * cols), 22, -1.0f, 1.0f);
    const int64_t outlier_features[] = {5, 77, 200};
    std::mt19937 rng(23);
    std::uniform_real_distribution<float> big(20.0f, 60.0f);
    for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t j : outlier_features) x[size_t(t * cols + j)] = (rng() & 1) ? big(rng) : -big(rng);
    }
    const auto naive = quantize(w.data(), rows, cols, spec_of(DTM_COMPRESS_INT8));
    const auto outlier = quantize(w.data(), rows, cols, spec_of(DTM_COMPRESS_INT8_OUTLIER));
    const Output yn = run(*naive, x, cols, n_tokens, cpu::best_isa(), 2);
    const Output yo = run(*outlier, x, cols, n_tokens, cpu::best_isa(), 2);
    double err_naive = 0.0, err_outlier = 0.0;
    for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t o = 0; o < rows; ++o) {
            const double want = exact_output(w, cols, o, x.data() + t * cols);
            err_naive += std::pow(yn.y[size_t(t * yn.ldy + o)] - want, 2);
            err_outlier += std::pow(yo.y[size_t(t * yo.ldy + o)] - want, 2);
        }
    }
    // The naive scale is ~60/127, which rounds every |x| < 0.24 to 0; with
    // the outliers apart the step is ~1/127.
    EXPECT_LT(err_outlier, 0.1 * err_naive) << "outlier " << err_outlier << ", naive " << err_naive;
}

TEST(Int8Outlier, ThresholdDefaultsTo6AndIsStored) {
    const std::vector<float> w = random_floats(64, 1);
    const auto lin = quantize(w.data(), 2, 32, spec_of(DTM_COMPRESS_INT8_OUTLIER, 0.0f));
    float threshold = 0.0f;
    std::memcpy(&threshold, tensor(lin->stored_tensors(), "outlier_threshold").bytes.data(), 4);
    EXPECT_EQ(threshold, 6.0f);
    const auto lin2 = quantize(w.data(), 2, 32, spec_of(DTM_COMPRESS_INT8_OUTLIER, 2.5f));
    std::memcpy(&threshold, tensor(lin2->stored_tensors(), "outlier_threshold").bytes.data(), 4);
    EXPECT_EQ(threshold, 2.5f);
}

TEST(Int8Outlier, FeaturesAboveTheThresholdAreExactlyTheFp32Part) {
    // All features but one are outliers at threshold 0.5: y = int8 part of
    // the one small feature + the fp32 sum in increasing j.
    const int64_t cols = 5;
    const std::vector<float> w = {0.5f, -1.0f, 0.25f, 1.0f, 0.75f};
    const auto lin = quantize(w.data(), 1, cols, spec_of(DTM_COMPRESS_INT8_OUTLIER, 0.5f));
    const std::vector<float> x = {3.0f, 0.25f, -7.0f, 2.0f, 1.5f};
    const Output out = run(*lin, x, cols, 1, cpu::best_isa(), 1);
    std::vector<float> deq(static_cast<size_t>(cols));
    lin->dense_weights(deq.data());
    // int8 part: only x[1] = 0.25 (scale 0.25/127, q 127), weight q -127.
    const float int_part = (float(127 * -127) * (0.25f / 127.0f)) * (1.0f / 127.0f);
    float s = 0.0f;
    for (int64_t j : {0, 2, 3, 4}) s = s + x[size_t(j)] * deq[size_t(j)];
    EXPECT_EQ(float_bits(out.y[0]), float_bits(int_part + s));
}

// ---------------------------------------------------------------------------
// Errors

template <typename Fn>
void expect_status(dtm_status status, Fn fn, const std::string & must_mention = "") {
    try {
        fn();
        FAIL() << "no error, expected status " << status;
    } catch (const Error & e) {
        EXPECT_EQ(e.status(), status) << e.what();
        if (!must_mention.empty()) {
            EXPECT_NE(std::string(e.what()).find(must_mention), std::string::npos) << e.what();
        }
    }
}

TEST(QuantizeErrors, BadShapesThresholdsAndWeights) {
    const std::vector<float> w = random_floats(200, 1);
    expect_status(DTM_ERR_INVALID_ARGUMENT, [&] { quantize(w.data(), 2, 48, spec_of(DTM_COMPRESS_Q8_0)); }, "q8_0");
    expect_status(DTM_ERR_INVALID_ARGUMENT, [&] { quantize(w.data(), 2, 48, spec_of(DTM_COMPRESS_Q4_0)); }, "2 x 48");
    expect_status(DTM_ERR_INVALID_ARGUMENT, [&] { quantize(w.data(), 2, 8, spec_of(DTM_COMPRESS_INT8_OUTLIER, kNaN)); });
    expect_status(DTM_ERR_INVALID_ARGUMENT, [&] { quantize(w.data(), 2, 8, spec_of(DTM_COMPRESS_INT8_OUTLIER, -1.0f)); });
    expect_status(DTM_ERR_INVALID_ARGUMENT, [&] { quantize(w.data(), 2, 8, spec_of(DTM_COMPRESS_PRUNE_MAGNITUDE)); });
    expect_status(DTM_ERR_INVALID_ARGUMENT, [&] { quantize(w.data(), -1, 8, spec_of(DTM_COMPRESS_INT8)); });
    std::vector<float> bad = w;
    bad[13] = kInf;
    for (int32_t kind : kKinds) {
        expect_status(DTM_ERR_INVALID_ARGUMENT, [&] { quantize(bad.data(), 2, 64, spec_of(kind)); }, "(0, 13)");
    }
    std::vector<float> huge(32, 1e10f);  // fp16 block scale would be inf
    expect_status(DTM_ERR_INVALID_ARGUMENT, [&] { quantize(huge.data(), 1, 32, spec_of(DTM_COMPRESS_Q8_0)); });
    expect_status(DTM_ERR_INVALID_ARGUMENT, [&] { quantize(huge.data(), 1, 32, spec_of(DTM_COMPRESS_Q4_0)); });
    EXPECT_NO_THROW(quantize(huge.data(), 1, 32, spec_of(DTM_COMPRESS_INT8)));
}

TEST(QuantizeErrors, ColsBeyondTheInt32BoundAreRejectedForW8A8) {
    const int64_t cols = 65536 + 1;
    const std::vector<float> w(static_cast<size_t>(cols), 0.5f);
    expect_status(DTM_ERR_INVALID_ARGUMENT, [&] { quantize(w.data(), 1, cols, spec_of(DTM_COMPRESS_INT8)); }, "65537");
    expect_status(DTM_ERR_INVALID_ARGUMENT, [&] { quantize(w.data(), 1, cols, spec_of(DTM_COMPRESS_INT8_OUTLIER)); });
    EXPECT_NO_THROW(quantize(w.data(), 1, cols - 1, spec_of(DTM_COMPRESS_INT8)));
    EXPECT_NO_THROW(quantize(w.data(), 1, cols, spec_of(DTM_COMPRESS_INT8_WEIGHT)));  // fp32 sums: no bound
}

std::vector<StoredTensor> edited(std::vector<StoredTensor> ts, const std::string & name,
                                 const std::function<void(StoredTensor &)> & edit) {
    for (StoredTensor & t : ts) {
        if (t.name == name) edit(t);
    }
    return ts;
}

TEST(RestoreErrors, InconsistentTensorsAreModelFormatErrors) {
    const std::vector<float> w = random_floats(2 * 64, 3);
    const auto i8 = quantize(w.data(), 2, 64, spec_of(DTM_COMPRESS_INT8_OUTLIER))->stored_tensors();
    const dtm_weight_format f = DTM_FORMAT_INT8_OUTLIER;
    expect_status(DTM_ERR_MODEL_FORMAT, [&] { restore_quantized(f, 2, 64, {}); }, "missing");
    expect_status(DTM_ERR_MODEL_FORMAT, [&] { restore_quantized(f, 3, 64, i8); });  // shape
    expect_status(DTM_ERR_MODEL_FORMAT,
                  [&] { restore_quantized(f, 2, 64, edited(i8, "weight", [](StoredTensor & t) { t.dtype = "U8"; })); });
    expect_status(DTM_ERR_MODEL_FORMAT, [&] {
        restore_quantized(f, 2, 64, edited(i8, "weight", [](StoredTensor & t) { t.bytes[5] = 0x80; }));
    }, "-128");
    expect_status(DTM_ERR_MODEL_FORMAT, [&] {
        restore_quantized(f, 2, 64, edited(i8, "weight_scale", [](StoredTensor & t) {
            const float neg = -1.0f;
            std::memcpy(t.bytes.data() + 4, &neg, 4);
        }));
    });
    expect_status(DTM_ERR_MODEL_FORMAT, [&] {
        restore_quantized(f, 2, 64, edited(i8, "outlier_threshold", [](StoredTensor & t) {
            std::memcpy(t.bytes.data(), &kNaN, 4);
        }));
    });
    expect_status(DTM_ERR_MODEL_FORMAT, [&] {
        restore_quantized(f, 2, 64, edited(i8, "weight_scale", [](StoredTensor & t) { t.bytes.pop_back(); }));
    });

    const auto q8 = quantize(w.data(), 2, 64, spec_of(DTM_COMPRESS_Q8_0))->stored_tensors();
    expect_status(DTM_ERR_MODEL_FORMAT, [&] {
        restore_quantized(DTM_FORMAT_Q8_0, 2, 64, edited(q8, "blocks", [](StoredTensor & t) { t.bytes[1] |= 0x80; }));
    });  // negative scale
    expect_status(DTM_ERR_MODEL_FORMAT, [&] {
        restore_quantized(DTM_FORMAT_Q8_0, 2, 64, edited(q8, "blocks", [](StoredTensor & t) { t.bytes[1] = 0x7c; }));
    });  // infinite scale
    expect_status(DTM_ERR_MODEL_FORMAT, [&] {
        restore_quantized(DTM_FORMAT_Q8_0, 2, 64, edited(q8, "blocks", [](StoredTensor & t) { t.bytes[40] = 0x80; }));
    }, "-128");
    expect_status(DTM_ERR_MODEL_FORMAT, [&] { restore_quantized(DTM_FORMAT_Q4_0, 2, 64, q8); });  // q8 blocks as q4
    expect_status(DTM_ERR_MODEL_FORMAT, [&] { restore_quantized(DTM_FORMAT_Q8_0, 2, 48, q8); });  // cols % 32
    expect_status(DTM_ERR_MODEL_FORMAT, [&] { restore_quantized(DTM_FORMAT_FP32, 2, 64, q8); });
    // A q4_0 scale may be negative (d = m / -8).
    const auto q4 = quantize(w.data(), 2, 64, spec_of(DTM_COMPRESS_Q4_0))->stored_tensors();
    EXPECT_NO_THROW(restore_quantized(DTM_FORMAT_Q4_0, 2, 64, q4));
}

}  // namespace
}  // namespace dtm::compress
