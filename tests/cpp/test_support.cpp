// test_support.cpp - float bits and random values, models, sessions and
// logits through the C API, temporary directories, tiny llama2.c models and
// tokenizers written on the fly, and the golden data reader.
#include "test_support.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>

namespace dtm::test {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// Float bits and random values

float sentinel() {
    float f;
    std::memcpy(&f, &kSentinelBits, sizeof f);
    return f;
}

uint32_t bits_of(float v) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

bool bitwise_equal(const float * a, const float * b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

bool bitwise_equal(const std::vector<float> & a, const std::vector<float> & b) {
    return a.size() == b.size() && bitwise_equal(a.data(), b.data(), a.size());
}

std::vector<float> random_floats(size_t n, uint32_t seed, float lo, float hi) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float & f : v) f = dist(rng);
    return v;
}

std::vector<int8_t> random_int8(size_t n, uint32_t seed, int lo, int hi) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> dist(lo, hi);
    std::vector<int8_t> v(n);
    for (int8_t & q : v) q = static_cast<int8_t>(dist(rng));
    return v;
}

// ---------------------------------------------------------------------------
// Models and sessions through the C API

dtm_model * load_model(const std::string & path) {
    dtm_model * m = nullptr;
    EXPECT_EQ(dtm_model_load(path.c_str(), dtm_model_default_params(), &m), DTM_OK) << dtm_last_error();
    return m;
}

dtm_session * open_session(dtm_model * m, int isa, int threads, int max_batch, int max_seqs) {
    dtm_session_params p = dtm_session_default_params();
    p.isa = isa;
    p.n_threads = threads;
    p.max_batch_tokens = max_batch;
    p.max_sequences = max_seqs;
    dtm_session * s = nullptr;
    EXPECT_EQ(dtm_session_create(m, p, &s), DTM_OK) << dtm_last_error();
    return s;
}

std::vector<float> score_logits(dtm_session * s, const std::vector<std::vector<int32_t>> & seqs, int vocab) {
    std::vector<int32_t> flat, lens;
    for (const auto & q : seqs) {
        flat.insert(flat.end(), q.begin(), q.end());
        lens.push_back(int32_t(q.size()));
    }
    std::vector<float> logits(flat.size() * size_t(vocab));
    dtm_score_outputs out{};
    out.logits = logits.data();
    EXPECT_EQ(dtm_score(s, flat.data(), lens.data(), int32_t(seqs.size()), out), DTM_OK) << dtm_last_error();
    return logits;
}

std::vector<float> decode_logits(dtm_session * s, const std::vector<int32_t> & seq, int vocab) {
    EXPECT_EQ(dtm_session_reset(s), DTM_OK);
    std::vector<float> logits(seq.size() * size_t(vocab));
    for (size_t i = 0; i < seq.size(); ++i) {
        EXPECT_EQ(dtm_session_decode(s, seq[i], &logits[i * size_t(vocab)]), DTM_OK) << dtm_last_error();
    }
    return logits;
}

// ---------------------------------------------------------------------------
// Files and temporary directories

namespace {

// Directories made by temp_dir(), removed by an atexit handler.
struct TempDirs {
    std::mutex mutex;
    std::vector<std::string> paths;
};

TempDirs & temp_dirs() {
    static TempDirs * dirs = new TempDirs();  // never destroyed: used from atexit
    return *dirs;
}

void remove_temp_dirs() {
    TempDirs & dirs = temp_dirs();
    std::lock_guard<std::mutex> lock(dirs.mutex);
    for (const std::string & path : dirs.paths) {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    dirs.paths.clear();
}

}  // namespace

ScopedEnv::ScopedEnv(const char * name, const char * value) : name_(name) {
    const char * old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value) {
        ::setenv(name, value, 1);
    } else {
        ::unsetenv(name);
    }
}

ScopedEnv::~ScopedEnv() {
    if (had_) {
        ::setenv(name_.c_str(), old_.c_str(), 1);
    } else {
        ::unsetenv(name_.c_str());
    }
}

std::string temp_dir() {
    const char * base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/dtm-test-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed for " + pattern + ": " + std::strerror(errno));
    }
    TempDirs & dirs = temp_dirs();
    std::lock_guard<std::mutex> lock(dirs.mutex);
    if (dirs.paths.empty()) {
        static bool registered = (std::atexit(remove_temp_dirs), true);
        (void)registered;
    }
    dirs.paths.emplace_back(buffer.data());
    return dirs.paths.back();
}

void write_file(const std::string & path, const std::vector<uint8_t> & bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<uint8_t> read_file(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// ---------------------------------------------------------------------------
// Tiny models

namespace {

// splitmix64: small, fast and the same on every platform.
class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [-1, 1), a multiple of 2^-23.
    float uniform() { return float(int64_t(next() >> 40) - (int64_t(1) << 23)) / float(1 << 23); }

private:
    uint64_t state_;
};

class ByteWriter {
public:
    void i32(int32_t v) { raw(&v, sizeof(v)); }
    void f32(float v) { raw(&v, sizeof(v)); }
    void bytes(const std::string & s) { raw(s.data(), s.size()); }
    std::vector<uint8_t> take() { return std::move(out_); }

private:
    void raw(const void * p, size_t n) {
        const uint8_t * b = static_cast<const uint8_t *>(p);
        out_.insert(out_.end(), b, b + n);
    }
    std::vector<uint8_t> out_;
};

void random_matrix(ByteWriter & w, Rng & rng, int64_t n, float scale) {
    for (int64_t i = 0; i < n; ++i) w.f32(scale * rng.uniform());
}

// RMSNorm weights near 1, so activations keep their size.
void random_norm(ByteWriter & w, Rng & rng, int64_t n, float scale) {
    for (int64_t i = 0; i < n; ++i) w.f32(1.0f + scale * rng.uniform());
}

// The RoPE tables the llama2.c export writes: cos and sin of pos * theta_i,
// theta_i = 10000^(-2i/head_dim).
void rope_table(ByteWriter & w, int32_t seq_len, int32_t head_dim, bool sine) {
    for (int32_t pos = 0; pos < seq_len; ++pos) {
        for (int32_t i = 0; i < head_dim / 2; ++i) {
            const double theta = std::pow(10000.0, -2.0 * i / head_dim);
            w.f32(float(sine ? std::sin(pos * theta) : std::cos(pos * theta)));
        }
    }
}

// The tiny tokenizer's pieces from id 259: a space and single characters
// (scores below every merge), then merges, each the concatenation of two
// earlier pieces, best first. "é" has a piece; other non-ASCII characters
// fall back to bytes.
std::vector<std::pair<std::string, float>> tiny_pieces() {
    std::vector<std::pair<std::string, float>> pieces;
    std::vector<std::string> singles = {" "};
    for (char c = 'a'; c <= 'z'; ++c) singles.emplace_back(1, c);
    for (const char * s : {".", ",", "!", "H", "T", "\xC3\xA9"}) singles.emplace_back(s);
    for (size_t i = 0; i < singles.size(); ++i) pieces.emplace_back(singles[i], -100.0f - float(i));
    const char * merges[] = {" t", "he", " the", "in", "ng", "ing", " a", "er"};
    float score = -1.0f;
    for (const char * m : merges) pieces.emplace_back(m, score--);
    return pieces;
}

}  // namespace

std::vector<uint8_t> tiny_model_bytes(const TinyModelSpec & spec) {
    const int64_t dim = spec.dim, hidden = spec.hidden_dim, layers = spec.n_layers;
    const int32_t head_dim = spec.dim / spec.n_heads;
    const int64_t q_dim = int64_t(spec.n_heads) * head_dim;
    const int64_t kv_dim = int64_t(spec.n_kv_heads) * head_dim;
    const int64_t vocab = spec.vocab_size;
    const float s = spec.weight_scale;
    Rng rng(spec.seed);
    ByteWriter w;
    for (int32_t v : {spec.dim, spec.hidden_dim, spec.n_layers, spec.n_heads, spec.n_kv_heads,
                      spec.shared_classifier ? spec.vocab_size : -spec.vocab_size, spec.seq_len}) {
        w.i32(v);
    }
    random_matrix(w, rng, vocab * dim, s);         // token_embedding (vocab, dim)
    random_norm(w, rng, layers * dim, s);          // rms_att_weight (layer, dim)
    random_matrix(w, rng, layers * q_dim * dim, s);   // wq (layer, q_dim, dim)
    random_matrix(w, rng, layers * kv_dim * dim, s);  // wk (layer, kv_dim, dim)
    random_matrix(w, rng, layers * kv_dim * dim, s);  // wv (layer, kv_dim, dim)
    random_matrix(w, rng, layers * dim * q_dim, s);   // wo (layer, dim, q_dim)
    random_norm(w, rng, layers * dim, s);          // rms_ffn_weight (layer, dim)
    random_matrix(w, rng, layers * hidden * dim, s);  // w1 (layer, hidden, dim)
    random_matrix(w, rng, layers * dim * hidden, s);  // w2 (layer, dim, hidden)
    random_matrix(w, rng, layers * hidden * dim, s);  // w3 (layer, hidden, dim)
    random_norm(w, rng, dim, s);                   // rms_final_weight (dim)
    rope_table(w, spec.seq_len, head_dim, false);  // freq_cis_real (seq_len, head_dim/2)
    rope_table(w, spec.seq_len, head_dim, true);   // freq_cis_imag (seq_len, head_dim/2)
    if (!spec.shared_classifier) random_matrix(w, rng, vocab * dim, s);  // wcls (vocab, dim)
    return w.take();
}

std::vector<uint8_t> tokenizer_bytes(const std::vector<std::pair<std::string, float>> & pieces,
                                     bool raw_byte_tokens) {
    std::vector<std::pair<std::string, float>> entries = {
        {"<unk>", 0.0f}, {"\n<s>\n", 0.0f}, {"\n</s>\n", 0.0f}};
    for (unsigned b = 0; b < 256; ++b) {
        std::string name;
        if (!raw_byte_tokens) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
            name = buf;
        } else if (b < 0x80) {
            name = std::string(1, char(b));
        } else {
            name = {char(0xC0 | (b >> 6)), char(0x80 | (b & 0x3F))};
        }
        entries.emplace_back(name, 0.0f);
    }
    entries.insert(entries.end(), pieces.begin(), pieces.end());
    int32_t max_len = 0;
    for (const auto & e : entries) max_len = std::max<int32_t>(max_len, int32_t(e.first.size()));
    ByteWriter w;
    w.i32(max_len);
    for (const auto & e : entries) {
        w.f32(e.second);
        w.i32(int32_t(e.first.size()));
        w.bytes(e.first);
    }
    return w.take();
}

std::vector<uint8_t> tiny_tokenizer_bytes(int32_t vocab_size) {
    if (vocab_size < 259) throw std::invalid_argument("a tokenizer needs vocab_size >= 259");
    std::vector<std::pair<std::string, float>> pieces = tiny_pieces();
    const size_t n = size_t(vocab_size - 259);
    if (pieces.size() > n) pieces.resize(n);
    for (size_t i = pieces.size(); i < n; ++i) {
        pieces.emplace_back("<extra_" + std::to_string(i) + ">", -1000.0f - float(i));
    }
    return tokenizer_bytes(pieces);
}

std::string write_tiny_model(const std::string & dir, const TinyModelSpec & spec) {
    const std::string model = dir + "/model.bin";
    write_file(model, tiny_model_bytes(spec));
    write_file(dir + "/tokenizer.bin", tiny_tokenizer_bytes(spec.vocab_size));
    return model;
}

std::string default_model_dir() {
    const char * dir = std::getenv("DTM_MODEL_DIR");
    if (dir == nullptr || *dir == '\0') return "";
    const std::string d(dir);
    if (!fs::is_regular_file(d + "/stories15M.bin") || !fs::is_regular_file(d + "/tokenizer.bin")) {
        return "";
    }
    return d;
}

std::string test_data_file(const std::string & name) {
    const char * dir = std::getenv("DTM_TEST_DATA_DIR");
    if (dir != nullptr && *dir != '\0') return std::string(dir) + "/" + name;
    // This file is tests/cpp/test_support.cpp; the data are in tests/data.
    return (fs::path(__FILE__).parent_path().parent_path() / "data" / name).string();
}

// ---------------------------------------------------------------------------
// A small JSON reader, enough for the golden file: objects, arrays, strings
// (with \uXXXX escapes and surrogate pairs), numbers, true, false, null.

namespace {

struct Json {
    enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
    bool boolean = false;
    double number = 0;
    std::string string;
    std::vector<Json> items;                            // array
    std::vector<std::pair<std::string, Json>> members;  // object, in file order

    const Json * find(const std::string & key) const {
        for (const auto & m : members) {
            if (m.first == key) return &m.second;
        }
        return nullptr;
    }
};

class JsonParser {
public:
    explicit JsonParser(const std::string & text) : s_(text) {}

    Json parse_document() {
        Json v = value();
        skip_space();
        if (i_ != s_.size()) error("trailing characters");
        return v;
    }

private:
    [[noreturn]] void error(const std::string & what) const {
        throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(i_));
    }
    void skip_space() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
    }
    char peek() {
        skip_space();
        if (i_ >= s_.size()) error("unexpected end");
        return s_[i_];
    }
    void expect(char c) {
        if (peek() != c) error(std::string("expected '") + c + "'");
        ++i_;
    }
    bool literal(const char * word) {
        const size_t n = std::strlen(word);
        if (s_.compare(i_, n, word) != 0) return false;
        i_ += n;
        return true;
    }

    Json value() {
        Json v;
        const char c = peek();
        if (c == '{') {
            v.kind = Json::kObject;
            ++i_;
            if (peek() == '}') { ++i_; return v; }
            for (;;) {
                std::string key = string_literal();
                expect(':');
                v.members.emplace_back(std::move(key), value());
                if (peek() == ',') { ++i_; continue; }
                expect('}');
                return v;
            }
        }
        if (c == '[') {
            v.kind = Json::kArray;
            ++i_;
            if (peek() == ']') { ++i_; return v; }
            for (;;) {
                v.items.push_back(value());
                if (peek() == ',') { ++i_; continue; }
                expect(']');
                return v;
            }
        }
        if (c == '"') {
            v.kind = Json::kString;
            v.string = string_literal();
            return v;
        }
        if (literal("true")) { v.kind = Json::kBool; v.boolean = true; return v; }
        if (literal("false")) { v.kind = Json::kBool; return v; }
        if (literal("null")) return v;
        v.kind = Json::kNumber;
        const char * start = s_.c_str() + i_;
        char * end = nullptr;
        v.number = std::strtod(start, &end);
        if (end == start) error("bad value");
        i_ += size_t(end - start);
        return v;
    }

    unsigned hex4() {
        if (i_ + 4 > s_.size()) error("short \\u escape");
        const std::string digits = s_.substr(i_, 4);
        i_ += 4;
        char * end = nullptr;
        const unsigned long v = std::strtoul(digits.c_str(), &end, 16);
        if (end != digits.c_str() + 4) error("bad \\u escape");
        return unsigned(v);
    }

    static void append_utf8(std::string & out, uint32_t cp) {
        if (cp < 0x80) {
            out += char(cp);
        } else if (cp < 0x800) {
            out += char(0xC0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += char(0xE0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        } else {
            out += char(0xF0 | (cp >> 18));
            out += char(0x80 | ((cp >> 12) & 0x3F));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        }
    }

    std::string string_literal() {
        expect('"');
        std::string out;
        for (;;) {
            if (i_ >= s_.size()) error("unterminated string");
            const char c = s_[i_++];
            if (c == '"') return out;
            if (c != '\\') { out += c; continue; }
            if (i_ >= s_.size()) error("unterminated escape");
            const char e = s_[i_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    uint32_t cp = hex4();
                    if (cp >= 0xD800 && cp < 0xDC00 && s_.compare(i_, 2, "\\u") == 0) {
                        i_ += 2;
                        const uint32_t low = hex4();
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, cp);
                    break;
                }
                default: error("bad escape");
            }
        }
    }

    const std::string & s_;
    size_t i_ = 0;
};

const Json & member(const Json & object, const std::string & key) {
    const Json * v = object.find(key);
    if (v == nullptr) throw std::runtime_error("golden file: missing \"" + key + "\"");
    return *v;
}

// "text_hex" holds the exact bytes when they are not valid UTF-8.
std::string from_hex(const std::string & hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        out += char(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    return out;
}

}  // namespace

std::vector<GoldenCase> read_llama2c_golden(const std::string & path) {
    const std::vector<uint8_t> bytes = read_file(path);
    const Json doc = JsonParser(std::string(bytes.begin(), bytes.end())).parse_document();
    if (member(doc, "format").string != "dtm-llama2c-golden/1") {
        throw std::runtime_error(path + ": unknown format \"" + member(doc, "format").string + "\"");
    }
    std::vector<GoldenCase> cases;
    for (const Json & c : member(doc, "cases").items) {
        GoldenCase g;
        g.prompt = member(c, "prompt").string;
        g.mode = member(c, "mode").string;
        if (const Json * error = c.find("error")) {
            g.error = error->string;
        } else {
            g.n_prompt_tokens = int32_t(member(c, "n_prompt_tokens").number);
            for (const Json & t : member(c, "tokens").items) g.tokens.push_back(int32_t(t.number));
            g.text = member(c, "text").string;
            if (const Json * hex = c.find("text_hex")) g.text = from_hex(hex->string);
        }
        cases.push_back(std::move(g));
    }
    return cases;
}

}  // namespace dtm::test
