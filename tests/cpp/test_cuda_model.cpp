// test_cuda_model.cpp - the default model on "cuda:0" through the C API:
// logits against the CPU within DTM_BACKEND_LOGIT_TOLERANCE, the greedy
// text of the golden prompts (tests/data/llama2c_golden.json), the base
// against itself (FDT = N, SDT = 0), and prefill = decode bitwise on the
// GPU. Skipped in one line without a GPU (or without $DTM_MODEL_DIR); and
// where there is no GPU, asking for cuda:0 is refused in one line saying why.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend/cuda/cuda_library.h"
#include "dtm/dtm.h"
#include "test_support.h"

namespace {

// Why there is no GPU to test on, or "" when there is one.
std::string no_gpu() {
    const dtm::cuda::Library & lib = dtm::cuda::library();
    if (lib.api == nullptr) return lib.why_not;
    if (lib.devices.empty()) return lib.no_devices;
    return "";
}

dtm_session * open_on(dtm_model * m, const char * device, int max_seqs = 8) {
    dtm_session_params p = dtm_session_default_params();
    p.device = device;
    p.n_threads = 2;
    p.max_sequences = max_seqs;
    dtm_session * s = nullptr;
    EXPECT_EQ(dtm_session_create(m, p, &s), DTM_OK) << device << ": " << dtm_last_error();
    return s;
}

class CudaModel : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string why = no_gpu();
        if (!why.empty()) GTEST_SKIP() << "no GPU test: " << why;
        const std::string dir = dtm::test::default_model_dir();
        if (dir.empty()) GTEST_SKIP() << "DTM_MODEL_DIR not set: the default model is not available";
        ASSERT_EQ(dtm_model_load((dir + "/stories15M.bin").c_str(), dtm_model_default_params(), &model.m), DTM_OK)
            << dtm_last_error();
        gpu.s = open_on(model.m, "cuda:0");
        cpu.s = open_on(model.m, "cpu");
        dtm_model_config cfg;
        ASSERT_EQ(dtm_model_get_config(model.m, &cfg), DTM_OK);
        vocab = cfg.vocab_size;
    }
    dtm::test::ModelHandle model;
    dtm::test::SessionHandle gpu, cpu;
    int vocab = 0;
};

const std::vector<std::vector<int32_t>> kSequences = {
    {1, 403, 407, 263, 931, 29892, 727, 471},
    {1, 9038, 2501, 263, 931},
    {1, 450, 11203, 471, 1641, 322, 278, 29871, 17294, 29889, 940, 750, 263, 4802, 11203, 29892, 607},
};

TEST_F(CudaModel, LogitsAgreeWithTheCpuWithinTheBackendTolerance) {
    const std::vector<float> g = dtm::test::score_logits(gpu.s, kSequences, vocab);
    const std::vector<float> c = dtm::test::score_logits(cpu.s, kSequences, vocab);
    ASSERT_EQ(g.size(), c.size());
    float worst = 0.0f;
    for (size_t i = 0; i < c.size(); ++i) worst = std::max(worst, std::fabs(g[i] - c[i]));
    EXPECT_LE(worst, DTM_BACKEND_LOGIT_TOLERANCE) << "largest |gpu - cpu| over all logits";
    RecordProperty("max_abs_logit_difference", std::to_string(worst));
}

TEST_F(CudaModel, PrefillEqualsDecodeBitwise) {
    for (const auto & seq : kSequences) {
        const std::vector<float> prefill = dtm::test::score_logits(gpu.s, {seq}, vocab);
        const std::vector<float> decode = dtm::test::decode_logits(gpu.s, seq, vocab);
        EXPECT_TRUE(dtm::test::bitwise_equal(prefill, decode)) << "sequence of " << seq.size();
    }
    // and in a batch with the others
    const std::vector<float> batched = dtm::test::score_logits(gpu.s, kSequences, vocab);
    const std::vector<float> alone = dtm::test::score_logits(gpu.s, {kSequences[0]}, vocab);
    EXPECT_TRUE(dtm::test::bitwise_equal(batched.data(), alone.data(), alone.size()));
}

TEST_F(CudaModel, GreedyTextOfTheGoldenPrompts) {
    const auto cases = dtm::test::read_llama2c_golden(dtm::test::test_data_file("llama2c_golden.json"));
    ASSERT_FALSE(cases.empty());
    int checked = 0;
    for (const auto & c : cases) {
        if (!c.error.empty()) continue;
        std::vector<int32_t> prompt = {1};
        prompt.insert(prompt.end(), c.tokens.begin(), c.tokens.begin() + c.n_prompt_tokens);
        const int32_t n_new = int32_t(c.tokens.size()) - c.n_prompt_tokens, len = int32_t(prompt.size());
        std::vector<int32_t> out(static_cast<size_t>(n_new)), out_len(1);
        ASSERT_EQ(dtm_generate_greedy(gpu.s, prompt.data(), &len, 1, n_new, 0, out.data(), out_len.data()), DTM_OK)
            << dtm_last_error();
        EXPECT_EQ(out, std::vector<int32_t>(c.tokens.begin() + c.n_prompt_tokens, c.tokens.end()))
            << "prompt \"" << c.prompt << "\"";
        ++checked;
    }
    EXPECT_GE(checked, 5);
}

TEST_F(CudaModel, BaseAgainstItselfHasNoDivergence) {
    const int32_t N = 40;
    std::vector<int32_t> prompts, prompt_lens;
    for (const auto & s : kSequences) {
        prompts.insert(prompts.end(), s.begin(), s.end());
        prompt_lens.push_back(int32_t(s.size()));
    }
    const int32_t S = int32_t(kSequences.size());
    std::vector<int32_t> cont(static_cast<size_t>(S * N)), lens(static_cast<size_t>(S));
    ASSERT_EQ(dtm_generate_greedy(gpu.s, prompts.data(), prompt_lens.data(), S, N, 0, cont.data(), lens.data()), DTM_OK)
        << dtm_last_error();
    std::vector<int32_t> tokens, cont_lens(static_cast<size_t>(S), N);
    size_t off = 0;
    for (int32_t s = 0; s < S; ++s) {
        tokens.insert(tokens.end(), prompts.begin() + long(off), prompts.begin() + long(off) + prompt_lens[size_t(s)]);
        off += size_t(prompt_lens[size_t(s)]);
        tokens.insert(tokens.end(), cont.begin() + long(s) * N, cont.begin() + long(s + 1) * N);
    }
    dtm_eval_inputs in{};
    in.tokens = tokens.data();
    in.prompt_lens = prompt_lens.data();
    in.cont_lens = cont_lens.data();
    in.n_samples = S;
    std::vector<int32_t> fdt(static_cast<size_t>(S)), sdt(static_cast<size_t>(S));
    std::vector<float> kl(static_cast<size_t>(S));
    dtm_eval_outputs out{};
    out.fdt = fdt.data();
    out.sdt = sdt.data();
    out.kl = kl.data();
    dtm::test::SessionHandle other;
    other.s = open_on(model.m, "cuda:0");
    ASSERT_EQ(dtm_evaluate(other.s, gpu.s, in, out), DTM_OK) << dtm_last_error();
    for (int32_t s = 0; s < S; ++s) {
        EXPECT_EQ(fdt[size_t(s)], N) << "sample " << s;
        EXPECT_EQ(sdt[size_t(s)], 0) << "sample " << s;
        EXPECT_EQ(kl[size_t(s)], 0.0f) << "sample " << s;
    }
}

// Where there is no GPU: cuda:0 is refused in one line that says why.
TEST(CudaDevice, AbsentGpuIsRefusedInOneLineSayingWhy) {
    const std::string why = no_gpu();
    if (why.empty()) GTEST_SKIP() << "a GPU is present: nothing refused";
    dtm::test::ModelHandle m;
    ASSERT_EQ(dtm_model_load(dtm::test::write_tiny_model(dtm::test::temp_dir(), {}).c_str(), dtm_model_default_params(),
                             &m.m),
              DTM_OK);
    dtm_session_params p = dtm_session_default_params();
    p.device = "cuda:0";
    dtm_session * s = nullptr;
    EXPECT_EQ(dtm_session_create(m.m, p, &s), DTM_ERR_UNSUPPORTED);
    const std::string msg = dtm_last_error();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_NE(msg.find("cuda:0"), std::string::npos) << msg;
    EXPECT_NE(msg.find(why.substr(0, 20)), std::string::npos) << msg;
    std::printf("cuda:0 refused: %s\n", msg.c_str());
}

}  // namespace
