// llama2c_file.h - reading a llama2.c model file (.bin).
//
// Layout (all little-endian): seven int32 (dim, hidden_dim, n_layers, n_heads,
// n_kv_heads, vocab_size, seq_len; a negative vocab_size means the output
// head is stored separately), then fp32 tensors in this order:
//   token_embedding (vocab, dim)
//   rms_att_weight  (layer, dim)
//   wq (layer, n_heads*head_dim, dim)   wk, wv (layer, n_kv_heads*head_dim, dim)
//   wo (layer, dim, n_heads*head_dim)
//   rms_ffn_weight  (layer, dim)
//   w1 (layer, hidden, dim)  w2 (layer, dim, hidden)  w3 (layer, hidden, dim)
//   rms_final_weight (dim)
//   freq_cis_real, freq_cis_imag (seq_len, head_dim/2) each: RoPE tables
//   wcls (vocab, dim) only when the head is separate
// Matrices are (out features, in features), row-major.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/packed_matrix.h"
#include "model/mapped_file.h"
#include "model/model_config.h"

namespace dtm {

// Views into the mapping (or, for a Hugging Face checkpoint, into the
// tensors its loader converted); they own nothing. Matrix views are where
// the matrices are packed from at load. Biases exist only in some Hugging
// Face models (model_config.h) and are null otherwise.
struct LayerWeightViews {
    const float * attn_norm = nullptr;  // (dim)
    const float * wq = nullptr;         // (n_heads*head_dim, dim)
    const float * wk = nullptr;         // (n_kv_heads*head_dim, dim)
    const float * wv = nullptr;         // (n_kv_heads*head_dim, dim)
    const float * wo = nullptr;         // (dim, n_heads*head_dim)
    const float * mlp_norm = nullptr;   // (dim)
    const float * w_gate = nullptr;     // (hidden_dim, dim)   llama2.c w1
    const float * w_down = nullptr;     // (dim, hidden_dim)   llama2.c w2
    const float * w_up = nullptr;       // (hidden_dim, dim)   llama2.c w3
    const float * bq = nullptr;         // (n_heads*head_dim), rows in llama2.c's RoPE order
    const float * bk = nullptr;         // (n_kv_heads*head_dim), likewise
    const float * bv = nullptr;         // (n_kv_heads*head_dim)
    const float * bo = nullptr;         // (dim)
    const float * b_gate = nullptr;     // (hidden_dim)
    const float * b_up = nullptr;       // (hidden_dim)
    const float * b_down = nullptr;     // (dim)
};

struct WeightViews {
    const float * token_embedding = nullptr;  // (vocab, dim); null when kept in 16 bits (below)
    // A checkpoint's BF16/F16 embedding, looked up in 16 bits (rows widened
    // exactly on lookup, see embedding_rows) instead of converted to fp32.
    const uint16_t * token_embedding_half = nullptr;  // (vocab, dim)
    cpu::HalfKind token_embedding_kind = cpu::HalfKind::kBf16;
    std::vector<LayerWeightViews> layers;
    const float * final_norm = nullptr;       // (dim)
    const float * classifier = nullptr;       // (vocab, dim); == token_embedding when shared
    // The RoPE tables the export stored (cos and sin of pos * theta^(-2i/head_dim),
    // computed in fp32 by PyTorch). Modern llama2.c recomputes them; the run.c
    // of July 2023 (the default model's home implementation) reads these.
    // The engine computes its own (runtime/layer_ops.h); null for HF checkpoints.
    const float * freq_cis_real = nullptr;    // (seq_len, head_dim/2)
    const float * freq_cis_imag = nullptr;    // (seq_len, head_dim/2)

    // The embedding table, whichever width it is kept in (identifies it).
    const void * embedding_table() const {
        return token_embedding ? static_cast<const void *>(token_embedding) : token_embedding_half;
    }
    // Bytes of one embedding value (4, or 2 when kept in 16 bits).
    int64_t embedding_value_bytes() const { return token_embedding ? 4 : 2; }
};

// Rows [first, first + n) of the embedding as fp32 (exact), dim values each,
// into out (n, dim).
void embedding_rows(const WeightViews & w, int64_t first, int64_t n, int64_t dim, float * out);


struct Llama2cFile {
    ModelConfig config;
    std::unique_ptr<MappedFile> file;
    WeightViews weights;
};

// Maps and validates a llama2.c model file. Throws dtm::Error:
// DTM_ERR_IO (cannot open), DTM_ERR_MODEL_FORMAT (empty, truncated, trailing
// bytes, non-positive or inconsistent sizes, dim not divisible by n_heads,
// n_heads not a multiple of n_kv_heads, absurd sizes), DTM_ERR_OUT_OF_MEMORY
// when the matrices a load packs would not fit in MemAvailable (checked
// before any weight is read; model/memory_check.h), and when check_finite
// DTM_ERR_NON_FINITE naming the first tensor with a NaN or infinity.
Llama2cFile load_llama2c(const std::string & path, bool check_finite);
// The same for a file already mapped (or bytes in memory, MappedFile::from_bytes).
Llama2cFile load_llama2c(std::unique_ptr<MappedFile> file, bool check_finite);

}  // namespace dtm
