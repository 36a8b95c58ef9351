// make_seeds.cpp - writes the seed corpora of the fuzz harnesses.
//
//   fuzz_make_seeds OUT [MODEL_DIR]
//
// writes OUT/<target>/<name> for every target of fuzz_targets.h: real files
// of tiny deterministic models (fuzz_inputs.h) as dtm writes them (llama2.c
// files, tokenizer.bin, their Hugging Face conversion, candidate files in
// every storage format), and, given MODEL_DIR (the default model's
// directory, with stories15M.bin and tokenizer.bin), seeds cut from the
// default model: its header with the first weights, its tokenizer's first
// 512 entries, the safetensors header and config.json of its
// conversion. The tiny seeds are also committed (tests/fuzz/corpus), so that
// the regression test replays them without the model; scripts/fuzz writes
// the rest into the build directory.
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "compress/candidate_file.h"
#include "compress/compress.h"
#include "core/error.h"
#include "fuzz_inputs.h"
#include "kernels/cpu/quant_math.h"
#include "model/hf_checkpoint.h"
#include "model/llama2c_file.h"

namespace {

using namespace dtm;
using namespace dtm::fuzz;
using Bytes = std::vector<uint8_t>;

std::string g_out;

void make_dir(const std::string & path) {
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) fail(DTM_ERR_IO, "cannot create '%s'", path.c_str());
}

Bytes read_bytes(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(DTM_ERR_IO, "cannot open '%s'", path.c_str());
    std::stringstream s;
    s << in.rdbuf();
    const std::string text = s.str();
    return Bytes(text.begin(), text.end());
}

void seed(const std::string & target, const std::string & name, const Bytes & bytes) {
    make_dir(g_out + "/" + target);
    const std::string path = g_out + "/" + target + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) fail(DTM_ERR_IO, "cannot write '%s'", path.c_str());
    std::printf("%s/%s %zu bytes\n", target.c_str(), name.c_str(), bytes.size());
}

Bytes with_vocab(int32_t vocab_size, const Bytes & tokenizer) {
    uint8_t prefix[4];
    std::memcpy(prefix, &vocab_size, 4);
    Bytes out(tokenizer);
    out.insert(out.begin(), prefix, prefix + 4);
    return out;
}

// A temporary directory for files dtm writes by path; removed by the caller.
std::string temp_dir() {
    const char * tmp = std::getenv("TMPDIR");
    std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/dtm-seeds-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) fail(DTM_ERR_IO, "cannot create a temporary directory");
    return dir;
}

// The Hugging Face conversion of `m`: (config.json, model.safetensors).
std::pair<Bytes, Bytes> hf_files(const Model & m) {
    const std::string dir = temp_dir();
    save_hf_checkpoint(m, dir);
    std::pair<Bytes, Bytes> out{read_bytes(dir + "/config.json"), read_bytes(dir + "/model.safetensors")};
    ::unlink((dir + "/config.json").c_str());
    ::unlink((dir + "/model.safetensors").c_str());
    ::rmdir(dir.c_str());
    return out;
}

Bytes candidate_bytes(const Model & cand, const Model & base) {
    const std::string dir = temp_dir();
    const std::string path = dir + "/candidate.safetensors";
    compress::export_candidate(cand, base, path);
    Bytes out = read_bytes(path);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
    return out;
}

int32_t component(const Model & m, const std::string & name) {
    for (size_t i = 0; i < m.components().size(); ++i) {
        if (m.components()[i].name == name) return int32_t(i);
    }
    fail(DTM_ERR_INTERNAL, "no component %s", name.c_str());
}

std::shared_ptr<const Linear> compressed(const Model & m, int32_t index, int32_t kind, float sparsity = 0.5f) {
    dtm_compression spec{};
    spec.kind = kind;
    spec.sparsity = sparsity;
    return compress::compress_linear(*m.linear(index), spec, nullptr);
}

std::shared_ptr<const Linear> half(const Model & m, int32_t index, cpu::HalfKind kind) {
    const ComponentInfo & ci = m.components()[size_t(index)];
    std::vector<float> w(size_t(ci.rows * ci.cols));
    m.linear(index)->dense_weights(w.data());
    std::vector<uint16_t> h(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
        uint32_t bits;
        std::memcpy(&bits, &w[i], 4);
        h[i] = kind == cpu::HalfKind::kBf16 ? uint16_t(bits >> 16) : cpu::fp32_to_fp16(w[i]);
    }
    return HalfLinear::from_rows(h.data(), ci.rows, ci.cols, kind);
}

void tiny_seeds() {
    // llama2.c files: tied and separate head, GQA, two layers, a NaN.
    TinySpec small{8, 16, 1, 2, 1, 8, 4, true, 7};
    seed("llama2c_file", "tiny_tied.bin", tiny_llama2c(small));
    TinySpec separate{8, 12, 2, 2, 2, 6, 2, false, 8};
    seed("llama2c_file", "tiny_separate_head.bin", tiny_llama2c(separate));
    Bytes nan = tiny_llama2c(small);
    const float not_a_number = std::nanf("");
    std::memcpy(nan.data() + 28 + 4 * (8 * 8 + 8 + 5), &not_a_number, 4);  // in wq of layer 0
    seed("llama2c_file", "tiny_nan.bin", nan);

    // tokenizer.bin: <0xXX> byte tokens; the early export's raw byte tokens.
    seed("tokenizer_bin", "tiny_260.bin", with_vocab(260, tiny_tokenizer(260)));
    seed("tokenizer_bin", "tiny_300.bin", with_vocab(300, tiny_tokenizer(300)));
    seed("tokenizer_bin", "tiny_raw_byte_tokens.bin", with_vocab(270, tiny_tokenizer(270, true)));

    // Hugging Face conversions of tiny models (tied; separate head, GQA).
    const std::unique_ptr<Model> tied = load_tiny(tiny_llama2c({8, 16, 1, 2, 1, 260, 4, true, 9}), tiny_tokenizer(260));
    const std::unique_ptr<Model> sep = load_tiny(tiny_llama2c({8, 16, 1, 4, 2, 260, 4, false, 10}), tiny_tokenizer(260));
    for (const auto & [name, m] : {std::pair<const char *, const Model *>{"tiny_tied", tied.get()}, {"tiny_separate_head", sep.get()}}) {
        const auto [config, tensors] = hf_files(*m);
        seed("hf_config", std::string(name) + ".json", config);
        seed("safetensors_file", std::string(name) + ".safetensors", tensors);
    }

    // Candidate files on the harness's base, one per storage format, and one with many.
    const Model & base = candidate_base();
    const std::string layer = "model.layers.0.";
    const int32_t q = component(base, layer + "self_attn.q_proj"), k = component(base, layer + "self_attn.k_proj");
    const int32_t v = component(base, layer + "self_attn.v_proj"), o = component(base, layer + "self_attn.o_proj");
    const int32_t gate = component(base, layer + "mlp.gate_proj"), up = component(base, layer + "mlp.up_proj");
    const int32_t down = component(base, layer + "mlp.down_proj"), head = component(base, "lm_head");
    std::vector<float> scaled(size_t(base.components()[size_t(o)].rows * base.components()[size_t(o)].cols));
    base.linear(o)->dense_weights(scaled.data());
    for (float & w : scaled) w *= 0.5f;
    const std::shared_ptr<const Linear> fp32 = DenseLinear::from_rows(scaled.data(), base.components()[size_t(o)].rows,
                                                                     base.components()[size_t(o)].cols);
    const std::vector<std::pair<const char *, std::vector<std::pair<int32_t, std::shared_ptr<const Linear>>>>> candidates = {
        {"fp32_o_proj", {{o, fp32}}},
        {"sparse_q_proj", {{q, compressed(base, q, DTM_COMPRESS_PRUNE_MAGNITUDE, 0.8f)}}},
        {"sparse_2_4_k_proj", {{k, compressed(base, k, DTM_COMPRESS_PRUNE_N_M)}}},
        {"int8_v_proj", {{v, compressed(base, v, DTM_COMPRESS_INT8)}}},
        {"int8_outlier_o_proj", {{o, compressed(base, o, DTM_COMPRESS_INT8_OUTLIER)}}},
        {"int8_weight_gate_proj", {{gate, compressed(base, gate, DTM_COMPRESS_INT8_WEIGHT)}}},
        {"q8_0_up_proj", {{up, compressed(base, up, DTM_COMPRESS_Q8_0)}}},
        {"q4_0_down_proj", {{down, compressed(base, down, DTM_COMPRESS_Q4_0)}}},
        {"bf16_q_proj", {{q, half(base, q, cpu::HalfKind::kBf16)}}},
        {"fp16_k_proj", {{k, half(base, k, cpu::HalfKind::kFp16)}}},
        {"q8_0_lm_head", {{head, compressed(base, head, DTM_COMPRESS_Q8_0)}}},
        {"mixed", {{q, compressed(base, q, DTM_COMPRESS_PRUNE_MAGNITUDE, 0.9f)},
                   {v, compressed(base, v, DTM_COMPRESS_INT8_WEIGHT)},
                   {down, compressed(base, down, DTM_COMPRESS_Q8_0)}}},
    };
    for (const auto & [name, replacements] : candidates) {
        const Bytes bytes = candidate_bytes(*base.with_linears(replacements), base);
        seed("candidate_file", std::string(name) + ".safetensors", bytes);
        if (std::string(name) == "mixed") seed("safetensors_file", "candidate_mixed.safetensors", bytes);
    }
}

// Byte offset of the end of entry n of a tokenizer.bin (4-byte header, then
// score, length, bytes per entry).
size_t end_of_entries(const Bytes & tokenizer, int32_t n) {
    size_t pos = 4;
    for (int32_t i = 0; i < n; ++i) {
        int32_t length;
        std::memcpy(&length, tokenizer.data() + pos + 4, 4);
        pos += 8 + size_t(length);
    }
    return pos;
}

void default_model_seeds(const std::string & dir) {
    const std::string model_path = dir + "/stories15M.bin", tokenizer_path = dir + "/tokenizer.bin";
    const Bytes model = read_bytes(model_path);
    seed("llama2c_file", "stories15M_truncated.bin", Bytes(model.begin(), model.begin() + 28 + 4096));

    const Bytes tokenizer = read_bytes(tokenizer_path);
    // Not the whole file (32000 entries, 432 KB): at a few hundred executions
    // a second it would hold the harness to a crawl; its first 512 entries
    // have the same kinds of entries (raw byte tokens, real pieces and scores).
    const size_t end = end_of_entries(tokenizer, 512);
    seed("tokenizer_bin", "stories15M_first512.bin", with_vocab(512, Bytes(tokenizer.begin(), tokenizer.begin() + end)));

    const std::unique_ptr<Model> m = Model::load_llama2c(model_path, tokenizer_path, false);
    const auto [config, tensors] = hf_files(*m);
    seed("hf_config", "stories15M.json", config);
    uint64_t header_len;
    std::memcpy(&header_len, tensors.data(), 8);
    seed("safetensors_file", "stories15M_header.safetensors", Bytes(tensors.begin(), tensors.begin() + 8 + header_len));
}

}  // namespace

int main(int argc, char ** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: fuzz_make_seeds OUT [MODEL_DIR]\n");
        return 2;
    }
    try {
        g_out = argv[1];
        make_dir(g_out);
        tiny_seeds();
        if (argc == 3) default_model_seeds(argv[2]);
    } catch (const std::exception & e) {
        std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
