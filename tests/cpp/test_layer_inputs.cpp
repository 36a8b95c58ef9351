// test_layer_inputs.cpp - evaluation from cached layer inputs (the scan's
// shortcut, DESIGN.md section 3) gives bitwise the results of a full pass,
// and a cache is refused for other samples or a model that differs before
// its layer.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "api/handles.h"
#include "dtm/dtm.h"
#include "test_support.h"

namespace {

struct Samples {
    std::vector<int32_t> tokens, prompt_lens, cont_lens;
    dtm_eval_inputs inputs() const {
        dtm_eval_inputs in{};
        in.tokens = tokens.data();
        in.prompt_lens = prompt_lens.data();
        in.cont_lens = cont_lens.data();
        in.n_samples = int32_t(prompt_lens.size());
        return in;
    }
};

Samples make_samples(int32_t vocab) {
    Samples s;
    for (int32_t i = 0; i < 7; ++i) {
        const int32_t P = 3 + i % 4, N = 5 + (i * 3) % 7;
        s.prompt_lens.push_back(P);
        s.cont_lens.push_back(N);
        for (int32_t k = 0; k < P + N; ++k) s.tokens.push_back(k == 0 ? 1 : (i * 97 + k * 31) % vocab);
    }
    return s;
}

struct Results {
    std::vector<int32_t> fdt, sdt, argmax;
    std::vector<float> nll, logprob, kl;
};

Results evaluate(dtm_session * cand, dtm_session * base, const Samples & smp, const dtm_layer_inputs * from,
                 int32_t * status = nullptr) {
    Results r;
    const size_t n = smp.prompt_lens.size();
    size_t n_cont = 0;
    for (int32_t c : smp.cont_lens) n_cont += size_t(c);
    r.fdt.resize(n);
    r.sdt.resize(n);
    r.nll.resize(n);
    r.kl.resize(n);
    r.argmax.resize(n_cont);
    r.logprob.resize(n_cont);
    dtm_eval_outputs o{};
    o.fdt = r.fdt.data();
    o.sdt = r.sdt.data();
    o.nll = r.nll.data();
    o.kl = r.kl.data();
    o.argmax = r.argmax.data();
    o.logprob = r.logprob.data();
    const int32_t st = from ? dtm_evaluate_from(cand, base, smp.inputs(), from, o) : dtm_evaluate(cand, base, smp.inputs(), o);
    if (status) *status = st;
    else EXPECT_EQ(st, DTM_OK) << dtm_last_error();
    return r;
}

void expect_bitwise(const Results & a, const Results & b, int layer) {
    EXPECT_EQ(a.fdt, b.fdt) << "layer " << layer;
    EXPECT_EQ(a.sdt, b.sdt) << "layer " << layer;
    EXPECT_EQ(a.argmax, b.argmax) << "layer " << layer;
    EXPECT_EQ(0, std::memcmp(a.nll.data(), b.nll.data(), a.nll.size() * sizeof(float))) << "layer " << layer;
    EXPECT_EQ(0, std::memcmp(a.logprob.data(), b.logprob.data(), a.logprob.size() * sizeof(float))) << "layer " << layer;
    EXPECT_EQ(0, std::memcmp(a.kl.data(), b.kl.data(), a.kl.size() * sizeof(float))) << "layer " << layer;
}

struct LayerInputsTest : ::testing::Test {
    void SetUp() override {
        spec.n_layers = 3;
        spec.shared_classifier = false;
        ASSERT_EQ(dtm_model_load(dtm::test::write_tiny_model(dtm::test::temp_dir(), spec).c_str(),
                                 dtm_model_default_params(), &base), DTM_OK) << dtm_last_error();
    }
    void TearDown() override { dtm_model_free(base); }

    // The base with one matrix of component `index` scaled: a candidate that
    // differs from the base in that component only.
    dtm_model * scaled(int32_t index, float factor) {
        std::shared_ptr<const dtm::Linear> lin = base->impl->linear(index);
        std::vector<float> w(static_cast<size_t>(lin->rows() * lin->cols()));
        lin->dense_weights(w.data());
        for (float & v : w) v *= factor;
        return new dtm_model{base->impl->with_linears({{index, dtm::DenseLinear::from_rows(w.data(), lin->rows(), lin->cols())}})};
    }
    dtm_session * session(dtm_model * m, int32_t max_batch = 0) {
        return dtm::test::open_session(m, DTM_ISA_AUTO, 2, max_batch);
    }

    dtm::test::TinyModelSpec spec;
    dtm_model * base = nullptr;
};

TEST_F(LayerInputsTest, EvaluationFromEveryLayerEqualsTheFullPassBitwise) {
    const Samples smp = make_samples(spec.vocab_size);
    dtm_session * bs = session(base, 16);  // small chunks: the cache is read across chunk boundaries
    dtm_layer_inputs * prev = nullptr;
    for (int32_t layer = 0; layer <= spec.n_layers; ++layer) {
        dtm_layer_inputs * cache = nullptr;
        ASSERT_EQ(dtm_capture_layer_inputs(bs, smp.inputs(), layer, prev, &cache), DTM_OK) << dtm_last_error();
        dtm_layer_inputs_free(prev);
        prev = cache;
        EXPECT_GT(dtm_layer_inputs_bytes(cache), 0);
        // A candidate that changes this layer's MLP (or the head, past the last layer).
        const int32_t changed = layer < spec.n_layers ? layer * 7 + 5 : spec.n_layers * 7 + 1;
        dtm_model * cand = scaled(changed, 1.7f);
        dtm_session * cs = session(cand);
        dtm_session * exact_base = session(base);
        expect_bitwise(evaluate(cs, nullptr, smp, cache), evaluate(cs, nullptr, smp, nullptr), layer);
        expect_bitwise(evaluate(cs, exact_base, smp, cache), evaluate(cs, exact_base, smp, nullptr), layer);
        dtm_session_free(exact_base);
        dtm_session_free(cs);
        dtm_model_free(cand);
    }
    dtm_layer_inputs_free(prev);
    dtm_session_free(bs);
}

TEST_F(LayerInputsTest, ACacheIsRefusedForAModelThatDiffersBeforeItsLayer) {
    const Samples smp = make_samples(spec.vocab_size);
    dtm_session * bs = session(base);
    dtm_layer_inputs * cache = nullptr;
    ASSERT_EQ(dtm_capture_layer_inputs(bs, smp.inputs(), 2, nullptr, &cache), DTM_OK) << dtm_last_error();
    dtm_model * cand = scaled(1 * 7 + 6, 1.1f);  // layer 1's down_proj
    dtm_session * cs = session(cand);
    int32_t status = DTM_OK;
    evaluate(cs, nullptr, smp, cache, &status);
    EXPECT_EQ(status, DTM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(dtm_last_error()).find("model.layers.1.mlp.down_proj"), std::string::npos) << dtm_last_error();
    dtm_layer_inputs * later = nullptr;
    EXPECT_EQ(dtm_capture_layer_inputs(cs, smp.inputs(), 3, cache, &later), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(later, nullptr);
    dtm_session_free(cs);
    dtm_model_free(cand);

    Samples other = smp;
    other.tokens[3] = (other.tokens[3] + 1) % spec.vocab_size;
    evaluate(bs, nullptr, other, cache, &status);
    EXPECT_EQ(status, DTM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(dtm_last_error()).find("other samples"), std::string::npos);
    EXPECT_EQ(dtm_capture_layer_inputs(bs, smp.inputs(), 1, cache, &later), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(dtm_capture_layer_inputs(bs, smp.inputs(), 4, nullptr, &later), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(dtm_evaluate_from(bs, nullptr, smp.inputs(), nullptr, dtm_eval_outputs{}), DTM_ERR_INVALID_ARGUMENT);
    dtm_layer_inputs_free(cache);
    dtm_session_free(bs);
}

}  // namespace
