// prune.cpp - choosing which weights become zero (magnitude, N:M, Wanda), and
// the Linear that runs the result (sparse or dense, see prune.h).
//
// Every selection orders weights by a key (score, then index) and zeroes the
// smallest keys: ties go to the lowest index, so pruning is deterministic.
// Weights that are already zero have the smallest keys, so pruning in steps
// keeps the earlier mask and adds to it. A target below the current sparsity
// (of the matrix for magnitude, of a row for Wanda) leaves the matrix (row)
// unchanged: pruning never brings weights back. N:M ignores `sparsity`; a
// group that already has more than m - n zeros keeps them (it then has fewer
// than n nonzeros).
//
// Input checks (dtm::Error(DTM_ERR_INVALID_ARGUMENT)): sparsity NaN or outside
// [0, 1] (magnitude, Wanda); NaN weights (all kinds) and infinite weights
// (Wanda, whose score |w| * norm would be NaN for a zero norm); N:M with n < 0,
// m < 1, n > m or cols % m != 0 ((0, 0) means 2:4); Wanda norms missing,
// non-finite or negative. -0.0 counts as zero.
#include "compress/prune.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <tuple>

#include "compress/sparse_linear.h"
#include "core/error.h"

namespace dtm::compress {

namespace {

uint32_t magnitude_bits(float v) {
    const float a = std::fabs(v);  // -0 -> +0: both are zero
    uint32_t b;
    std::memcpy(&b, &a, sizeof b);
    return b;  // for non-negative floats the bit patterns order as the values
}

void check_sparsity(float sparsity) {
    if (!(sparsity >= 0.0f && sparsity <= 1.0f)) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "sparsity must be in [0, 1], got " + std::to_string(sparsity));
    }
}

void check_weights(const float * w, int64_t rows, int64_t cols, bool finite) {
    for (int64_t i = 0; i < rows * cols; ++i) {
        if (std::isnan(w[i]) || (finite && std::isinf(w[i]))) {
            throw Error(DTM_ERR_INVALID_ARGUMENT, std::string("cannot prune a matrix with a") +
                                                      (std::isnan(w[i]) ? " NaN" : "n infinite") + " weight (row " +
                                                      std::to_string(i / cols) + ", column " +
                                                      std::to_string(i % cols) + ")");
        }
    }
}

int64_t count_zeros(const float * w, int64_t n) {
    int64_t z = 0;
    for (int64_t i = 0; i < n; ++i) z += w[i] == 0.0f;
    return z;
}

// Unstructured magnitude over the whole matrix: zero the `target` smallest
// keys (|w|, row-major index). The |w| of the target-th smallest key, T, is
// found by a two-level radix select on the 32 magnitude bits (histograms of
// the high, then the low 16 bits: three linear passes, no sort); then every
// weight below T is zeroed, and of those equal to T the lowest indices until
// the count is reached.
void prune_magnitude(float * w, int64_t rows, int64_t cols, float sparsity) {
    const int64_t n = rows * cols;
    const int64_t target = std::llround(double(sparsity) * double(n));
    if (target <= count_zeros(w, n)) return;  // already at least that sparse: unchanged

    std::vector<int64_t> hist(size_t(1) << 16, 0);
    for (int64_t i = 0; i < n; ++i) ++hist[magnitude_bits(w[i]) >> 16];
    uint32_t high = 0;
    int64_t below = 0;  // weights whose magnitude bits are below the bucket found
    while (below + hist[high] < target) below += hist[high++];

    std::fill(hist.begin(), hist.end(), 0);
    for (int64_t i = 0; i < n; ++i) {
        const uint32_t b = magnitude_bits(w[i]);
        if (b >> 16 == high) ++hist[b & 0xffffu];
    }
    uint32_t low = 0;
    while (below + hist[low] < target) below += hist[low++];
    const uint32_t threshold = (high << 16) | low;

    int64_t ties_left = target - below;  // weights equal to the threshold to zero, lowest index first
    for (int64_t i = 0; i < n; ++i) {
        const uint32_t b = magnitude_bits(w[i]);
        if (b < threshold) {
            w[i] = 0.0f;
        } else if (b == threshold && ties_left > 0) {
            w[i] = 0.0f;
            --ties_left;
        }
    }
}

// In every group of m consecutive weights of a row keep the n largest |w|:
// zero the m - n smallest keys (|w| bits << 32 | position in the group).
void prune_n_m(float * w, int64_t rows, int64_t cols, int32_t n, int32_t m) {
    if (n == 0 && m == 0) n = 2, m = 4;
    if (n < 0 || m < 1 || n > m) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "N:M pruning needs 0 <= n <= m and m >= 1, got " + std::to_string(n) +
                                                  ":" + std::to_string(m));
    }
    if (cols % m != 0) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "N:M pruning needs cols (" + std::to_string(cols) +
                                                  ") to be a multiple of m = " + std::to_string(m));
    }
    const int64_t drop = m - n;
    if (drop == 0) return;
    std::vector<uint64_t> keys(static_cast<size_t>(m));
    for (int64_t g = 0; g < rows * cols; g += m) {
        float * group = w + g;
        for (int64_t j = 0; j < m; ++j) keys[size_t(j)] = (uint64_t(magnitude_bits(group[j])) << 32) | uint64_t(j);
        std::nth_element(keys.begin(), keys.begin() + (drop - 1), keys.end());
        for (int64_t j = 0; j < drop; ++j) group[keys[size_t(j)] & 0xffffffffu] = 0.0f;
    }
}

// Per row, zero the round(sparsity * cols) smallest scores |w_ij| * norm_j
// (exact in double); ties: weights already zero first, then the lowest column.
void prune_wanda(float * w, int64_t rows, int64_t cols, float sparsity, const float * input_norms) {
    if (input_norms == nullptr) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "Wanda pruning needs the input-feature norms of a calibration");
    }
    for (int64_t j = 0; j < cols; ++j) {
        if (!std::isfinite(input_norms[j]) || input_norms[j] < 0.0f) {
            throw Error(DTM_ERR_INVALID_ARGUMENT, "Wanda input norm " + std::to_string(j) + " is " +
                                                      std::to_string(input_norms[j]) +
                                                      ", expected a finite value >= 0");
        }
    }
    const int64_t target = std::llround(double(sparsity) * double(cols));
    using Key = std::tuple<double, bool, int64_t>;  // (score, is nonzero, column)
    std::vector<Key> keys(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
        float * row = w + r * cols;
        if (target <= count_zeros(row, cols)) continue;  // already at least that sparse
        for (int64_t j = 0; j < cols; ++j) {
            keys[size_t(j)] = Key(double(std::fabs(row[j])) * double(input_norms[j]), row[j] != 0.0f, j);
        }
        std::nth_element(keys.begin(), keys.begin() + (target - 1), keys.end());
        for (int64_t i = 0; i < target; ++i) row[std::get<2>(keys[size_t(i)])] = 0.0f;
    }
}

}  // namespace

void prune(float * w, int64_t rows, int64_t cols, const dtm_compression & spec, const float * input_norms) {
    if (rows < 0 || cols < 0) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "cannot prune a " + std::to_string(rows) + " x " + std::to_string(cols) +
                                                  " matrix");
    }
    switch (spec.kind) {
        case DTM_COMPRESS_PRUNE_MAGNITUDE:
            check_sparsity(spec.sparsity);
            check_weights(w, rows, cols, false);
            prune_magnitude(w, rows, cols, spec.sparsity);
            return;
        case DTM_COMPRESS_PRUNE_N_M:
            check_weights(w, rows, cols, false);
            prune_n_m(w, rows, cols, spec.n, spec.m);
            return;
        case DTM_COMPRESS_PRUNE_WANDA:
            check_sparsity(spec.sparsity);
            check_weights(w, rows, cols, true);
            prune_wanda(w, rows, cols, spec.sparsity, input_norms);
            return;
        default:
            throw Error(DTM_ERR_INVALID_ARGUMENT, "compression kind " + std::to_string(spec.kind) + " is not pruning");
    }
}

std::shared_ptr<const Linear> make_pruned_linear(const float * w, int64_t rows, int64_t cols) {
    const int64_t n = rows * cols;
    const int64_t zeros = count_zeros(w, n);
    if (n > 0 && double(zeros) >= kSparseMinSparsity * double(n)) return SparseLinear::from_rows(w, rows, cols);
    return DenseLinear::from_rows(w, rows, cols);
}

std::shared_ptr<const Linear> restore_sparse(int64_t rows, int64_t cols, const std::vector<StoredTensor> & tensors) {
    return SparseLinear::restore(rows, cols, tensors);
}

}  // namespace dtm::compress
