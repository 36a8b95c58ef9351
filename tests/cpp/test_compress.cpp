// test_compress.cpp - making candidates: component patterns, Wanda
// calibration, compressing through the C API, sharing with the base,
// candidate logits against a float simulation, and the bad inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "api/handles.h"
#include "compress/component_match.h"
#include "core/error.h"
#include "dtm/dtm.h"
#include "model/model.h"
#include "runtime/input_norms.h"
#include "runtime/layer_ops.h"
#include "test_support.h"

namespace {

struct Handles : ::testing::Test {
    void SetUp() override {
        dtm::test::TinyModelSpec spec;
        spec.shared_classifier = false;
        ASSERT_EQ(dtm_model_load(dtm::test::write_tiny_model(dtm::test::temp_dir(), spec).c_str(),
                                 dtm_model_default_params(), &base), DTM_OK) << dtm_last_error();
        vocab = spec.vocab_size;
    }
    void TearDown() override { dtm_model_free(base); }

    dtm_session * session(dtm_model * m, int threads = 2) { return dtm::test::open_session(m, DTM_ISA_AUTO, threads); }
    std::vector<float> logits(dtm_model * m, const std::vector<int32_t> & tokens) {
        dtm::test::SessionHandle s{session(m)};
        return dtm::test::score_logits(s.s, {tokens}, vocab);
    }
    std::vector<float> weights(const dtm_model * m, int32_t c) {
        dtm_component_info info{};
        EXPECT_EQ(dtm_model_component(m, c, &info), DTM_OK);
        std::vector<float> w(static_cast<size_t>(info.rows * info.cols));
        EXPECT_EQ(dtm_model_component_weights(m, c, w.data(), int64_t(w.size())), DTM_OK) << dtm_last_error();
        return w;
    }
    dtm_model * compress_one(dtm_model * m, int32_t c, dtm_compression spec, const dtm_calibration * cal = nullptr) {
        dtm_model * out = nullptr;
        EXPECT_EQ(dtm_model_compress(m, 1, &c, &spec, cal, 2, &out), DTM_OK) << dtm_last_error();
        return out;
    }

    dtm_model * base = nullptr;
    int32_t vocab = 0;
};

dtm_compression magnitude(float s) {
    dtm_compression c{};
    c.kind = DTM_COMPRESS_PRUNE_MAGNITUDE;
    c.sparsity = s;
    return c;
}

const std::vector<int32_t> kTokens = {1, 72, 101, 108, 108, 111, 33, 200, 17, 5, 260, 299};

TEST(ComponentMatch, WildcardsAndLayerRanges) {
    using dtm::compress::name_matches;
    EXPECT_TRUE(name_matches("model.layers.3.mlp.down_proj", "model.layers.3.mlp.down_proj"));
    EXPECT_FALSE(name_matches("model.layers.3.mlp.down_proj", "model.layers.3.mlp.down_proj2"));
    EXPECT_TRUE(name_matches("*.mlp.down_proj", "model.layers.11.mlp.down_proj"));
    EXPECT_FALSE(name_matches("*.mlp.down_proj", "model.layers.11.mlp.up_proj"));
    EXPECT_TRUE(name_matches("model.layers.?.self_attn.*", "model.layers.4.self_attn.k_proj"));
    EXPECT_FALSE(name_matches("model.layers.?.self_attn.*", "model.layers.14.self_attn.k_proj"));
    EXPECT_TRUE(name_matches("model.layers.[2-12].*", "model.layers.12.mlp.gate_proj"));
    EXPECT_TRUE(name_matches("model.layers.[2-12].*", "model.layers.2.mlp.gate_proj"));
    EXPECT_FALSE(name_matches("model.layers.[2-12].*", "model.layers.1.mlp.gate_proj"));
    EXPECT_FALSE(name_matches("model.layers.[2-12].*", "model.layers.13.mlp.gate_proj"));
    EXPECT_TRUE(name_matches("*", "lm_head"));
    for (const char * bad : {"model.layers.[3-", "model.layers.[5-2].*", "model.layers.[x-2].*", "[1]"}) {
        EXPECT_THROW(name_matches(bad, "model.layers.3.mlp.up_proj"), dtm::Error) << bad;
    }
}

// The matching rules of component_match.h, as plain recursion (fine for the
// short patterns below): the reference the matcher is compared with.
bool reference_match(const std::string & p, size_t pi, const std::string & n, size_t ni) {
    if (pi == p.size()) return ni == n.size();
    if (p[pi] == '*') {
        for (size_t k = ni; k <= n.size(); ++k) {
            if (reference_match(p, pi + 1, n, k)) return true;
        }
        return false;
    }
    if (p[pi] == '[') {  // the fuzzed patterns hold only well-formed one-digit ranges "[a-b]"
        const int lo = p[pi + 1] - '0', hi = p[pi + 3] - '0';
        size_t k = ni;
        long v = 0;
        while (k < n.size() && k - ni < 9 && n[k] >= '0' && n[k] <= '9') v = v * 10 + (n[k++] - '0');
        return k > ni && v >= lo && v <= hi && reference_match(p, pi + 5, n, k);
    }
    return ni < n.size() && (p[pi] == '?' || p[pi] == n[ni]) && reference_match(p, pi + 1, n, ni + 1);
}

TEST(ComponentMatch, MoreCasesOfTheRules) {
    using dtm::compress::name_matches;
    EXPECT_TRUE(name_matches("", ""));
    EXPECT_FALSE(name_matches("", "a"));
    EXPECT_TRUE(name_matches("**", ""));
    EXPECT_FALSE(name_matches("*?", ""));
    EXPECT_TRUE(name_matches("?*?", "ab"));
    EXPECT_FALSE(name_matches("?*?", "a"));
    EXPECT_TRUE(name_matches("a*", "a"));
    EXPECT_TRUE(name_matches("*a*b", "xaybzb"));
    EXPECT_FALSE(name_matches("*a*b", "xaybzbc"));
    EXPECT_TRUE(name_matches("*.mlp.*_proj", "model.layers.0.mlp.gate_proj"));
    // A range takes every digit at its place, after a star too.
    EXPECT_FALSE(name_matches("model.layers.[1-2]*", "model.layers.12.mlp.up_proj"));
    EXPECT_TRUE(name_matches("*[1-2].*", "model.layers.12.mlp.up_proj"));  // the star takes "...1"
    EXPECT_FALSE(name_matches("*.[1-2].*", "model.layers.12.mlp.up_proj"));
    EXPECT_TRUE(name_matches("*[0-3]", "a12"));
    EXPECT_TRUE(name_matches("model.layers.[0-31].*.[0-0]", "model.layers.31.x.0"));
    EXPECT_FALSE(name_matches("[0-999999999]", "0123456789"));  // at most 9 digits: "9" is left over
    EXPECT_TRUE(name_matches("[0-999999999]9", "0123456789"));
}

TEST(ComponentMatch, AgreesWithTheRulesOnRandomPatterns) {
    using dtm::compress::name_matches;
    std::mt19937 rng(12);
    const std::vector<std::string> pattern_parts = {"a", "b", "1", "2", ".", "*", "?", "[1-2]", "[0-9]"};
    const std::string name_chars = "ab12.";
    int matched = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string p, n;
        for (int k = int(rng() % 7); k > 0; --k) p += pattern_parts[rng() % pattern_parts.size()];
        for (int k = int(rng() % 9); k > 0; --k) n += name_chars[rng() % name_chars.size()];
        const bool expected = reference_match(p, 0, n, 0);
        ASSERT_EQ(name_matches(p, n), expected) << "pattern '" << p << "', name '" << n << "'";
        matched += expected;
    }
    EXPECT_GT(matched, 1000);  // both outcomes are covered
    EXPECT_LT(matched, 19000);
}

TEST(ComponentMatch, LongPatternsAreRefusedAndManyStarsDoNotBacktrack) {
    using dtm::compress::kMaxPatternLength;
    using dtm::compress::name_matches;
    EXPECT_TRUE(dtm::test::fails_with([] { name_matches(std::string(20000, '*'), "lm_head"); },
                                      DTM_ERR_INVALID_ARGUMENT,
                                      {"has 20000 characters, more than the limit of 1024"}));
    EXPECT_TRUE(name_matches(std::string(kMaxPatternLength, '*'), "lm_head"));
    std::string many_stars;  // "*a*a...*a" with 12 stars, then a tail no name has
    for (int i = 0; i < 12; ++i) many_stars += "*a";
    EXPECT_FALSE(name_matches(many_stars + "b", std::string(200, 'a')));
    EXPECT_TRUE(name_matches(many_stars, std::string(200, 'a')));
    EXPECT_FALSE(name_matches("model.layers.*.*.*.*.*.*.*.*.*.*.*.*x", "model.layers.11.self_attn.....q_proj...."));
    std::string long_name;
    for (int i = 0; i < 100; ++i) long_name += "model.layers." + std::to_string(i) + ".";
    EXPECT_FALSE(name_matches(std::string(kMaxPatternLength - 1, '*') + "#", long_name));
}

TEST_F(Handles, FindComponentsRefusesALongPattern) {
    int32_t n = -1;
    const std::string stars(20000, '*');
    EXPECT_EQ(dtm_model_find_components(base, stars.c_str(), nullptr, 0, &n), DTM_ERR_INVALID_ARGUMENT);
    const std::string msg = dtm_last_error();
    EXPECT_NE(msg.find("more than the limit of 1024"), std::string::npos) << msg;
    EXPECT_LT(msg.size(), 200u) << msg;  // one line, not the pattern
    std::string many_stars = "model.layers.";
    for (int i = 0; i < 12; ++i) many_stars += "*.";
    EXPECT_EQ(dtm_model_find_components(base, (many_stars + "nothing").c_str(), nullptr, 0, &n), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(dtm_last_error()).find("no component matches"), std::string::npos) << dtm_last_error();
}

TEST_F(Handles, FindComponentsUsesTwoCallsAndListsNamesOnAMiss) {
    int32_t n = -1;
    EXPECT_EQ(dtm_model_find_components(base, "*.mlp.*", nullptr, 0, &n), DTM_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(n, 6);  // 2 layers x gate, up, down
    std::vector<int32_t> idx(static_cast<size_t>(n));
    ASSERT_EQ(dtm_model_find_components(base, "*.mlp.*", idx.data(), n, &n), DTM_OK);
    EXPECT_EQ(idx, (std::vector<int32_t>{4, 5, 6, 11, 12, 13}));
    EXPECT_EQ(dtm_model_find_components(base, "model.layers.0.mlp.dwn_proj", idx.data(), n, &n),
              DTM_ERR_INVALID_ARGUMENT);
    const std::string msg = dtm_last_error();
    EXPECT_NE(msg.find("no component matches 'model.layers.0.mlp.dwn_proj'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("model.layers.0.self_attn.q_proj"), std::string::npos) << msg;
}

TEST_F(Handles, ComponentInfoReportsFormatSparsityAndBytes) {
    dtm_component_info info{};
    ASSERT_EQ(dtm_model_component(base, 0, &info), DTM_OK);
    EXPECT_EQ(info.format, DTM_FORMAT_FP32);
    EXPECT_EQ(info.sparsity, 0.0f);  // random weights have no exact zeros
    EXPECT_GE(info.storage_bytes, info.rows * info.cols * 4);
}

TEST_F(Handles, AnEmptyCompressionIsTheBaseBitwise) {
    dtm_model * cand = nullptr;
    ASSERT_EQ(dtm_model_compress(base, 0, nullptr, nullptr, nullptr, 0, &cand), DTM_OK) << dtm_last_error();
    EXPECT_EQ(logits(cand, kTokens), logits(base, kTokens));
    dtm_model_free(cand);
}

TEST_F(Handles, FingerprintsFollowTheContentAndEmbeddingCountsAreShared) {
    dtm_model * same = nullptr;
    ASSERT_EQ(dtm_model_compress(base, 0, nullptr, nullptr, nullptr, 0, &same), DTM_OK) << dtm_last_error();
    dtm_model * pruned = compress_one(base, 4, magnitude(0.5f));
    ASSERT_NE(pruned, nullptr);
    const std::string fp = base->impl->fingerprint();
    EXPECT_EQ(fp.size(), 16u);
    EXPECT_EQ(base->impl->fingerprint(), fp);  // asked again: the same value
    EXPECT_EQ(same->impl->fingerprint(), fp);  // a candidate of the same content
    EXPECT_NE(pruned->impl->fingerprint(), fp);
    EXPECT_EQ(base->impl->fingerprint(), fp);  // the candidate's did not replace the base's

    // The embedding is shared with candidates, and so is its count.
    const dtm::Model & m = *base->impl;
    int64_t nonzeros = 0;
    for (int64_t i = 0; i < int64_t(m.config().vocab_size) * m.config().dim; ++i) {
        nonzeros += m.views().token_embedding[i] != 0.0f;
    }
    EXPECT_EQ(pruned->impl->embedding_nonzeros(), nonzeros);
    EXPECT_EQ(base->impl->embedding_nonzeros(), nonzeros);
    dtm_model_free(pruned);
    dtm_model_free(same);
}

TEST_F(Handles, ACandidateSharesEveryOtherComponentAndOutlivesItsBase) {
    const std::vector<float> before = logits(base, kTokens);
    dtm_model * cand = compress_one(base, 4, magnitude(0.5f));
    ASSERT_NE(cand, nullptr);
    const auto & b = base->impl;
    const auto & c = cand->impl;
    for (int32_t i = 0; i < int32_t(b->components().size()); ++i) {
        if (i == 4 || !b->linear(i)) continue;
        EXPECT_EQ(b->linear(i).get(), c->linear(i).get()) << "component " << i << " was copied";
    }
    EXPECT_NE(b->linear(4).get(), c->linear(4).get());
    EXPECT_EQ(logits(base, kTokens), before) << "compressing changed the base";

    dtm_component_info info{};
    ASSERT_EQ(dtm_model_component(cand, 4, &info), DTM_OK);
    EXPECT_NEAR(info.sparsity, 0.5, 1.0 / double(info.rows * info.cols));

    // The candidate's logits are those of the base with the pruned weights
    // put in as dense fp32 (sparse and dense kernels agree bitwise).
    std::vector<float> pruned = weights(cand, 4);
    auto simulated = b->with_linears({{4, dtm::DenseLinear::from_rows(pruned.data(), info.rows, info.cols)}});
    dtm_model * sim = new dtm_model{std::move(simulated)};
    const std::vector<float> expected = logits(sim, kTokens);
    dtm_model_free(sim);

    dtm_model_free(base);
    base = nullptr;
    EXPECT_EQ(logits(cand, kTokens), expected);
    dtm_model_free(cand);
    dtm_model_load(dtm::test::write_tiny_model(dtm::test::temp_dir(), [] {
                       dtm::test::TinyModelSpec s;
                       s.shared_classifier = false;
                       return s;
                   }()).c_str(), dtm_model_default_params(), &base);
}

TEST_F(Handles, PruningInStepsAddsToTheMask) {
    dtm_model * half = compress_one(base, 6, magnitude(0.5f));
    dtm_model * more = compress_one(half, 6, magnitude(0.75f));
    const std::vector<float> w_half = weights(half, 6), w_more = weights(more, 6);
    size_t zeros = 0;
    for (size_t i = 0; i < w_half.size(); ++i) {
        if (w_half[i] == 0.0f) EXPECT_EQ(w_more[i], 0.0f) << "step 2 revived weight " << i;
        else EXPECT_TRUE(w_more[i] == 0.0f || w_more[i] == w_half[i]);
        zeros += w_more[i] == 0.0f;
    }
    EXPECT_EQ(zeros, size_t(std::llround(0.75 * double(w_more.size()))));
    dtm_model_free(more);
    dtm_model_free(half);
}

TEST_F(Handles, BadRequestsAreRejectedAndNameTheComponent) {
    dtm_model * out = reinterpret_cast<dtm_model *>(0x1);
    int32_t c = 0;
    dtm_compression s = magnitude(1.5f);
    EXPECT_EQ(dtm_model_compress(base, 1, &c, &s, nullptr, 0, &out), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(out, nullptr);
    EXPECT_NE(std::string(dtm_last_error()).find("model.layers.0.self_attn.q_proj"), std::string::npos);
    s = magnitude(NAN);
    EXPECT_EQ(dtm_model_compress(base, 1, &c, &s, nullptr, 0, &out), DTM_ERR_INVALID_ARGUMENT);
    s = magnitude(0.5f);
    s.kind = 42;
    EXPECT_EQ(dtm_model_compress(base, 1, &c, &s, nullptr, 0, &out), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(dtm_last_error()).find("unknown compression kind"), std::string::npos);
    s = magnitude(0.5f);
    c = 99;
    EXPECT_EQ(dtm_model_compress(base, 1, &c, &s, nullptr, 0, &out), DTM_ERR_INVALID_ARGUMENT);
    c = 14;  // the embedding: a lookup table
    EXPECT_EQ(dtm_model_compress(base, 1, &c, &s, nullptr, 0, &out), DTM_ERR_UNSUPPORTED);
    int32_t twice[2] = {3, 3};
    dtm_compression two[2] = {magnitude(0.5f), magnitude(0.5f)};
    EXPECT_EQ(dtm_model_compress(base, 2, twice, two, nullptr, 0, &out), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(dtm_last_error()).find("listed twice"), std::string::npos);
    s.kind = DTM_COMPRESS_PRUNE_WANDA;
    c = 0;
    EXPECT_EQ(dtm_model_compress(base, 1, &c, &s, nullptr, 0, &out), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(dtm_last_error()).find("calibration"), std::string::npos);
    EXPECT_EQ(out, nullptr);
}

// Weights put in from outside (recovery training's trained matrices): the
// candidate computes with exactly those weights, keeps their zeros, shares
// every other matrix, exports and reloads bitwise, and bad input is refused.
TEST_F(Handles, ReplacedWeightsAreUsedExactlyAndBadOnesAreRefused) {
    dtm_model * pruned = compress_one(base, 6, magnitude(0.6f));
    std::vector<float> w4 = weights(base, 4), w6 = weights(pruned, 6);
    for (size_t i = 0; i < w4.size(); ++i) w4[i] *= 1.0f + 0.01f * float(i % 7);
    for (float & v : w6) if (v != 0.0f) v = -v;
    std::vector<float> both(w4);
    both.insert(both.end(), w6.begin(), w6.end());
    int32_t comps[2] = {4, 6};
    dtm_model * cand = nullptr;
    ASSERT_EQ(dtm_model_with_weights(pruned, 2, comps, both.data(), int64_t(both.size()), &cand), DTM_OK)
        << dtm_last_error();
    EXPECT_EQ(weights(cand, 4), w4);
    EXPECT_EQ(weights(cand, 6), w6);
    dtm_component_info info{};
    ASSERT_EQ(dtm_model_component(cand, 6, &info), DTM_OK);
    EXPECT_NEAR(info.sparsity, 0.6, 1.0 / double(info.rows * info.cols));
    EXPECT_EQ(cand->impl->linear(5).get(), base->impl->linear(5).get()) << "an unlisted matrix was copied";
    // The logits are those of the same weights put in as dense fp32 panels.
    dtm_component_info info4{};
    ASSERT_EQ(dtm_model_component(base, 4, &info4), DTM_OK);
    auto dense = base->impl->with_linears({{4, dtm::DenseLinear::from_rows(w4.data(), info4.rows, info4.cols)},
                                           {6, dtm::DenseLinear::from_rows(w6.data(), info.rows, info.cols)}});
    dtm_model * sim = new dtm_model{std::move(dense)};
    EXPECT_EQ(logits(cand, kTokens), logits(sim, kTokens));
    dtm_model_free(sim);
    const std::string file = dtm::test::temp_dir() + "/trained.safetensors";
    ASSERT_EQ(dtm_candidate_export(cand, base, file.c_str()), DTM_OK) << dtm_last_error();
    dtm_model * back = nullptr;
    ASSERT_EQ(dtm_candidate_load(base, file.c_str(), &back), DTM_OK) << dtm_last_error();
    EXPECT_EQ(logits(back, kTokens), logits(cand, kTokens));
    dtm_model_free(back);
    dtm_model_free(cand);

    dtm_model * out = reinterpret_cast<dtm_model *>(0x1);
    EXPECT_EQ(dtm_model_with_weights(base, 1, comps, w4.data(), int64_t(w4.size()) - 1, &out), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(out, nullptr);
    int32_t twice[2] = {4, 4};
    std::vector<float> two(w4);
    two.insert(two.end(), w4.begin(), w4.end());
    EXPECT_EQ(dtm_model_with_weights(base, 2, twice, two.data(), int64_t(two.size()), &out), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(dtm_last_error()).find("twice"), std::string::npos) << dtm_last_error();
    dtm_component_info named{};
    ASSERT_EQ(dtm_model_component(base, 4, &named), DTM_OK);
    w4[3] = std::nanf("");
    EXPECT_EQ(dtm_model_with_weights(base, 1, comps, w4.data(), int64_t(w4.size()), &out), DTM_ERR_NON_FINITE);
    EXPECT_NE(std::string(dtm_last_error()).find(named.name), std::string::npos) << dtm_last_error();
    const int32_t embedding = int32_t(base->impl->components().size()) - 2;
    std::vector<float> table = weights(base, embedding);
    EXPECT_EQ(dtm_model_with_weights(base, 1, &embedding, table.data(), int64_t(table.size()), &out), DTM_ERR_UNSUPPORTED);
    int32_t outside = 999;
    EXPECT_EQ(dtm_model_with_weights(base, 1, &outside, w4.data(), 1, &out), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(out, nullptr);
    dtm_model_free(pruned);
}

TEST_F(Handles, NormWeightsAreTheModelsOwn) {
    const dtm::Model & m = *base->impl;
    const int dim = m.config().dim;
    std::vector<float> norm(static_cast<size_t>(dim));
    ASSERT_EQ(dtm_model_norm_weights(base, DTM_NORM_ATTENTION, 1, norm.data(), dim), DTM_OK) << dtm_last_error();
    EXPECT_EQ(std::memcmp(norm.data(), m.views().layers[1].attn_norm, size_t(dim) * 4), 0);
    ASSERT_EQ(dtm_model_norm_weights(base, DTM_NORM_MLP, 0, norm.data(), dim), DTM_OK);
    EXPECT_EQ(std::memcmp(norm.data(), m.views().layers[0].mlp_norm, size_t(dim) * 4), 0);
    ASSERT_EQ(dtm_model_norm_weights(base, DTM_NORM_FINAL, -1, norm.data(), dim), DTM_OK);
    EXPECT_EQ(std::memcmp(norm.data(), m.views().final_norm, size_t(dim) * 4), 0);
    EXPECT_EQ(dtm_model_norm_weights(base, DTM_NORM_MLP, m.config().n_layers, norm.data(), dim), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(dtm_model_norm_weights(base, 7, 0, norm.data(), dim), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(dtm_model_norm_weights(base, DTM_NORM_FINAL, 0, norm.data(), dim - 1), DTM_ERR_BUFFER_TOO_SMALL);
}

TEST_F(Handles, CandidateFilesRoundTripBitwiseAndOnlyOntoTheirBase) {
    int32_t comps[4] = {0, 5, 8, 15};  // q_proj 0, up_proj 0, k_proj 1, lm_head
    dtm_compression settings[4] = {magnitude(0.3f), magnitude(0.97f), {}, {}};
    settings[2].kind = DTM_COMPRESS_INT8;
    settings[3].kind = DTM_COMPRESS_Q8_0;
    dtm_model * cand = nullptr;
    ASSERT_EQ(dtm_model_compress(base, 4, comps, settings, nullptr, 2, &cand), DTM_OK) << dtm_last_error();
    const std::string dir = dtm::test::temp_dir();
    const std::string file = dir + "/cand.safetensors";
    ASSERT_EQ(dtm_candidate_export(cand, base, file.c_str()), DTM_OK) << dtm_last_error();
    dtm_model * back = nullptr;
    ASSERT_EQ(dtm_candidate_load(base, file.c_str(), &back), DTM_OK) << dtm_last_error();
    EXPECT_EQ(logits(back, kTokens), logits(cand, kTokens));
    for (int32_t c : comps) {
        dtm_component_info a{}, b{};
        dtm_model_component(cand, c, &a);
        dtm_model_component(back, c, &b);
        EXPECT_EQ(a.format, b.format);
        EXPECT_EQ(a.storage_bytes, b.storage_bytes);
        EXPECT_EQ(weights(cand, c), weights(back, c));
    }
    dtm_model_free(back);

    // Onto another base: refused, naming the reason.
    dtm_model * other = compress_one(base, 3, magnitude(0.5f));
    back = reinterpret_cast<dtm_model *>(0x1);
    EXPECT_EQ(dtm_candidate_load(other, file.c_str(), &back), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(dtm_last_error()).find("another base"), std::string::npos) << dtm_last_error();
    EXPECT_EQ(back, nullptr);
    dtm_model_free(other);

    // Truncated, foreign and missing files.
    std::vector<uint8_t> bytes = dtm::test::read_file(file);
    dtm::test::write_file(dir + "/cut.safetensors", std::vector<uint8_t>(bytes.begin(), bytes.begin() + bytes.size() / 2));
    EXPECT_EQ(dtm_candidate_load(base, (dir + "/cut.safetensors").c_str(), &back), DTM_ERR_MODEL_FORMAT);
    dtm::test::write_file(dir + "/empty.safetensors", {});
    EXPECT_EQ(dtm_candidate_load(base, (dir + "/empty.safetensors").c_str(), &back), DTM_ERR_MODEL_FORMAT);
    const std::string header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    std::vector<uint8_t> foreign(8, 0);
    foreign[0] = uint8_t(header.size());
    foreign.insert(foreign.end(), header.begin(), header.end());
    foreign.insert(foreign.end(), 4, 0);
    dtm::test::write_file(dir + "/foreign.safetensors", foreign);
    EXPECT_EQ(dtm_candidate_load(base, (dir + "/foreign.safetensors").c_str(), &back), DTM_ERR_MODEL_FORMAT);
    EXPECT_NE(std::string(dtm_last_error()).find("not a dtm candidate file"), std::string::npos) << dtm_last_error();
    EXPECT_EQ(dtm_candidate_load(base, (dir + "/missing.safetensors").c_str(), &back), DTM_ERR_IO);
    dtm_model_free(cand);
}

// A candidate with every matrix quantized (W8A8, LLM.int8(), weight-only
// int8, q8_0, q4_0) gives bitwise the same logits, by batched scoring and by
// decoding, on every kernel path and on the avx512 path as on a CPU without
// VNNI ($DTM_NO_VNNI=1, where the int8 sums come from kernels without VNNI).
TEST_F(Handles, QuantizedCandidatesGiveTheSameLogitsOnEveryPathWithOrWithoutVnni) {
    dtm_model_config cfg{};
    ASSERT_EQ(dtm_model_get_config(base, &cfg), DTM_OK);
    std::vector<int32_t> comps;
    std::vector<dtm_compression> settings;
    for (int32_t l = 0; l < cfg.n_layers; ++l) {
        // q, k, v, o, gate, up, down; q8_0 / q4_0 need cols % 32 == 0 (not down_proj's 172).
        const dtm_compression_kind kinds[] = {DTM_COMPRESS_INT8, DTM_COMPRESS_INT8_OUTLIER, DTM_COMPRESS_INT8_WEIGHT,
                                              DTM_COMPRESS_INT8, DTM_COMPRESS_Q8_0, DTM_COMPRESS_Q4_0,
                                              DTM_COMPRESS_INT8};
        for (int32_t k = 0; k < 7; ++k) {
            comps.push_back(l * 7 + k);
            dtm_compression c{};
            c.kind = kinds[k];
            settings.push_back(c);
        }
    }
    comps.push_back(cfg.n_layers * 7 + 1);  // lm_head
    dtm_compression head{};
    head.kind = DTM_COMPRESS_INT8;
    settings.push_back(head);
    dtm_model * cand = nullptr;
    ASSERT_EQ(dtm_model_compress(base, int32_t(comps.size()), comps.data(), settings.data(), nullptr, 2, &cand), DTM_OK)
        << dtm_last_error();

    auto logits_on = [&](int isa, int threads, bool decode) {
        dtm::test::SessionHandle s{dtm::test::open_session(cand, isa, threads)};
        return decode ? dtm::test::decode_logits(s.s, kTokens, vocab) : dtm::test::score_logits(s.s, {kTokens}, vocab);
    };
    const std::vector<float> want = logits_on(DTM_ISA_SCALAR, 1, false);
    EXPECT_TRUE(dtm::test::bitwise_equal(logits_on(DTM_ISA_SCALAR, 1, true), want));
    for (int isa : {DTM_ISA_AVX2, DTM_ISA_AVX512}) {
        if (!dtm_cpu_supports_isa(isa)) continue;
        EXPECT_TRUE(dtm::test::bitwise_equal(logits_on(isa, 2, false), want)) << dtm_isa_name(isa);
        EXPECT_TRUE(dtm::test::bitwise_equal(logits_on(isa, 2, true), want)) << dtm_isa_name(isa) << ", decoded";
    }
    if (dtm_cpu_supports_isa(DTM_ISA_AVX512)) {
        const dtm::test::ScopedEnv no_vnni("DTM_NO_VNNI", "1");
        EXPECT_TRUE(dtm::test::bitwise_equal(logits_on(DTM_ISA_AVX512, 2, false), want)) << "avx512 without VNNI";
        EXPECT_TRUE(dtm::test::bitwise_equal(logits_on(DTM_ISA_AVX512, 2, true), want)) << "avx512 without VNNI, decoded";
    }
    dtm_model_free(cand);
}

TEST_F(Handles, CalibrationNormsOfTheFirstLayerMatchADirectComputation) {
    dtm_session * s = session(base);
    const std::vector<int32_t> a = {1, 5, 9, 200}, b = {1, 7, 7, 7, 7, 299};
    std::vector<int32_t> tokens = a;
    tokens.insert(tokens.end(), b.begin(), b.end());
    const int32_t lens[2] = {int32_t(a.size()), int32_t(b.size())};
    dtm_calibration * cal = nullptr;
    ASSERT_EQ(dtm_calibrate(s, tokens.data(), lens, 2, &cal), DTM_OK) << dtm_last_error();
    const auto & m = base->impl;
    const dtm::ModelConfig & cfg = m->config();
    // The first layer's attention input depends on the token only.
    std::vector<double> sums(static_cast<size_t>(cfg.dim), 0.0);
    std::vector<float> xb(static_cast<size_t>(cfg.dim));
    for (int32_t t : tokens) {
        dtm::rmsnorm(xb.data(), m->views().token_embedding + int64_t(t) * cfg.dim, m->views().layers[0].attn_norm,
                     cfg.dim, cfg.norm_eps);
        for (int32_t i = 0; i < cfg.dim; ++i) sums[size_t(i)] += double(xb[size_t(i)]) * xb[size_t(i)];
    }
    const std::vector<float> got = cal->norms->norms(DTM_COMPONENT_K_PROJ, 0);
    ASSERT_EQ(got.size(), sums.size());
    for (size_t i = 0; i < sums.size(); ++i) EXPECT_EQ(got[i], float(std::sqrt(sums[i]))) << i;
    EXPECT_EQ(cal->norms->tokens(), int64_t(tokens.size()));
    dtm_calibration_free(cal);
    dtm_session_free(s);
}

TEST_F(Handles, CalibrationDoesNotDependOnTheBatchSplit) {
    std::vector<int32_t> tokens;
    std::vector<int32_t> lens;
    for (int32_t s = 0; s < 9; ++s) {
        lens.push_back(5 + s);
        for (int32_t i = 0; i < 5 + s; ++i) tokens.push_back(i == 0 ? 1 : (s * 31 + i * 7) % vocab);
    }
    std::vector<std::vector<float>> results;
    for (int32_t max_batch : {8, 512}) {
        dtm_session_params p = dtm_session_default_params();
        p.n_threads = 2;
        p.max_batch_tokens = max_batch;
        dtm_session * s = nullptr;
        ASSERT_EQ(dtm_session_create(base, p, &s), DTM_OK);
        dtm_calibration * cal = nullptr;
        ASSERT_EQ(dtm_calibrate(s, tokens.data(), lens.data(), int32_t(lens.size()), &cal), DTM_OK);
        std::vector<float> all;
        for (dtm_component_kind k : {DTM_COMPONENT_Q_PROJ, DTM_COMPONENT_O_PROJ, DTM_COMPONENT_UP_PROJ,
                                     DTM_COMPONENT_DOWN_PROJ, DTM_COMPONENT_LM_HEAD}) {
            for (int32_t l = 0; l < 2; ++l) {
                const std::vector<float> n = cal->norms->norms(k, l);
                all.insert(all.end(), n.begin(), n.end());
            }
        }
        results.push_back(all);
        dtm_calibration_free(cal);
        dtm_session_free(s);
    }
    EXPECT_EQ(results[0], results[1]);
}

}  // namespace
