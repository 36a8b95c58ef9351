// hf_checkpoint.h - Hugging Face checkpoints of the Llama family.
//
// A checkpoint directory holds config.json and either model.safetensors or
// model.safetensors.index.json with the shards it names (tokenizer.json is
// read by the Java API, not here). Supported: LlamaForCausalLM (Llama 2/3,
// TinyLlama, SmolLM, ...), MistralForCausalLM and Qwen2ForCausalLM, with
// grouped-query attention, explicit head_dim, rope_theta, rope_scaling
// linear / dynamic / llama3, tied or separate output head, and the biases of
// Qwen2 (q, k, v) and Llama's attention_bias / mlp_bias. Anything else is
// refused by name (DTM_ERR_UNSUPPORTED).
//
// Weights may be F32, F16 or BF16 (mixed is fine). The engine computes in
// fp32: matrices are packed once into panels of their own width (fp32
// panels, from the mapping directly when F32; 16-bit panels when F16/BF16,
// widened exactly inside the kernels, so the logits are bitwise those of the
// same weights converted to fp32); the embedding is looked up in the mapping
// (F32, or F16/BF16 rows widened exactly on lookup); norms and biases are read
// from the mapping when F32 and converted to fp32 once otherwise. The mapped pages of
// a tensor are released once it has been packed or converted.
//
// RoPE layout: Hugging Face's Llama rotates halves (rows i and i + head_dim/2
// of a head), llama2.c rotates pairs (rows 2i, 2i+1). Hugging Face's own
// conversion of Meta's weights permutes the q/k rows accordingly; the loader
// applies the inverse permutation (and the writer the permutation), so the
// engine keeps one RoPE kernel and a llama2.c model written as a checkpoint
// loads back to bitwise identical weights.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dtm/dtm.h"
#include "model/linear.h"
#include "model/llama2c_file.h"
#include "model/model_config.h"
#include "model/safetensors_file.h"

namespace dtm {

class Model;

// True when `path` names a directory (a checkpoint directory, as opposed to
// a llama2.c .bin file).
bool is_directory(const std::string & path);

// config.json text -> ModelConfig. `path` names the file in messages. Throws
// dtm::Error: DTM_ERR_MODEL_FORMAT (not JSON, a field missing, of the wrong
// type or out of range), DTM_ERR_UNSUPPORTED (architecture, model_type,
// hidden_act, rope_scaling type, partial rotary, quantization_config).
ModelConfig parse_hf_config(const std::string & text, const std::string & path);

// config.json text describing `config` (LlamaForCausalLM, or
// Qwen2ForCausalLM for q/k/v biases without an o bias). Floats are written
// in the shortest decimal form that reads back to the same float.
std::string hf_config_json(const ModelConfig & config);

// q/k rows between llama2.c's RoPE order and Hugging Face's: engine row
// h*head_dim + 2i + j is Hugging Face row h*head_dim + j*head_dim/2 + i
// (j = 0, 1). `in` and `out` hold n_heads*head_dim rows of `cols` floats
// (cols = 1 for a bias) and must not overlap.
void rope_rows_to_hf(const float * in, float * out, int32_t n_heads, int32_t head_dim, int64_t cols);
void rope_rows_from_hf(const float * in, float * out, int32_t n_heads, int32_t head_dim, int64_t cols);

class HfCheckpoint {
public:
    // Reads config.json and the safetensors headers of `dir`, checks that
    // every tensor the model needs is there with a float dtype and the shape
    // the config implies (and that no foreign tensor is), checks that the
    // load fits in memory (memory_check.h), then converts the embedding,
    // norms and biases. Throws dtm::Error: DTM_ERR_IO, DTM_ERR_MODEL_FORMAT,
    // DTM_ERR_UNSUPPORTED, DTM_ERR_OUT_OF_MEMORY, and with check_finite
    // DTM_ERR_NON_FINITE naming the tensor.
    static std::shared_ptr<HfCheckpoint> open(const std::string & dir, bool check_finite);

    const std::string & dir() const { return dir_; }
    const ModelConfig & config() const { return config_; }
    // Embedding, norms, biases (q/k biases in llama2.c's RoPE order); the
    // matrix pointers are null (matrices come from linear()).
    const WeightViews & views() const { return views_; }

    // The packed matrix of a decoder component of `layer` (q/k rows in
    // llama2.c's RoPE order) or, with DTM_COMPONENT_LM_HEAD, of the output
    // head (the embedding when tied): a HalfLinear when the tensor is BF16 or
    // F16 (kept in 16 bits), else a DenseLinear. Releases the tensor's mapped
    // pages afterwards (not the embedding's, which is still looked up).
    std::shared_ptr<const Linear> linear(int32_t layer, dtm_component_kind kind) const;

private:
    struct Located {
        const SafetensorsFile * file = nullptr;
        const TensorView * tensor = nullptr;
    };
    HfCheckpoint() = default;
    void locate_tensors();
    void check_tensors();
    const Located & locate(const std::string & name) const;
    // The tensor as fp32 values in file order (converted, or copied when misaligned).
    std::vector<float> to_fp32(const Located & where) const;
    void check_finite(const float * p, int64_t n, const std::string & name) const;
    void check_finite_half(const uint16_t * p, int64_t n, bool bf16, const std::string & name) const;
    // The tensor's fp32 values in the engine's row order (q/k rows of
    // `heads` heads permuted from Hugging Face's RoPE order, `cols` values
    // per row), checked for finiteness when asked to: a view of the mapping
    // when it holds aligned F32 that need no permutation, else the values
    // converted into `converted`.
    const float * engine_rows(const Located & where, const std::string & name, int32_t heads, int64_t cols,
                              std::vector<float> & converted) const;
    // An fp32 view of a small tensor that lives as long as the checkpoint.
    const float * keep(const std::string & name, int32_t rope_heads);

    std::string dir_;
    ModelConfig config_;
    bool check_finite_ = false;
    std::vector<std::unique_ptr<SafetensorsFile>> shards_;
    std::unordered_map<std::string, Located> tensors_;
    std::vector<std::vector<float>> kept_;  // converted tensors the views point into
    std::vector<std::vector<uint16_t>> kept_half_;  // a misaligned 16-bit embedding, copied
    WeightViews views_;
};

// Writes `model` as a Hugging Face checkpoint into `dir` (created if
// needed): config.json and model.safetensors with fp32 weights (the
// effective weights of every matrix, q/k rows in Hugging Face's order), each
// file written to a temporary file and renamed. Throws dtm::Error(DTM_ERR_IO).
void save_hf_checkpoint(const Model & model, const std::string & dir);

}  // namespace dtm
