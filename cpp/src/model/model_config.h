// model_config.h - the hyper-parameters of a Llama-family model.
#pragma once

#include <cstdint>

namespace dtm {

// How RoPE frequencies are rescaled for longer contexts (Hugging Face's
// rope_scaling; layer_ops.cpp computes the tables).
enum class RopeScalingKind : int32_t {
    kNone = 0,     // freq_i = theta^(-2i/head_dim)
    kLinear = 1,   // freq_i / factor
    kDynamic = 2,  // NTK: beyond original_max_pos, theta grows with the position
    kLlama3 = 3,   // Llama 3.1: low frequencies / factor, high kept, smooth between
};

struct RopeScaling {
    RopeScalingKind kind = RopeScalingKind::kNone;
    float factor = 1.0f;
    float low_freq_factor = 1.0f;   // llama3
    float high_freq_factor = 4.0f;  // llama3
    int32_t original_max_pos = 0;   // dynamic, llama3: the context the model was trained with
};

struct ModelConfig {
    int32_t dim = 0;          // residual stream width
    int32_t hidden_dim = 0;   // MLP width
    int32_t n_layers = 0;
    int32_t n_heads = 0;      // query heads
    int32_t n_kv_heads = 0;   // key/value heads (GQA when < n_heads)
    int32_t head_dim = 0;     // dim / n_heads for llama2.c; explicit in some HF configs
    int32_t vocab_size = 0;
    int32_t max_seq_len = 0;  // context length
    float rope_theta = 10000.0f;
    float norm_eps = 1e-5f;
    bool shared_classifier = true;  // output head tied to the token embedding
    int32_t bos_id = 1;       // -1 when the model has none
    int32_t eos_id = 2;       // -1 when the model has none
    RopeScaling rope_scaling;
    // Biases added after the matrix product (Qwen2: q, k, v; Llama's
    // attention_bias: q, k, v, o; Llama's mlp_bias: gate, up, down).
    bool qkv_bias = false;
    bool o_bias = false;
    bool mlp_bias = false;

    int32_t q_dim() const { return n_heads * head_dim; }
    int32_t kv_dim() const { return n_kv_heads * head_dim; }
};

}  // namespace dtm
