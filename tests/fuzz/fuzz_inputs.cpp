// fuzz_inputs.cpp - deterministic tiny llama2.c models and tokenizers.
#include "fuzz_inputs.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace dtm::fuzz {

namespace {

void put_i32(std::vector<uint8_t> & out, int32_t v) {
    uint8_t b[4];
    std::memcpy(b, &v, 4);
    out.insert(out.end(), b, b + 4);
}

void put_f32(std::vector<uint8_t> & out, float v) {
    uint8_t b[4];
    std::memcpy(b, &v, 4);
    out.insert(out.end(), b, b + 4);
}

// n values in [-0.1, 0.1) from a 64-bit LCG (Knuth's MMIX constants), or
// around 1 for norms: no library distribution, so no library dependence.
void put_values(std::vector<uint8_t> & out, uint64_t & state, int64_t n, bool norm) {
    for (int64_t i = 0; i < n; ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        const float u = float(state >> 40) / float(1 << 24);  // [0, 1), exact
        put_f32(out, norm ? 0.75f + 0.5f * u : 0.2f * u - 0.1f);
    }
}

void write_bytes(const std::string & path, const std::vector<uint8_t> & bytes) {
    std::FILE * f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) fail(DTM_ERR_IO, "cannot create '%s'", path.c_str());
    const bool ok = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !ok) fail(DTM_ERR_IO, "cannot write '%s'", path.c_str());
}

}  // namespace

std::vector<uint8_t> tiny_llama2c(const TinySpec & s) {
    std::vector<uint8_t> out;
    for (int32_t v : {s.dim, s.hidden_dim, s.n_layers, s.n_heads, s.n_kv_heads,
                      s.shared_classifier ? s.vocab_size : -s.vocab_size, s.seq_len}) {
        put_i32(out, v);
    }
    const int64_t dim = s.dim, hidden = s.hidden_dim, L = s.n_layers, head_dim = s.dim / s.n_heads;
    const int64_t kv = int64_t(s.n_kv_heads) * head_dim;
    uint64_t state = s.seed;
    put_values(out, state, int64_t(s.vocab_size) * dim, false);  // token_embedding
    put_values(out, state, L * dim, true);                        // rms_att_weight
    put_values(out, state, L * dim * dim, false);                 // wq
    put_values(out, state, L * kv * dim, false);                  // wk
    put_values(out, state, L * kv * dim, false);                  // wv
    put_values(out, state, L * dim * dim, false);                 // wo
    put_values(out, state, L * dim, true);                        // rms_ffn_weight
    put_values(out, state, L * hidden * dim, false);              // w1
    put_values(out, state, L * dim * hidden, false);              // w2
    put_values(out, state, L * hidden * dim, false);              // w3
    put_values(out, state, dim, true);                            // rms_final_weight
    put_values(out, state, 2 * int64_t(s.seq_len) * (head_dim / 2), false);  // freq_cis real, imag
    if (!s.shared_classifier) put_values(out, state, int64_t(s.vocab_size) * dim, false);  // wcls
    return out;
}

std::vector<uint8_t> tiny_tokenizer(int32_t vocab_size, bool raw_byte_tokens) {
    std::vector<std::string> pieces = {"<unk>", "\n<s>\n", "\n</s>\n"};
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        if (!raw_byte_tokens) {
            pieces.push_back(name);
        } else if (b < 0x80) {
            pieces.push_back(std::string(1, char(b)));
        } else {
            pieces.push_back({char(0xC0 | (b >> 6)), char(0x80 | (b & 0x3F))});
        }
    }
    const char * extra[] = {" ", "a", " a", "b", "ab", " ab", "Once", " upon", "e", "t"};
    for (size_t i = 0; pieces.size() < size_t(vocab_size); ++i) {
        pieces.push_back(i < sizeof(extra) / sizeof(extra[0]) ? std::string(extra[i]) : "p" + std::to_string(i));
    }
    std::vector<uint8_t> out;
    int32_t max_len = 0;
    for (const std::string & p : pieces) max_len = std::max(max_len, int32_t(p.size()));
    put_i32(out, max_len);
    for (size_t id = 0; id < pieces.size(); ++id) {
        put_f32(out, id < 259 ? 0.0f : -float(id - 259));
        put_i32(out, int32_t(pieces[id].size()));
        out.insert(out.end(), pieces[id].begin(), pieces[id].end());
    }
    return out;
}

std::unique_ptr<Model> load_tiny(const std::vector<uint8_t> & model, const std::vector<uint8_t> & tokenizer) {
    const char * tmp = std::getenv("TMPDIR");
    std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/dtm-fuzz-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) fail(DTM_ERR_IO, "cannot create a directory like '%s'", dir.c_str());
    const std::string model_path = dir + "/model.bin", tokenizer_path = dir + "/tokenizer.bin";
    const auto remove_all = [&] {
        ::unlink(model_path.c_str());
        ::unlink(tokenizer_path.c_str());
        ::rmdir(dir.c_str());
    };
    std::unique_ptr<Model> m;
    try {
        write_bytes(model_path, model);
        write_bytes(tokenizer_path, tokenizer);
        m = Model::load_llama2c(model_path, tokenizer_path, true);
    } catch (...) {
        remove_all();
        throw;
    }
    remove_all();  // the mapping outlives the names
    return m;
}

const Model & candidate_base() {
    static const std::unique_ptr<Model> base = load_tiny(tiny_llama2c(TinySpec{}), tiny_tokenizer(TinySpec{}.vocab_size));
    return *base;
}

}  // namespace dtm::fuzz
