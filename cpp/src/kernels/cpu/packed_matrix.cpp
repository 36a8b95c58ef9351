// packed_matrix.cpp - packing of fp32 weights into k-major panels of 16 rows.
//
//   data[(panel * cols + k) * kPanelRows + r] = W[panel * kPanelRows + r][k]
//
// The buffer is 64-byte aligned, so every panel column (16 floats, 64 bytes)
// is one aligned AVX-512 vector; rows past `rows` in the last panel are zero.
#include "kernels/cpu/packed_matrix.h"

#include <cstdlib>
#include <limits>

#include "core/error.h"

namespace dtm::cpu {

PackedMatrix PackedMatrix::pack(const float * w, int64_t rows, int64_t cols, int64_t ld) {
    if (rows < 0 || cols < 0) {
        fail(DTM_ERR_INVALID_ARGUMENT, "cannot pack a %lld x %lld matrix",
             static_cast<long long>(rows), static_cast<long long>(cols));
    }
    if (ld < cols) {
        fail(DTM_ERR_INVALID_ARGUMENT, "row stride %lld is smaller than the %lld columns",
             static_cast<long long>(ld), static_cast<long long>(cols));
    }
    if (w == nullptr && rows > 0 && cols > 0) {
        fail(DTM_ERR_INVALID_ARGUMENT, "cannot pack a NULL matrix");
    }
    PackedMatrix m;
    m.rows_ = rows;
    m.cols_ = cols;
    const int64_t n_panels = m.n_panels();
    // n_panels * cols * kPanelRows must fit in size_t; checked before multiplying.
    if (cols > 0 && n_panels > std::numeric_limits<int64_t>::max() / kPanelRows / cols) {
        fail(DTM_ERR_OUT_OF_MEMORY, "packed matrix of %lld x %lld is too large",
             static_cast<long long>(rows), static_cast<long long>(cols));
    }
    m.data_ = aligned_array<float>(size_t(n_panels * cols * kPanelRows), "a packed matrix");

    for (int64_t p = 0; p < n_panels; ++p) {
        float * dst = m.data_.get() + p * cols * kPanelRows;  // (cols, kPanelRows)
        for (int64_t r = 0; r < kPanelRows; ++r) {
            const int64_t row = p * kPanelRows + r;
            if (row < rows) {
                const float * src = w + row * ld;
                for (int64_t k = 0; k < cols; ++k) dst[k * kPanelRows + r] = src[k];
            } else {
                for (int64_t k = 0; k < cols; ++k) dst[k * kPanelRows + r] = 0.0f;
            }
        }
    }
    return m;
}

void PackedMatrix::unpack(float * w, int64_t ld) const {
    if (ld < cols_) {
        fail(DTM_ERR_INVALID_ARGUMENT, "row stride %lld is smaller than the %lld columns",
             static_cast<long long>(ld), static_cast<long long>(cols_));
    }
    for (int64_t row = 0; row < rows_; ++row) {
        const float * src = panel(row / kPanelRows) + row % kPanelRows;
        float * dst = w + row * ld;
        for (int64_t k = 0; k < cols_; ++k) dst[k] = src[k * kPanelRows];
    }
}

}  // namespace dtm::cpu
