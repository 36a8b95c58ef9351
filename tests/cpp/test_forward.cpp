// test_forward.cpp - the forward pass's determinism laws (DESIGN.md §1):
// a position's logits are bitwise the same whether computed in a batched
// prefill or by one-token decoding, whatever else is in the batch, whatever
// the chunking and thread count; every kernel path gives the same logits;
// greedy generation equals argmax over decoded logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "dtm/dtm.h"
#include "test_support.h"

namespace {

using dtm::test::bitwise_equal;
using dtm::test::decode_logits;
using dtm::test::load_model;
using dtm::test::ModelHandle;
using dtm::test::open_session;
using dtm::test::score_logits;
using dtm::test::SessionHandle;
using dtm::test::TinyModelSpec;

std::vector<int32_t> random_tokens(int n, int vocab, uint64_t seed) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (auto & v : t) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        v = int32_t(x % uint64_t(vocab));
    }
    t[0] = 1;  // BOS
    return t;
}

class ForwardLaws : public ::testing::TestWithParam<int> {};  // param: variant of tiny model

TinyModelSpec spec_for(int variant) {
    TinyModelSpec spec;
    spec.seed = 100 + uint64_t(variant);
    if (variant == 1) spec.shared_classifier = false;
    if (variant == 2) { spec.n_heads = 4; spec.n_kv_heads = 2; }
    if (variant == 3) { spec.dim = 48; spec.n_heads = 3; spec.n_kv_heads = 1; spec.hidden_dim = 97; spec.vocab_size = 333; }
    return spec;
}

TEST_P(ForwardLaws, PrefillEqualsDecodeBitwiseOnEveryPath) {
    const TinyModelSpec spec = spec_for(GetParam());
    const std::string path = dtm::test::write_tiny_model(dtm::test::temp_dir(), spec);
    ModelHandle m{load_model(path)};
    ASSERT_NE(m.m, nullptr);
    const int vocab = spec.vocab_size;
    const auto seq = random_tokens(37, vocab, 7);
    std::vector<float> first;
    for (int isa : {DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512}) {
        if (!dtm_cpu_supports_isa(isa)) continue;
        for (int threads : {1, 2, 3}) {
            SessionHandle s{open_session(m.m, isa, threads)};
            const auto prefill = score_logits(s.s, {seq}, vocab);
            const auto decode = decode_logits(s.s, seq, vocab);
            ASSERT_TRUE(bitwise_equal(prefill.data(), decode.data(), prefill.size()))
                << "isa " << dtm_isa_name(isa) << ", " << threads << " threads";
            if (first.empty()) first = prefill;
            // The matrix kernels are bitwise equal across paths, and the other
            // per-token steps are compiled once, so logits agree across paths too.
            ASSERT_TRUE(bitwise_equal(first.data(), prefill.data(), first.size()))
                << "isa " << dtm_isa_name(isa) << " differs from the first path";
        }
    }
}

TEST_P(ForwardLaws, BatchCompositionAndChunkingDoNotChangeLogits) {
    const TinyModelSpec spec = spec_for(GetParam());
    const std::string path = dtm::test::write_tiny_model(dtm::test::temp_dir(), spec);
    ModelHandle m{load_model(path)};
    ASSERT_NE(m.m, nullptr);
    const int vocab = spec.vocab_size;
    const std::vector<std::vector<int32_t>> seqs = {
        random_tokens(5, vocab, 1), random_tokens(spec.seq_len, vocab, 2), random_tokens(1, vocab, 3),
        random_tokens(23, vocab, 4)};
    SessionHandle big{open_session(m.m, DTM_ISA_AUTO, 2)};
    const auto together = score_logits(big.s, seqs, vocab);
    // Tiny chunks (each sequence alone, the long one exceeding the budget).
    SessionHandle small{open_session(m.m, DTM_ISA_AUTO, 1, /*max_batch=*/8)};
    const auto chunked = score_logits(small.s, seqs, vocab);
    ASSERT_TRUE(bitwise_equal(together.data(), chunked.data(), together.size()));
    size_t off = 0;
    for (const auto & q : seqs) {
        const auto alone = score_logits(small.s, {q}, vocab);
        ASSERT_TRUE(bitwise_equal(alone.data(), together.data() + off, alone.size()));
        off += alone.size();
    }
}

TEST_P(ForwardLaws, GreedyGenerationIsArgmaxOfDecodedLogitsInAnyBatch) {
    const TinyModelSpec spec = spec_for(GetParam());
    const std::string path = dtm::test::write_tiny_model(dtm::test::temp_dir(), spec);
    ModelHandle m{load_model(path)};
    ASSERT_NE(m.m, nullptr);
    const int vocab = spec.vocab_size;
    const std::vector<std::vector<int32_t>> prompts = {random_tokens(3, vocab, 11), random_tokens(9, vocab, 12),
                                                       random_tokens(1, vocab, 13)};
    const int n_new = 20;
    std::vector<int32_t> flat, lens;
    for (const auto & q : prompts) { flat.insert(flat.end(), q.begin(), q.end()); lens.push_back(int32_t(q.size())); }
    std::vector<int32_t> batched(prompts.size() * n_new), out_lens(prompts.size());
    SessionHandle s{open_session(m.m, DTM_ISA_AUTO, 2, 4, /*max_seqs=*/3)};
    ASSERT_EQ(dtm_generate_greedy(s.s, flat.data(), lens.data(), int32_t(prompts.size()), n_new, 0, batched.data(),
                                  out_lens.data()), DTM_OK) << dtm_last_error();
    for (size_t p = 0; p < prompts.size(); ++p) {
        ASSERT_EQ(out_lens[p], n_new);
        // Reference: one-token decoding, argmax with ties to the lowest id.
        std::vector<float> logits(static_cast<size_t>(vocab));
        ASSERT_EQ(dtm_session_reset(s.s), DTM_OK);
        for (int32_t t : prompts[p]) ASSERT_EQ(dtm_session_decode(s.s, t, logits.data()), DTM_OK);
        for (int i = 0; i < n_new; ++i) {
            int32_t best = 0;
            for (int v = 1; v < vocab; ++v) if (logits[size_t(v)] > logits[size_t(best)]) best = v;
            ASSERT_EQ(batched[p * n_new + size_t(i)], best) << "prompt " << p << " step " << i;
            if (i + 1 < n_new) {
                ASSERT_EQ(dtm_session_decode(s.s, best, logits.data()), DTM_OK);
            }
        }
    }
}

std::string variant_name(const ::testing::TestParamInfo<int> & info) {
    static const char * const names[] = {"Shared", "SeparateHead", "GroupedQuery", "OddShapes"};
    return names[info.param];
}

INSTANTIATE_TEST_SUITE_P(TinyModels, ForwardLaws, ::testing::Values(0, 1, 2, 3), variant_name);

TEST(ForwardScore, StatisticsAgreeWithLogits) {
    TinyModelSpec spec;
    const std::string path = dtm::test::write_tiny_model(dtm::test::temp_dir(), spec);
    ModelHandle m{load_model(path)};
    ASSERT_NE(m.m, nullptr);
    const int vocab = spec.vocab_size;
    const auto seq = random_tokens(17, vocab, 5);
    SessionHandle s{open_session(m.m, DTM_ISA_AUTO, 2)};
    std::vector<float> logits(seq.size() * size_t(vocab)), lse(seq.size()), lp(seq.size());
    std::vector<int32_t> am(seq.size());
    dtm_score_outputs out{am.data(), lp.data(), lse.data(), logits.data()};
    const int32_t len = int32_t(seq.size());
    ASSERT_EQ(dtm_score(s.s, seq.data(), &len, 1, out), DTM_OK) << dtm_last_error();
    for (size_t p = 0; p < seq.size(); ++p) {
        const float * row = &logits[p * size_t(vocab)];
        double mx = row[0];
        int32_t best = 0;
        for (int v = 1; v < vocab; ++v) if (row[v] > row[best]) { best = v; mx = row[v]; }
        double sum = 0;
        for (int v = 0; v < vocab; ++v) sum += std::exp(double(row[v]) - mx);
        const double ref_lse = mx + std::log(sum);
        EXPECT_EQ(am[p], best);
        EXPECT_NEAR(lse[p], ref_lse, 1e-5 * std::max(1.0, std::abs(ref_lse)));
        if (p + 1 < seq.size()) {
            EXPECT_NEAR(lp[p], double(row[seq[p + 1]]) - ref_lse, 2e-5);
        } else {
            EXPECT_TRUE(std::isnan(lp[p]));
        }
    }
}

}  // namespace
