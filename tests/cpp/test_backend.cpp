// test_backend.cpp - the backend seam (backend/backend.h): the CPU
// backend's row operations give bitwise what the per-token functions give,
// on the calling thread (few rows) and on the pool (many), and a weight
// format asked to run on a backend it has no layout for refuses with
// UNSUPPORTED naming the device instead of touching its memory.
#include <gtest/gtest.h>

#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "model/linear.h"
#include "runtime/layer_ops.h"
#include "runtime/position_stats.h"
#include "test_support.h"

namespace dtm {
namespace {

using test::bitwise_equal;
using test::random_floats;

const cpu::KernelTable & best() { return cpu::kernels(cpu::best_isa()); }

TEST(CpuBackend, RowOpsAreThePerTokenFunctionsOnEveryRow) {
    cpu::CpuBackend be(2, best(), 0);
    const int32_t width = 37;
    for (int64_t n : {1, 3, 4, 9}) {  // below and above the rows that go to the pool
        const std::vector<float> x = random_floats(size_t(n * width), 1), w = random_floats(size_t(width), 2);
        const std::vector<float> d = random_floats(size_t(n * width), 3);
        std::vector<float> got(x.size()), want(x.size());
        be.rmsnorm(got.data(), x.data(), w.data(), n, width, 1e-5f);
        for (int64_t t = 0; t < n; ++t) rmsnorm(&want[size_t(t * width)], &x[size_t(t * width)], w.data(), width, 1e-5f);
        EXPECT_TRUE(bitwise_equal(got, want)) << "rmsnorm, n = " << n;

        got = x;
        want = x;
        be.add_bias(got.data(), w.data(), n, width);
        for (int64_t t = 0; t < n; ++t) add_bias(&want[size_t(t * width)], w.data(), width);
        EXPECT_TRUE(bitwise_equal(got, want)) << "add_bias, n = " << n;

        got = x;
        want = x;
        be.add_residual(got.data(), d.data(), n, width);
        for (size_t i = 0; i < want.size(); ++i) want[i] += d[i];
        EXPECT_TRUE(bitwise_equal(got, want)) << "add_residual, n = " << n;

        got = x;
        want = x;
        be.swiglu(got.data(), d.data(), n, width);
        for (int64_t t = 0; t < n; ++t) cpu::swiglu_ref(&want[size_t(t * width)], &d[size_t(t * width)], width);
        EXPECT_TRUE(bitwise_equal(got, want)) << "swiglu, n = " << n;
    }
}

TEST(CpuBackend, PositionStatisticsAreThePerRowOnes) {
    cpu::CpuBackend be(2, best(), 0);
    const int32_t vocab = 101, k = 5;
    const int64_t n = 7;
    const std::vector<float> zc = random_floats(size_t(n * vocab), 4, -8, 8), zb = random_floats(size_t(n * vocab), 5, -8, 8);
    std::vector<int32_t> targets(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) targets[size_t(t)] = int32_t((t * 13) % vocab);
    targets[2] = -1;
    std::vector<cpu::RowStats> sc(static_cast<size_t>(n)), sb(static_cast<size_t>(n));
    be.row_stats(zc.data(), n, vocab, targets.data(), sc.data());
    be.row_stats(zb.data(), n, vocab, targets.data(), sb.data());
    std::vector<float> lse_c(static_cast<size_t>(n)), lse_b(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) {
        const cpu::RowStats want = best().row_stats(&zc[size_t(t * vocab)], vocab, targets[size_t(t)]);
        EXPECT_EQ(sc[size_t(t)].argmax, want.argmax);
        EXPECT_EQ(test::bits_of(sc[size_t(t)].logsumexp), test::bits_of(want.logsumexp));
        EXPECT_EQ(test::bits_of(sc[size_t(t)].target_logit), test::bits_of(want.target_logit));
        lse_c[size_t(t)] = sc[size_t(t)].logsumexp;
        lse_b[size_t(t)] = sb[size_t(t)].logsumexp;
    }

    std::vector<float> kl(static_cast<size_t>(n));
    be.kl_exact(zb.data(), lse_b.data(), zc.data(), lse_c.data(), n, vocab, kl.data());
    std::vector<int32_t> ids(size_t(n * k));
    std::vector<float> lps(size_t(n * k));
    be.top_k(zb.data(), lse_b.data(), n, vocab, k, ids.data(), lps.data());
    std::vector<float> kl_k(static_cast<size_t>(n));
    be.kl_top_k(ids.data(), lps.data(), k, zc.data(), lse_c.data(), n, vocab, kl_k.data());
    for (int64_t t = 0; t < n; ++t) {
        const float * b = &zb[size_t(t * vocab)];
        const float * c = &zc[size_t(t * vocab)];
        EXPECT_EQ(test::bits_of(kl[size_t(t)]), test::bits_of(float(kl_exact(b, lse_b[size_t(t)], c, lse_c[size_t(t)], vocab))));
        std::vector<int32_t> want_ids(static_cast<size_t>(k));
        top_k_ids(b, vocab, k, want_ids.data());
        for (int32_t j = 0; j < k; ++j) {
            EXPECT_EQ(ids[size_t(t * k + j)], want_ids[size_t(j)]);
            EXPECT_EQ(test::bits_of(lps[size_t(t * k + j)]), test::bits_of(b[want_ids[size_t(j)]] - lse_b[size_t(t)]));
        }
        EXPECT_EQ(test::bits_of(kl_k[size_t(t)]),
                  test::bits_of(float(kl_top_k(&ids[size_t(t * k)], &lps[size_t(t * k)], k, c, lse_c[size_t(t)]))));
        EXPECT_LE(kl_k[size_t(t)], kl[size_t(t)] * (1 + 1e-4f) + 1e-6f) << "the top-k KL is a lower bound";
    }
}

TEST(CpuBackend, BuffersAreZeroedAndTheirOwnHostView) {
    cpu::CpuBackend be(1, best(), 0);
    BufferPtr b = be.allocate(1000);
    ASSERT_EQ(b->size(), 1000u);
    EXPECT_EQ(b->host(), b->data());
    for (size_t i = 0; i < b->size(); ++i) ASSERT_EQ(test::bits_of(b->data()[i]), 0u) << i;
    EXPECT_TRUE(be.host_is_device());
    EXPECT_STREQ(be.device(), "cpu");
}

// A backend that is not the CPU: the weight formats have no layout for it.
class ForeignBackend final : public Backend {
public:
    const char * device() const override { return "cuda:7"; }
    BufferPtr allocate(size_t) override { return nullptr; }
    bool host_is_device() const override { return false; }
    void upload(float *, const float *, size_t) override {}
    void download(float *, const float *, size_t) override {}
    void copy(float *, const float *, size_t) override {}
    void embed(const WeightViews &, const int32_t *, int64_t, int32_t, float *) override {}
    void rmsnorm(float *, const float *, const float *, int64_t, int32_t, float) override {}
    void linear(const Linear & w, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n) override {
        w.forward(x, ldx, y, ldy, n, *this);
    }
    void add_bias(float *, const float *, int64_t, int32_t) override {}
    void add_residual(float *, const float *, int64_t, int32_t) override {}
    void rope_store_kv(float *, float *, const float *, const int32_t *, const int64_t *, int64_t,
                       const AttentionShape &, const RopeTable &, float *, float *) override {}
    void attention(float *, const float *, const float *, const float *, const int32_t *, const int64_t *, int64_t,
                   const AttentionShape &) override {}
    void swiglu(float *, const float *, int64_t, int32_t) override {}
    void row_stats(const float *, int64_t, int32_t, const int32_t *, cpu::RowStats *) override {}
    void kl_exact(const float *, const float *, const float *, const float *, int64_t, int32_t, float *) override {}
    void kl_top_k(const int32_t *, const float *, int32_t, const float *, const float *, int64_t, int32_t,
                  float *) override {}
    void top_k(const float *, const float *, int64_t, int32_t, int32_t, int32_t *, float *) override {}
};

TEST(Backend, AWeightFormatWithoutALayoutForTheDeviceRefusesNamingIt) {
    const std::vector<float> w = random_floats(16 * 32, 6);
    const auto dense = DenseLinear::from_rows(w.data(), 16, 32);
    std::vector<float> x(32), y(16, test::sentinel());
    ForeignBackend foreign;
    EXPECT_TRUE(test::fails_with([&] { foreign.linear(*dense, x.data(), 32, y.data(), 16, 1); }, DTM_ERR_UNSUPPORTED,
                                 {"fp32", "cuda:7"}));
    for (float v : y) EXPECT_EQ(test::bits_of(v), test::kSentinelBits) << "nothing written";
}

}  // namespace
}  // namespace dtm
