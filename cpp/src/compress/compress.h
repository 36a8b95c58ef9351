// compress.h - making a candidate: compressing components of a model.
//
// A compression always starts from the component's current effective weights
// (Linear::dense_weights: dequantized, zeros kept), so compressions compose:
// prune in steps, prune then quantize. The result is a new Model that shares
// every other matrix, the norms, the embedding and the tokenizer with the
// model it was made from.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "dtm/dtm.h"
#include "model/model.h"
#include "runtime/input_norms.h"

namespace dtm::compress {

struct ComponentCompression {
    int32_t component;     // index as in Model::components()
    dtm_compression spec;
};

// Checks a compression's fields (kind known, sparsity in [0, 1], n:m
// sensible); throws dtm::Error(DTM_ERR_INVALID_ARGUMENT) naming the problem.
void validate(const dtm_compression & spec);

// The compressed form of one matrix. input_norms: (cols) Wanda calibration
// norms, required for DTM_COMPRESS_PRUNE_WANDA.
std::shared_ptr<const Linear> compress_linear(const Linear & current, const dtm_compression & spec,
                                              const float * input_norms);

// The candidate. Components are compressed in parallel on n_threads (0 = all
// CPUs, at most ThreadPool::max_threads()); each may appear once. `norms` is needed when a request is Wanda.
std::unique_ptr<Model> compress_model(const Model & model, const std::vector<ComponentCompression> & requests,
                                      const InputNorms * norms, int n_threads);

// The candidate whose listed matrices are replaced by the given fp32 weights
// (`weights`: each component's rows x cols values row-major, one after another
// in the order of `components`; n_weights their total), each stored as a
// pruned matrix is (compress/prune.h make_pruned_linear). Throws
// dtm::Error: INVALID_ARGUMENT (a component twice or out of range, n_weights
// not the total), UNSUPPORTED (the embedding), NON_FINITE (a NaN or infinity,
// naming the component).
std::unique_ptr<Model> with_weights(const Model & model, const std::vector<int32_t> & components,
                                    const float * weights, int64_t n_weights);

}  // namespace dtm::compress
