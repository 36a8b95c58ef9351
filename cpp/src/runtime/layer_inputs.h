// layer_inputs.h - the residual stream entering one decoder layer, kept for
// every token of a set of evaluation samples (DESIGN.md §3: a scan of the
// components of layer l compresses nothing before l, so the hidden states
// that enter layer l are the same for every cell and are computed once).
//
// Tokens are the evaluation's fed tokens, sample after sample: prompt +
// continuation minus its last token. Starting a pass at layer l from these
// rows gives bitwise the result of running layers 0..l-1, because every
// per-token computation is independent of how tokens are batched.
//
// The cache remembers which matrices produced it (the shared Linears of
// layers 0..l-1) and the model's embedding and norms, so a candidate that
// differs before layer l is refused instead of silently given wrong inputs.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/model.h"

namespace dtm {

struct LayerInputs {
    int32_t layer = 0;            // the rows enter this layer (n_layers: the final norm)
    int32_t dim = 0;
    uint64_t tokens_hash = 0;     // of the evaluation inputs (tokens and lengths)
    int64_t n_tokens = 0;         // fed tokens
    std::vector<float> x;         // (n_tokens, dim)
    // What produced the rows: the matrices of layers 0..layer-1 and the file
    // whose embedding and norms were used.
    std::vector<std::shared_ptr<const Linear>> producers;
    const void * embedding = nullptr;  // WeightViews::embedding_table()

    // Throws dtm::Error(DTM_ERR_INVALID_ARGUMENT) naming the first component
    // of layers 0..layer-1 where `model` differs from the producer.
    void require_same_prefix(const Model & model) const;
};

// FNV-1a 64 of the evaluation inputs' tokens and lengths.
uint64_t hash_eval_tokens(const dtm_eval_inputs & in);

}  // namespace dtm
