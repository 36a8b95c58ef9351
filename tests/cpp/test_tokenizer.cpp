// test_tokenizer.cpp - llama2.c's tokenizer.bin: encoding rules, decoding,
// round trips, rejected files, and the default tokenizer against Meta's
// reference encodings and against llama2.c's own output (golden file).
#include <gtest/gtest.h>

#include <cstring>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/bpe_tokenizer.h"
#include "test_support.h"

namespace {

using dtm::test::fails_with;
using dtm::BpeTokenizer;
using Pieces = std::vector<std::pair<std::string, float>>;
using Tokens = std::vector<int32_t>;

std::string write_bytes(const std::string & name, const std::vector<uint8_t> & bytes) {
    static const std::string dir = dtm::test::temp_dir();
    const std::string path = dir + "/" + name;
    dtm::test::write_file(path, bytes);
    return path;
}

BpeTokenizer load_pieces(const Pieces & pieces, bool raw_byte_tokens = false) {
    const std::string path = write_bytes("pieces.bin", dtm::test::tokenizer_bytes(pieces, raw_byte_tokens));
    return BpeTokenizer::load(path, int32_t(259 + pieces.size()));
}

const BpeTokenizer & tiny() {
    static const BpeTokenizer t =
        BpeTokenizer::load(write_bytes("tiny.bin", dtm::test::tiny_tokenizer_bytes(300)), 300);
    return t;
}

// The default tokenizer, or nullptr when $DTM_MODEL_DIR is not set.
const BpeTokenizer * stories() {
    static const std::unique_ptr<BpeTokenizer> t = [] {
        const std::string dir = dtm::test::default_model_dir();
        return dir.empty() ? nullptr
                           : std::make_unique<BpeTokenizer>(
                                 BpeTokenizer::load(dir + "/tokenizer.bin", 32000));
    }();
    return t.get();
}

#define REQUIRE_STORIES()                                                     \
    if (stories() == nullptr) GTEST_SKIP() << "DTM_MODEL_DIR not set"; \
    const BpeTokenizer & st = *stories()

int32_t id_of(const BpeTokenizer & t, const std::string & piece) {
    for (int32_t id = 259; id < t.vocab_size(); ++id) {
        if (t.piece(id) == piece) return id;
    }
    ADD_FAILURE() << "no piece \"" << piece << "\"";
    return -1;
}

int32_t byte_token(unsigned char b) { return 3 + b; }

Tokens with_bos(const Tokens & t) {
    Tokens out = {1};
    out.insert(out.end(), t.begin(), t.end());
    return out;
}

// ---------------------------------------------------------------------------
// Reference encoders: the rules written out the way llama2.c runs them (a
// full rescan for every merge), to check the heap-based implementation.

class NaiveEncoder {
public:
    // legacy = false: encode()'s rules; true: encode_legacy()'s.
    NaiveEncoder(const BpeTokenizer & t, bool legacy) : t_(t), legacy_(legacy) {
        for (int32_t id = legacy ? 0 : 259; id < t.vocab_size(); ++id) {
            lookup_.emplace(legacy ? std::string(t.piece(id).c_str()) : t.piece(id), id);
        }
    }

    Tokens encode(const std::string & text) const {
        std::vector<std::pair<int32_t, bool>> s;  // (id, may merge)
        if (legacy_) {
            for (char c : text) s.push_back({lookup_.at(std::string(1, c)), true});
        } else {
            if (!text.empty()) s.push_back({lookup_.at(" "), true});
            for (size_t i = 0; i < text.size();) {
                size_t n = 1;
                while (n < 4 && i + n < text.size() && (uint8_t(text[i + n]) & 0xC0) == 0x80) ++n;
                const std::string unit = text.substr(i, n);
                const auto it = lookup_.find(unit);
                if (it != lookup_.end()) {
                    s.push_back({it->second, true});
                } else {
                    for (unsigned char b : unit) s.push_back({byte_token(b), false});
                }
                i += n;
            }
        }
        for (;;) {
            float best = -1e10f;
            int best_at = -1, best_id = -1;
            for (size_t i = 0; i + 1 < s.size(); ++i) {
                if (!s[i].second || !s[i + 1].second) continue;
                const auto it = lookup_.find(text_of(s[i].first) + text_of(s[i + 1].first));
                if (it != lookup_.end() && t_.score(it->second) > best) {
                    best = t_.score(it->second);
                    best_at = int(i);
                    best_id = it->second;
                }
            }
            if (best_at < 0) break;
            s[size_t(best_at)].first = best_id;
            s.erase(s.begin() + best_at + 1);
        }
        Tokens out;
        for (const auto & p : s) out.push_back(p.first);
        return out;
    }

private:
    std::string text_of(int32_t id) const {
        return legacy_ ? std::string(t_.piece(id).c_str()) : t_.piece(id);
    }
    const BpeTokenizer & t_;
    bool legacy_;
    std::unordered_map<std::string, int32_t> lookup_;
};

// Deterministic random text from a pool of fragments.
class TextGen {
public:
    explicit TextGen(uint64_t seed) : state_(seed) {}
    std::string text(const std::vector<std::string> & pool, size_t max_parts) {
        std::string out;
        const size_t n = next() % (max_parts + 1);
        for (size_t i = 0; i < n; ++i) out += pool[next() % pool.size()];
        return out;
    }

private:
    uint64_t next() {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 7;
        state_ ^= state_ << 17;
        return state_;
    }
    uint64_t state_;
};

// ---------------------------------------------------------------------------
// Encoding rules on small vocabularies

TEST(BpeTokenizer, TinyVocabularyLoads) {
    const BpeTokenizer & t = tiny();
    EXPECT_EQ(t.vocab_size(), 300);
    EXPECT_EQ(t.piece(0), "<unk>");
    EXPECT_EQ(t.piece(3 + 0x41), "<0x41>");
    EXPECT_EQ(t.piece(259), " ");
    EXPECT_EQ(t.bos_id(), 1);
    EXPECT_EQ(t.eos_id(), 2);
}

TEST(BpeTokenizer, MergesHighestScoreFirst) {
    const BpeTokenizer & t = tiny();
    EXPECT_EQ(t.encode("the", false), Tokens({id_of(t, " the")}));
    // " t" (-1) first, then "in" (-4), then "ing" (-6); " th" and "hi" are no pieces.
    EXPECT_EQ(t.encode("thing", false),
              Tokens({id_of(t, " t"), id_of(t, "h"), id_of(t, "ing")}));
    EXPECT_EQ(t.encode("Hello", false),
              Tokens({id_of(t, " "), id_of(t, "H"), id_of(t, "e"), id_of(t, "l"), id_of(t, "l"),
                      id_of(t, "o")}));
}

TEST(BpeTokenizer, TiesGoToTheLeftmostPair) {
    const Pieces equal = {{" ", -10}, {"a", -11}, {"b", -12}, {"c", -13}, {"ab", -1}, {"bc", -1}};
    const BpeTokenizer t = load_pieces(equal);
    EXPECT_EQ(t.encode("abc", false), Tokens({259, 263, 262}));  // " ", "ab", "c"
    const Pieces right_better = {{" ", -10}, {"a", -11}, {"b", -12}, {"c", -13}, {"ab", -2}, {"bc", -1}};
    const BpeTokenizer r = load_pieces(right_better);
    EXPECT_EQ(r.encode("abc", false), Tokens({259, 260, 264}));  // " ", "a", "bc"
}

TEST(BpeTokenizer, MergesScoringMinus1e10OrLessNeverHappen) {
    // llama2.c's search for the best pair starts at -1e10.
    const BpeTokenizer low = load_pieces({{" ", -10}, {"a", -11}, {"b", -12}, {"ab", -2e10f}});
    EXPECT_EQ(low.encode("ab", false), Tokens({259, 260, 261}));
    const BpeTokenizer ok = load_pieces({{" ", -10}, {"a", -11}, {"b", -12}, {"ab", -1e9f}});
    EXPECT_EQ(ok.encode("ab", false), Tokens({259, 262}));
}

TEST(BpeTokenizer, CodePointsAreLookedUpWhole) {
    const BpeTokenizer & t = tiny();
    EXPECT_EQ(t.encode("\xC3\xA9", false), Tokens({id_of(t, " "), id_of(t, "\xC3\xA9")}));  // é
}

TEST(BpeTokenizer, ByteFallbackGoesById) {
    const BpeTokenizer & t = tiny();
    const int32_t space = id_of(t, " ");
    EXPECT_EQ(t.encode("\xC3\x9F", false), Tokens({space, byte_token(0xC3), byte_token(0x9F)}));  // ß
    EXPECT_EQ(t.encode("\xF0\x9F\x98\x80", false),  // U+1F600, 4 bytes
              Tokens({space, byte_token(0xF0), byte_token(0x9F), byte_token(0x98), byte_token(0x80)}));
    EXPECT_EQ(t.encode("\n", false), Tokens({space, byte_token('\n')}));
    // Malformed UTF-8: a lone lead byte, a stray continuation byte, 0xFF.
    EXPECT_EQ(t.encode("\xC3", false), Tokens({space, byte_token(0xC3)}));
    EXPECT_EQ(t.encode("\x80" "a", false), Tokens({space, byte_token(0x80), id_of(t, "a")}));
    EXPECT_EQ(t.encode("\xFF", false), Tokens({space, byte_token(0xFF)}));
    EXPECT_EQ(t.encode(std::string_view("\0", 1), false), Tokens({space, byte_token(0)}));
}

TEST(BpeTokenizer, ByteTokensNeverMerge) {
    // Early-export byte tokens for 0xC3 and 0x9F are "Ã" and U+009F; their
    // concatenation is a piece here, but "ß" must stay two byte tokens.
    const BpeTokenizer t = load_pieces({{" ", -10}, {"\xC3\x83\xC2\x9F", -1}}, true);
    EXPECT_EQ(t.encode("\xC3\x9F", false), Tokens({259, byte_token(0xC3), byte_token(0x9F)}));
}

TEST(BpeTokenizer, DuplicateStringsResolveToTheRealPiece) {
    // Early-export byte tokens duplicate real pieces: "a" is id 100 and 261,
    // "é" is id 236 (byte 0xE9) and 262.
    const BpeTokenizer t = load_pieces({{" ", -10}, {" a", -1}, {"a", -11}, {"\xC3\xA9", -12}}, true);
    ASSERT_EQ(t.piece(100), "a");
    ASSERT_EQ(t.piece(byte_token(0xE9)), "\xC3\xA9");
    EXPECT_EQ(t.encode("\na", false), Tokens({259, byte_token('\n'), 261}));
    EXPECT_EQ(t.encode("\n\xC3\xA9", false), Tokens({259, byte_token('\n'), 262}));
    EXPECT_EQ(t.encode("a", false), Tokens({260}));  // " a"
    // llama2.c's July-2023 encoder takes the lowest id.
    EXPECT_EQ(t.encode_legacy("\na", false), Tokens({byte_token('\n'), 100}));
    EXPECT_EQ(t.encode_legacy(" a", false), Tokens({260}));
}

TEST(BpeTokenizer, BosIsOptional) {
    const BpeTokenizer & t = tiny();
    EXPECT_EQ(t.encode("", true), Tokens({1}));
    EXPECT_EQ(t.encode("", false), Tokens());
    const Tokens without = t.encode("the thing", false);
    EXPECT_EQ(t.encode("the thing", true), with_bos(without));
    for (int32_t id : without) EXPECT_NE(id, 1);
    EXPECT_EQ(t.encode_legacy("", true), Tokens({1}));
    EXPECT_EQ(t.encode_legacy("", false), Tokens());
}

TEST(BpeTokenizer, LegacyEncoderStopsAtNulAndRejectsUnspellableBytes) {
    const BpeTokenizer t = load_pieces({{" ", -10}, {"a", -11}, {"b", -12}, {"ab", -1}}, true);
    EXPECT_EQ(t.encode_legacy(std::string_view("ab\0b", 4), false), Tokens({262}));
    EXPECT_TRUE(fails_with([&] { t.encode_legacy("a\xC3\xA9", false); }, DTM_ERR_INVALID_ARGUMENT,
                           {"byte 0xC3", "offset 1", "not good"}));
}

TEST(BpeTokenizer, HeapMergingMatchesTheFullRescan) {
    // Many equal scores, so that the tie rule matters at every step.
    const Pieces pieces = {{" ", -10}, {"a", -11}, {"b", -12}, {"c", -13}, {"ab", -1},
                           {"bc", -1}, {"ca", -1}, {"aa", -2}, {"bb", -1}, {"abc", -1},
                           {"bca", -0.5f}, {" a", -2}, {" b", -1}, {"aab", -1}, {"bcab", -1}};
    const BpeTokenizer t = load_pieces(pieces, true);
    const NaiveEncoder naive(t, false), naive_legacy(t, true);
    TextGen gen(42);
    for (int i = 0; i < 2000; ++i) {
        const std::string text = gen.text({"a", "b", "c", " "}, 40);
        ASSERT_EQ(t.encode(text, false), naive.encode(text)) << "\"" << text << "\"";
        ASSERT_EQ(t.encode_legacy(text, false), naive_legacy.encode(text)) << "\"" << text << "\"";
    }
}

// ---------------------------------------------------------------------------
// Decoding

TEST(BpeTokenizer, DecodePieceRules) {
    const BpeTokenizer & t = tiny();
    const int32_t the = id_of(t, " the");
    EXPECT_EQ(t.decode_piece(1, the), "the");       // the dummy prefix goes after BOS
    EXPECT_EQ(t.decode_piece(-1, the), " the");
    EXPECT_EQ(t.decode_piece(the, the), " the");
    EXPECT_EQ(t.decode_piece(5, 1), "");            // BOS prints nothing
    EXPECT_EQ(t.decode_piece(5, 2), "");            // EOS prints nothing
    EXPECT_EQ(t.decode_piece(5, 0), "<unk>");
    EXPECT_EQ(t.decode_piece(5, byte_token(0x41)), "A");      // <0x41> is the byte
    EXPECT_EQ(t.decode_piece(5, byte_token(0xC3)), "\xC3");
    EXPECT_EQ(t.decode_piece(5, byte_token(0)), std::string(1, '\0'));
    EXPECT_EQ(t.decode_piece(1, byte_token(' ')), "");         // after BOS, a space byte too
    EXPECT_TRUE(fails_with([&] { t.decode_piece(1, 300); }, DTM_ERR_TOKEN_OUT_OF_RANGE,
                           {"token 300", "[0, 300)"}));
    EXPECT_TRUE(fails_with([&] { t.decode_piece(1, -1); }, DTM_ERR_TOKEN_OUT_OF_RANGE,
                           {"token -1"}));
}

TEST(BpeTokenizer, DecodeConcatenatesPieces) {
    const BpeTokenizer & t = tiny();
    EXPECT_EQ(t.decode({1, id_of(t, " the"), id_of(t, " t"), id_of(t, "h"), id_of(t, "ing"), 2}),
              "the thing");
    EXPECT_EQ(t.decode({}), "");
}

const std::vector<std::string> kRoundTrips = {
    "",
    "a",
    "Hello world",
    "The thing is in the ring.",
    "  two  spaces  ",
    " leading space",
    "trailing space ",
    "line one\nline two\n\n",
    "\ttab\r\n",
    "Zo\xC3\xAB saw a caf\xC3\xA9",                    // Zoë saw a café
    "stra\xC3\x9F" "e \xE4\xB8\xAD\xE6\x96\x87",        // straße 中文
    "emoji \xF0\x9F\x98\x80!",                          // 😀
    "bad utf-8: \xFF \xC3 \x80 end",
    std::string("nul\0byte", 8),
};

TEST(BpeTokenizer, TinyRoundTrips) {
    for (const std::string & text : kRoundTrips) {
        EXPECT_EQ(tiny().decode(tiny().encode(text, true)), text) << "\"" << text << "\"";
    }
}

// ---------------------------------------------------------------------------
// Rejected files

// Offset of entry `id` in a tokenizer file.
size_t entry_offset(const std::vector<uint8_t> & bytes, int32_t id) {
    size_t at = 4;
    for (int32_t i = 0; i < id; ++i) {
        int32_t len;
        std::memcpy(&len, bytes.data() + at + 4, 4);
        at += 8 + size_t(len);
    }
    return at;
}

void put_i32(std::vector<uint8_t> & bytes, size_t at, int32_t v) { std::memcpy(bytes.data() + at, &v, 4); }

TEST(BpeTokenizer, RejectsBadFiles) {
    const std::vector<uint8_t> good = dtm::test::tiny_tokenizer_bytes(300);
    const auto load = [](const std::vector<uint8_t> & bytes, int32_t vocab) {
        const std::string path = write_bytes("bad-tokenizer.bin", bytes);
        return [path, vocab] { BpeTokenizer::load(path, vocab); };
    };
    EXPECT_TRUE(fails_with(load({}, 300), DTM_ERR_TOKENIZER_FORMAT, {"bad-tokenizer.bin", "is empty"}));
    EXPECT_TRUE(fails_with(load({1, 0}, 300), DTM_ERR_TOKENIZER_FORMAT,
                           {"2 bytes, shorter than its 4-byte header"}));

    std::vector<uint8_t> b = good;
    b.pop_back();
    EXPECT_TRUE(fails_with(load(b, 300), DTM_ERR_TOKENIZER_FORMAT,
                           {"truncated", "entry 299 needs", "only"}));
    b.resize(entry_offset(good, 150) + 5);  // inside entry 150's score and length
    EXPECT_TRUE(fails_with(load(b, 300), DTM_ERR_TOKENIZER_FORMAT,
                           {"truncated", "entry 150 of 300", "only 5 bytes are left"}));

    b = good;
    b.push_back(0);
    EXPECT_TRUE(fails_with(load(b, 300), DTM_ERR_TOKENIZER_FORMAT,
                           {"has " + std::to_string(b.size()) + " bytes",
                            "end at byte " + std::to_string(good.size()), "1 trailing byte ("}));
    EXPECT_TRUE(fails_with(load(good, 299), DTM_ERR_TOKENIZER_FORMAT, {"trailing bytes", "299"}));
    EXPECT_TRUE(fails_with(load(good, 301), DTM_ERR_TOKENIZER_FORMAT, {"truncated", "entry 300 of 301"}));

    b = good;
    put_i32(b, entry_offset(good, 270) + 4, -5);
    EXPECT_TRUE(fails_with(load(b, 300), DTM_ERR_TOKENIZER_FORMAT, {"entry 270 has length -5"}));
    b = good;
    int32_t max_len;
    std::memcpy(&max_len, good.data(), 4);
    put_i32(b, 0, max_len - 1);  // the longest piece is now too long
    EXPECT_TRUE(fails_with(load(b, 300), DTM_ERR_TOKENIZER_FORMAT,
                           {"has length " + std::to_string(max_len),
                            "max_token_length = " + std::to_string(max_len - 1)}));
    b = good;
    put_i32(b, 0, 0);
    EXPECT_TRUE(fails_with(load(b, 300), DTM_ERR_TOKENIZER_FORMAT, {"max_token_length = 0"}));
    b = good;
    const uint32_t nan_bits = 0x7fc00000u;
    std::memcpy(b.data() + entry_offset(good, 280), &nan_bits, 4);
    EXPECT_TRUE(fails_with(load(b, 300), DTM_ERR_TOKENIZER_FORMAT, {"entry 280 has a NaN score"}));

    b = good;  // <0x41> renamed <0x42>
    b[entry_offset(good, 3 + 0x41) + 8 + 4] = '2';
    EXPECT_TRUE(fails_with(load(b, 300), DTM_ERR_TOKENIZER_FORMAT,
                           {"entry 68 should be the byte token for 0x41", "<0x42>"}));

    EXPECT_TRUE(fails_with(load(good, 0), DTM_ERR_INVALID_ARGUMENT, {"vocab_size = 0"}));
    EXPECT_TRUE(fails_with(load(good, 258), DTM_ERR_TOKENIZER_FORMAT,
                           {"vocabulary of 258 cannot hold"}));
    EXPECT_TRUE(fails_with([] { BpeTokenizer::load("/nonexistent/tokenizer.bin", 300); }, DTM_ERR_IO,
                           {"cannot open", "/nonexistent/tokenizer.bin"}));
}

// ---------------------------------------------------------------------------
// The default tokenizer (stories15M), when $DTM_MODEL_DIR is set

TEST(DefaultTokenizer, MatchesMetasReferenceEncodings) {
    REQUIRE_STORIES();
    // Expected ids from Meta's Llama 2 tokenizer (SentencePiece), as recorded
    // in llama2.c's test.c (the prompts of Meta's example_text_completion.py).
    EXPECT_EQ(st.encode("", true), Tokens({1}));
    EXPECT_EQ(st.encode("I believe the meaning of life is", true),
              Tokens({1, 306, 4658, 278, 6593, 310, 2834, 338}));
    EXPECT_EQ(st.encode("Simply put, the theory of relativity states that ", true),
              Tokens({1, 3439, 17632, 1925, 29892, 278, 6368, 310, 14215, 537, 5922, 393, 29871}));
    EXPECT_EQ(st.encode("A brief message congratulating the team on the launch:\n\n        Hi "
                        "everyone,\n\n        I just ",
                        true),
              Tokens({1,   319,  11473, 2643, 378, 629,   271,   18099, 278,  3815, 373, 278, 6826,
                      29901, 13, 13,    4706, 6324, 14332, 29892, 13,    13,   4706, 306, 925, 29871}));
    EXPECT_EQ(st.encode("Translate English to French:\n\n        sea otter => loutre de mer\n      "
                        "  peppermint => menthe poivr\xC3\xA9" "e\n        plush girafe => girafe "
                        "peluche\n        cheese =>",
                        true),
              Tokens({1,    4103, 9632, 4223, 304,  5176, 29901, 13,   13,    4706,  7205, 4932, 357,
                      1149, 301,  449,  276,  316,  2778, 13,    4706, 1236,  407,   837,  524,  1149,
                      6042, 354,  772,  440,  29878, 1318, 13,   4706, 715,   1878,  330,  3055, 1725,
                      1149, 330,  3055, 1725, 4639, 28754, 13,   4706, 923,   968,   1149}));
}

TEST(DefaultTokenizer, EveryDuplicateStringResolvesToItsRealPiece) {
    REQUIRE_STORIES();
    std::unordered_map<std::string, std::vector<int32_t>> ids;
    for (int32_t id = 0; id < st.vocab_size(); ++id) ids[st.piece(id)].push_back(id);
    int duplicates = 0;
    for (const auto & [piece, list] : ids) {
        if (list.size() < 2) continue;
        ++duplicates;
        // Always one byte token (score 0) and one real piece.
        ASSERT_EQ(list.size(), 2u) << piece;
        ASSERT_GE(list[0], 3);
        ASSERT_LT(list[0], 259) << piece;
        ASSERT_GE(list[1], 259) << piece;
        // After a newline (byte fallback) the character cannot merge to the left.
        const Tokens got = st.encode("\n" + piece, false);
        ASSERT_EQ(got.size(), 3u) << piece;
        EXPECT_EQ(got[2], list[1]) << piece;
    }
    EXPECT_EQ(duplicates, 204);
}

TEST(DefaultTokenizer, RoundTrips) {
    REQUIRE_STORIES();
    for (const std::string & text : kRoundTrips) {
        EXPECT_EQ(st.decode(st.encode(text, true)), text) << "\"" << text << "\"";
    }
    std::string story;
    for (int i = 0; i < 2000; ++i) story += "Once upon a time, Lily saw a big dog.\nIt was happy! ";
    EXPECT_EQ(st.decode(st.encode(story, true)), story);
}

TEST(DefaultTokenizer, HeapMergingMatchesTheFullRescan) {
    REQUIRE_STORIES();
    const NaiveEncoder naive(st, false), naive_legacy(st, true);
    const std::vector<std::string> pool = {
        " ", "  ", "the", " the", "a", "Lily", " dog", "ing", "ed", ".", ",", "!", "\n", "\"",
        "un", "believ", "able", "e", "x", "q", "3", "\xC3\xA9", "\xC3\x9F", "\xE4\xB8\xAD",
        "\xF0\x9F\x98\x80", "\xFF", "Zo", "caf"};
    const std::vector<std::string> ascii(pool.begin(), pool.begin() + 21);
    TextGen gen(7);
    for (int i = 0; i < 300; ++i) {
        const std::string text = gen.text(pool, 12);
        ASSERT_EQ(st.encode(text, false), naive.encode(text)) << "\"" << text << "\"";
        const std::string legacy_text = gen.text(ascii, 12);
        ASSERT_EQ(st.encode_legacy(legacy_text, false), naive_legacy.encode(legacy_text))
            << "\"" << legacy_text << "\"";
    }
}

// ---------------------------------------------------------------------------
// Against llama2.c itself: tests/data/llama2c_golden.json

std::vector<dtm::test::GoldenCase> golden() {
    return dtm::test::read_llama2c_golden(dtm::test::test_data_file("llama2c_golden.json"));
}

TEST(DefaultTokenizer, GoldenFileIsReadable) {
    const auto cases = golden();
    ASSERT_GE(cases.size(), 6u);
    for (const auto & c : cases) {
        EXPECT_TRUE(c.mode == "generate" || c.mode == "tokens") << c.prompt;
        if (!c.error.empty()) continue;
        EXPECT_LE(c.n_prompt_tokens, int32_t(c.tokens.size())) << c.prompt;
        EXPECT_GE(c.tokens.size() - size_t(c.n_prompt_tokens), 40u) << c.prompt;
    }
}

TEST(DefaultTokenizer, PromptsEncodeAsInLlama2c) {
    REQUIRE_STORIES();
    for (const auto & c : golden()) {
        if (c.mode == "generate" && !c.error.empty()) {
            // llama2.c's July-2023 encoder gave up ("not good"); so does ours,
            // while encode() handles the text.
            EXPECT_TRUE(fails_with([&] { st.encode_legacy(c.prompt, false); },
                                   DTM_ERR_INVALID_ARGUMENT, {"not good"}))
                << c.prompt;
            EXPECT_EQ(st.decode(st.encode(c.prompt, true)), c.prompt);
            continue;
        }
        const Tokens prompt(c.tokens.begin(), c.tokens.begin() + c.n_prompt_tokens);
        if (c.mode == "generate") {
            EXPECT_EQ(st.encode_legacy(c.prompt, false), prompt) << c.prompt;
        } else {
            EXPECT_EQ(st.encode(c.prompt, false), prompt) << c.prompt;
        }
    }
}

TEST(DefaultTokenizer, DecodesAsLlama2cPrints) {
    REQUIRE_STORIES();
    int checked = 0;
    for (const auto & c : golden()) {
        if (!c.error.empty()) continue;
        EXPECT_EQ(st.decode(with_bos(c.tokens)), c.text) << c.mode << " \"" << c.prompt << "\"";
        ++checked;
    }
    EXPECT_GE(checked, 10);
}

}  // namespace
