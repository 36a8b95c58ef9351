// test_api.cpp - the C boundary's contract: status codes, last-error
// messages, two-call buffers, NULL handling, and bad input rejected before
// any state changes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dtm/dtm.h"
#include "test_support.h"

namespace {

struct Fixture : ::testing::Test {
    void SetUp() override {
        dtm::test::TinyModelSpec spec;
        vocab = spec.vocab_size;
        seq_len = spec.seq_len;
        ASSERT_EQ(dtm_model_load(dtm::test::write_tiny_model(dtm::test::temp_dir(), spec).c_str(),
                                 dtm_model_default_params(), &model), DTM_OK) << dtm_last_error();
        dtm_session_params p = dtm_session_default_params();
        p.n_threads = 2;
        ASSERT_EQ(dtm_session_create(model, p, &session), DTM_OK) << dtm_last_error();
    }
    void TearDown() override {
        dtm_session_free(session);
        dtm_model_free(model);
    }
    dtm_model * model = nullptr;
    dtm_session * session = nullptr;
    int vocab = 0, seq_len = 0;
};

std::string last_error() { return dtm_last_error(); }

TEST(Api, FreeNullIsANoOpAndNamesAreStable) {
    dtm_model_free(nullptr);
    dtm_session_free(nullptr);
    EXPECT_STREQ(dtm_status_name(DTM_ERR_MODEL_FORMAT), "MODEL_FORMAT");
    EXPECT_STREQ(dtm_status_name(12345), "UNKNOWN");
    EXPECT_STREQ(dtm_isa_name(DTM_ISA_AVX2), "avx2");
    EXPECT_NE(dtm_cpu_best_isa(), DTM_ISA_AUTO);
    EXPECT_EQ(dtm_cpu_supports_isa(DTM_ISA_SCALAR), 1);
    EXPECT_EQ(dtm_cpu_supports_isa(77), 0);
}

TEST(Api, LoadFailureLeavesNullHandleAndMessage) {
    dtm_model * m = reinterpret_cast<dtm_model *>(0x1);
    EXPECT_EQ(dtm_model_load("/nonexistent/dir/model.bin", dtm_model_default_params(), &m), DTM_ERR_IO);
    EXPECT_EQ(m, nullptr);
    EXPECT_NE(last_error().find("/nonexistent/dir/model.bin"), std::string::npos) << last_error();
    EXPECT_EQ(dtm_model_load(nullptr, dtm_model_default_params(), &m), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(dtm_model_load("x", dtm_model_default_params(), nullptr), DTM_ERR_INVALID_ARGUMENT);
}

TEST(Api, MissingTokenizerIsAnIoError) {
    const std::string dir = dtm::test::temp_dir();
    const std::string path = dtm::test::write_tiny_model(dir, {});
    dtm_model_params p = dtm_model_default_params();
    const std::string wrong = dir + "/no-such-tokenizer.bin";
    p.tokenizer_path = wrong.c_str();
    dtm_model * m = nullptr;
    EXPECT_EQ(dtm_model_load(path.c_str(), p, &m), DTM_ERR_IO);
    EXPECT_NE(last_error().find("no-such-tokenizer.bin"), std::string::npos) << last_error();
}

TEST_F(Fixture, ConfigAndComponents) {
    dtm_model_config c;
    ASSERT_EQ(dtm_model_get_config(model, &c), DTM_OK);
    EXPECT_EQ(c.vocab_size, vocab);
    EXPECT_EQ(c.head_dim, c.dim / c.n_heads);
    ASSERT_EQ(dtm_model_n_components(model), c.n_layers * 7 + 2);
    dtm_component_info info;
    ASSERT_EQ(dtm_model_component(model, 6, &info), DTM_OK);
    EXPECT_STREQ(info.name, "model.layers.0.mlp.down_proj");
    EXPECT_EQ(info.rows, c.dim);
    EXPECT_EQ(info.cols, c.hidden_dim);
    EXPECT_EQ(dtm_model_component(model, 9999, &info), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("9999"), std::string::npos);
}

TEST_F(Fixture, TokenizeUsesTheTwoCallConvention) {
    const std::string text = "hello";
    int32_t n = -1;
    EXPECT_EQ(dtm_tokenize(model, text.data(), int32_t(text.size()), 1, nullptr, 0, &n), DTM_ERR_BUFFER_TOO_SMALL);
    ASSERT_GT(n, 1);
    std::vector<int32_t> ids(static_cast<size_t>(n));
    int32_t n2 = 0;
    ASSERT_EQ(dtm_tokenize(model, text.data(), int32_t(text.size()), 1, ids.data(), n, &n2), DTM_OK);
    EXPECT_EQ(n2, n);
    EXPECT_EQ(ids[0], 1);
    int32_t bytes = 0;
    EXPECT_EQ(dtm_detokenize(model, ids.data(), n, nullptr, 0, &bytes), DTM_ERR_BUFFER_TOO_SMALL);
    std::string back(size_t(bytes), '\0');
    ASSERT_EQ(dtm_detokenize(model, ids.data(), n, back.data(), bytes, &bytes), DTM_OK);
    EXPECT_EQ(back, text);
    const int32_t bad = vocab;
    EXPECT_EQ(dtm_detokenize(model, &bad, 1, back.data(), bytes, &bytes), DTM_ERR_TOKEN_OUT_OF_RANGE);
}

TEST_F(Fixture, DecodeRejectsBadTokensAndOverflowWithoutMovingTheStream) {
    std::vector<float> logits(static_cast<size_t>(vocab));
    EXPECT_EQ(dtm_session_decode(session, vocab, logits.data()), DTM_ERR_TOKEN_OUT_OF_RANGE);
    EXPECT_NE(last_error().find(std::to_string(vocab)), std::string::npos) << last_error();
    EXPECT_EQ(dtm_session_decode(session, -1, logits.data()), DTM_ERR_TOKEN_OUT_OF_RANGE);
    EXPECT_EQ(dtm_session_position(session), 0);
    for (int i = 0; i < seq_len; ++i) ASSERT_EQ(dtm_session_decode(session, 5, logits.data()), DTM_OK);
    EXPECT_EQ(dtm_session_decode(session, 5, logits.data()), DTM_ERR_CONTEXT_OVERFLOW);
    EXPECT_EQ(dtm_session_position(session), seq_len);
    EXPECT_EQ(dtm_session_decode(session, 5, nullptr), DTM_ERR_INVALID_ARGUMENT);
}

TEST_F(Fixture, ScoreValidatesEveryInputFirst) {
    std::vector<int32_t> toks = {1, 5, 6};
    int32_t len = 3;
    std::vector<int32_t> am(3);
    dtm_score_outputs out{};
    out.argmax = am.data();
    EXPECT_EQ(dtm_score(session, toks.data(), &len, 0, out), DTM_ERR_INVALID_ARGUMENT);
    int32_t zero = 0;
    EXPECT_EQ(dtm_score(session, toks.data(), &zero, 1, out), DTM_ERR_INVALID_ARGUMENT);
    toks[2] = vocab + 3;
    EXPECT_EQ(dtm_score(session, toks.data(), &len, 1, out), DTM_ERR_TOKEN_OUT_OF_RANGE);
    std::vector<int32_t> longer(size_t(seq_len) + 1, 5);
    int32_t long_len = seq_len + 1;
    EXPECT_EQ(dtm_score(session, longer.data(), &long_len, 1, out), DTM_ERR_CONTEXT_OVERFLOW);
    EXPECT_NE(last_error().find("context"), std::string::npos) << last_error();
}

TEST_F(Fixture, GenerateChecksContextAndPromptCount) {
    std::vector<int32_t> prompt = {1, 7};
    int32_t len = 2;
    std::vector<int32_t> out(static_cast<size_t>(seq_len)), out_len(1);
    EXPECT_EQ(dtm_generate_greedy(session, prompt.data(), &len, 1, seq_len, 0, out.data(), out_len.data()),
              DTM_ERR_CONTEXT_OVERFLOW);
    ASSERT_EQ(dtm_generate_greedy(session, prompt.data(), &len, 1, seq_len - 1, 0, out.data(), out_len.data()),
              DTM_OK) << dtm_last_error();
    EXPECT_EQ(out_len[0], seq_len - 1);
    EXPECT_EQ(dtm_generate_greedy(session, prompt.data(), &len, 0, 4, 0, out.data(), out_len.data()),
              DTM_ERR_INVALID_ARGUMENT);
}

TEST(Api, SessionRejectsUnknownIsaValues) {
    dtm_model * m = nullptr;
    ASSERT_EQ(dtm_model_load(dtm::test::write_tiny_model(dtm::test::temp_dir(), {}).c_str(),
                             dtm_model_default_params(), &m), DTM_OK);
    dtm_session_params p = dtm_session_default_params();
    p.isa = 42;
    dtm_session * s = reinterpret_cast<dtm_session *>(0x1);
    EXPECT_EQ(dtm_session_create(m, p, &s), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(s, nullptr);
    p.isa = DTM_ISA_AUTO;
    p.n_threads = -3;
    EXPECT_EQ(dtm_session_create(m, p, &s), DTM_ERR_INVALID_ARGUMENT);
    dtm_model_free(m);
}

}  // namespace
