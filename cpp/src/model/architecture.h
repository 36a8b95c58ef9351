// architecture.h - the one description of the decoder architecture dtm
// runs (the Llama family): which matrices a layer has, what Hugging Face and
// llama.cpp call them, their shapes from the config, which bias flag covers
// them, whose rows the RoPE permutation moves and which activations they
// read. The Hugging Face loader, the llama2.c reader (in its file's tensor
// order), the model's component list (and so the fingerprint), the input
// norms of calibration, the GGUF export and (through
// dtm_component_kind_hf_name) Java's ComponentKind read this table (and the
// C API's dtm_component_kind numbers its rows), so a new architecture is a table of
// its own plus its block function in runtime/forward.cpp.
#pragma once

#include <cstdint>

#include "dtm/dtm.h"
#include "model/model_config.h"

namespace dtm {

// A width taken from the config.
enum class Extent : int32_t { kDim, kHidden, kQDim, kKvDim, kVocab };

// Which of the config's bias flags covers a matrix.
enum class BiasFlag : int32_t { kQkv, kO, kMlp };

// Whose heads the RoPE row permutation of a Hugging Face checkpoint moves.
enum class RopeRows : int32_t { kNone, kQueryHeads, kKvHeads };

// The activations a matrix reads (the calibration records of input_norms.h,
// by the same numbers as InputNorms::Slot).
enum class MatrixInput : int32_t { kAttnIn = 0, kAttnOut = 1, kMlpIn = 2, kMlpHidden = 3 };

struct LayerMatrix {
    dtm_component_kind kind;
    const char * module;  // Hugging Face module under model.layers.N, e.g. "self_attn.q_proj"
    const char * gguf;    // llama.cpp tensor under blk.N, e.g. "attn_q"
    Extent rows, cols;    // output and input features
    BiasFlag bias;
    RopeRows rope;
    MatrixInput input;
};

// The matrices of one Llama decoder layer, in dtm_component_kind order (the
// order of the components in dtm_model_component).
constexpr int32_t kLayerMatrices = 7;
constexpr LayerMatrix kLlamaLayer[kLayerMatrices] = {
    {DTM_COMPONENT_Q_PROJ, "self_attn.q_proj", "attn_q", Extent::kQDim, Extent::kDim, BiasFlag::kQkv,
     RopeRows::kQueryHeads, MatrixInput::kAttnIn},
    {DTM_COMPONENT_K_PROJ, "self_attn.k_proj", "attn_k", Extent::kKvDim, Extent::kDim, BiasFlag::kQkv,
     RopeRows::kKvHeads, MatrixInput::kAttnIn},
    {DTM_COMPONENT_V_PROJ, "self_attn.v_proj", "attn_v", Extent::kKvDim, Extent::kDim, BiasFlag::kQkv,
     RopeRows::kNone, MatrixInput::kAttnIn},
    {DTM_COMPONENT_O_PROJ, "self_attn.o_proj", "attn_output", Extent::kDim, Extent::kQDim, BiasFlag::kO,
     RopeRows::kNone, MatrixInput::kAttnOut},
    {DTM_COMPONENT_GATE_PROJ, "mlp.gate_proj", "ffn_gate", Extent::kHidden, Extent::kDim, BiasFlag::kMlp,
     RopeRows::kNone, MatrixInput::kMlpIn},
    {DTM_COMPONENT_UP_PROJ, "mlp.up_proj", "ffn_up", Extent::kHidden, Extent::kDim, BiasFlag::kMlp,
     RopeRows::kNone, MatrixInput::kMlpIn},
    {DTM_COMPONENT_DOWN_PROJ, "mlp.down_proj", "ffn_down", Extent::kDim, Extent::kHidden, BiasFlag::kMlp,
     RopeRows::kNone, MatrixInput::kMlpHidden},
};

// The row of a decoder matrix kind (q .. down).
inline const LayerMatrix & layer_matrix(dtm_component_kind kind) { return kLlamaLayer[int32_t(kind)]; }

inline int64_t extent(const ModelConfig & c, Extent e) {
    switch (e) {
        case Extent::kDim: return c.dim;
        case Extent::kHidden: return c.hidden_dim;
        case Extent::kQDim: return c.q_dim();
        case Extent::kKvDim: return c.kv_dim();
        case Extent::kVocab: return c.vocab_size;
    }
    return 0;
}

inline bool matrix_has_bias(const ModelConfig & c, const LayerMatrix & m) {
    switch (m.bias) {
        case BiasFlag::kQkv: return c.qkv_bias;
        case BiasFlag::kO: return c.o_bias;
        case BiasFlag::kMlp: return c.mlp_bias;
    }
    return false;
}

// Heads whose rows the RoPE permutation moves (0: none).
inline int32_t matrix_rope_heads(const ModelConfig & c, const LayerMatrix & m) {
    return m.rope == RopeRows::kQueryHeads ? c.n_heads : m.rope == RopeRows::kKvHeads ? c.n_kv_heads : 0;
}

// The embedding and the head: (vocab, dim) each, named as Hugging Face names them.
constexpr const char * kEmbeddingModule = "model.embed_tokens";
constexpr const char * kHeadModule = "lm_head";

}  // namespace dtm
