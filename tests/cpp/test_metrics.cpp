// test_metrics.cpp - the laws of DESIGN.md §1 on the native evaluation:
// a model against itself gives FDT = N and SDT = 0 and KL = 0; a perturbed
// candidate's teacher-forced FDT equals the common prefix of the two models'
// free-running greedy generations; SDT is the count of mismatches; exact KL
// matches a direct computation; the top-k KL is a lower bound that becomes
// exact when k covers the vocabulary.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "dtm/dtm.h"
#include "runtime/position_stats.h"
#include "test_support.h"

namespace {

struct Models {
    dtm_model * base = nullptr;
    dtm_model * cand = nullptr;
    dtm_session * sb = nullptr;
    dtm_session * sc = nullptr;
    int vocab = 0;
    ~Models() {
        dtm_session_free(sb);
        dtm_session_free(sc);
        dtm_model_free(base);
        dtm_model_free(cand);
    }
};

// Base: a random tiny model. Candidate: the same bytes with every weight of
// one tensor region scaled by (1 + eps) (eps = 0: the base itself).
void make_models(Models & m, float eps, uint64_t seed = 3) {
    dtm::test::TinyModelSpec spec;
    spec.seed = seed;
    spec.vocab_size = 320;
    spec.weight_scale = 0.3f;  // peaked enough distributions that greedy is stable
    m.vocab = spec.vocab_size;
    const std::string dir_b = dtm::test::temp_dir(), dir_c = dtm::test::temp_dir();
    const std::string path_b = dtm::test::write_tiny_model(dir_b, spec);
    const std::string path_c = dtm::test::write_tiny_model(dir_c, spec);
    auto bytes = dtm::test::read_file(path_c);
    // Perturb a band of the file after the embedding (attention weights of layer 0).
    const size_t emb_end = 28 + size_t(spec.vocab_size) * spec.dim * 4;
    for (size_t off = emb_end + size_t(spec.n_layers) * spec.dim * 4; off + 4 <= emb_end + 200000 && off + 4 <= bytes.size(); off += 4) {
        float w;
        std::memcpy(&w, &bytes[off], 4);
        w *= (1.0f + eps);
        std::memcpy(&bytes[off], &w, 4);
    }
    dtm::test::write_file(path_c, bytes);
    ASSERT_EQ(dtm_model_load(path_b.c_str(), dtm_model_default_params(), &m.base), DTM_OK) << dtm_last_error();
    ASSERT_EQ(dtm_model_load(path_c.c_str(), dtm_model_default_params(), &m.cand), DTM_OK) << dtm_last_error();
    dtm_session_params p = dtm_session_default_params();
    p.n_threads = 2;
    p.max_sequences = 8;
    ASSERT_EQ(dtm_session_create(m.base, p, &m.sb), DTM_OK);
    ASSERT_EQ(dtm_session_create(m.cand, p, &m.sc), DTM_OK);
}

struct Reference {
    std::vector<int32_t> tokens, prompt_lens, cont_lens;
};

// n_prompts prompts of random lengths; continuation = greedy output of `s`.
Reference greedy_reference(dtm_session * s, int vocab, int n_prompts, int n_new) {
    Reference r;
    std::vector<int32_t> prompts;
    uint64_t x = 99;
    for (int i = 0; i < n_prompts; ++i) {
        const int len = 1 + i % 5;
        prompts.push_back(1);
        for (int j = 1; j < len; ++j) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            prompts.push_back(3 + int32_t(x % uint64_t(vocab - 3)));
        }
        r.prompt_lens.push_back(len);
    }
    std::vector<int32_t> out(static_cast<size_t>(n_prompts) * n_new), lens(static_cast<size_t>(n_prompts));
    EXPECT_EQ(dtm_generate_greedy(s, prompts.data(), r.prompt_lens.data(), n_prompts, n_new, 0, out.data(), lens.data()),
              DTM_OK) << dtm_last_error();
    size_t off = 0;
    for (int i = 0; i < n_prompts; ++i) {
        r.tokens.insert(r.tokens.end(), prompts.begin() + long(off), prompts.begin() + long(off) + r.prompt_lens[size_t(i)]);
        off += size_t(r.prompt_lens[size_t(i)]);
        r.tokens.insert(r.tokens.end(), out.begin() + long(i) * n_new, out.begin() + long(i + 1) * n_new);
        r.cont_lens.push_back(n_new);
    }
    return r;
}

dtm_eval_inputs inputs_of(const Reference & r) {
    dtm_eval_inputs in{};
    in.tokens = r.tokens.data();
    in.prompt_lens = r.prompt_lens.data();
    in.cont_lens = r.cont_lens.data();
    in.n_samples = int32_t(r.prompt_lens.size());
    return in;
}

TEST(Metrics, ModelAgainstItselfHasNoDivergence) {
    Models m;
    make_models(m, 0.0f);
    const int N = 30, S = 6;
    const Reference ref = greedy_reference(m.sb, m.vocab, S, N);
    std::vector<int32_t> fdt(S), sdt(S);
    std::vector<float> kl(S), dp(S);
    dtm_eval_outputs out{};
    out.fdt = fdt.data(); out.sdt = sdt.data(); out.kl = kl.data(); out.delta_p = dp.data();
    // Candidate = the same weights in another model object, base session for exact KL.
    ASSERT_EQ(dtm_evaluate(m.sc, m.sb, inputs_of(ref), out), DTM_OK) << dtm_last_error();
    for (int s = 0; s < S; ++s) {
        EXPECT_EQ(fdt[size_t(s)], N);
        EXPECT_EQ(sdt[size_t(s)], 0);
        EXPECT_EQ(kl[size_t(s)], 0.0f);
        EXPECT_EQ(dp[size_t(s)], 0.0f);
    }
}

TEST(Metrics, TeacherForcedFdtIsTheCommonPrefixOfFreeGenerations) {
    for (float eps : {0.02f, 0.1f, 0.4f}) {
        Models m;
        make_models(m, eps);
        const int N = 40, S = 8;
        const Reference ref = greedy_reference(m.sb, m.vocab, S, N);
        const Reference cand = greedy_reference(m.sc, m.vocab, S, N);  // same prompts (same RNG)
        std::vector<int32_t> fdt(S), sdt(S), argmax(static_cast<size_t>(S) * N);
        dtm_eval_outputs out{};
        out.fdt = fdt.data(); out.sdt = sdt.data(); out.argmax = argmax.data();
        ASSERT_EQ(dtm_evaluate(m.sc, nullptr, inputs_of(ref), out), DTM_OK) << dtm_last_error();
        int diverging = 0;
        size_t off = 0;
        for (int s = 0; s < S; ++s) {
            const int32_t P = ref.prompt_lens[size_t(s)];
            int prefix = 0;
            while (prefix < N && ref.tokens[off + size_t(P + prefix)] == cand.tokens[off + size_t(P + prefix)]) ++prefix;
            EXPECT_EQ(fdt[size_t(s)], prefix) << "eps " << eps << " sample " << s;
            int count = 0;
            for (int i = 0; i < N; ++i) count += argmax[size_t(s) * N + size_t(i)] != ref.tokens[off + size_t(P + i)];
            EXPECT_EQ(sdt[size_t(s)], count);
            diverging += prefix < N;
            off += size_t(P + N);
        }
        if (eps >= 0.4f) {
            EXPECT_GT(diverging, 0) << "the perturbation should change some generations";
        }
    }
}

TEST(Metrics, ExactKlMatchesDirectComputationAndTopKIsALowerBound) {
    Models m;
    make_models(m, 0.2f);
    const int N = 12, S = 3;
    const Reference ref = greedy_reference(m.sb, m.vocab, S, N);
    const int n_cont = S * N;
    // Exact, with the base's top-k recorded at the same time.
    std::vector<float> pos_kl(static_cast<size_t>(n_cont)), base_lp(static_cast<size_t>(n_cont)), lp(static_cast<size_t>(n_cont));
    dtm_eval_outputs out{};
    out.position_kl = pos_kl.data(); out.base_logprob = base_lp.data(); out.logprob = lp.data();
    ASSERT_EQ(dtm_evaluate(m.sc, m.sb, inputs_of(ref), out), DTM_OK) << dtm_last_error();

    // Direct: full logits of both models over the fed tokens.
    size_t tok = 0, c = 0;
    for (int s = 0; s < S; ++s) {
        const int32_t P = ref.prompt_lens[size_t(s)];
        const int32_t fed = P + N - 1;
        std::vector<float> zb(static_cast<size_t>(fed) * m.vocab), zc(static_cast<size_t>(fed) * m.vocab);
        dtm_score_outputs ob{}, oc{};
        ob.logits = zb.data(); oc.logits = zc.data();
        ASSERT_EQ(dtm_score(m.sb, &ref.tokens[tok], &fed, 1, ob), DTM_OK);
        ASSERT_EQ(dtm_score(m.sc, &ref.tokens[tok], &fed, 1, oc), DTM_OK);
        for (int i = 1; i <= N; ++i, ++c) {
            const float * b = &zb[size_t(P - 2 + i) * m.vocab];
            const float * a = &zc[size_t(P - 2 + i) * m.vocab];
            double mb = b[0], ma = a[0];
            for (int v = 1; v < m.vocab; ++v) { mb = std::max(mb, double(b[v])); ma = std::max(ma, double(a[v])); }
            double sb = 0, sa = 0;
            for (int v = 0; v < m.vocab; ++v) { sb += std::exp(b[v] - mb); sa += std::exp(a[v] - ma); }
            const double lb = mb + std::log(sb), la = ma + std::log(sa);
            double kl = 0;
            for (int v = 0; v < m.vocab; ++v) kl += std::exp(b[v] - lb) * ((b[v] - lb) - (a[v] - la));
            EXPECT_NEAR(pos_kl[c], kl, 1e-5 + 1e-4 * kl) << "position " << c;
            const int32_t y = ref.tokens[tok + size_t(P - 1 + i)];
            EXPECT_NEAR(base_lp[c], b[y] - lb, 1e-5);
            EXPECT_NEAR(lp[c], a[y] - la, 1e-5);
        }
        tok += size_t(P + N);
    }

    // Approximate from the base's top-k: below the exact value, equal at k = vocab.
    for (int k : {1, 5, 40, m.vocab}) {
        std::vector<int32_t> ids(static_cast<size_t>(n_cont) * k);
        std::vector<float> lps(ids.size());
        dtm_eval_outputs ob{};
        ob.top_k = k; ob.topk_ids = ids.data(); ob.topk_logprobs = lps.data();
        ASSERT_EQ(dtm_evaluate(m.sb, nullptr, inputs_of(ref), ob), DTM_OK) << dtm_last_error();
        dtm_eval_inputs in = inputs_of(ref);
        in.base_top_k = k; in.base_topk_ids = ids.data(); in.base_topk_logprobs = lps.data();
        std::vector<float> approx(static_cast<size_t>(n_cont));
        dtm_eval_outputs oa{};
        oa.position_kl = approx.data();
        ASSERT_EQ(dtm_evaluate(m.sc, nullptr, in, oa), DTM_OK) << dtm_last_error();
        for (int i = 0; i < n_cont; ++i) {
            // The stored log-probabilities are floats: the bound holds up to
            // their rounding (5e-4 relative, 1e-5 absolute here).
            const double tol = 1e-5 + 5e-4 * pos_kl[size_t(i)];
            EXPECT_LE(approx[size_t(i)], pos_kl[size_t(i)] + tol) << "k " << k;
            if (k == m.vocab) {
                EXPECT_NEAR(approx[size_t(i)], pos_kl[size_t(i)], tol);
            }
        }
    }
}

TEST(Metrics, TopKOrdersByValueThenLowestId) {
    const float z[] = {1.0f, 3.0f, 3.0f, -1.0f, 3.0f, 2.0f};
    int32_t ids[4];
    dtm::top_k_ids(z, 6, 4, ids);
    EXPECT_EQ(ids[0], 1);
    EXPECT_EQ(ids[1], 2);
    EXPECT_EQ(ids[2], 4);
    EXPECT_EQ(ids[3], 5);
}

TEST(Metrics, KlOfNanIsNanAndZeroProbabilitiesCountAsNothing) {
    const float nan = NAN, inf = INFINITY;
    const float zF[] = {0.0f, 1.0f, 2.0f}, zC[] = {0.5f, 1.0f, 1.5f};
    const float lseF = float(std::log(std::exp(0.0) + std::exp(1.0) + std::exp(2.0)));
    const float lseC = float(std::log(std::exp(0.5) + std::exp(1.0) + std::exp(1.5)));
    const double finite = dtm::kl_exact(zF, lseF, zC, lseC, 3);
    EXPECT_GT(finite, 0.0);
    // A NaN logit or normaliser on either side: NaN, not the 0 of a perfect candidate.
    const float zC_nan[] = {0.5f, nan, 1.5f}, zF_nan[] = {nan, 1.0f, 2.0f};
    EXPECT_TRUE(std::isnan(dtm::kl_exact(zF, lseF, zC_nan, lseC, 3)));
    EXPECT_TRUE(std::isnan(dtm::kl_exact(zF, lseF, zC, nan, 3)));
    EXPECT_TRUE(std::isnan(dtm::kl_exact(zF_nan, lseF, zC, lseC, 3)));
    // A token F gives probability 0 (logit -inf) adds nothing: 0 log 0 = 0.
    const float zF_zero[] = {-inf, 1.0f, 2.0f};
    const float lseF_zero = float(std::log(std::exp(1.0) + std::exp(2.0)));
    EXPECT_TRUE(std::isfinite(dtm::kl_exact(zF_zero, lseF_zero, zC, lseC, 3)));

    const int32_t ids[] = {2, 1};
    const float lpF[] = {zF[2] - lseF, zF[1] - lseF};
    EXPECT_TRUE(std::isfinite(dtm::kl_top_k(ids, lpF, 2, zC, lseC)));
    EXPECT_TRUE(std::isnan(dtm::kl_top_k(ids, lpF, 2, zC_nan, lseC)));
    EXPECT_TRUE(std::isnan(dtm::kl_top_k(ids, lpF, 2, zC, nan)));
    const float lpF_nan[] = {nan, zF[1] - lseF};
    EXPECT_TRUE(std::isnan(dtm::kl_top_k(ids, lpF_nan, 2, zC, lseC)));
}

// A model file with a NaN weight is refused by default (DTM_ERR_NON_FINITE);
// loaded on purpose with the check off, its logits are NaN and so is every
// metric of it, with the base's logits (exact KL) or its top-k: never a 0.
TEST(Metrics, ACandidateWithNanLogitsGetsNanMetrics) {
    dtm::test::TinyModelSpec spec;
    spec.vocab_size = 320;
    spec.weight_scale = 0.3f;
    const std::string path_b = dtm::test::write_tiny_model(dtm::test::temp_dir(), spec);
    const std::string path_c = dtm::test::write_tiny_model(dtm::test::temp_dir(), spec);
    std::vector<uint8_t> bytes = dtm::test::read_file(path_c);
    // The first weight of layer 0's wq (after the header, the embedding and the attention norms).
    const size_t wq0 = 28 + size_t(spec.vocab_size) * spec.dim * 4 + size_t(spec.n_layers) * spec.dim * 4;
    const float nan = NAN;
    std::memcpy(&bytes[wq0], &nan, 4);
    dtm::test::write_file(path_c, bytes);

    dtm_model * refused = reinterpret_cast<dtm_model *>(0x1);
    EXPECT_EQ(dtm_model_load(path_c.c_str(), dtm_model_default_params(), &refused), DTM_ERR_NON_FINITE);
    EXPECT_NE(std::string(dtm_last_error()).find("NaN in model.layers.0.self_attn.q_proj at index 0"), std::string::npos) << dtm_last_error();
    EXPECT_EQ(refused, nullptr);

    Models m;
    m.vocab = spec.vocab_size;
    dtm_model_params unchecked = dtm_model_default_params();
    unchecked.check_finite = 0;
    ASSERT_EQ(dtm_model_load(path_b.c_str(), dtm_model_default_params(), &m.base), DTM_OK) << dtm_last_error();
    ASSERT_EQ(dtm_model_load(path_c.c_str(), unchecked, &m.cand), DTM_OK) << dtm_last_error();
    dtm_session_params sp = dtm_session_default_params();
    sp.n_threads = 2;
    sp.max_sequences = 8;
    ASSERT_EQ(dtm_session_create(m.base, sp, &m.sb), DTM_OK);
    ASSERT_EQ(dtm_session_create(m.cand, sp, &m.sc), DTM_OK);

    const int N = 6, S = 3, n_cont = S * N;
    const Reference ref = greedy_reference(m.sb, m.vocab, S, N);
    std::vector<float> kl(S), nll(S), dp(S), pos_kl(static_cast<size_t>(n_cont)), lp(static_cast<size_t>(n_cont));
    dtm_eval_outputs out{};
    out.kl = kl.data(); out.nll = nll.data(); out.delta_p = dp.data();
    out.position_kl = pos_kl.data(); out.logprob = lp.data();
    ASSERT_EQ(dtm_evaluate(m.sc, m.sb, inputs_of(ref), out), DTM_OK) << dtm_last_error();
    for (int s = 0; s < S; ++s) {
        EXPECT_TRUE(std::isnan(kl[size_t(s)])) << "sample " << s << ": KL " << kl[size_t(s)];
        EXPECT_TRUE(std::isnan(nll[size_t(s)])) << "sample " << s << ": NLL " << nll[size_t(s)];
        EXPECT_TRUE(std::isnan(dp[size_t(s)])) << "sample " << s << ": delta p " << dp[size_t(s)];
    }
    for (int i = 0; i < n_cont; ++i) {
        EXPECT_TRUE(std::isnan(pos_kl[size_t(i)])) << "position " << i << ": KL " << pos_kl[size_t(i)];
        EXPECT_TRUE(std::isnan(lp[size_t(i)])) << "position " << i;
    }

    // KL from the base's top-k (no base session).
    const int k = 5;
    std::vector<int32_t> ids(static_cast<size_t>(n_cont) * k);
    std::vector<float> lps(ids.size());
    dtm_eval_outputs ob{};
    ob.top_k = k; ob.topk_ids = ids.data(); ob.topk_logprobs = lps.data();
    ASSERT_EQ(dtm_evaluate(m.sb, nullptr, inputs_of(ref), ob), DTM_OK) << dtm_last_error();
    dtm_eval_inputs in = inputs_of(ref);
    in.base_top_k = k; in.base_topk_ids = ids.data(); in.base_topk_logprobs = lps.data();
    std::vector<float> approx_kl(S), approx_pos(static_cast<size_t>(n_cont));
    dtm_eval_outputs oa{};
    oa.kl = approx_kl.data(); oa.position_kl = approx_pos.data();
    ASSERT_EQ(dtm_evaluate(m.sc, nullptr, in, oa), DTM_OK) << dtm_last_error();
    for (int s = 0; s < S; ++s) EXPECT_TRUE(std::isnan(approx_kl[size_t(s)])) << "sample " << s << ": " << approx_kl[size_t(s)];
    for (int i = 0; i < n_cont; ++i) EXPECT_TRUE(std::isnan(approx_pos[size_t(i)])) << "position " << i;
}

TEST(Metrics, BadInputIsRejectedBeforeAnyWork) {
    Models m;
    make_models(m, 0.0f);
    Reference r;
    r.tokens = {1, 5, 6, 7};
    r.prompt_lens = {2};
    r.cont_lens = {2};
    dtm_eval_outputs out{};
    dtm_eval_inputs in = inputs_of(r);
    in.n_samples = 0;
    EXPECT_EQ(dtm_evaluate(m.sc, nullptr, in, out), DTM_ERR_INVALID_ARGUMENT);
    in = inputs_of(r);
    EXPECT_EQ(dtm_evaluate(m.sc, m.sc, in, out), DTM_ERR_INVALID_ARGUMENT);
    r.cont_lens = {0};
    in = inputs_of(r);
    EXPECT_EQ(dtm_evaluate(m.sc, nullptr, in, out), DTM_ERR_INVALID_ARGUMENT);
    r.cont_lens = {2};
    r.tokens[3] = m.vocab;
    in = inputs_of(r);
    EXPECT_EQ(dtm_evaluate(m.sc, nullptr, in, out), DTM_ERR_TOKEN_OUT_OF_RANGE);
    r.tokens[3] = 7;
    r.prompt_lens = {2};
    r.cont_lens = {1000};
    std::vector<int32_t> longer(1002, 5);
    r.tokens = longer;
    in = inputs_of(r);
    EXPECT_EQ(dtm_evaluate(m.sc, nullptr, in, out), DTM_ERR_CONTEXT_OVERFLOW);
    r = Reference{{1, 5, 6, 7}, {2}, {2}};
    in = inputs_of(r);
    out.top_k = 3;  // but no buffers
    EXPECT_EQ(dtm_evaluate(m.sc, nullptr, in, out), DTM_ERR_INVALID_ARGUMENT);
}

}  // namespace
