// test_cuda_kernels.cpp - every CUDA kernel (through the CudaBackend)
// against the CPU backend's scalar reference, on awkward shapes (K = 513,
// N = 4 outputs, odd batches), with a named tolerance per kernel: the
// matrix products of every weight format, the integer ones exact; RMSNorm,
// bias, residual, SwiGLU, RoPE with the KV store, attention with GQA, row
// statistics, KL and top-k. Skipped, in one line, where there is no GPU or
// no CUDA library.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_library.h"
#include "compress/block_quant_linear.h"
#include "compress/int8_linear.h"
#include "compress/int8_weight_linear.h"
#include "compress/sparse_linear.h"
#include "kernels/cpu/quant_math.h"
#include "kernels/cpu/row_stats.h"
#include "model/linear.h"
#include "runtime/layer_ops.h"
#include "test_support.h"

namespace dtm {
namespace {

using test::random_floats;

// Tolerances, per kernel: |gpu - cpu| <= tol * max(1, |cpu|).
constexpr float kGemmTolerance = 0.0f;         // fp32 / bf16 / fp16 / int8-weight: one fma per k in increasing k, as the CPU
constexpr float kIntegerGemmTolerance = 0.0f;  // W8A8, q8_0, q4_0: exact integer sums, the same float steps
constexpr float kSparseAsDenseTolerance = 1e-6f;  // pruned: dense with zeros on the GPU, nonzeros only on the CPU
constexpr float kRmsNormTolerance = 1e-6f;     // tree sum of squares against the CPU's sequence
constexpr float kSwigluTolerance = 1e-6f;      // CUDA's expf against the CPU's polynomial exp (swiglu.h)
constexpr float kAttentionTolerance = 1e-5f;   // softmax: expf and a tree sum
constexpr float kLogsumexpTolerance = 1e-6f;   // double sum by a tree against a sequence, rounded to float
constexpr float kKlTolerance = 1e-6f;          // double sums, rounded to float

float max_rel_diff(const std::vector<float> & got, const std::vector<float> & want) {
    float worst = 0.0f;
    for (size_t i = 0; i < want.size(); ++i) {
        if (std::isnan(want[i]) && std::isnan(got[i])) continue;
        const float d = std::fabs(got[i] - want[i]) / std::max(1.0f, std::fabs(want[i]));
        worst = std::isnan(d) ? INFINITY : std::max(worst, d);
    }
    return worst;
}

class CudaKernels : public ::testing::Test {
protected:
    void SetUp() override {
        const cuda::Library & lib = cuda::library();
        if (lib.api == nullptr) GTEST_SKIP() << "no GPU test: " << lib.why_not;
        if (lib.devices.empty()) GTEST_SKIP() << "no GPU test: " << lib.no_devices;
        gpu = std::make_unique<cuda::CudaBackend>(0, kMaxKeys);
        cpu = std::make_unique<cpu::CpuBackend>(1, cpu::kernels(DTM_ISA_SCALAR), kMaxKeys);
    }
    // Host vector -> a fresh device buffer (kept alive by the fixture).
    float * on_gpu(const std::vector<float> & v) {
        buffers.push_back(gpu->allocate(std::max<size_t>(v.size(), 1)));
        gpu->upload(buffers.back()->data(), v.data(), v.size());
        return buffers.back()->data();
    }
    std::vector<float> from_gpu(const float * d, size_t n) {
        std::vector<float> v(n);
        gpu->download(v.data(), d, n);
        return v;
    }
    // y = x W^T on both backends; returns the worst relative difference.
    float compare_linear(const Linear & w, int64_t n, uint32_t seed, float scale = 1.0f) {
        const int64_t rows = w.rows(), cols = w.cols();
        const int64_t ldx = cols + 3, ldy = rows + 5;  // strides other than the widths
        const std::vector<float> x = random_floats(static_cast<size_t>(n * ldx), seed, -scale, scale);
        std::vector<float> want(static_cast<size_t>(n * ldy), 0.0f);
        cpu->linear(w, x.data(), ldx, want.data(), ldy, n);
        float * dy = on_gpu(std::vector<float>(size_t(n * ldy), 0.0f));
        gpu->linear(w, on_gpu(x), ldx, dy, ldy, n);
        std::vector<float> got = from_gpu(dy, size_t(n * ldy));
        for (int64_t t = 0; t < n; ++t) {  // only the outputs: the gaps stay as they were
            for (int64_t o = rows; o < ldy; ++o) EXPECT_EQ(got[size_t(t * ldy + o)], 0.0f);
        }
        return max_rel_diff(got, want);
    }
    static constexpr int32_t kMaxKeys = 300;
    std::unique_ptr<cuda::CudaBackend> gpu;
    std::unique_ptr<cpu::CpuBackend> cpu;
    std::vector<BufferPtr> buffers;
};

struct Shape {
    int64_t rows, cols, n;
};
const Shape kShapes[] = {{4, 513, 1}, {4, 513, 3}, {37, 513, 7}, {130, 64, 67}, {65, 1, 2}};
const Shape kBlockShapes[] = {{4, 544, 1}, {4, 544, 3}, {37, 96, 7}, {130, 64, 67}};

TEST_F(CudaKernels, DenseGemmIsTheCpusBitwise) {
    for (const Shape & s : kShapes) {
        const std::vector<float> w = random_floats(static_cast<size_t>(s.rows * s.cols), 11);
        EXPECT_LE(compare_linear(*DenseLinear::from_rows(w.data(), s.rows, s.cols), s.n, 12), kGemmTolerance)
            << "fp32 " << s.rows << "x" << s.cols << " n " << s.n;
        for (const cpu::HalfKind kind : {cpu::HalfKind::kBf16, cpu::HalfKind::kFp16}) {
            std::vector<uint16_t> h(w.size());
            for (size_t i = 0; i < w.size(); ++i) {
                h[i] = kind == cpu::HalfKind::kBf16 ? uint16_t(test::bits_of(w[i]) >> 16) : cpu::fp32_to_fp16(w[i]);
            }
            EXPECT_LE(compare_linear(*HalfLinear::from_rows(h.data(), s.rows, s.cols, kind), s.n, 13), kGemmTolerance)
                << (kind == cpu::HalfKind::kBf16 ? "bf16 " : "fp16 ") << s.rows << "x" << s.cols << " n " << s.n;
        }
        EXPECT_LE(compare_linear(*compress::Int8WeightLinear::quantize(w.data(), s.rows, s.cols), s.n, 14),
                  kGemmTolerance)
            << "int8 weight-only " << s.rows << "x" << s.cols << " n " << s.n;
    }
}

TEST_F(CudaKernels, IntegerGemmsAreExact) {
    for (const Shape & s : kShapes) {
        const std::vector<float> w = random_floats(static_cast<size_t>(s.rows * s.cols), 21);
        EXPECT_LE(compare_linear(*compress::Int8Linear::quantize(DTM_FORMAT_INT8, w.data(), s.rows, s.cols, 0), s.n,
                                 22, 3.0f),
                  kIntegerGemmTolerance)
            << "W8A8 " << s.rows << "x" << s.cols << " n " << s.n;
    }
    for (const Shape & s : kBlockShapes) {
        const std::vector<float> w = random_floats(static_cast<size_t>(s.rows * s.cols), 23);
        for (const dtm_weight_format f : {DTM_FORMAT_Q8_0, DTM_FORMAT_Q4_0}) {
            EXPECT_LE(compare_linear(*compress::BlockQuantLinear::quantize(f, w.data(), s.rows, s.cols), s.n, 24),
                      kIntegerGemmTolerance)
                << (f == DTM_FORMAT_Q8_0 ? "q8_0 " : "q4_0 ") << s.rows << "x" << s.cols << " n " << s.n;
        }
    }
}

TEST_F(CudaKernels, NonFiniteTokensGiveNanInIntegerGemms) {
    const int64_t rows = 5, cols = 64, n = 3;
    const std::vector<float> w = random_floats(static_cast<size_t>(rows * cols), 25);
    std::vector<float> x = random_floats(static_cast<size_t>(n * cols), 26);
    x[size_t(cols + 7)] = NAN;  // token 1
    for (const dtm_weight_format f : {DTM_FORMAT_INT8, DTM_FORMAT_Q8_0}) {
        std::shared_ptr<const Linear> lin =
            f == DTM_FORMAT_INT8 ? std::shared_ptr<const Linear>(compress::Int8Linear::quantize(f, w.data(), rows, cols, 0))
                                 : compress::BlockQuantLinear::quantize(f, w.data(), rows, cols);
        float * dy = on_gpu(std::vector<float>(size_t(n * rows)));
        gpu->linear(*lin, on_gpu(x), cols, dy, rows, n);
        const std::vector<float> y = from_gpu(dy, size_t(n * rows));
        for (int64_t o = 0; o < rows; ++o) {
            EXPECT_FALSE(std::isnan(y[size_t(o)]));
            EXPECT_TRUE(std::isnan(y[size_t(rows + o)]));
            EXPECT_FALSE(std::isnan(y[size_t(2 * rows + o)]));
        }
    }
}

TEST_F(CudaKernels, PrunedMatricesRunDense) {
    for (const Shape & s : kShapes) {
        std::vector<float> w = random_floats(static_cast<size_t>(s.rows * s.cols), 31);
        for (size_t i = 0; i < w.size(); ++i) {
            if (i % 10 != 3) w[i] = 0.0f;  // 90 % zeros
        }
        EXPECT_LE(compare_linear(*compress::SparseLinear::from_rows(w.data(), s.rows, s.cols), s.n, 32),
                  kSparseAsDenseTolerance)
            << "sparse " << s.rows << "x" << s.cols << " n " << s.n;
    }
}

TEST_F(CudaKernels, OutlierInt8IsRefusedInOneLine) {
    const std::vector<float> w = random_floats(64 * 64, 33);
    const auto lin = compress::Int8Linear::quantize(DTM_FORMAT_INT8_OUTLIER, w.data(), 64, 64, 0);
    float * x = on_gpu(std::vector<float>(64));
    float * y = on_gpu(std::vector<float>(64));
    EXPECT_TRUE(test::fails_with([&] { gpu->linear(*lin, x, 64, y, 64, 1); }, DTM_ERR_UNSUPPORTED, {"cuda:0"}));
}

TEST_F(CudaKernels, RowOpsAgreeWithTheCpu) {
    for (const int64_t n : {1, 3, 9}) {
        for (const int32_t width : {4, 513}) {
            const std::vector<float> x = random_floats(static_cast<size_t>(n * width), 41, -3, 3);
            const std::vector<float> d = random_floats(static_cast<size_t>(n * width), 42, -3, 3);
            const std::vector<float> w = random_floats(static_cast<size_t>(width), 43);
            float * dw = on_gpu(w);  // device memory: the backend takes it as it is

            std::vector<float> want(x.size());
            cpu->rmsnorm(want.data(), x.data(), w.data(), n, width, 1e-5f);
            float * dout = on_gpu(std::vector<float>(x.size()));
            gpu->rmsnorm(dout, on_gpu(x), dw, n, width, 1e-5f);
            EXPECT_LE(max_rel_diff(from_gpu(dout, x.size()), want), kRmsNormTolerance) << "rmsnorm " << n << "x" << width;

            want = x;
            cpu->add_bias(want.data(), w.data(), n, width);
            float * dx = on_gpu(x);
            gpu->add_bias(dx, dw, n, width);
            EXPECT_TRUE(test::bitwise_equal(from_gpu(dx, x.size()), want)) << "add_bias";

            want = x;
            cpu->add_residual(want.data(), d.data(), n, width);
            dx = on_gpu(x);
            gpu->add_residual(dx, on_gpu(d), n, width);
            EXPECT_TRUE(test::bitwise_equal(from_gpu(dx, x.size()), want)) << "add_residual";

            want = x;
            cpu->swiglu(want.data(), d.data(), n, width);
            dx = on_gpu(x);
            gpu->swiglu(dx, on_gpu(d), n, width);
            EXPECT_LE(max_rel_diff(from_gpu(dx, x.size()), want), kSwigluTolerance) << "swiglu";
        }
    }
}

TEST_F(CudaKernels, RopeKvStoreAndGqaAttentionAgreeWithTheCpu) {
    const AttentionShape shape{8, 2, 48, kMaxKeys};  // 4 queries per kv head, head_dim 48
    const RopeTable rope(kMaxKeys, shape.head_dim, 10000.0f);
    const int64_t qd = int64_t(shape.n_heads) * shape.head_dim, kvd = int64_t(shape.n_kv_heads) * shape.head_dim;
    // three sequences packed one after another: 1, 5 and 257 tokens
    std::vector<int32_t> pos;
    std::vector<int64_t> base;
    for (const int32_t len : {1, 5, 257}) {
        const int64_t b = int64_t(pos.size());
        for (int32_t p = 0; p < len; ++p) {
            pos.push_back(p);
            base.push_back(b);
        }
    }
    const int64_t n = int64_t(pos.size());
    const std::vector<float> q = random_floats(static_cast<size_t>(n * qd), 51), k = random_floats(static_cast<size_t>(n * kvd), 52);
    const std::vector<float> v = random_floats(static_cast<size_t>(n * kvd), 53);
    std::vector<float> cq = q, ck = k, kc(static_cast<size_t>(n * kvd)), vc(static_cast<size_t>(n * kvd)), catt(static_cast<size_t>(n * qd));
    cpu->rope_store_kv(cq.data(), ck.data(), v.data(), pos.data(), base.data(), n, shape, rope, kc.data(), vc.data());
    cpu->attention(catt.data(), cq.data(), kc.data(), vc.data(), pos.data(), base.data(), n, shape);

    float * gq = on_gpu(q);
    float * gk = on_gpu(k);
    float * gkc = on_gpu(std::vector<float>(kc.size()));
    float * gvc = on_gpu(std::vector<float>(vc.size()));
    float * gatt = on_gpu(std::vector<float>(catt.size()));
    gpu->rope_store_kv(gq, gk, on_gpu(v), pos.data(), base.data(), n, shape, rope, gkc, gvc);
    EXPECT_TRUE(test::bitwise_equal(from_gpu(gq, q.size()), cq)) << "RoPE of q";
    EXPECT_TRUE(test::bitwise_equal(from_gpu(gkc, kc.size()), kc)) << "key cache";
    EXPECT_TRUE(test::bitwise_equal(from_gpu(gvc, vc.size()), vc)) << "value cache";
    gpu->attention(gatt, gq, gkc, gvc, pos.data(), base.data(), n, shape);
    EXPECT_LE(max_rel_diff(from_gpu(gatt, catt.size()), catt), kAttentionTolerance) << "attention";
}

TEST_F(CudaKernels, PositionStatisticsAgreeWithTheCpu) {
    const int32_t vocab = 32003, k = 7;
    const int64_t n = 5;
    std::vector<float> z = random_floats(static_cast<size_t>(n * vocab), 61, -10, 10), zb = random_floats(static_cast<size_t>(n * vocab), 62, -10, 10);
    z[size_t(1 * vocab + 17)] = z[size_t(1 * vocab + 30001)] = 50.0f;  // a tie: the lower id wins
    z[size_t(2 * vocab + 9)] = NAN;                                    // a NaN row
    for (int32_t i = 0; i < vocab; ++i) z[size_t(3 * vocab + i)] = -INFINITY;  // all -inf
    std::vector<int32_t> targets = {5, 17, -1, 0, vocab - 1};
    std::vector<cpu::RowStats> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
    cpu->row_stats(z.data(), n, vocab, targets.data(), want.data());
    float * dz = on_gpu(z);
    gpu->row_stats(dz, n, vocab, targets.data(), got.data());
    std::vector<float> lse(static_cast<size_t>(n)), lse_b(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) {
        const cpu::RowStats & a = got[size_t(t)], & b = want[size_t(t)];
        EXPECT_EQ(a.argmax, b.argmax) << "row " << t;
        EXPECT_EQ(test::bits_of(a.max), test::bits_of(b.max)) << "row " << t;
        EXPECT_TRUE(std::isnan(b.target_logit) ? std::isnan(a.target_logit) : a.target_logit == b.target_logit);
        if (std::isnan(b.logsumexp) || std::isinf(b.logsumexp)) {
            EXPECT_EQ(test::bits_of(a.logsumexp), test::bits_of(b.logsumexp)) << "row " << t;
        } else {
            EXPECT_LE(std::fabs(a.logsumexp - b.logsumexp) / std::max(1.0f, std::fabs(b.logsumexp)), kLogsumexpTolerance);
        }
        lse[size_t(t)] = b.logsumexp;
    }
    // KL and top-k on the finite rows 0, 1 and 4
    const std::vector<int64_t> finite_rows = {0, 1, 4};
    std::vector<float> zf, zbf, lf, lbf;
    for (const int64_t t : finite_rows) {
        zf.insert(zf.end(), z.begin() + t * vocab, z.begin() + (t + 1) * vocab);
        zbf.insert(zbf.end(), zb.begin() + t * vocab, zb.begin() + (t + 1) * vocab);
        lf.push_back(lse[size_t(t)]);
    }
    const int64_t m = int64_t(finite_rows.size());
    std::vector<cpu::RowStats> bs(static_cast<size_t>(m));
    cpu->row_stats(zbf.data(), m, vocab, nullptr, bs.data());
    for (const cpu::RowStats & s : bs) lbf.push_back(s.logsumexp);
    std::vector<float> kl_want(static_cast<size_t>(m)), kl_got(static_cast<size_t>(m));
    cpu->kl_exact(zbf.data(), lbf.data(), zf.data(), lf.data(), m, vocab, kl_want.data());
    float * dzf = on_gpu(zf);
    gpu->kl_exact(on_gpu(zbf), lbf.data(), dzf, lf.data(), m, vocab, kl_got.data());
    EXPECT_LE(max_rel_diff(kl_got, kl_want), kKlTolerance) << "kl_exact";

    std::vector<int32_t> ids_want(static_cast<size_t>(m * k)), ids_got(static_cast<size_t>(m * k));
    std::vector<float> lp_want(static_cast<size_t>(m * k)), lp_got(static_cast<size_t>(m * k));
    cpu->top_k(zf.data(), lf.data(), m, vocab, k, ids_want.data(), lp_want.data());
    gpu->top_k(dzf, lf.data(), m, vocab, k, ids_got.data(), lp_got.data());
    EXPECT_EQ(ids_got, ids_want) << "top_k ids";
    EXPECT_TRUE(test::bitwise_equal(lp_got, lp_want)) << "top_k log-probabilities";

    cpu->kl_top_k(ids_want.data(), lp_want.data(), k, zf.data(), lf.data(), m, vocab, kl_want.data());
    gpu->kl_top_k(ids_want.data(), lp_want.data(), k, dzf, lf.data(), m, vocab, kl_got.data());
    EXPECT_LE(max_rel_diff(kl_got, kl_want), kKlTolerance) << "kl_top_k";
}

TEST_F(CudaKernels, AnErrorIsADtmErrorNotAnAbort) {
    // A buffer far beyond any GPU's memory: OUT_OF_MEMORY with CUDA's words.
    EXPECT_TRUE(test::fails_with([&] { gpu->allocate(size_t(1) << 50); }, DTM_ERR_OUT_OF_MEMORY, {"cudaMalloc"}));
    // The backend still works afterwards.
    float * d = on_gpu({1.0f, 2.0f});
    EXPECT_EQ(from_gpu(d, 2), (std::vector<float>{1.0f, 2.0f}));
}

}  // namespace
}  // namespace dtm
