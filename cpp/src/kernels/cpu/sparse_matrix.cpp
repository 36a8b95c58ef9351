// sparse_matrix.cpp - building the windowed sliced ELL storage of pruned
// weights (layout in sparse_matrix.h) from dense rows or from CSR, and back.
#include "kernels/cpu/sparse_matrix.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"

namespace dtm::cpu {

namespace {

constexpr int64_t kLanes = 16;  // rows per panel = lanes per slot

// Uninitialised, 64-byte aligned storage for `count` elements.
template <typename T>
AlignedArray<T> make_array(int64_t count) {
    // A negative count reads as a huge one: too large.
    return aligned_array<T>(size_t(count), "a sparse matrix");
}

}  // namespace

SparseMatrix SparseMatrix::from_csr(int64_t rows, int64_t cols, const int64_t * row_offsets,
                                    const uint32_t * col_indices, const float * values) {
    if (rows < 0 || cols < 0) {
        fail(DTM_ERR_INVALID_ARGUMENT, "cannot store a %lld x %lld sparse matrix", static_cast<long long>(rows),
             static_cast<long long>(cols));
    }
    if (cols > int64_t(std::numeric_limits<int32_t>::max())) {
        fail(DTM_ERR_UNSUPPORTED, "sparse matrices support at most 2^31 - 1 columns, got %lld",
             static_cast<long long>(cols));
    }
    SparseMatrix m;
    m.rows_ = rows;
    m.cols_ = cols;
    m.nnz_ = rows > 0 ? row_offsets[rows] : 0;
    m.n_panels_ = (rows + kLanes - 1) / kLanes;
    m.n_windows_ = (cols + kSparseWindow - 1) / kSparseWindow;
    const int64_t nw = m.n_windows_;

    // Slots of every block: the longest run of a row's weights in the window.
    m.window_slots_ = make_array<uint8_t>(m.n_panels_ * nw);
    std::memset(m.window_slots_.get(), 0, size_t(m.n_panels_ * nw));
    for (int64_t row = 0; row < rows; ++row) {
        uint8_t * slots = m.window_slots_.get() + (row / kLanes) * nw;
        for (int64_t i = row_offsets[row]; i < row_offsets[row + 1];) {
            const int64_t c = col_indices[i] / kSparseWindow;
            int64_t run = 0;
            while (i < row_offsets[row + 1] && col_indices[i] / kSparseWindow == c) ++run, ++i;
            if (run > slots[c]) slots[c] = uint8_t(run);
        }
    }
    m.panel_start_ = make_array<int64_t>(m.n_panels_ + 1);
    int64_t n_slots = 0;
    for (int64_t p = 0; p < m.n_panels_; ++p) {
        m.panel_start_[p] = n_slots;
        for (int64_t c = 0; c < nw; ++c) n_slots += m.window_slots_[p * nw + c];
    }
    m.panel_start_[m.n_panels_] = n_slots;

    m.values_ = make_array<float>(n_slots * kLanes);
    std::memset(m.values_.get(), 0, size_t(n_slots * kLanes) * sizeof(float));
    m.local_ = make_array<uint8_t>(n_slots * kLanes);
    std::memset(m.local_.get(), kSparsePad, size_t(n_slots * kLanes));

    std::vector<int64_t> block_start(static_cast<size_t>(nw));
    for (int64_t p = 0; p < m.n_panels_; ++p) {
        int64_t slot = m.panel_start_[p];
        for (int64_t c = 0; c < nw; ++c) {
            block_start[size_t(c)] = slot;
            slot += m.window_slots_[p * nw + c];
        }
        for (int64_t r = 0; r < kLanes && p * kLanes + r < rows; ++r) {
            const int64_t row = p * kLanes + r;
            int64_t prev_c = -1, j = 0;
            for (int64_t i = row_offsets[row]; i < row_offsets[row + 1]; ++i) {
                const int64_t c = col_indices[i] / kSparseWindow;
                j = c == prev_c ? j + 1 : 0;
                prev_c = c;
                const int64_t at = (block_start[size_t(c)] + j) * kLanes + r;
                m.values_[at] = values[i];
                m.local_[at] = uint8_t(col_indices[i] - c * kSparseWindow);
            }
        }
    }
    return m;
}

SparseMatrix SparseMatrix::from_dense(const float * w, int64_t rows, int64_t cols) {
    const int64_t safe_rows = rows > 0 ? rows : 0;
    std::vector<int64_t> offsets(static_cast<size_t>(safe_rows + 1), 0);
    std::vector<uint32_t> columns;
    std::vector<float> values;
    for (int64_t row = 0; row < rows; ++row) {
        for (int64_t k = 0; k < cols; ++k) {
            const float v = w[row * cols + k];
            if (v != 0.0f) {
                columns.push_back(uint32_t(k));
                values.push_back(v);
            }
        }
        offsets[size_t(row) + 1] = int64_t(values.size());
    }
    return from_csr(rows, cols, offsets.data(), columns.data(), values.data());
}

SparseView SparseMatrix::view() const {
    return SparseView{rows_,       cols_, n_panels_, n_windows_, panel_start_.get(), window_slots_.get(),
                      values_.get(), local_.get()};
}

size_t SparseMatrix::bytes() const {
    return size_t(n_slots() * kLanes) * (sizeof(float) + sizeof(uint8_t)) + size_t(n_panels_ * n_windows_) +
           size_t(n_panels_ + 1) * sizeof(int64_t);
}

template <typename Fn>
void SparseMatrix::for_each_weight(Fn fn) const {
    for (int64_t row = 0; row < rows_; ++row) {
        const int64_t p = row / kLanes, r = row % kLanes;
        int64_t slot = panel_start_[p];
        for (int64_t c = 0; c < n_windows_; ++c) {
            const int64_t n = window_slots_[p * n_windows_ + c];
            for (int64_t s = 0; s < n; ++s) {
                const int64_t at = (slot + s) * kLanes + r;
                if (local_[at] < kSparsePad) fn(row, c * kSparseWindow + local_[at], values_[at]);
            }
            slot += n;
        }
    }
}

void SparseMatrix::to_dense(float * w) const {
    std::fill_n(w, size_t(rows_ * cols_), 0.0f);  // w may be null for an empty matrix: no memset(nullptr)
    for_each_weight([&](int64_t row, int64_t col, float v) { w[row * cols_ + col] = v; });
}

void SparseMatrix::to_csr(int64_t * row_offsets, uint32_t * col_indices, float * values) const {
    int64_t i = 0, current = -1;
    for_each_weight([&](int64_t row, int64_t col, float v) {
        while (current < row) row_offsets[++current] = i;
        col_indices[i] = uint32_t(col);
        values[i] = v;
        ++i;
    });
    while (current < rows_) row_offsets[++current] = i;
}

}  // namespace dtm::cpu
