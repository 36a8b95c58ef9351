// sparse_matrix.h - pruned fp32 weights stored for the sparse kernels
// (sliced ELL in column windows).
//
// W (rows = output features, cols = input features) is cut into panels of
// kPanelRows = 16 consecutive rows, as the dense PackedMatrix is, and the
// columns into windows of kSparseWindow = 32. A (panel, window) block holds
// only the nonzero weights of its 16 rows in those 32 columns, slot-major:
// slot s is one 16-lane vector whose lane r is the s-th nonzero of row
// 16p + r inside the window (in increasing column order), with its column
// relative to the window start:
//
//   values[slot * 16 + r] = W[16p + r][32c + j]          (float)
//   local [slot * 16 + r] = j, in [0, 32)                 (uint8)
//
// A block has as many slots as its fullest row has nonzeros in the window
// (window_slots[p * n_windows + c] <= 32); lanes past a row's count are
// padding: value +0, local index kSparsePad = 32. Blocks follow each other in
// the order (panel, window); panel_start[p] is the first slot of panel p.
//
// Why windows: 32 consecutive activations fit in two AVX-512 registers, so a
// one-token product fetches x[32c + j] for the 16 lanes with one register
// permute (vpermt2ps) instead of a gather from memory, several times faster
// on current cores; the price is padding, since every block is as long as its
// fullest row (about 2x the nonzeros at 90 % sparsity, 1.35x at 50 %).
//
// Only weights that compare unequal to 0 are stored: -0.0 counts as zero.
// Values are 64-byte aligned, so one slot is one aligned AVX-512 vector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/cpu/aligned_array.h"

namespace dtm::cpu {

constexpr int64_t kSparseWindow = 32;  // columns per window
constexpr uint8_t kSparsePad = 32;     // local index of a padding lane

// Raw pointers into a SparseMatrix, as the kernels read it (a plain struct,
// so no C++ library code is instantiated in the per-ISA kernel files).
struct SparseView {
    int64_t rows;
    int64_t cols;
    int64_t n_panels;
    int64_t n_windows;             // ceil(cols / 32)
    const int64_t * panel_start;   // (n_panels + 1) first slot of each panel
    const uint8_t * window_slots;  // (n_panels * n_windows) slots of each block
    const float * values;          // (n_slots, 16)
    const uint8_t * local;         // (n_slots, 16) column - 32c, or kSparsePad
};

class SparseMatrix {
public:
    SparseMatrix() = default;

    // Keeps the weights of w (rows x cols, row-major) that are != 0.
    static SparseMatrix from_dense(const float * w, int64_t rows, int64_t cols);

    // From CSR arrays that the caller has validated: row_offsets (rows + 1)
    // non-decreasing from 0 to nnz, col_indices (nnz) strictly increasing
    // within a row and < cols, values (nnz) all != 0.
    static SparseMatrix from_csr(int64_t rows, int64_t cols, const int64_t * row_offsets,
                                 const uint32_t * col_indices, const float * values);

    int64_t rows() const { return rows_; }
    int64_t cols() const { return cols_; }
    int64_t nonzeros() const { return nnz_; }
    int64_t n_panels() const { return n_panels_; }
    int64_t n_windows() const { return n_windows_; }
    int64_t n_slots() const { return panel_start_.get()[n_panels_]; }
    SparseView view() const;

    // Bytes held: values, local indices, block lengths and panel starts.
    size_t bytes() const;

    // W back as dense rows x cols, row-major (zeros where nothing is stored).
    void to_dense(float * w) const;

    // The CSR form: row_offsets (rows + 1), col_indices (nnz), values (nnz).
    void to_csr(int64_t * row_offsets, uint32_t * col_indices, float * values) const;

private:
    // Calls fn(row, col, value) for every stored weight, row by row, columns increasing.
    template <typename Fn>
    void for_each_weight(Fn fn) const;

    int64_t rows_ = 0;
    int64_t cols_ = 0;
    int64_t nnz_ = 0;
    int64_t n_panels_ = 0;
    int64_t n_windows_ = 0;
    AlignedArray<int64_t> panel_start_;   // (n_panels + 1)
    AlignedArray<uint8_t> window_slots_;  // (n_panels * n_windows)
    AlignedArray<float> values_;          // (n_slots * 16), 64-byte aligned
    AlignedArray<uint8_t> local_;         // (n_slots * 16)
};

}  // namespace dtm::cpu
