// fuzz_targets.cpp - the entry points of fuzz_targets.h.
#include "fuzz_targets.h"

#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <string_view>

#include "backend/cpu/cpu_backend.h"
#include "compress/candidate_file.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "fuzz_inputs.h"
#include "kernels/cpu/dispatch.h"
#include "model/hf_checkpoint.h"
#include "model/llama2c_file.h"
#include "model/mapped_file.h"
#include "model/safetensors_file.h"
#include "tokenizer/bpe_tokenizer.h"

namespace dtm::fuzz {

namespace {

[[noreturn]] void finding(const char * target, const std::string & what) {
    throw Finding(std::string(target) + ": " + what);
}

// Runs body(); a dtm::Error with one of the `documented` statuses and a
// message is the parser's documented refusal (false).
template <typename F>
bool expect_documented(const char * target, std::initializer_list<dtm_status> documented, F && body) {
    try {
        body();
        return true;
    } catch (const Error & e) {
        for (dtm_status s : documented) {
            if (e.status() != s) continue;
            if (std::strlen(e.what()) == 0) finding(target, "dtm::Error " + std::to_string(s) + " without a message");
            return false;
        }
        finding(target, "undocumented status " + std::to_string(e.status()) + ": " + e.what());
    }
}

// Reads every byte of [p, p + n): ASan stops the run if one is outside the input.
volatile uint8_t g_sink;
void touch(const void * p, size_t n) {
    const uint8_t * b = static_cast<const uint8_t *>(p);
    uint8_t acc = 0;
    for (size_t i = 0; i < n; ++i) acc ^= b[i];
    g_sink = acc;
}

// Runs the checks of what a parser accepted: a dtm::Error there is no refusal
// of the input but a finding.
template <typename F>
void accepted(const char * target, F && checks) {
    try {
        checks();
    } catch (const Error & e) {
        finding(target, std::string("checking an accepted input threw: ") + e.what());
    }
}

std::unique_ptr<MappedFile> bytes_of(const char * name, const uint8_t * data, size_t size) {
    return MappedFile::from_bytes(name, data, size);
}

// ---------------------------------------------------------------------------

void check_llama2c(const Llama2cFile & f, const uint8_t * file_data, size_t file_size) {
    const char * t = "llama2c_file";
    const ModelConfig & c = f.config;
    if (c.dim <= 0 || c.hidden_dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 ||
        c.vocab_size <= 0 || c.max_seq_len <= 0 || c.head_dim * c.n_heads != c.dim || c.n_heads % c.n_kv_heads != 0 ||
        c.head_dim % 2 != 0) {
        finding(t, "accepted an inconsistent header");
    }
    const WeightViews & w = f.weights;
    const size_t f4 = sizeof(float);
    const size_t dim = size_t(c.dim), hidden = size_t(c.hidden_dim), qd = size_t(c.q_dim()), kvd = size_t(c.kv_dim());
    const size_t vocab = size_t(c.vocab_size), half = size_t(c.head_dim / 2), seq = size_t(c.max_seq_len);
    if (reinterpret_cast<const uint8_t *>(w.token_embedding) != f.file->data() + 28) finding(t, "embedding not after the header");
    touch(w.token_embedding, vocab * dim * f4);
    if (w.layers.size() != size_t(c.n_layers)) finding(t, "wrong number of layers");
    for (const LayerWeightViews & l : w.layers) {
        touch(l.attn_norm, dim * f4);
        touch(l.wq, qd * dim * f4);
        touch(l.wk, kvd * dim * f4);
        touch(l.wv, kvd * dim * f4);
        touch(l.wo, dim * qd * f4);
        touch(l.mlp_norm, dim * f4);
        touch(l.w_gate, hidden * dim * f4);
        touch(l.w_down, dim * hidden * f4);
        touch(l.w_up, hidden * dim * f4);
    }
    touch(w.final_norm, dim * f4);
    touch(w.freq_cis_real, seq * half * f4);
    touch(w.freq_cis_imag, seq * half * f4);
    touch(w.classifier, vocab * dim * f4);
    // The layout has no padding and no trailer: the last tensor ends the file.
    const float * end = c.shared_classifier ? w.freq_cis_imag + seq * half : w.classifier + vocab * dim;
    if (reinterpret_cast<const uint8_t *>(end) != f.file->data() + file_size || f.file->size() != file_size ||
        std::memcmp(f.file->data(), file_data, file_size) != 0) {
        finding(t, "the tensors do not end where the file ends");
    }
}

// ---------------------------------------------------------------------------

void check_encodings(const BpeTokenizer & tok, const uint8_t * file, size_t file_size) {
    const char * t = "tokenizer_bin";
    std::vector<std::string> texts = {
        "", "Once upon a time, Lily and Ben went to the park.", " a  ab\tb\n", "\xC3\xA9t\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x99\x82",
        "\xFF\xFE\x80 \xC3 bad UTF-8 \xF0\x9F", std::string("nul\0inside", 10),
    };
    const size_t tail = file_size < 64 ? file_size : 64;  // the input's own bytes as text
    texts.emplace_back(reinterpret_cast<const char *>(file + file_size - tail), tail);
    for (const std::string & text : texts) {
        for (bool bos : {false, true}) {
            const std::vector<int32_t> ids = tok.encode(text, bos);
            for (int32_t id : ids) {
                if (id < 0 || id >= tok.vocab_size()) finding(t, "encode() gave token " + std::to_string(id) + " outside the vocabulary");
            }
            if (bos && (ids.empty() || ids[0] != tok.bos_id())) finding(t, "encode() with BOS does not start with BOS");
            tok.decode(ids);
            expect_documented(t, {DTM_ERR_INVALID_ARGUMENT}, [&] {
                for (int32_t id : tok.encode_legacy(text, bos)) {
                    if (id < 0 || id >= tok.vocab_size()) finding(t, "encode_legacy() gave a token outside the vocabulary");
                }
            });
        }
    }
    expect_documented(t, {DTM_ERR_TOKEN_OUT_OF_RANGE}, [&] { tok.decode_piece(1, tok.vocab_size()); });
    expect_documented(t, {DTM_ERR_TOKEN_OUT_OF_RANGE}, [&] { tok.decode_piece(1, -1); });
}

// ---------------------------------------------------------------------------

void check_safetensors(const SafetensorsFile & f, const uint8_t * data, size_t size) {
    const char * t = "safetensors_file";
    uint64_t header_len;
    std::memcpy(&header_len, data, sizeof(header_len));
    const uint8_t * next = f.tensors().empty() ? nullptr : f.tensors()[0].data;
    uint64_t covered = 0;
    for (const TensorView & v : f.tensors()) {
        if (v.data != next) finding(t, "tensor '" + v.name + "' does not start where the previous one ends");
        const size_t element = safetensors_dtype_size(v.dtype);
        if (element == 0) finding(t, "tensor '" + v.name + "' has unknown dtype " + v.dtype);
        if (uint64_t(v.n_elements()) * element != v.n_bytes) finding(t, "tensor '" + v.name + "': elements x dtype != bytes");
        if (f.find(v.name) != &v) finding(t, "find('" + v.name + "') is not the tensor");
        v.shape_text();
        touch(v.data, v.n_bytes);
        f.release(v);
        next = v.data + v.n_bytes;
        covered += v.n_bytes;
    }
    if (covered != size - 8 - header_len) finding(t, "the tensors do not cover the data buffer");
    for (const auto & [key, value] : f.metadata()) touch(value.data(), value.size());
    expect_documented(t, {DTM_ERR_MODEL_FORMAT}, [&] {
        f.require("\x01 no such tensor");
        finding(t, "require() of a missing tensor returned");
    });
}

// ---------------------------------------------------------------------------

bool same_float(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

std::string differences(const ModelConfig & a, const ModelConfig & b) {
    std::string d;
    auto field = [&](const char * name, bool same) {
        if (!same) d += std::string(d.empty() ? "" : ", ") + name;
    };
    field("dim", a.dim == b.dim);
    field("hidden_dim", a.hidden_dim == b.hidden_dim);
    field("n_layers", a.n_layers == b.n_layers);
    field("n_heads", a.n_heads == b.n_heads);
    field("n_kv_heads", a.n_kv_heads == b.n_kv_heads);
    field("head_dim", a.head_dim == b.head_dim);
    field("vocab_size", a.vocab_size == b.vocab_size);
    field("max_seq_len", a.max_seq_len == b.max_seq_len);
    field("rope_theta", same_float(a.rope_theta, b.rope_theta));
    field("norm_eps", same_float(a.norm_eps, b.norm_eps));
    field("shared_classifier", a.shared_classifier == b.shared_classifier);
    field("bos_id", a.bos_id == b.bos_id);
    field("eos_id", a.eos_id == b.eos_id);
    field("rope_scaling.kind", a.rope_scaling.kind == b.rope_scaling.kind);
    field("rope_scaling.factor", same_float(a.rope_scaling.factor, b.rope_scaling.factor));
    field("rope_scaling.low_freq_factor", same_float(a.rope_scaling.low_freq_factor, b.rope_scaling.low_freq_factor));
    field("rope_scaling.high_freq_factor", same_float(a.rope_scaling.high_freq_factor, b.rope_scaling.high_freq_factor));
    field("rope_scaling.original_max_pos", a.rope_scaling.original_max_pos == b.rope_scaling.original_max_pos);
    field("qkv_bias", a.qkv_bias == b.qkv_bias);
    field("o_bias", a.o_bias == b.o_bias);
    field("mlp_bias", a.mlp_bias == b.mlp_bias);
    return d;
}

// ---------------------------------------------------------------------------

// The replaced matrices of a candidate: the file's tensors, bitwise, and a
// forward pass on every kernel path this CPU runs.
void check_candidate(const Model & base, const Model & cand, const SafetensorsFile & file) {
    const char * t = "candidate_file";
    std::map<std::string, const TensorView *> in_file;
    for (const TensorView & v : file.tensors()) in_file[v.name] = &v;
    size_t matched = 0;
    ThreadPool pool(1);
    for (int32_t i = 0; i < int32_t(base.components().size()); ++i) {
        const std::shared_ptr<const Linear> lin = cand.linear(i);
        if (!lin || lin == base.linear(i)) continue;
        const ComponentInfo & ci = base.components()[size_t(i)];
        if (lin->rows() != ci.rows || lin->cols() != ci.cols) finding(t, ci.name + " has the wrong shape");
        for (const StoredTensor & s : lin->stored_tensors()) {
            const auto it = in_file.find(ci.name + "." + s.name);
            if (it == in_file.end()) finding(t, ci.name + " stores '" + s.name + "', which the file does not hold");
            const TensorView & v = *it->second;
            if (v.dtype != s.dtype || v.shape != s.shape || v.n_bytes != s.bytes.size() ||
                (v.n_bytes > 0 && std::memcmp(v.data, s.bytes.data(), v.n_bytes) != 0)) {
                finding(t, ci.name + "." + s.name + " is stored otherwise than the file holds it");
            }
            ++matched;
        }
        const int64_t nz = lin->nonzeros();
        if (nz < 0 || nz > ci.rows * ci.cols) finding(t, ci.name + ": nonzeros out of range");
        std::vector<float> dense(size_t(ci.rows * ci.cols));
        lin->dense_weights(dense.data());
        constexpr int64_t kTokens = 3;
        std::vector<float> x(size_t(kTokens * ci.cols));
        for (size_t k = 0; k < x.size(); ++k) x[k] = float(int(k % 13) - 6) * 0.25f;
        std::vector<float> y(size_t(kTokens * ci.rows));
        for (dtm_isa isa : {DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512}) {
            if (!cpu::isa_supported(isa)) continue;
            lin->forward(x.data(), ci.cols, y.data(), ci.rows, kTokens, cpu::CpuBackend(pool, cpu::kernels(isa)));
        }
    }
    if (matched != file.tensors().size()) finding(t, "the file holds tensors that no replaced matrix stores");
}

}  // namespace

// ---------------------------------------------------------------------------

bool llama2c_file(const uint8_t * data, size_t size) {
    const char * t = "llama2c_file";
    const bool ok = expect_documented(t, {DTM_ERR_MODEL_FORMAT, DTM_ERR_OUT_OF_MEMORY}, [&] {
        const Llama2cFile f = load_llama2c(bytes_of("fuzz-model.bin", data, size), false);
        accepted(t, [&] { check_llama2c(f, data, size); });
    });
    expect_documented(t, {DTM_ERR_MODEL_FORMAT, DTM_ERR_OUT_OF_MEMORY, DTM_ERR_NON_FINITE}, [&] {
        const Llama2cFile f = load_llama2c(bytes_of("fuzz-model.bin", data, size), true);
        accepted(t, [&] { check_llama2c(f, data, size); });
    });
    return ok;
}

bool tokenizer_bin(const uint8_t * data, size_t size) {
    const char * t = "tokenizer_bin";
    if (size < sizeof(int32_t)) return false;  // no vocab_size: not an input of this target
    int32_t vocab_size;
    std::memcpy(&vocab_size, data, sizeof(vocab_size));
    const uint8_t * file = data + sizeof(int32_t);
    const size_t file_size = size - sizeof(int32_t);
    return expect_documented(t, {DTM_ERR_TOKENIZER_FORMAT, DTM_ERR_INVALID_ARGUMENT}, [&] {
        const BpeTokenizer tok = BpeTokenizer::load(*bytes_of("fuzz-tokenizer.bin", file, file_size), vocab_size);
        if (tok.vocab_size() != vocab_size) finding(t, "loaded a vocabulary of another size");
        accepted(t, [&] { check_encodings(tok, file, file_size); });
    });
}

bool safetensors_file(const uint8_t * data, size_t size) {
    return expect_documented("safetensors_file", {DTM_ERR_MODEL_FORMAT}, [&] {
        const SafetensorsFile f(bytes_of("fuzz.safetensors", data, size));
        accepted("safetensors_file", [&] { check_safetensors(f, data, size); });
    });
}

bool hf_config(const uint8_t * data, size_t size) {
    const char * t = "hf_config";
    const std::string text(reinterpret_cast<const char *>(data), size);
    return expect_documented(t, {DTM_ERR_MODEL_FORMAT, DTM_ERR_UNSUPPORTED}, [&] {
        const ModelConfig c = parse_hf_config(text, "fuzz/config.json");
        if (c.dim <= 0 || c.hidden_dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 ||
            c.head_dim <= 0 || c.vocab_size <= 0 || c.max_seq_len <= 0 || c.n_heads % c.n_kv_heads != 0 ||
            c.head_dim % 2 != 0 || !(c.rope_theta > 0) || !(c.norm_eps > 0)) {
            finding(t, "accepted an inconsistent config");
        }
        const std::string written = hf_config_json(c);
        ModelConfig again;
        try {
            again = parse_hf_config(written, "fuzz/config.json written back");
        } catch (const Error & e) {
            finding(t, std::string("its own config.json is refused: ") + e.what());
        }
        const std::string d = differences(c, again);
        if (!d.empty()) finding(t, "written back and read again, the config differs in " + d);
    });
}

bool candidate_file(const uint8_t * data, size_t size) {
    const char * t = "candidate_file";
    const Model & base = candidate_base();
    return expect_documented(t, {DTM_ERR_MODEL_FORMAT, DTM_ERR_INVALID_ARGUMENT}, [&] {
        const SafetensorsFile file(bytes_of("fuzz-candidate.safetensors", data, size));
        const std::unique_ptr<Model> cand = compress::load_candidate(base, file);
        accepted(t, [&] { check_candidate(base, *cand, file); });
    });
}

const std::vector<Target> & targets() {
    static const std::vector<Target> all = {
        {"llama2c_file", &llama2c_file},
        {"tokenizer_bin", &tokenizer_bin},
        {"safetensors_file", &safetensors_file},
        {"hf_config", &hf_config},
        {"candidate_file", &candidate_file},
    };
    return all;
}

}  // namespace dtm::fuzz
