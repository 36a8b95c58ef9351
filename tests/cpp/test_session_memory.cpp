// test_session_memory.cpp - a session that runs out of memory: each of its
// buffer allocations is made to fail in turn (core/fault_injection.h), and
// after every failure the session must be as it was - the decoding stream at
// the same position, and decoding, scoring and generation bitwise the same
// as on a fresh session.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/fault_injection.h"
#include "dtm/dtm.h"
#include "test_support.h"

namespace {

using dtm::test::bitwise_equal;

// Disarms the allocation countdown however a test ends.
struct Disarm {
    ~Disarm() { dtm::fault::fail_nth_allocation(0); }
};

struct SessionMemory : ::testing::Test {
    void SetUp() override {
        dtm::test::TinyModelSpec spec;
        vocab = spec.vocab_size;
        seq_len = spec.seq_len;  // 64: scoring (max_batch_tokens 512) needs a larger cache than decoding
        model.m = dtm::test::load_model(dtm::test::write_tiny_model(dtm::test::temp_dir(), spec));
        ASSERT_NE(model.m, nullptr);
        for (int32_t i = 0; i < 40; ++i) tokens.push_back(1 + (i * 37) % (vocab - 1));
        dtm::test::SessionHandle fresh{dtm::test::open_session(model.m, DTM_ISA_AUTO, 2)};
        decoded = dtm::test::decode_logits(fresh.s, tokens, vocab);
    }

    // Logits of decoding tokens[pos] at the session's current position pos.
    std::vector<float> decode_next(dtm_session * s) {
        const int32_t pos = dtm_session_position(s);
        std::vector<float> logits(static_cast<size_t>(vocab));
        EXPECT_EQ(dtm_session_decode(s, tokens[size_t(pos)], logits.data()), DTM_OK) << dtm_last_error();
        return logits;
    }
    // Row `pos` of the fresh session's decoded logits.
    std::vector<float> expected_at(int32_t pos) const {
        return {decoded.begin() + int64_t(pos) * vocab, decoded.begin() + int64_t(pos + 1) * vocab};
    }

    dtm::test::ModelHandle model;
    int32_t vocab = 0, seq_len = 0;
    std::vector<int32_t> tokens;
    std::vector<float> decoded;  // (tokens, vocab): one-token decoding on a fresh session
};

// Runs `call` on sessions made by `open` and prepared by `prepare`, one
// session per attempt, failing the first, second, ... session buffer
// allocation of the call until it succeeds; `check(session, nth)` looks at
// the session after each failure. Returns the number of failures.
template <typename Open, typename Prepare, typename Call, typename Check>
int fail_each_allocation(Open open, Prepare prepare, Call call, Check check) {
    Disarm disarm;
    for (int64_t nth = 1;; ++nth) {
        dtm::test::SessionHandle s{open()};
        prepare(s.s);
        dtm::fault::fail_nth_allocation(nth);
        const int32_t status = call(s.s);
        dtm::fault::fail_nth_allocation(0);
        if (status == DTM_OK) return int(nth - 1);
        EXPECT_EQ(status, DTM_ERR_OUT_OF_MEMORY) << dtm_last_error();
        EXPECT_NE(std::string(dtm_last_error()).find("session buffers"), std::string::npos) << dtm_last_error();
        if (status != DTM_ERR_OUT_OF_MEMORY) return -1;
        check(s.s, nth);
    }
}

TEST_F(SessionMemory, FailedScoringLeavesTheStreamAndTheCache) {
    // Scoring grows the activations, the logits scratch and the KV cache
    // (from decoding's 64 rows, the context, to 512, max_batch_tokens).
    const std::vector<int32_t> seq(tokens.begin(), tokens.begin() + 24);
    const int32_t len = int32_t(seq.size());
    std::vector<float> logits(seq.size() * size_t(vocab));
    dtm_score_outputs out{};
    out.logits = logits.data();
    dtm::test::SessionHandle fresh{dtm::test::open_session(model.m, DTM_ISA_AUTO, 2)};
    const std::vector<float> scored = dtm::test::score_logits(fresh.s, {seq}, vocab);

    const int failures = fail_each_allocation(
        [&] { return dtm::test::open_session(model.m, DTM_ISA_AUTO, 2); },
        [&](dtm_session * s) {
            for (int i = 0; i < 5; ++i) ASSERT_TRUE(bitwise_equal(decode_next(s), expected_at(i))) << i;
        },
        [&](dtm_session * s) { return dtm_score(s, seq.data(), &len, 1, out); },
        [&](dtm_session * s, int64_t nth) {
            // The stream is where it was and continues as on a fresh session;
            // then scoring works and resets it.
            ASSERT_EQ(dtm_session_position(s), 5) << "after failing allocation " << nth;
            for (int i = 5; i < 10; ++i) ASSERT_TRUE(bitwise_equal(decode_next(s), expected_at(i))) << nth;
            EXPECT_TRUE(bitwise_equal(dtm::test::score_logits(s, {seq}, vocab), scored)) << nth;
            EXPECT_EQ(dtm_session_position(s), 0);
            EXPECT_TRUE(bitwise_equal(dtm::test::decode_logits(s, tokens, vocab), decoded)) << nth;
        });
    // 10 activation buffers (one per role, session.h), the logits scratch, keys and values.
    EXPECT_EQ(failures, 13);
    EXPECT_TRUE(bitwise_equal(logits, scored));
}

TEST_F(SessionMemory, FailedFirstDecodeLeavesAnEmptyStream) {
    std::vector<float> logits(static_cast<size_t>(vocab));
    const int failures = fail_each_allocation(
        [&] { return dtm::test::open_session(model.m, DTM_ISA_AUTO, 2); }, [](dtm_session *) {},
        [&](dtm_session * s) { return dtm_session_decode(s, tokens[0], logits.data()); },
        [&](dtm_session * s, int64_t nth) {
            ASSERT_EQ(dtm_session_position(s), 0) << "after failing allocation " << nth;
            EXPECT_TRUE(bitwise_equal(dtm::test::decode_logits(s, tokens, vocab), decoded)) << nth;
        });
    EXPECT_EQ(failures, 12);  // 10 activation buffers, keys and values
    EXPECT_TRUE(bitwise_equal(logits, expected_at(0)));
}

TEST_F(SessionMemory, FailedGenerationLeavesTheStream) {
    // Two sequences side by side: a cache of 2 x 64 rows, more than decoding's 64.
    auto open = [&] { return dtm::test::open_session(model.m, DTM_ISA_AUTO, 2, 0, 2); };
    const std::vector<int32_t> prompts = {1, 72, 101, 1, 200};
    const std::vector<int32_t> lens = {3, 2};
    const int32_t n_new = 6;
    std::vector<int32_t> out(2 * n_new), out_lens(2);
    dtm::test::SessionHandle fresh{open()};
    std::vector<int32_t> expected(2 * n_new), expected_lens(2);
    ASSERT_EQ(dtm_generate_greedy(fresh.s, prompts.data(), lens.data(), 2, n_new, 0, expected.data(), expected_lens.data()),
              DTM_OK);

    const int failures = fail_each_allocation(
        open,
        [&](dtm_session * s) {
            for (int i = 0; i < 3; ++i) ASSERT_TRUE(bitwise_equal(decode_next(s), expected_at(i))) << i;
        },
        [&](dtm_session * s) {
            return dtm_generate_greedy(s, prompts.data(), lens.data(), 2, n_new, 0, out.data(), out_lens.data());
        },
        [&](dtm_session * s, int64_t nth) {
            ASSERT_EQ(dtm_session_position(s), 3) << "after failing allocation " << nth;
            for (int i = 3; i < 8; ++i) ASSERT_TRUE(bitwise_equal(decode_next(s), expected_at(i))) << nth;
            std::vector<int32_t> again(2 * n_new), again_lens(2);
            ASSERT_EQ(dtm_generate_greedy(s, prompts.data(), lens.data(), 2, n_new, 0, again.data(), again_lens.data()),
                      DTM_OK);
            EXPECT_EQ(again, expected) << nth;
            EXPECT_EQ(again_lens, expected_lens) << nth;
        });
    // 10 activation buffers, the prompts' last hidden rows, the logits scratch, keys and values
    EXPECT_EQ(failures, 14);
    EXPECT_EQ(out, expected);
    EXPECT_EQ(out_lens, expected_lens);
}

}  // namespace
