// fuzz_targets.h - one entry point per native parser, shared by the libFuzzer
// harnesses (fuzz_main.cpp, built with -DDTM_FUZZ=ON and clang) and by the
// ctest that replays the corpora and every crash input found so far
// (tests/cpp/test_fuzz_regressions.cpp, in the normal build).
//
// Each takes any bytes and returns normally when the parser accepted them
// (and what it returned is consistent; returns true) or refused them with a
// dtm::Error of a status its header documents, with a message (false). Anything else throws Finding
// (an undocumented status, an empty message, an inconsistent result) or is
// caught by the sanitizers (a crash, a leak, undefined behaviour, an
// allocation above libFuzzer's -malloc_limit_mb). Any other exception (a
// std::bad_alloc, a JSON library's exception) escapes, which is a finding too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace dtm::fuzz {

struct Finding : std::logic_error {
    using std::logic_error::logic_error;
};

// A llama2.c model file (model/llama2c_file.h), loaded without and with the
// finiteness check (true: the first load accepted it); every weight view
// must lie in the file.
bool llama2c_file(const uint8_t * data, size_t size);

// A little-endian int32 vocab_size, then a tokenizer.bin for it
// (tokenizer/bpe_tokenizer.h); a loaded tokenizer then encodes (both
// encoders) and decodes a few texts, among them the input's last bytes.
bool tokenizer_bin(const uint8_t * data, size_t size);

// A safetensors file (model/safetensors_file.h); the tensors of an accepted
// file tile its data buffer.
bool safetensors_file(const uint8_t * data, size_t size);

// A config.json (model/hf_checkpoint.h parse_hf_config); an accepted config
// written back (hf_config_json) parses to the same config.
bool hf_config(const uint8_t * data, size_t size);

// A candidate file (compress/candidate_file.h) on the tiny base of
// fuzz_inputs.h; a loaded candidate's replaced matrices store the file's
// tensors bitwise and run forward on every kernel table of this CPU.
bool candidate_file(const uint8_t * data, size_t size);

struct Target {
    const char * name;  // also the directory of its corpus and regressions
    bool (*run)(const uint8_t * data, size_t size);
};

// Every target above.
const std::vector<Target> & targets();

}  // namespace dtm::fuzz
