// fuzz_inputs.h - the small, deterministic model files the fuzz harnesses
// and their seed corpora are made of (no GoogleTest: the harnesses link this).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace dtm::fuzz {

// The shape of a llama2.c model written by tiny_llama2c.
struct TinySpec {
    int32_t dim = 32;
    int32_t hidden_dim = 64;
    int32_t n_layers = 1;
    int32_t n_heads = 2;
    int32_t n_kv_heads = 1;
    int32_t vocab_size = 260;  // >= 259 for a tokenizer: 3 specials + 256 byte tokens
    int32_t seq_len = 8;
    bool shared_classifier = true;
    uint32_t seed = 1;
};

// A llama2.c model file (header + fp32 tensors) with weights from a fixed
// generator: the same bytes for the same spec on every machine.
std::vector<uint8_t> tiny_llama2c(const TinySpec & spec);

// A tokenizer.bin for `vocab_size` (>= 259): <unk>, BOS, EOS, byte tokens
// named <0xXX> (or, with raw_byte_tokens, stored as the early export that
// ships with stories15M stores them: the byte below 0x80, the UTF-8 of the
// Latin-1 character above), then pieces " ", "a", " a", ... with falling scores.
std::vector<uint8_t> tiny_tokenizer(int32_t vocab_size, bool raw_byte_tokens = false);

// The base of the candidate harness: TinySpec{} with tiny_tokenizer, loaded
// once (through a temporary directory that is removed again).
const Model & candidate_base();

// Loads the files into a Model through a temporary directory that is removed again.
std::unique_ptr<Model> load_tiny(const std::vector<uint8_t> & model, const std::vector<uint8_t> & tokenizer);

}  // namespace dtm::fuzz
