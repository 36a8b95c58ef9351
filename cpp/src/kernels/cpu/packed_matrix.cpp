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
#include "kernels/cpu/quant_math.h"

namespace dtm::cpu {

namespace {

void check_pack_args(const void * w, int64_t rows, int64_t cols, int64_t ld) {
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
    const int64_t n_panels = (rows + kPanelRows - 1) / kPanelRows;
    // n_panels * cols * kPanelRows must fit in size_t; checked before multiplying.
    if (cols > 0 && n_panels > std::numeric_limits<int64_t>::max() / kPanelRows / cols) {
        fail(DTM_ERR_OUT_OF_MEMORY, "packed matrix of %lld x %lld is too large",
             static_cast<long long>(rows), static_cast<long long>(cols));
    }
}

// data[(panel * cols + k) * kPanelRows + r] = w[row][k], zeros past `rows`.
template <typename T>
void pack_panels(const T * w, int64_t rows, int64_t cols, int64_t ld, T * data) {
    const int64_t n_panels = (rows + kPanelRows - 1) / kPanelRows;
    for (int64_t p = 0; p < n_panels; ++p) {
        T * dst = data + p * cols * kPanelRows;  // (cols, kPanelRows)
        for (int64_t r = 0; r < kPanelRows; ++r) {
            const int64_t row = p * kPanelRows + r;
            if (row < rows) {
                const T * src = w + row * ld;
                for (int64_t k = 0; k < cols; ++k) dst[k * kPanelRows + r] = src[k];
            } else {
                for (int64_t k = 0; k < cols; ++k) dst[k * kPanelRows + r] = T(0);
            }
        }
    }
}

void check_unpack_stride(int64_t ld, int64_t cols) {
    if (ld < cols) {
        fail(DTM_ERR_INVALID_ARGUMENT, "row stride %lld is smaller than the %lld columns",
             static_cast<long long>(ld), static_cast<long long>(cols));
    }
}

}  // namespace

PackedMatrix PackedMatrix::pack(const float * w, int64_t rows, int64_t cols, int64_t ld) {
    check_pack_args(w, rows, cols, ld);
    PackedMatrix m;
    m.rows_ = rows;
    m.cols_ = cols;
    m.data_ = aligned_array<float>(size_t(m.n_panels() * cols * kPanelRows), "a packed matrix");
    pack_panels(w, rows, cols, ld, m.data_.get());
    return m;
}

void PackedMatrix::unpack(float * w, int64_t ld) const {
    check_unpack_stride(ld, cols_);
    for (int64_t row = 0; row < rows_; ++row) {
        const float * src = panel(row / kPanelRows) + row % kPanelRows;
        float * dst = w + row * ld;
        for (int64_t k = 0; k < cols_; ++k) dst[k] = src[k * kPanelRows];
    }
}

float widen_half(uint16_t bits, HalfKind kind) {
    if (kind == HalfKind::kFp16) return fp16_to_fp32(bits);
    return float_from_bits(uint32_t(bits) << 16);
}

PackedHalfMatrix PackedHalfMatrix::pack(const uint16_t * w, int64_t rows, int64_t cols, int64_t ld, HalfKind kind) {
    check_pack_args(w, rows, cols, ld);
    PackedHalfMatrix m;
    m.rows_ = rows;
    m.cols_ = cols;
    m.kind_ = kind;
    m.data_ = aligned_array<uint16_t>(size_t(m.n_panels() * cols * kPanelRows), "a packed 16-bit matrix");
    pack_panels(w, rows, cols, ld, m.data_.get());
    return m;
}

void PackedHalfMatrix::unpack_bits(uint16_t * w, int64_t ld) const {
    check_unpack_stride(ld, cols_);
    for (int64_t row = 0; row < rows_; ++row) {
        const uint16_t * src = panel(row / kPanelRows) + row % kPanelRows;
        uint16_t * dst = w + row * ld;
        for (int64_t k = 0; k < cols_; ++k) dst[k] = src[k * kPanelRows];
    }
}

void PackedHalfMatrix::unpack(float * w, int64_t ld) const {
    check_unpack_stride(ld, cols_);
    for (int64_t row = 0; row < rows_; ++row) {
        const uint16_t * src = panel(row / kPanelRows) + row % kPanelRows;
        float * dst = w + row * ld;
        for (int64_t k = 0; k < cols_; ++k) dst[k] = widen_half(src[k * kPanelRows], kind_);
    }
}

}  // namespace dtm::cpu
