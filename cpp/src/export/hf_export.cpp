#include "export/hf_export.h"

#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/version.h"
#include "export/tied_head.h"
#include "kernels/cpu/quant_math.h"
#include "model/hf_checkpoint.h"
#include "model/model.h"
#include "model/safetensors_file.h"

namespace dtm {

namespace {

enum class Dtype { kF32, kBF16, kF16 };

const char * dtype_name(Dtype d) { return d == Dtype::kF32 ? "F32" : d == Dtype::kBF16 ? "BF16" : "F16"; }
const char * torch_dtype(Dtype d) { return d == Dtype::kF32 ? "float32" : d == Dtype::kBF16 ? "bfloat16" : "float16"; }

const char * format_name(dtm_weight_format f) {
    switch (f) {
        case DTM_FORMAT_FP32: return "fp32";
        case DTM_FORMAT_SPARSE: return "sparse";
        case DTM_FORMAT_INT8: return "int8";
        case DTM_FORMAT_INT8_OUTLIER: return "int8-outlier";
        case DTM_FORMAT_INT8_WEIGHT: return "int8-weight";
        case DTM_FORMAT_Q8_0: return "q8_0";
        case DTM_FORMAT_Q4_0: return "q4_0";
        case DTM_FORMAT_FP16: return "fp16";
        case DTM_FORMAT_BF16: return "bf16";
    }
    return "unknown";
}

// For each Hugging Face row of a q/k tensor of `heads` heads, the engine row
// it comes from (rope_rows_to_hf applied to the row indices themselves).
std::vector<int64_t> hf_row_sources(int32_t heads, int32_t head_dim) {
    const int64_t rows = int64_t(heads) * head_dim;
    std::vector<float> index(static_cast<size_t>(rows)), permuted(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) index[size_t(r)] = float(r);  // exact: rows < 2^24
    rope_rows_to_hf(index.data(), permuted.data(), heads, head_dim, 1);
    std::vector<int64_t> sources(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) sources[size_t(r)] = int64_t(permuted[size_t(r)]);
    return sources;
}

// Rows of `row_bytes` bytes reordered: out row r = in row sources[r] (no-op when sources is empty).
std::vector<uint8_t> reorder_rows(std::vector<uint8_t> in, const std::vector<int64_t> & sources, size_t row_bytes) {
    if (sources.empty()) return in;
    std::vector<uint8_t> out(in.size());
    for (size_t r = 0; r < sources.size(); ++r) {
        std::memcpy(out.data() + r * row_bytes, in.data() + size_t(sources[r]) * row_bytes, row_bytes);
    }
    return out;
}

// fp32 values in `dtype` when every value is exact in it, else in F32.
std::pair<Dtype, std::vector<uint8_t>> encode(const float * v, int64_t n, Dtype dtype) {
    if (dtype != Dtype::kF32) {
        std::vector<uint8_t> out(size_t(n) * 2);
        bool exact = true;
        for (int64_t i = 0; i < n && exact; ++i) {
            uint32_t bits;
            std::memcpy(&bits, &v[i], 4);
            uint16_t h;
            if (dtype == Dtype::kBF16) {
                exact = (bits & 0xffffu) == 0;
                h = uint16_t(bits >> 16);
            } else {
                h = cpu::fp32_to_fp16(v[i]);
                const float back = cpu::fp16_to_fp32(h);
                exact = std::memcmp(&back, &v[i], 4) == 0;
            }
            std::memcpy(out.data() + 2 * i, &h, 2);
        }
        if (exact) return {dtype, std::move(out)};
    }
    std::vector<uint8_t> out(size_t(n) * 4);
    if (n > 0) std::memcpy(out.data(), v, out.size());
    return {Dtype::kF32, std::move(out)};
}

const StoredTensor & stored(const std::vector<StoredTensor> & tensors, const char * name) {
    for (const StoredTensor & t : tensors) {
        if (t.name == name) return t;
    }
    fail(DTM_ERR_INTERNAL, "a stored matrix has no '%s' tensor", name);
}

// Tensors collected for write_safetensors; the views point into `storage`.
struct Tensors {
    std::vector<std::vector<uint8_t>> storage;
    std::vector<TensorView> views;

    void add(const std::string & name, const char * dtype, std::vector<int64_t> shape, std::vector<uint8_t> bytes) {
        storage.push_back(std::move(bytes));
        const std::vector<uint8_t> & b = storage.back();
        views.push_back({name, dtype, std::move(shape), b.data(), b.size()});
    }
    // fp32 values (rows x cols, engine row order) as the checkpoint's dtype allows.
    void add_floats(const std::string & name, std::vector<int64_t> shape, const float * v, int64_t rows, int64_t cols,
                    Dtype dtype, const std::vector<int64_t> & row_sources) {
        auto [d, bytes] = encode(v, rows * cols, dtype);
        const size_t row_bytes = size_t(cols) * (d == Dtype::kF32 ? 4 : 2);
        add(name, dtype_name(d), std::move(shape), reorder_rows(std::move(bytes), row_sources, row_bytes));
    }
};

// The checks before anything is written (see hf_export.h).
void check_exportable(const Model & model) {
    const std::vector<ComponentInfo> & components = model.components();
    for (int32_t i = 0; i < int32_t(components.size()); ++i) {
        std::shared_ptr<const Linear> lin = model.linear(i);
        if (!lin) continue;
        const dtm_weight_format f = lin->format();
        const std::string & name = components[size_t(i)].name;
        if (f == DTM_FORMAT_INT8_OUTLIER || f == DTM_FORMAT_INT8_WEIGHT || f == DTM_FORMAT_Q8_0 || f == DTM_FORMAT_Q4_0) {
            fail(DTM_ERR_UNSUPPORTED,
                 "%s is %s, which no compressed-tensors scheme holds as dtm runs it (the Hugging Face export "
                 "takes fp32, fp16, bf16, pruned and naive int8 matrices; export it as GGUF instead)",
                 name.c_str(), format_name(f));
        }
        if (f == DTM_FORMAT_INT8 && components[size_t(i)].kind == DTM_COMPONENT_LM_HEAD) {
            fail(DTM_ERR_UNSUPPORTED, "lm_head is int8: vLLM runs the output head unquantized, so compressed-tensors "
                                      "has no int8 lm_head to write");
        }
    }
    // vLLM fuses q/k/v and gate/up into one matrix each: one scheme per group.
    const int32_t groups[][3] = {{DTM_COMPONENT_Q_PROJ, DTM_COMPONENT_K_PROJ, DTM_COMPONENT_V_PROJ},
                                 {DTM_COMPONENT_GATE_PROJ, DTM_COMPONENT_UP_PROJ, -1}};
    for (int32_t l = 0; l < model.config().n_layers; ++l) {
        for (const auto & group : groups) {
            int n_int8 = 0, n = 0;
            for (int32_t k : group) {
                if (k < 0) continue;
                ++n;
                n_int8 += model.layer(l).slot(k)->format() == DTM_FORMAT_INT8 ? 1 : 0;
            }
            if (n_int8 != 0 && n_int8 != n) {
                const int32_t first = l * Model::kComponentsPerLayer + group[0];
                const std::string & name = components[size_t(first)].name;
                const std::string prefix = name.substr(0, name.rfind('.') + 1);
                fail(DTM_ERR_UNSUPPORTED, "%s: int8 on %d of %s; vLLM fuses them into one matrix of one scheme, so "
                                          "quantize all of them or none",
                     prefix.substr(0, prefix.size() - 1).c_str(), n_int8, n == 3 ? "q_proj, k_proj, v_proj" : "gate_proj, up_proj");
            }
        }
    }
}

nlohmann::ordered_json quantization_config(const std::vector<std::string> & ignored) {
    nlohmann::ordered_json weights = {{"num_bits", 8}, {"type", "int"}, {"symmetric", true}, {"strategy", "channel"},
                                      {"dynamic", false}, {"group_size", nullptr}};
    nlohmann::ordered_json activations = {{"num_bits", 8}, {"type", "int"}, {"symmetric", true}, {"strategy", "token"},
                                          {"dynamic", true}, {"group_size", nullptr}};
    nlohmann::ordered_json group = {{"targets", {"Linear"}}, {"weights", weights}, {"input_activations", activations},
                                    {"output_activations", nullptr}};
    return {{"quant_method", "compressed-tensors"},
            {"format", "int-quantized"},
            {"quantization_status", "compressed"},
            {"config_groups", {{"group_0", group}}},
            {"ignore", ignored},
            {"kv_cache_scheme", nullptr}};
}

}  // namespace

uint64_t export_hf(const Model & model, const std::string & dir) {
    check_exportable(model);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !is_directory(dir)) throw Error(DTM_ERR_IO, "cannot create directory '" + dir + "': " + ec.message());

    const ModelConfig & c = model.config();
    const WeightViews & v = model.views();
    const Dtype dtype = v.token_embedding ? Dtype::kF32
                        : v.token_embedding_kind == cpu::HalfKind::kBf16 ? Dtype::kBF16 : Dtype::kF16;
    const int64_t vocab = c.vocab_size, dim = c.dim;
    const std::vector<int64_t> q_sources = hf_row_sources(c.n_heads, c.head_dim);
    const std::vector<int64_t> k_sources = hf_row_sources(c.n_kv_heads, c.head_dim);
    const std::vector<int64_t> none;

    Tensors out;
    if (v.token_embedding) {
        out.add_floats("model.embed_tokens.weight", {vocab, dim}, v.token_embedding, vocab, dim, dtype, none);
    } else {
        const uint8_t * p = reinterpret_cast<const uint8_t *>(v.token_embedding_half);
        out.add("model.embed_tokens.weight", dtype_name(dtype), {vocab, dim},
                std::vector<uint8_t>(p, p + vocab * dim * 2));
    }
    std::vector<std::string> ignored;
    bool any_int8 = false;
    auto add_matrix = [&](const ComponentInfo & info, const Linear & lin, const std::vector<int64_t> & sources) {
        const std::string name = info.name + ".weight";
        const int64_t rows = lin.rows(), cols = lin.cols();
        if (lin.format() == DTM_FORMAT_INT8) {
            const std::vector<StoredTensor> t = lin.stored_tensors();
            out.add(name, "I8", {rows, cols}, reorder_rows(stored(t, "weight").bytes, sources, size_t(cols)));
            out.add(info.name + ".weight_scale", "F32", {rows, 1},
                    reorder_rows(stored(t, "weight_scale").bytes, sources, sizeof(float)));
            any_int8 = true;
            return;
        }
        std::vector<float> w(size_t(rows * cols));
        lin.dense_weights(w.data());
        out.add_floats(name, {rows, cols}, w.data(), rows, cols, dtype, sources);
        ignored.push_back(info.name);
    };
    for (int32_t l = 0; l < c.n_layers; ++l) {
        const LayerWeightViews & lw = v.layers[size_t(l)];
        const std::string prefix = "model.layers." + std::to_string(l) + ".";
        const float * biases[Model::kComponentsPerLayer] = {lw.bq, lw.bk, lw.bv, lw.bo, lw.b_gate, lw.b_up, lw.b_down};
        out.add_floats(prefix + "input_layernorm.weight", {dim}, lw.attn_norm, 1, dim, dtype, none);
        out.add_floats(prefix + "post_attention_layernorm.weight", {dim}, lw.mlp_norm, 1, dim, dtype, none);
        for (int32_t k = 0; k < Model::kComponentsPerLayer; ++k) {
            const ComponentInfo & info = model.components()[size_t(l * Model::kComponentsPerLayer + k)];
            const std::vector<int64_t> & sources = k == DTM_COMPONENT_Q_PROJ ? q_sources
                                                   : k == DTM_COMPONENT_K_PROJ ? k_sources : none;
            const Linear & lin = *model.layer(l).slot(k);
            add_matrix(info, lin, sources);
            if (biases[k]) out.add_floats(info.name + ".bias", {lin.rows()}, biases[k], lin.rows(), 1, dtype, sources);
        }
    }
    out.add_floats("model.norm.weight", {dim}, v.final_norm, 1, dim, dtype, none);
    const bool tied = head_is_embedding(model);
    if (!tied) {
        for (const ComponentInfo & info : model.components()) {
            if (info.kind == DTM_COMPONENT_LM_HEAD) add_matrix(info, model.classifier(), none);
        }
    } else {
        ignored.push_back("lm_head");
    }

    nlohmann::ordered_json config = nlohmann::ordered_json::parse(hf_config_json(c));
    config["tie_word_embeddings"] = tied;
    config["torch_dtype"] = torch_dtype(dtype);
    if (any_int8) config["quantization_config"] = quantization_config(ignored);

    const std::string weights_path = dir + "/model.safetensors";
    write_safetensors(weights_path, out.views, {{"format", "pt"}, {kWriterKey, kWriterValue}});
    const std::string config_text = config.dump(2) + "\n";
    write_file_atomically(dir + "/config.json", config_text);
    return uint64_t(std::filesystem::file_size(weights_path)) + config_text.size();
}

}  // namespace dtm
