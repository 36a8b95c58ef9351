// test_support.h - helpers shared by the C++ tests: temporary directories,
// small random llama2.c models written on the fly, the default model's path,
// expected errors, float bits and random values, models and sessions through
// the C API and their logits.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "dtm/dtm.h"

namespace dtm::test {

// ---------------------------------------------------------------------------
// Expected errors

// Success when f() throws a dtm::Error with `status` whose message contains
// every fragment; otherwise a failure saying what happened instead.
template <typename F>
::testing::AssertionResult fails_with(F && f, dtm_status status, std::initializer_list<std::string> fragments) {
    try {
        f();
    } catch (const dtm::Error & e) {
        if (e.status() != status) {
            return ::testing::AssertionFailure() << "status " << e.status() << " instead of " << status << ": " << e.what();
        }
        for (const std::string & fragment : fragments) {
            if (std::string(e.what()).find(fragment) == std::string::npos) {
                return ::testing::AssertionFailure() << "message lacks \"" << fragment << "\": " << e.what();
            }
        }
        return ::testing::AssertionSuccess();
    } catch (const std::exception & e) {
        return ::testing::AssertionFailure() << "not a dtm::Error: " << e.what();
    }
    return ::testing::AssertionFailure() << "no error thrown";
}

// ---------------------------------------------------------------------------
// Float bits and random values

// A NaN payload no operation produces: written around and into outputs, it
// shows which entries a kernel wrote.
constexpr uint32_t kSentinelBits = 0x7fbadbadu;
float sentinel();

uint32_t bits_of(float v);

// Same bits (n floats; for vectors, also the same size).
bool bitwise_equal(const float * a, const float * b, size_t n);
bool bitwise_equal(const std::vector<float> & a, const std::vector<float> & b);

// n values uniform in [lo, hi), or integers in [lo, hi], from std::mt19937(seed).
std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);
std::vector<int8_t> random_int8(size_t n, uint32_t seed, int lo = -128, int hi = 127);

// ---------------------------------------------------------------------------
// Models and sessions through the C API

// Free their handle when they go out of scope.
struct ModelHandle {
    dtm_model * m = nullptr;
    ~ModelHandle() { dtm_model_free(m); }
};
struct SessionHandle {
    dtm_session * s = nullptr;
    ~SessionHandle() { dtm_session_free(s); }
};

// The model at `path` with default parameters (a failure is a test failure
// and gives nullptr).
dtm_model * load_model(const std::string & path);

// A session on m; isa and threads as in dtm_session_params, 0 = default.
dtm_session * open_session(dtm_model * m, int isa, int threads, int max_batch = 0, int max_seqs = 0);

// All logits of the given sequences through dtm_score, (tokens, vocab).
std::vector<float> score_logits(dtm_session * s, const std::vector<std::vector<int32_t>> & seqs, int vocab);
// All logits of one sequence by one-token decoding from a reset stream.
std::vector<float> decode_logits(dtm_session * s, const std::vector<int32_t> & seq, int vocab);

// Sets (or, for nullptr, unsets) an environment variable for one scope and
// restores what was there before.
class ScopedEnv {
public:
    ScopedEnv(const char * name, const char * value);
    ~ScopedEnv();
    ScopedEnv(const ScopedEnv &) = delete;
    ScopedEnv & operator=(const ScopedEnv &) = delete;

private:
    std::string name_;
    bool had_ = false;
    std::string old_;
};

// A fresh directory under $TMPDIR, removed at process exit.
std::string temp_dir();

// Writes bytes to a file (creating or truncating it).
void write_file(const std::string & path, const std::vector<uint8_t> & bytes);
std::vector<uint8_t> read_file(const std::string & path);

struct TinyModelSpec {
    int32_t dim = 64;
    int32_t hidden_dim = 172;
    int32_t n_layers = 2;
    int32_t n_heads = 4;
    int32_t n_kv_heads = 4;
    int32_t vocab_size = 300;   // >= 259: 3 specials + 256 byte tokens + a few pieces
    int32_t seq_len = 64;
    bool shared_classifier = true;
    uint64_t seed = 1;
    float weight_scale = 0.1f;
};

// Writes a random-weight llama2.c model and a matching tokenizer.bin (byte
// tokens as <0xXX>, a handful of merged pieces) into `dir`; returns the
// model path (the tokenizer is dir + "/tokenizer.bin").
std::string write_tiny_model(const std::string & dir, const TinyModelSpec & spec);

// The serialized bytes of such a model (header + tensors), for corruption tests.
std::vector<uint8_t> tiny_model_bytes(const TinyModelSpec & spec);
std::vector<uint8_t> tiny_tokenizer_bytes(int32_t vocab_size);

// A tokenizer.bin with <unk>, BOS, EOS, the byte tokens 3..258, then `pieces`
// (string, score) from id 259. Byte tokens are named <0xXX>, or with
// raw_byte_tokens stored as in the early export that ships with stories15M
// (the byte itself below 0x80, the UTF-8 of the Latin-1 character above).
std::vector<uint8_t> tokenizer_bytes(const std::vector<std::pair<std::string, float>> & pieces,
                                     bool raw_byte_tokens = false);

// Directory with stories15M.bin and tokenizer.bin ($DTM_MODEL_DIR), or "" when
// not set; tests that need it skip (reported as skipped) when it is missing.
std::string default_model_dir();

// Path of tests/data/<name> in the source tree ($DTM_TEST_DATA_DIR overrides).
std::string test_data_file(const std::string & name);

// One case of tests/data/llama2c_golden.json (format in tests/data/README.md):
// what llama2.c's run.c (the default model's home implementation) did at
// temperature 0 for one prompt.
struct GoldenCase {
    std::string prompt;
    std::string mode;              // "generate": run.c encoded the prompt (as encode_legacy);
                                   // "tokens": the prompt tokens are dtm's encode()
    int32_t n_prompt_tokens = 0;   // tokens[0, n_prompt_tokens) came from the prompt
    std::vector<int32_t> tokens;   // every token after the initial BOS: prompt, then generated
    std::string text;              // the bytes run.c printed for `tokens`
    std::string error;             // non-empty: run.c failed on this prompt (then no tokens)
};
std::vector<GoldenCase> read_llama2c_golden(const std::string & path);

}  // namespace dtm::test
