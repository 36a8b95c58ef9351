// model_config.h - the hyper-parameters of a Llama-family model.
#pragma once

#include <cstdint>

namespace dtm {

struct ModelConfig {
    int32_t dim = 0;          // residual stream width
    int32_t hidden_dim = 0;   // MLP width
    int32_t n_layers = 0;
    int32_t n_heads = 0;      // query heads
    int32_t n_kv_heads = 0;   // key/value heads (GQA when < n_heads)
    int32_t head_dim = 0;     // dim / n_heads
    int32_t vocab_size = 0;
    int32_t max_seq_len = 0;  // context length
    float rope_theta = 10000.0f;
    float norm_eps = 1e-5f;
    bool shared_classifier = true;  // output head tied to the token embedding
    int32_t bos_id = 1;
    int32_t eos_id = 2;

    int32_t q_dim() const { return n_heads * head_dim; }
    int32_t kv_dim() const { return n_kv_heads * head_dim; }
};

}  // namespace dtm
