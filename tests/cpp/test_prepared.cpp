// test_prepared.cpp - weights prepared once per Linear and device
// (backend/prepared.h), on the CPU: a test backend (the CPU backend's
// operations, plus a prepare() that counts what it makes, as a device
// backend does) shows that a candidate sharing Linears with its base
// prepares only the Linears it replaced, that a second session or a second
// thread prepares nothing new, that the model file's views are placed once
// for base and candidates, and that copies are freed with their Linear.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/prepared.h"
#include "model/linear.h"
#include "model/model.h"
#include "test_support.h"

namespace dtm {
namespace {

std::atomic<int> g_live{0};  // PreparedCopy objects alive

struct PreparedCopy final : PreparedWeights {
    explicit PreparedCopy(const void * of) : of(of) { ++g_live; }
    ~PreparedCopy() override { --g_live; }
    const void * of;  // the Linear or model it was made for
};

// The CPU backend's operations; prepare() as a device backend does it, for
// device `name`, counting the copies it makes.
class CountingBackend final : public Backend {
public:
    explicit CountingBackend(const char * name) : name_(name), cpu_(1, cpu::kernels(DTM_ISA_SCALAR), 0) {}
    std::atomic<int> linears_made{0}, views_made{0};
    PreparedModel prepared;

    const char * device() const override { return name_; }
    void prepare(const Model & model) override {
        prepared = prepare_model(
            model, name_,
            [&](const Linear & lin) {
                ++linears_made;
                return std::make_shared<PreparedCopy>(&lin);
            },
            [&](const Model & m) {
                ++views_made;
                return std::make_shared<PreparedCopy>(&m);
            });
    }

    BufferPtr allocate(size_t n) override { return cpu_.allocate(n); }
    bool host_is_device() const override { return true; }
    void upload(float * d, const float * s, size_t n) override { cpu_.upload(d, s, n); }
    void download(float * d, const float * s, size_t n) override { cpu_.download(d, s, n); }
    void copy(float * d, const float * s, size_t n) override { cpu_.copy(d, s, n); }
    void embed(const WeightViews & w, const int32_t * tokens, int64_t n, int32_t dim, float * x) override {
        cpu_.embed(w, tokens, n, dim, x);
    }
    void rmsnorm(float * out, const float * x, const float * w, int64_t n, int32_t dim, float eps) override {
        cpu_.rmsnorm(out, x, w, n, dim, eps);
    }
    void linear(const Linear & w, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n) override {
        cpu_.linear(w, x, ldx, y, ldy, n);
    }
    void add_bias(float * y, const float * b, int64_t n, int32_t width) override { cpu_.add_bias(y, b, n, width); }
    void add_residual(float * x, const float * d, int64_t n, int32_t width) override {
        cpu_.add_residual(x, d, n, width);
    }
    void rope_store_kv(float * q, float * k, const float * v, const int32_t * pos, const int64_t * seq_base, int64_t n,
                       const AttentionShape & s, const RopeTable & rope, float * kc, float * vc) override {
        cpu_.rope_store_kv(q, k, v, pos, seq_base, n, s, rope, kc, vc);
    }
    void attention(float * att, const float * q, const float * kc, const float * vc, const int32_t * pos,
                   const int64_t * seq_base, int64_t n, const AttentionShape & s) override {
        cpu_.attention(att, q, kc, vc, pos, seq_base, n, s);
    }
    void swiglu(float * gate, const float * up, int64_t n, int32_t hidden) override { cpu_.swiglu(gate, up, n, hidden); }
    void row_stats(const float * z, int64_t n, int32_t vocab, const int32_t * targets, cpu::RowStats * out) override {
        cpu_.row_stats(z, n, vocab, targets, out);
    }
    void kl_exact(const float * bz, const float * blse, const float * z, const float * lse, int64_t n, int32_t vocab,
                  float * out) override {
        cpu_.kl_exact(bz, blse, z, lse, n, vocab, out);
    }
    void kl_top_k(const int32_t * ids, const float * lp, int32_t k, const float * z, const float * lse, int64_t n,
                  int32_t vocab, float * out) override {
        cpu_.kl_top_k(ids, lp, k, z, lse, n, vocab, out);
    }
    void top_k(const float * z, const float * lse, int64_t n, int32_t vocab, int32_t k, int32_t * ids,
               float * lp) override {
        cpu_.top_k(z, lse, n, vocab, k, ids, lp);
    }

private:
    const char * name_;
    cpu::CpuBackend cpu_;
};

// The model's Linears: the layers' seven matrices in component order, then the head.
std::vector<const Linear *> linears_of(const Model & m) {
    std::vector<const Linear *> out;
    for (int32_t l = 0; l < m.config().n_layers; ++l) {
        for (int32_t k = 0; k < Model::kComponentsPerLayer; ++k) out.push_back(m.layer(l).slot(k).get());
    }
    out.push_back(&m.classifier());
    return out;
}

class Prepared : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string dir = test::temp_dir();
        test::TinyModelSpec spec;
        spec.shared_classifier = false;
        const std::string path = test::write_tiny_model(dir, spec);
        base = Model::load_llama2c(path, dir + "/tokenizer.bin", false);
        n_linears = base->config().n_layers * Model::kComponentsPerLayer + 1;
    }
    // The base with components `indices` replaced by fresh copies of their weights.
    std::unique_ptr<Model> candidate(const std::vector<int32_t> & indices) const {
        std::vector<std::pair<int32_t, std::shared_ptr<const Linear>>> repl;
        for (int32_t i : indices) {
            const std::shared_ptr<const Linear> old = base->linear(i);
            std::vector<float> w(size_t(old->rows() * old->cols()));
            old->dense_weights(w.data());
            repl.emplace_back(i, DenseLinear::from_rows(w.data(), old->rows(), old->cols()));
        }
        return base->with_linears(repl);
    }
    std::unique_ptr<Model> base;
    int n_linears = 0;
};

TEST_F(Prepared, CandidatePreparesOnlyItsReplacedLinears) {
    const int live_before = g_live;
    CountingBackend on_base("test:0");
    on_base.prepare(*base);
    EXPECT_EQ(on_base.linears_made, n_linears);
    EXPECT_EQ(on_base.views_made, 1);
    EXPECT_EQ(on_base.prepared.linears.size(), size_t(n_linears));

    {
        // components 1 (layer 0 k_proj) and 9 (layer 1 v_proj) replaced
        std::unique_ptr<Model> cand = candidate({1, 9});
        CountingBackend on_cand("test:0");
        on_cand.prepare(*cand);
        EXPECT_EQ(on_cand.linears_made, 2) << "only the replaced Linears are new";
        EXPECT_EQ(on_cand.views_made, 0) << "the candidate shares its base's file";
        ASSERT_EQ(on_cand.prepared.linears.size(), size_t(n_linears));
        const std::vector<const Linear *> lins = linears_of(*cand);
        for (int32_t i = 0; i < n_linears; ++i) {
            const Linear * lin = lins[size_t(i)];
            const auto * copy = dynamic_cast<const PreparedCopy *>(on_cand.prepared.linears.at(lin).get());
            ASSERT_NE(copy, nullptr);
            EXPECT_EQ(copy->of, lin) << "component " << i;
            if (i != 1 && i != 9) {
                EXPECT_EQ(on_cand.prepared.linears.at(lin), on_base.prepared.linears.at(lin));
            }
        }
        EXPECT_EQ(on_cand.prepared.views, on_base.prepared.views);
        EXPECT_EQ(g_live, live_before + n_linears + 1 + 2);

        // Another device prepares its own copies, of everything.
        CountingBackend other("test:1");
        other.prepare(*cand);
        EXPECT_EQ(other.linears_made, n_linears);
        EXPECT_EQ(other.views_made, 1);
        EXPECT_EQ(cand->linear(1)->prepared().size(), 2u);   // the candidate's own: test:0 and test:1
        EXPECT_EQ(base->linear(1)->prepared().size(), 1u);   // the base's, replaced in the candidate: test:0
        EXPECT_EQ(cand->linear(0)->prepared().size(), 2u);   // shared: test:0 and test:1, in the base's slot
        EXPECT_EQ(base->linear(0)->prepared().size(), 2u);
    }
    // The candidate's own Linears are gone, and their copies with them (the
    // test:1 backend is gone too, so its copies of shared Linears stay in
    // their slots, freed with the base).
    EXPECT_EQ(g_live, live_before + n_linears + 1 + (n_linears - 2) + 1);

    CountingBackend again("test:0");
    again.prepare(*base);
    EXPECT_EQ(again.linears_made, 0) << "a second session on the base prepares nothing";
    EXPECT_EQ(again.views_made, 0);
}

TEST_F(Prepared, ThreadsPreparingOneModelMakeOneCopyEach) {
    std::vector<std::unique_ptr<CountingBackend>> backends;
    for (int i = 0; i < 4; ++i) backends.push_back(std::make_unique<CountingBackend>("test:0"));
    std::vector<std::thread> threads;
    for (auto & b : backends) threads.emplace_back([&, be = b.get()] { be->prepare(*base); });
    for (std::thread & t : threads) t.join();
    int linears = 0, views = 0;
    for (auto & b : backends) {
        linears += b->linears_made;
        views += b->views_made;
        EXPECT_EQ(b->prepared.linears, backends[0]->prepared.linears);
    }
    EXPECT_EQ(linears, n_linears);
    EXPECT_EQ(views, 1);
}

TEST_F(Prepared, AFailedPreparationLeavesNoCopy) {
    const Linear & lin = *base->linear(0);
    EXPECT_THROW(lin.prepared().get("test:0", []() -> PreparedPtr { throw Error(DTM_ERR_OUT_OF_MEMORY, "full"); }),
                 Error);
    EXPECT_EQ(lin.prepared().find("test:0"), nullptr);
    const PreparedPtr made = lin.prepared().get("test:0", [&] { return std::make_shared<PreparedCopy>(&lin); });
    EXPECT_EQ(lin.prepared().find("test:0"), made);
}

TEST_F(Prepared, TheCpuBackendPreparesNothing) {
    cpu::CpuBackend cpu(1, cpu::kernels(DTM_ISA_SCALAR), 0);
    cpu.prepare(*base);
    for (const Linear * lin : linears_of(*base)) EXPECT_EQ(lin->prepared().size(), 0u);
    EXPECT_EQ(base->prepared_views().size(), 0u);
}

}  // namespace
}  // namespace dtm
