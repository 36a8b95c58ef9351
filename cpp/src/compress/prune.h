// prune.h - pruning a weight matrix and the Linear that runs pruned weights.
//
// The masks (which weights become zero) are chosen here; the storage and the
// kernels that skip the zeros live in compress/sparse_linear.h and
// kernels/cpu/sparse_*.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "dtm/dtm.h"
#include "model/linear.h"

namespace dtm::compress {

// Zeroes weights of w (rows x cols, row-major: a component's effective
// weights) as `spec` says; spec.kind is one of the DTM_COMPRESS_PRUNE_* kinds
// and its fields are documented in dtm.h (dtm_compression). Zeros already in
// w count towards the target and are pruned first, so pruning in steps adds
// sparsity on top of an existing mask. input_norms: (cols) the calibration
// norms of the matrix's input features, required for Wanda, else ignored.
// Throws dtm::Error(DTM_ERR_INVALID_ARGUMENT) for a sparsity outside [0, 1]
// (or NaN), a bad n:m, cols not a multiple of m, missing norms.
void prune(float * w, int64_t rows, int64_t cols, const dtm_compression & spec, const float * input_norms);

// The Linear that runs the (pruned) weights w: sparse storage where that is
// smaller and faster, a DenseLinear with zeros below the break-even. Either
// way its results are bitwise those of a DenseLinear of the same weights.
std::shared_ptr<const Linear> make_pruned_linear(const float * w, int64_t rows, int64_t cols);

// Rebuilds a DTM_FORMAT_SPARSE Linear from its stored tensors, bitwise.
// Throws dtm::Error(DTM_ERR_MODEL_FORMAT) for missing or inconsistent tensors.
std::shared_ptr<const Linear> restore_sparse(int64_t rows, int64_t cols, const std::vector<StoredTensor> & tensors);

}  // namespace dtm::compress
