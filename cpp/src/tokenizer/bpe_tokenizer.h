// bpe_tokenizer.h - the SentencePiece-BPE tokenizer of llama2.c's tokenizer.bin.
//
// File layout: int32 max_token_length, then vocab_size entries of
// (float score, int32 length, length bytes). vocab_size comes from the model.
//
// Byte tokens are ids 3..258 (<0x00>..<0xFF>). The tokenizer.bin that ships
// with stories15M is an early export that stores those entries as the raw
// byte, so some entries are empty or duplicate other pieces: byte fallback
// therefore goes by id (3 + byte), never by string lookup.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dtm {

class BpeTokenizer {
public:
    // Reads and validates tokenizer.bin for a vocabulary of vocab_size.
    // Throws dtm::Error: DTM_ERR_IO, DTM_ERR_TOKENIZER_FORMAT (truncated,
    // negative lengths, trailing bytes, ...).
    static BpeTokenizer load(const std::string & path, int32_t vocab_size);

    // llama2.c's encode(): dummy-prefix space for non-empty text, code points
    // looked up whole, byte fallback by id, then repeated merging of the
    // adjacent pair with the highest score (first such pair on ties).
    std::vector<int32_t> encode(std::string_view text, bool add_bos) const;

    // The bytes llama2.c prints for `token` following `prev`: <0xXX> pieces
    // become the raw byte, the leading space after BOS is dropped, BOS and
    // EOS print nothing.
    std::string decode_piece(int32_t prev, int32_t token) const;

    // Concatenation of decode_piece over a sequence (prev = previous token,
    // -1 before the first).
    std::string decode(const std::vector<int32_t> & tokens) const;

    int32_t vocab_size() const { return int32_t(pieces_.size()); }
    const std::string & piece(int32_t id) const { return pieces_.at(size_t(id)); }
    float score(int32_t id) const { return scores_.at(size_t(id)); }
    int32_t bos_id() const { return 1; }
    int32_t eos_id() const { return 2; }

private:
    std::vector<std::string> pieces_;
    std::vector<float> scores_;
    std::unordered_map<std::string, int32_t> lookup_;  // piece -> id (rule for duplicates in the .cpp)
    int32_t max_token_length_ = 0;
};

}  // namespace dtm
