#include "runtime/layer_inputs.h"

#include "core/error.h"
#include "core/fnv.h"

namespace dtm {

uint64_t hash_eval_tokens(const dtm_eval_inputs & in) {
    uint64_t h = kFnvOffsetBasis;
    int64_t total = 0;
    for (int32_t s = 0; s < in.n_samples; ++s) total += int64_t(in.prompt_lens[s]) + in.cont_lens[s];
    h = fnv1a_bytes(h, &in.n_samples, sizeof(in.n_samples));
    h = fnv1a_bytes(h, in.prompt_lens, sizeof(int32_t) * size_t(in.n_samples));
    h = fnv1a_bytes(h, in.cont_lens, sizeof(int32_t) * size_t(in.n_samples));
    h = fnv1a_bytes(h, in.tokens, sizeof(int32_t) * size_t(total));
    return h;
}

void LayerInputs::require_same_prefix(const Model & model) const {
    if (model.config().dim != dim || model.views().embedding_table() != embedding) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "the cached layer inputs were made with another model's embedding");
    }
    for (int32_t i = 0; i < layer * Model::kComponentsPerLayer; ++i) {
        if (model.linear(i) != producers[size_t(i)]) {
            throw Error(DTM_ERR_INVALID_ARGUMENT,
                        "the candidate differs from the model whose layer inputs are cached in " +
                            model.components()[size_t(i)].name + ", before layer " + std::to_string(layer) +
                            ": cached inputs of that layer would be wrong for it");
        }
    }
}

}  // namespace dtm
