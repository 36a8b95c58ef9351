// test_support.h - helpers shared by the C++ tests: temporary directories,
// small random llama2.c models written on the fly, the default model's path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dtm::test {

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

// Directory with stories15M.bin and tokenizer.bin ($DTM_MODEL_DIR), or "" when
// not set; tests that need it skip (reported as skipped) when it is missing.
std::string default_model_dir();

}  // namespace dtm::test
