// hf_checkpoint.cpp - config.json, shards, validation, fp32 conversion and
// the q/k row permutation of Hugging Face Llama-family checkpoints; and the
// writer that turns a loaded model into such a checkpoint.
#include "model/hf_checkpoint.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/version.h"
#include "kernels/cpu/quant_math.h"
#include "model/architecture.h"
#include "model/memory_check.h"
#include "model/model.h"

namespace dtm {

namespace {

using Json = nlohmann::json;

constexpr const char * kConfigFile = "config.json";
constexpr const char * kSingleFile = "model.safetensors";
constexpr const char * kIndexFile = "model.safetensors.index.json";

// Sizes beyond these are not a model dtm can run (as for llama2.c files).
constexpr int64_t kMaxWidth = int64_t(1) << 20;
constexpr int64_t kMaxLayers = int64_t(1) << 12;
constexpr int64_t kMaxVocab = int64_t(1) << 24;
constexpr int64_t kMaxContext = int64_t(1) << 24;

// ---------------------------------------------------------------------------
// config.json

[[noreturn]] void config_error(dtm_status status, const std::string & path, const std::string & what) {
    throw Error(status, "config.json '" + path + "': " + what);
}

Json parse_json(const std::string & text, const std::string & path, const char * what) {
    try {
        Json j = Json::parse(text);
        if (!j.is_object()) throw Error(DTM_ERR_MODEL_FORMAT, std::string(what) + " '" + path + "' is not a JSON object");
        return j;
    } catch (const Json::exception & e) {
        throw Error(DTM_ERR_MODEL_FORMAT, std::string(what) + " '" + path + "' is not valid JSON: " + e.what());
    }
}

// An integer field in [1, limit]; `fallback` (> 0) when absent or null, else required.
int32_t int_field(const Json & j, const char * key, int64_t limit, const std::string & path, int64_t fallback = 0) {
    if (!j.contains(key) || j[key].is_null()) {
        if (fallback > 0) return int32_t(fallback);
        config_error(DTM_ERR_MODEL_FORMAT, path, std::string("missing \"") + key + "\"");
    }
    const Json & v = j[key];
    if (!v.is_number_integer()) config_error(DTM_ERR_MODEL_FORMAT, path, std::string("\"") + key + "\" is not an integer: " + v.dump());
    const int64_t n = v.get<int64_t>();
    if (n <= 0 || n > limit) {
        config_error(DTM_ERR_MODEL_FORMAT, path,
                     std::string("\"") + key + "\" = " + std::to_string(n) + " is outside [1, " + std::to_string(limit) + "]");
    }
    return int32_t(n);
}

// A positive number field, as the float the engine computes with: finite and
// above zero as a float too (1e300 would be infinity, 1e-50 zero); `fallback`
// when absent or null (< 0: required). Messages name the field as
// "object.key" when it sits in an object (rope_scaling), else as "key".
float float_field(const Json & j, const char * key, const std::string & path, double fallback,
                  const char * object = nullptr) {
    const std::string name = "\"" + (object ? std::string(object) + "." : std::string()) + key + "\"";
    if (!j.contains(key) || j[key].is_null()) {
        if (fallback >= 0) return float(fallback);
        config_error(DTM_ERR_MODEL_FORMAT, path, "missing " + name);
    }
    const Json & v = j[key];
    if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>())) {
        config_error(DTM_ERR_MODEL_FORMAT, path, name + " must be a positive number, got " + v.dump());
    }
    const double d = v.get<double>();
    if (d > double(std::numeric_limits<float>::max())) {
        config_error(DTM_ERR_MODEL_FORMAT, path, name + " = " + v.dump() + " is too large for a float (it would be infinity)");
    }
    const float f = float(d);
    if (!(f > 0.0f)) {
        config_error(DTM_ERR_MODEL_FORMAT, path, name + " = " + v.dump() + " is too small for a float (it would be zero)");
    }
    return f;
}

bool bool_field(const Json & j, const char * key, const std::string & path, bool fallback) {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_boolean()) config_error(DTM_ERR_MODEL_FORMAT, path, std::string("\"") + key + "\" is not true or false");
    return j[key].get<bool>();
}

// bos_token_id / eos_token_id: an integer, a list (the first is used), or null (-1).
int32_t token_id_field(const Json & j, const char * key, const std::string & path) {
    if (!j.contains(key) || j[key].is_null()) return -1;
    const Json & v = j[key].is_array() && !j[key].empty() ? j[key][0] : j[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > kMaxVocab) {
        config_error(DTM_ERR_MODEL_FORMAT, path, std::string("\"") + key + "\" is not a token id: " + j[key].dump());
    }
    return int32_t(v.get<int64_t>());
}

enum class Family { kLlama, kMistral, kQwen2 };

struct KnownArchitecture {
    const char * architecture;
    const char * model_type;
    Family family;
};
constexpr KnownArchitecture kKnown[] = {
    {"LlamaForCausalLM", "llama", Family::kLlama},
    {"MistralForCausalLM", "mistral", Family::kMistral},
    {"Qwen2ForCausalLM", "qwen2", Family::kQwen2},
};
constexpr const char * kKnownList = "LlamaForCausalLM (llama), MistralForCausalLM (mistral), Qwen2ForCausalLM (qwen2)";

Family family_of(const Json & j, const std::string & path) {
    const KnownArchitecture * by_arch = nullptr;
    const KnownArchitecture * by_type = nullptr;
    if (j.contains("architectures") && !j["architectures"].is_null()) {
        const Json & a = j["architectures"];
        if (!a.is_array()) config_error(DTM_ERR_MODEL_FORMAT, path, "\"architectures\" is not a list");
        for (const Json & name : a) {
            if (!name.is_string()) config_error(DTM_ERR_MODEL_FORMAT, path, "\"architectures\" holds a non-string");
            const std::string s = name.get<std::string>();
            by_arch = nullptr;
            for (const KnownArchitecture & k : kKnown) {
                if (s == k.architecture) by_arch = &k;
            }
            if (!by_arch) {
                config_error(DTM_ERR_UNSUPPORTED, path, "architecture '" + s + "' is not supported (dtm reads " + kKnownList + ")");
            }
        }
    }
    if (j.contains("model_type") && j["model_type"].is_string()) {
        const std::string s = j["model_type"].get<std::string>();
        for (const KnownArchitecture & k : kKnown) {
            if (s == k.model_type) by_type = &k;
        }
        if (!by_type) config_error(DTM_ERR_UNSUPPORTED, path, "model_type '" + s + "' is not supported (dtm reads " + kKnownList + ")");
    }
    if (by_arch && by_type && by_arch != by_type) {
        config_error(DTM_ERR_MODEL_FORMAT, path,
                     std::string("architecture '") + by_arch->architecture + "' and model_type '" + by_type->model_type + "' disagree");
    }
    if (!by_arch && !by_type) config_error(DTM_ERR_MODEL_FORMAT, path, "names neither \"architectures\" nor \"model_type\"");
    return (by_arch ? by_arch : by_type)->family;
}

RopeScaling rope_scaling_of(const Json & j, int32_t max_pos, const std::string & path) {
    RopeScaling s;
    if (!j.contains("rope_scaling") || j["rope_scaling"].is_null()) return s;
    const Json & r = j["rope_scaling"];
    if (!r.is_object()) config_error(DTM_ERR_MODEL_FORMAT, path, "\"rope_scaling\" is not an object");
    std::string type;
    for (const char * key : {"rope_type", "type"}) {
        if (type.empty() && r.contains(key) && r[key].is_string()) type = r[key].get<std::string>();
    }
    if (type.empty()) config_error(DTM_ERR_MODEL_FORMAT, path, "\"rope_scaling\" names no \"rope_type\"");
    if (type == "default") return s;
    if (type == "linear") {
        s.kind = RopeScalingKind::kLinear;
    } else if (type == "dynamic") {
        s.kind = RopeScalingKind::kDynamic;
    } else if (type == "llama3") {
        s.kind = RopeScalingKind::kLlama3;
    } else {
        config_error(DTM_ERR_UNSUPPORTED, path, "rope_scaling type '" + type + "' is not supported (dtm runs linear, dynamic and llama3)");
    }
    s.factor = float_field(r, "factor", path, -1, "rope_scaling");
    if (s.kind == RopeScalingKind::kDynamic && s.factor < 1.0f) {
        config_error(DTM_ERR_MODEL_FORMAT, path, "dynamic rope_scaling needs \"factor\" >= 1");
    }
    if (s.kind == RopeScalingKind::kLlama3) {
        s.low_freq_factor = float_field(r, "low_freq_factor", path, -1, "rope_scaling");
        s.high_freq_factor = float_field(r, "high_freq_factor", path, -1, "rope_scaling");
        if (!(s.high_freq_factor > s.low_freq_factor)) {
            config_error(DTM_ERR_MODEL_FORMAT, path, "llama3 rope_scaling needs high_freq_factor > low_freq_factor");
        }
        s.original_max_pos = int_field(r, "original_max_position_embeddings", kMaxContext, path);
    } else if (s.kind == RopeScalingKind::kDynamic) {
        s.original_max_pos = int_field(r, "original_max_position_embeddings", kMaxContext, path, max_pos);
    }
    return s;
}

// The shortest decimal that reads back as the same float, as a double (so
// that config.json says 1e-05, not 9.999999747378752e-06).
double shortest(float v) {
    char text[32];
    for (int digits = 1; digits <= 9; ++digits) {
        std::snprintf(text, sizeof(text), "%.*g", digits, double(v));
        if (std::strtof(text, nullptr) == v) break;
    }
    return std::strtod(text, nullptr);
}

// ---------------------------------------------------------------------------
// Tensors

std::string layer_tensor(int32_t layer, const char * what) {
    return "model.layers." + std::to_string(layer) + "." + what;
}

// The decoder matrices' names, shapes, bias flags and RoPE rows come from
// the architecture table (model/architecture.h); the head and embedding are
// (vocab, dim) without bias or permutation.
bool is_layer_matrix(dtm_component_kind kind) { return kind >= DTM_COMPONENT_Q_PROJ && kind <= DTM_COMPONENT_DOWN_PROJ; }

const char * component_module(dtm_component_kind kind) {
    return is_layer_matrix(kind) ? layer_matrix(kind).module : nullptr;
}

// (rows, cols) of a component's matrix.
std::pair<int64_t, int64_t> matrix_shape(const ModelConfig & c, dtm_component_kind kind) {
    if (!is_layer_matrix(kind)) return {c.vocab_size, c.dim};
    const LayerMatrix & m = layer_matrix(kind);
    return {extent(c, m.rows), extent(c, m.cols)};
}

bool has_bias(const ModelConfig & c, dtm_component_kind kind) {
    return is_layer_matrix(kind) && matrix_has_bias(c, layer_matrix(kind));
}

// Heads whose rows the RoPE permutation moves (0: none).
int32_t rope_heads(const ModelConfig & c, dtm_component_kind kind) {
    return is_layer_matrix(kind) ? matrix_rope_heads(c, layer_matrix(kind)) : 0;
}

// Every tensor the config implies, with its shape.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const ModelConfig & c) {
    std::vector<std::pair<std::string, std::vector<int64_t>>> out;
    out.push_back({"model.embed_tokens.weight", {c.vocab_size, c.dim}});
    for (int32_t l = 0; l < c.n_layers; ++l) {
        out.push_back({layer_tensor(l, "input_layernorm.weight"), {c.dim}});
        out.push_back({layer_tensor(l, "post_attention_layernorm.weight"), {c.dim}});
        for (const LayerMatrix & m : kLlamaLayer) {
            const dtm_component_kind kind = m.kind;
            const auto [rows, cols] = matrix_shape(c, kind);
            const std::string module = layer_tensor(l, component_module(kind));
            out.push_back({module + ".weight", {rows, cols}});
            if (has_bias(c, kind)) out.push_back({module + ".bias", {rows}});
        }
    }
    out.push_back({"model.norm.weight", {c.dim}});
    if (!c.shared_classifier) out.push_back({"lm_head.weight", {c.vocab_size, c.dim}});
    return out;
}

std::string read_text(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(DTM_ERR_IO, "cannot open '" + path + "': " + std::strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool is_file(const std::string & path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Whether the mapping holds the tensor's values as usable floats (F32,
// float-aligned), so they need no converted copy.
bool is_aligned_f32(const TensorView & t) {
    return t.dtype == "F32" && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0;
}

// Whether a tensor is stored in 16 bits (and so kept in 16 bits when it is a matrix).
bool is_half(const TensorView & t) { return t.dtype == "BF16" || t.dtype == "F16"; }

}  // namespace

// ---------------------------------------------------------------------------

bool is_directory(const std::string & path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

ModelConfig parse_hf_config(const std::string & text, const std::string & path) {
    const Json j = parse_json(text, path, "config.json");
    const Family family = family_of(j, path);
    if (j.contains("quantization_config") && !j["quantization_config"].is_null()) {
        config_error(DTM_ERR_UNSUPPORTED, path, "quantized checkpoints (\"quantization_config\") are not supported");
    }
    for (const char * key : {"hidden_act", "hidden_activation"}) {
        if (!j.contains(key) || j[key].is_null()) continue;
        const std::string act = j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
        if (act != "silu" && act != "swish") {
            config_error(DTM_ERR_UNSUPPORTED, path, std::string(key) + " '" + act + "' is not supported (dtm runs silu)");
        }
    }
    if (j.contains("partial_rotary_factor") && !j["partial_rotary_factor"].is_null() &&
        (!j["partial_rotary_factor"].is_number() || j["partial_rotary_factor"].get<double>() != 1.0)) {
        config_error(DTM_ERR_UNSUPPORTED, path, "partial_rotary_factor " + j["partial_rotary_factor"].dump() +
                                                    " is not supported (dtm rotates whole heads)");
    }

    ModelConfig c;
    c.dim = int_field(j, "hidden_size", kMaxWidth, path);
    c.hidden_dim = int_field(j, "intermediate_size", kMaxWidth, path);
    c.n_layers = int_field(j, "num_hidden_layers", kMaxLayers, path);
    c.n_heads = int_field(j, "num_attention_heads", kMaxWidth, path);
    c.n_kv_heads = int_field(j, "num_key_value_heads", kMaxWidth, path, c.n_heads);
    if (!j.contains("head_dim") && c.dim % c.n_heads != 0) {
        config_error(DTM_ERR_MODEL_FORMAT, path,
                     "hidden_size = " + std::to_string(c.dim) + " is not divisible by num_attention_heads = " +
                         std::to_string(c.n_heads) + " and no head_dim is given");
    }
    c.head_dim = int_field(j, "head_dim", kMaxWidth, path, c.dim / c.n_heads);
    c.vocab_size = int_field(j, "vocab_size", kMaxVocab, path);
    c.max_seq_len = int_field(j, "max_position_embeddings", kMaxContext, path);
    c.rope_theta = float_field(j, "rope_theta", path, 10000.0);
    c.norm_eps = float_field(j, "rms_norm_eps", path, 1e-6);
    c.shared_classifier = bool_field(j, "tie_word_embeddings", path, false);
    c.bos_id = token_id_field(j, "bos_token_id", path);
    c.eos_id = token_id_field(j, "eos_token_id", path);
    if (c.n_heads % c.n_kv_heads != 0) {
        config_error(DTM_ERR_MODEL_FORMAT, path,
                     "num_attention_heads = " + std::to_string(c.n_heads) + " is not a multiple of num_key_value_heads = " +
                         std::to_string(c.n_kv_heads));
    }
    if (c.head_dim % 2 != 0) {
        config_error(DTM_ERR_MODEL_FORMAT, path, "head_dim = " + std::to_string(c.head_dim) + " is odd (RoPE rotates pairs)");
    }
    if (int64_t(c.n_heads) * c.head_dim > kMaxWidth) config_error(DTM_ERR_MODEL_FORMAT, path, "num_attention_heads x head_dim is too large");

    switch (family) {
        case Family::kLlama:
            c.qkv_bias = c.o_bias = bool_field(j, "attention_bias", path, false);
            c.mlp_bias = bool_field(j, "mlp_bias", path, false);
            break;
        case Family::kQwen2:
            c.qkv_bias = true;  // Qwen2 always has q/k/v biases, never an o bias
            break;
        case Family::kMistral:
            break;
    }

    // A sliding window shorter than the context: dtm attends to the whole
    // context, so the context is cut to the window, where both agree.
    const bool window_used = family == Family::kQwen2 ? bool_field(j, "use_sliding_window", path, false) : true;
    if (window_used && j.contains("sliding_window") && !j["sliding_window"].is_null()) {
        const int32_t window = int_field(j, "sliding_window", kMaxContext, path);
        if (window < c.max_seq_len) c.max_seq_len = window;
    }

    c.rope_scaling = rope_scaling_of(j, c.max_seq_len, path);
    if (c.rope_scaling.kind == RopeScalingKind::kDynamic) {
        // Dynamic NTK exists to run past the trained context: the context is
        // the trained one times the factor.
        const double extended = std::floor(double(c.rope_scaling.original_max_pos) * double(c.rope_scaling.factor));
        if (extended > double(c.max_seq_len)) c.max_seq_len = int32_t(std::min(extended, double(kMaxContext)));
    }
    return c;
}

std::string hf_config_json(const ModelConfig & c) {
    const bool qwen2 = c.qkv_bias && !c.o_bias;
    nlohmann::ordered_json j;
    j["architectures"] = {qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM"};
    j["model_type"] = qwen2 ? "qwen2" : "llama";
    j["hidden_size"] = c.dim;
    j["intermediate_size"] = c.hidden_dim;
    j["num_hidden_layers"] = c.n_layers;
    j["num_attention_heads"] = c.n_heads;
    j["num_key_value_heads"] = c.n_kv_heads;
    j["head_dim"] = c.head_dim;
    j["vocab_size"] = c.vocab_size;
    j["max_position_embeddings"] = c.rope_scaling.kind == RopeScalingKind::kDynamic ? c.rope_scaling.original_max_pos
                                                                                      : c.max_seq_len;
    j["rope_theta"] = shortest(c.rope_theta);
    j["rms_norm_eps"] = shortest(c.norm_eps);
    j["tie_word_embeddings"] = c.shared_classifier;
    j["hidden_act"] = "silu";
    if (!qwen2) {
        j["attention_bias"] = c.qkv_bias;
        j["mlp_bias"] = c.mlp_bias;
    }
    j["bos_token_id"] = c.bos_id >= 0 ? nlohmann::ordered_json(c.bos_id) : nlohmann::ordered_json(nullptr);
    j["eos_token_id"] = c.eos_id >= 0 ? nlohmann::ordered_json(c.eos_id) : nlohmann::ordered_json(nullptr);
    const RopeScaling & s = c.rope_scaling;
    if (s.kind == RopeScalingKind::kNone) {
        j["rope_scaling"] = nullptr;
    } else {
        nlohmann::ordered_json r;
        r["rope_type"] = s.kind == RopeScalingKind::kLinear ? "linear" : s.kind == RopeScalingKind::kDynamic ? "dynamic" : "llama3";
        r["factor"] = shortest(s.factor);
        if (s.kind == RopeScalingKind::kLlama3) {
            r["low_freq_factor"] = shortest(s.low_freq_factor);
            r["high_freq_factor"] = shortest(s.high_freq_factor);
        }
        if (s.kind != RopeScalingKind::kLinear) r["original_max_position_embeddings"] = s.original_max_pos;
        j["rope_scaling"] = r;
    }
    j["torch_dtype"] = "float32";
    return j.dump(2) + "\n";
}

namespace {

// Engine row h*head_dim + 2i + j <-> Hugging Face row h*head_dim + j*head_dim/2 + i.
template <typename T>
void permute_rope_rows(const T * in, T * out, int32_t n_heads, int32_t head_dim, int64_t cols, bool to_hf) {
    const int32_t half = head_dim / 2;
    for (int32_t h = 0; h < n_heads; ++h) {
        for (int32_t i = 0; i < half; ++i) {
            for (int32_t j = 0; j < 2; ++j) {
                const int64_t engine_row = int64_t(h) * head_dim + 2 * i + j;
                const int64_t hf_row = int64_t(h) * head_dim + int64_t(j) * half + i;
                const int64_t from = to_hf ? engine_row : hf_row, to = to_hf ? hf_row : engine_row;
                std::memcpy(out + to * cols, in + from * cols, sizeof(T) * size_t(cols));
            }
        }
    }
}

}  // namespace

void rope_rows_to_hf(const float * in, float * out, int32_t n_heads, int32_t head_dim, int64_t cols) {
    permute_rope_rows(in, out, n_heads, head_dim, cols, true);
}

void rope_rows_from_hf(const float * in, float * out, int32_t n_heads, int32_t head_dim, int64_t cols) {
    permute_rope_rows(in, out, n_heads, head_dim, cols, false);
}

// ---------------------------------------------------------------------------
// Loading

std::shared_ptr<HfCheckpoint> HfCheckpoint::open(const std::string & dir, bool check_finite) {
    std::shared_ptr<HfCheckpoint> ck(new HfCheckpoint());
    ck->dir_ = dir;
    ck->check_finite_ = check_finite;
    if (!is_directory(dir)) throw Error(DTM_ERR_IO, "'" + dir + "' is not a directory");
    const std::string config_path = dir + "/" + kConfigFile;
    if (!is_file(config_path)) {
        throw Error(DTM_ERR_IO, "'" + dir + "' has no config.json (a Hugging Face checkpoint directory holds config.json and " +
                                    kSingleFile + " or " + kIndexFile + ")");
    }
    ck->config_ = parse_hf_config(read_text(config_path), config_path);
    ck->locate_tensors();
    ck->check_tensors();

    // Memory: every matrix packed (in 16 bits when stored in 16 bits, else
    // in fp32), plus the small tensors that are converted, plus one matrix's
    // rows while they are permuted or copied.
    const ModelConfig & c = ck->config_;
    int64_t needed = 0, largest_temp = 0;
    for (const auto & [name, shape] : expected_tensors(c)) {
        if (name == "model.embed_tokens.weight") continue;  // a lookup table, counted below
        const TensorView & t = *ck->locate(name).tensor;
        const bool in_place = is_aligned_f32(t);
        if (shape.size() == 2) {
            const int64_t element = is_half(t) ? 2 : int64_t(sizeof(float));
            needed += packed_bytes(shape[0], shape[1], element);
            if (!in_place || name.find("q_proj") != std::string::npos || name.find("k_proj") != std::string::npos) {
                largest_temp = std::max<int64_t>(largest_temp, shape[0] * shape[1] * element);
            }
        } else if (!in_place) {
            needed += shape[0] * int64_t(sizeof(float));
        }
    }
    // The embedding is looked up in the mapping when aligned F32, BF16 or
    // F16; copied (in its own width) when misaligned.
    const TensorView & embedding = *ck->locate("model.embed_tokens.weight").tensor;
    const bool embedding_half = is_half(embedding);
    if (embedding_half ? reinterpret_cast<uintptr_t>(embedding.data) % alignof(uint16_t) != 0 : !is_aligned_f32(embedding)) {
        needed += int64_t(c.vocab_size) * c.dim * (embedding_half ? 2 : int64_t(sizeof(float)));
    }
    if (c.shared_classifier) {  // the tied head is packed too, in the embedding's width
        needed += packed_bytes(c.vocab_size, c.dim, is_half(embedding) ? 2 : int64_t(sizeof(float)));
    }
    require_memory(needed + largest_temp, available_memory_bytes(), dir, "weights, matrices packed");

    WeightViews & v = ck->views_;
    if (embedding_half) {
        const Located & where = ck->locate("model.embed_tokens.weight");
        const uint16_t * p = reinterpret_cast<const uint16_t *>(embedding.data);
        if (reinterpret_cast<uintptr_t>(embedding.data) % alignof(uint16_t) != 0) {
            ck->kept_half_.emplace_back(size_t(embedding.n_elements()));
            std::memcpy(ck->kept_half_.back().data(), embedding.data, embedding.n_bytes);
            where.file->release(embedding);
            p = ck->kept_half_.back().data();
        }
        const bool bf16 = embedding.dtype == "BF16";
        ck->check_finite_half(p, embedding.n_elements(), bf16, "model.embed_tokens.weight");
        v.token_embedding_half = p;
        v.token_embedding_kind = bf16 ? cpu::HalfKind::kBf16 : cpu::HalfKind::kFp16;
    } else {
        v.token_embedding = ck->keep("model.embed_tokens.weight", 0);
    }
    v.layers.resize(size_t(c.n_layers));
    for (int32_t l = 0; l < c.n_layers; ++l) {
        LayerWeightViews & lw = v.layers[size_t(l)];
        lw.attn_norm = ck->keep(layer_tensor(l, "input_layernorm.weight"), 0);
        lw.mlp_norm = ck->keep(layer_tensor(l, "post_attention_layernorm.weight"), 0);
        if (c.qkv_bias) {
            lw.bq = ck->keep(layer_tensor(l, "self_attn.q_proj.bias"), c.n_heads);
            lw.bk = ck->keep(layer_tensor(l, "self_attn.k_proj.bias"), c.n_kv_heads);
            lw.bv = ck->keep(layer_tensor(l, "self_attn.v_proj.bias"), 0);
        }
        if (c.o_bias) lw.bo = ck->keep(layer_tensor(l, "self_attn.o_proj.bias"), 0);
        if (c.mlp_bias) {
            lw.b_gate = ck->keep(layer_tensor(l, "mlp.gate_proj.bias"), 0);
            lw.b_up = ck->keep(layer_tensor(l, "mlp.up_proj.bias"), 0);
            lw.b_down = ck->keep(layer_tensor(l, "mlp.down_proj.bias"), 0);
        }
    }
    v.final_norm = ck->keep("model.norm.weight", 0);
    v.classifier = c.shared_classifier ? v.token_embedding : nullptr;
    return ck;
}

void HfCheckpoint::locate_tensors() {
    const std::string single = dir_ + "/" + kSingleFile;
    const std::string index = dir_ + "/" + kIndexFile;
    if (is_file(single)) {
        shards_.push_back(std::make_unique<SafetensorsFile>(single));
        for (const TensorView & t : shards_[0]->tensors()) tensors_[t.name] = {shards_[0].get(), &t};
        return;
    }
    if (!is_file(index)) {
        throw Error(DTM_ERR_IO, "'" + dir_ + "' has neither " + kSingleFile + " nor " + kIndexFile);
    }
    const Json j = parse_json(read_text(index), index, "index");
    if (!j.contains("weight_map") || !j["weight_map"].is_object()) {
        throw Error(DTM_ERR_MODEL_FORMAT, "index '" + index + "' has no \"weight_map\" object");
    }
    std::map<std::string, const SafetensorsFile *> shard_by_name;
    for (const auto & [tensor, shard] : j["weight_map"].items()) {
        if (!shard.is_string()) throw Error(DTM_ERR_MODEL_FORMAT, "index '" + index + "': shard of '" + tensor + "' is not a file name");
        const std::string file = shard.get<std::string>();
        if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..") {
            throw Error(DTM_ERR_MODEL_FORMAT, "index '" + index + "': shard '" + file + "' is not a file name in the directory");
        }
        auto it = shard_by_name.find(file);
        if (it == shard_by_name.end()) {
            shards_.push_back(std::make_unique<SafetensorsFile>(dir_ + "/" + file));
            it = shard_by_name.emplace(file, shards_.back().get()).first;
        }
        const TensorView * t = it->second->find(tensor);
        if (t == nullptr) {
            throw Error(DTM_ERR_MODEL_FORMAT, "tensor '" + tensor + "', which index '" + index + "' places in shard '" + file +
                                                  "', is missing from it");
        }
        tensors_[tensor] = {it->second, t};
    }
    for (const auto & shard : shards_) {
        for (const TensorView & t : shard->tensors()) {
            const auto it = tensors_.find(t.name);
            if (it == tensors_.end()) {
                throw Error(DTM_ERR_MODEL_FORMAT, "tensor '" + t.name + "' is in shard '" + shard->path() +
                                                      "' but not in index '" + index + "'");
            }
            if (it->second.file != shard.get()) {
                throw Error(DTM_ERR_MODEL_FORMAT, "tensor '" + t.name + "' is in shard '" + shard->path() +
                                                      "' but the index places it in '" + it->second.file->path() + "'");
            }
        }
    }
}

void HfCheckpoint::check_tensors() {
    std::set<std::string> expected;
    for (const auto & [name, shape] : expected_tensors(config_)) {
        expected.insert(name);
        const auto it = tensors_.find(name);
        if (it == tensors_.end()) {
            throw Error(DTM_ERR_MODEL_FORMAT, "checkpoint '" + dir_ + "' is missing tensor '" + name + "'");
        }
        const TensorView & t = *it->second.tensor;
        if (t.dtype != "F32" && t.dtype != "F16" && t.dtype != "BF16") {
            throw Error(DTM_ERR_MODEL_FORMAT, "tensor '" + name + "' in '" + it->second.file->path() + "' has dtype " + t.dtype +
                                                  "; dtm reads F32, F16 and BF16 weights");
        }
        if (t.shape != shape) {
            TensorView want;
            want.shape = shape;
            throw Error(DTM_ERR_MODEL_FORMAT, "tensor '" + name + "' in '" + it->second.file->path() + "' has shape " +
                                                  t.shape_text() + ", but config.json implies " + want.shape_text());
        }
    }
    for (const auto & [name, where] : tensors_) {
        if (expected.count(name)) continue;
        if (name.size() > 20 && name.compare(name.size() - 20, 20, ".rotary_emb.inv_freq") == 0) continue;  // old exports
        if (name == "lm_head.weight" && config_.shared_classifier) continue;  // tied: the embedding is used
        throw Error(DTM_ERR_MODEL_FORMAT, "tensor '" + name + "' in '" + where.file->path() +
                                              "' is not part of the model config.json describes (biases, layers, head)");
    }
}

const HfCheckpoint::Located & HfCheckpoint::locate(const std::string & name) const {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) throw Error(DTM_ERR_MODEL_FORMAT, "checkpoint '" + dir_ + "' is missing tensor '" + name + "'");
    return it->second;
}

std::vector<float> HfCheckpoint::to_fp32(const Located & where) const {
    const TensorView & t = *where.tensor;
    const int64_t n = t.n_elements();
    std::vector<float> out(static_cast<size_t>(n));
    if (t.dtype == "F32") {
        std::memcpy(out.data(), t.data, t.n_bytes);
    } else {
        const cpu::HalfKind kind = t.dtype == "BF16" ? cpu::HalfKind::kBf16 : cpu::HalfKind::kFp16;
        for (int64_t i = 0; i < n; ++i) {
            uint16_t bits;
            std::memcpy(&bits, t.data + 2 * i, sizeof(bits));
            out[size_t(i)] = cpu::widen_half(bits, kind);
        }
    }
    return out;
}

void HfCheckpoint::check_finite(const float * p, int64_t n, const std::string & name) const {
    if (!check_finite_) return;
    for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(p[i])) {
            fail(DTM_ERR_NON_FINITE, "checkpoint '%s': %s in %s at index %lld", dir_.c_str(), std::isnan(p[i]) ? "NaN" : "infinity",
                 name.c_str(), (long long)i);
        }
    }
}

const float * HfCheckpoint::engine_rows(const Located & where, const std::string & name, int32_t heads, int64_t cols,
                                        std::vector<float> & converted) const {
    const TensorView & t = *where.tensor;
    if (heads == 0 && is_aligned_f32(t)) {
        const float * p = reinterpret_cast<const float *>(t.data);
        check_finite(p, t.n_elements(), name);
        return p;  // read from the mapping
    }
    converted = to_fp32(where);
    if (heads > 0) {
        std::vector<float> permuted(converted.size());
        rope_rows_from_hf(converted.data(), permuted.data(), heads, config_.head_dim, cols);
        converted.swap(permuted);
    }
    check_finite(converted.data(), t.n_elements(), name);
    return converted.data();
}

const float * HfCheckpoint::keep(const std::string & name, int32_t heads) {
    const Located & where = locate(name);
    std::vector<float> values;
    const float * p = engine_rows(where, name, heads, 1, values);
    if (p != values.data()) return p;  // the mapping's own floats: nothing to keep or release
    where.file->release(*where.tensor);
    kept_.push_back(std::move(values));
    return kept_.back().data();
}

void HfCheckpoint::check_finite_half(const uint16_t * p, int64_t n, bool bf16, const std::string & name) const {
    if (!check_finite_) return;
    // All exponent bits set: infinity (zero mantissa) or NaN.
    const uint16_t exponent = bf16 ? 0x7f80u : 0x7c00u;
    for (int64_t i = 0; i < n; ++i) {
        if ((p[i] & exponent) == exponent) {
            fail(DTM_ERR_NON_FINITE, "checkpoint '%s': %s in %s at index %lld", dir_.c_str(),
                 (p[i] & uint16_t(0x7fffu & ~exponent)) != 0 ? "NaN" : "infinity", name.c_str(), (long long)i);
        }
    }
}

std::shared_ptr<const Linear> HfCheckpoint::linear(int32_t layer, dtm_component_kind kind) const {
    const bool head = kind == DTM_COMPONENT_LM_HEAD;
    const auto [rows, cols] = matrix_shape(config_, kind);
    if (head && config_.shared_classifier) {
        // The tied head packs the embedding that open() has already located,
        // checked and (when misaligned) copied: no second read or check.
        if (views_.token_embedding) return DenseLinear::from_rows(views_.token_embedding, rows, cols);
        return HalfLinear::from_rows(views_.token_embedding_half, rows, cols, views_.token_embedding_kind);
    }
    const std::string name = head ? std::string("lm_head.weight") : layer_tensor(layer, component_module(kind)) + ".weight";
    const Located & where = locate(name);
    const int32_t heads = rope_heads(config_, kind);
    std::shared_ptr<const Linear> out;
    if (is_half(*where.tensor)) {
        // Kept in 16 bits: straight from the mapping when aligned and in
        // order, else through one 16-bit copy.
        const TensorView & t = *where.tensor;
        const bool bf16 = t.dtype == "BF16";
        const uint16_t * p = reinterpret_cast<const uint16_t *>(t.data);
        std::vector<uint16_t> copy;
        if (reinterpret_cast<uintptr_t>(t.data) % alignof(uint16_t) != 0 || heads > 0) {
            copy.resize(size_t(rows * cols));
            if (!copy.empty()) std::memcpy(copy.data(), t.data, copy.size() * sizeof(uint16_t));
            if (heads > 0) {
                std::vector<uint16_t> permuted(copy.size());
                permute_rope_rows(copy.data(), permuted.data(), heads, config_.head_dim, cols, false);
                copy.swap(permuted);
            }
            p = copy.data();
        }
        check_finite_half(p, rows * cols, bf16, name);
        out = HalfLinear::from_rows(p, rows, cols, bf16 ? cpu::HalfKind::kBf16 : cpu::HalfKind::kFp16);
    } else {
        std::vector<float> values;
        const float * p = engine_rows(where, name, heads, cols, values);
        out = DenseLinear::from_rows(p, rows, cols);
    }
    where.file->release(*where.tensor);
    return out;
}

// ---------------------------------------------------------------------------
// Writing

namespace {

// fp32 tensors collected for writing; the views point into `storage`.
struct TensorsToWrite {
    std::vector<std::vector<float>> storage;
    std::vector<TensorView> views;

    void add(const std::string & name, std::vector<int64_t> shape, std::vector<float> values) {
        storage.push_back(std::move(values));
        const std::vector<float> & v = storage.back();
        views.push_back({name, "F32", std::move(shape), reinterpret_cast<const uint8_t *>(v.data()), v.size() * sizeof(float)});
    }
    void add_copy(const std::string & name, std::vector<int64_t> shape, const float * p, int64_t n) {
        add(name, std::move(shape), std::vector<float>(p, p + n));
    }
};

std::vector<float> to_hf_rows(std::vector<float> rows, int32_t heads, int32_t head_dim, int64_t cols) {
    if (heads == 0) return rows;
    std::vector<float> out(rows.size());
    rope_rows_to_hf(rows.data(), out.data(), heads, head_dim, cols);
    return out;
}

}  // namespace

void save_hf_checkpoint(const Model & model, const std::string & dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !is_directory(dir)) throw Error(DTM_ERR_IO, "cannot create directory '" + dir + "': " + ec.message());
    const ModelConfig & c = model.config();
    const WeightViews & w = model.views();

    TensorsToWrite out;
    {
        std::vector<float> embedding(size_t(int64_t(c.vocab_size) * c.dim));
        embedding_rows(w, 0, c.vocab_size, c.dim, embedding.data());
        out.add("model.embed_tokens.weight", {c.vocab_size, c.dim}, std::move(embedding));
    }
    for (int32_t l = 0; l < c.n_layers; ++l) {
        const LayerWeightViews & lw = w.layers[size_t(l)];
        const LayerLinears & L = model.layer(l);
        const float * biases[] = {lw.bq, lw.bk, lw.bv, lw.bo, lw.b_gate, lw.b_up, lw.b_down};
        out.add_copy(layer_tensor(l, "input_layernorm.weight"), {c.dim}, lw.attn_norm, c.dim);
        for (size_t k = 0; k < size_t(kLayerMatrices); ++k) {
            const dtm_component_kind kind = kLlamaLayer[k].kind;
            const auto [rows, cols] = matrix_shape(c, kind);
            const int32_t heads = rope_heads(c, kind);
            const std::string module = layer_tensor(l, component_module(kind));
            std::vector<float> weights(size_t(rows * cols));
            L.slot(kind)->dense_weights(weights.data());
            out.add(module + ".weight", {rows, cols}, to_hf_rows(std::move(weights), heads, c.head_dim, cols));
            if (biases[k]) {
                out.add(module + ".bias", {rows}, to_hf_rows(std::vector<float>(biases[k], biases[k] + rows), heads, c.head_dim, 1));
            }
            if (kind == DTM_COMPONENT_O_PROJ) {
                out.add_copy(layer_tensor(l, "post_attention_layernorm.weight"), {c.dim}, lw.mlp_norm, c.dim);
            }
        }
    }
    out.add_copy("model.norm.weight", {c.dim}, w.final_norm, c.dim);
    if (!c.shared_classifier) {
        std::vector<float> head(size_t(int64_t(c.vocab_size) * c.dim));
        model.classifier().dense_weights(head.data());
        out.add("lm_head.weight", {c.vocab_size, c.dim}, std::move(head));
    }
    write_safetensors(dir + "/" + kSingleFile, out.views, {{"format", "pt"}, {kWriterKey, kWriterValue}});
    write_file_atomically(dir + "/" + kConfigFile, hf_config_json(c));
}

}  // namespace dtm
