// sparse_linear.h - the Linear of pruned weights stored sparse (DTM_FORMAT_SPARSE).
//
// Storage: sliced ELL panels of 16 rows in windows of 32 columns
// (kernels/cpu/sparse_matrix.h): the nonzero weights, fp32, with an 8-bit
// column index inside the window, padded to the fullest row of each block.
// Products (kernels/cpu/sparse_matmul.h) are bitwise equal to a
// DenseLinear of the same weights for finite activations; an inf or NaN
// activation meeting a pruned weight gives NaN in the dense product and is
// skipped here.
//
// forward: below the kernel table's tile_min_tokens (sparse_matmul.h: never
// on avx512 and scalar, from 2 tokens on avx2) the gemv kernel runs on the
// token rows as they are; from there the token-tile kernel runs on x
// transposed into tiles of 16 tokens (a per-thread scratch buffer kept between calls: 33/32 x 16
// floats per feature and tile, e.g. 8.7 MB for 512 tokens of 4096 features). Tasks split
// panels (x token tiles); each output is computed by exactly one task.
//
// Stored tensors (CSR, rows in order, columns increasing within a row):
//   "values"      F32 (nnz)        the nonzero weights
//   "col_indices" U16 (nnz)        their columns (I32 when cols > 65536)
//   "row_offsets" I64 (rows + 1)   row i's weights are [row_offsets[i], row_offsets[i+1])
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu/sparse_matrix.h"
#include "model/linear.h"

namespace dtm::compress {

// make_pruned_linear (prune.h) stores a matrix sparse from this share of
// zero weights on, dense (DenseLinear, zeros kept) below: the break-even of
// the sparse products against DenseLinear. Measured with
// `bench_sparse --quick` (avx512, Zen 5, 1 thread, magnitude pruning),
// sparse / dense speed at 1 token | 64 tokens:
//   sparsity   288x288       768x288       288x768       4096x4096
//   50 %       0.69 | 0.76   0.99 | 0.78   0.74 | 0.77   0.95 | 0.75
//   60 %       0.80 | 0.88   1.17 | 0.93   0.87 | 0.89   1.18 | 0.85
//   70 %       0.99 | 1.08   1.48 | 1.14   1.16 | 1.07   1.45 | 1.03
//   90 %       2.06 | 2.17   3.09 | 2.11   2.29 | 2.24   4.71 | 1.63
// From 70 % sparse is at least as fast on every shape and batch size of the
// default model (and its storage is 0.55x dense); at 50-60 % it is smaller but
// slower on the 288-wide products, so those stay dense.
constexpr double kSparseMinSparsity = 0.7;

class SparseLinear final : public Linear {
public:
    explicit SparseLinear(cpu::SparseMatrix weights) : w_(std::move(weights)) {}

    // Keeps the weights of w (rows x cols, row-major) that are != 0 (-0.0 is zero).
    static std::shared_ptr<const SparseLinear> from_rows(const float * w, int64_t rows, int64_t cols);
    // From the stored tensors above; DTM_ERR_MODEL_FORMAT when one is missing,
    // has the wrong dtype or size, or the CSR is inconsistent (offsets not
    // starting at 0, decreasing or not ending at nnz; a column >= cols or not
    // increasing within its row; a stored value that is zero).
    static std::shared_ptr<const SparseLinear> restore(int64_t rows, int64_t cols,
                                                       const std::vector<StoredTensor> & tensors);

    int64_t rows() const override { return w_.rows(); }
    int64_t cols() const override { return w_.cols(); }
    size_t storage_bytes() const override { return w_.bytes(); }
    dtm_weight_format format() const override { return DTM_FORMAT_SPARSE; }
    int64_t nonzeros() const override { return w_.nonzeros(); }
    void dense_weights(float * out) const override { w_.to_dense(out); }
    std::vector<StoredTensor> stored_tensors() const override;
    void forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                 const Backend & backend) const override;

    const cpu::SparseMatrix & matrix() const { return w_; }

private:
    cpu::SparseMatrix w_;
};

}  // namespace dtm::compress
