// quant_panels.cpp - packing and unpacking of the int8 and block layouts
// (quant_panels.h describes them).
#include "kernels/cpu/quant_panels.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace dtm::cpu {

namespace {

void check_shape(int64_t rows, int64_t cols, const void * data, const char * what) {
    if (rows < 0 || cols < 0) {
        fail(DTM_ERR_INVALID_ARGUMENT, "cannot pack a %lld x %lld %s matrix", static_cast<long long>(rows),
             static_cast<long long>(cols), what);
    }
    if (data == nullptr && rows > 0 && cols > 0) fail(DTM_ERR_INVALID_ARGUMENT, "cannot pack a NULL %s matrix", what);
    // Every layout holds at most 16 * n_panels * (cols + 3) bytes (+ scales).
    const int64_t limit = std::numeric_limits<int64_t>::max() / 4;
    if (cols > 0 && (rows + kPanelRows) > limit / (cols + kInt8GroupK)) {
        fail(DTM_ERR_OUT_OF_MEMORY, "%s matrix of %lld x %lld is too large", what, static_cast<long long>(rows),
             static_cast<long long>(cols));
    }
}

}  // namespace

AlignedBytes aligned_bytes(size_t count, uint8_t fill) {
    AlignedBytes bytes = aligned_array<uint8_t>(count, "packed weights");
    std::memset(bytes.get(), fill, aligned_size(count));  // the padding past count too
    return bytes;
}

// ---------------------------------------------------------------------------
// Int8Panels

Int8Panels Int8Panels::pack(const int8_t * q, int64_t rows, int64_t cols) {
    check_shape(rows, cols, q, "int8");
    Int8Panels m;
    m.rows_ = rows;
    m.cols_ = cols;
    m.k_groups_ = (cols + kInt8GroupK - 1) / kInt8GroupK;
    m.data_ = aligned_bytes(m.bytes(), 128);  // 128 = the unsigned form of q = 0
    uint8_t * data = m.data_.get();
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t p = row / kPanelRows, r = row % kPanelRows;
        for (int64_t k = 0; k < cols; ++k) {
            const int64_t g = k / kInt8GroupK, i = k % kInt8GroupK;
            data[((p * m.k_groups_ + g) * kPanelRows + r) * kInt8GroupK + i] =
                static_cast<uint8_t>(q[row * cols + k] + 128);
        }
    }
    return m;
}

void Int8Panels::unpack(int8_t * q) const {
    for (int64_t row = 0; row < rows_; ++row) {
        for (int64_t k = 0; k < cols_; ++k) q[row * cols_ + k] = at(row, k);
    }
}

// ---------------------------------------------------------------------------
// Int8KMajorPanels

Int8KMajorPanels Int8KMajorPanels::pack(const int8_t * q, int64_t rows, int64_t cols) {
    check_shape(rows, cols, q, "int8");
    Int8KMajorPanels m;
    m.rows_ = rows;
    m.cols_ = cols;
    m.data_ = aligned_bytes(m.bytes(), 0);
    int8_t * data = reinterpret_cast<int8_t *>(m.data_.get());
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t p = row / kPanelRows, r = row % kPanelRows;
        for (int64_t k = 0; k < cols; ++k) data[(p * cols + k) * kPanelRows + r] = q[row * cols + k];
    }
    return m;
}

void Int8KMajorPanels::unpack(int8_t * q) const {
    for (int64_t row = 0; row < rows_; ++row) {
        const int64_t p = row / kPanelRows, r = row % kPanelRows;
        for (int64_t k = 0; k < cols_; ++k) q[row * cols_ + k] = panel(p)[k * kPanelRows + r];
    }
}

// ---------------------------------------------------------------------------
// QBlockPanels

QBlockPanels QBlockPanels::pack(dtm_weight_format format, const int8_t * q, const uint16_t * d, int64_t rows,
                                int64_t cols) {
    if (format != DTM_FORMAT_Q8_0 && format != DTM_FORMAT_Q4_0) {
        fail(DTM_ERR_INVALID_ARGUMENT, "QBlockPanels holds q8_0 or q4_0, not format %d", int(format));
    }
    check_shape(rows, cols, q, format == DTM_FORMAT_Q4_0 ? "q4_0" : "q8_0");
    if (cols % kQBlockSize != 0) {
        fail(DTM_ERR_INVALID_ARGUMENT, "%s needs cols %% 32 == 0, got a %lld x %lld matrix",
             format == DTM_FORMAT_Q4_0 ? "q4_0" : "q8_0", static_cast<long long>(rows), static_cast<long long>(cols));
    }
    QBlockPanels m;
    m.format_ = format;
    m.rows_ = rows;
    m.cols_ = cols;
    const int64_t n_blocks = m.n_blocks(), n_panels = m.n_panels();
    const bool q4 = format == DTM_FORMAT_Q4_0;
    // Padding rows hold q = 0: u = 128 (q8_0) or nibbles 8 | 8 << 4 (q4_0).
    m.data_ = aligned_bytes(static_cast<size_t>(n_panels * n_blocks * m.block_bytes()), q4 ? 0x88 : 128);
    m.scales_ = aligned_bytes(static_cast<size_t>(n_panels * n_blocks * kPanelRows) * sizeof(uint16_t), 0);
    uint16_t * scales = reinterpret_cast<uint16_t *>(m.scales_.get());
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t p = row / kPanelRows, r = row % kPanelRows;
        for (int64_t b = 0; b < n_blocks; ++b) {
            scales[(p * n_blocks + b) * kPanelRows + r] = d[row * n_blocks + b];
            uint8_t * block = m.data_.get() + (p * n_blocks + b) * m.block_bytes();
            for (int64_t j = 0; j < kQBlockSize; ++j) {
                const int8_t v = q[row * cols + b * kQBlockSize + j];
                const int64_t g = j / kInt8GroupK, i = j % kInt8GroupK;
                if (!q4) {
                    block[(g * kPanelRows + r) * kInt8GroupK + i] = static_cast<uint8_t>(v + 128);
                } else {
                    uint8_t & byte = block[((g % 4) * kPanelRows + r) * kInt8GroupK + i];
                    const uint8_t nibble = static_cast<uint8_t>((v + 8) & 0x0f);
                    byte = g < 4 ? static_cast<uint8_t>((byte & 0xf0) | nibble)
                                 : static_cast<uint8_t>((byte & 0x0f) | (nibble << 4));
                }
            }
        }
    }
    return m;
}

int8_t QBlockPanels::value_at(int64_t row, int64_t k) const {
    const int64_t p = row / kPanelRows, r = row % kPanelRows, b = k / kQBlockSize, j = k % kQBlockSize;
    const int64_t g = j / kInt8GroupK, i = j % kInt8GroupK;
    const uint8_t * block = values(p, b);
    if (format_ == DTM_FORMAT_Q8_0) return static_cast<int8_t>(block[(g * kPanelRows + r) * kInt8GroupK + i] - 128);
    const uint8_t byte = block[((g % 4) * kPanelRows + r) * kInt8GroupK + i];
    const int nibble = g < 4 ? (byte & 0x0f) : (byte >> 4);
    return static_cast<int8_t>(nibble - 8);
}

void QBlockPanels::unpack(int8_t * q, uint16_t * d) const {
    const int64_t n_blocks = this->n_blocks();
    for (int64_t row = 0; row < rows_; ++row) {
        for (int64_t k = 0; k < cols_; ++k) q[row * cols_ + k] = value_at(row, k);
        for (int64_t b = 0; b < n_blocks; ++b) d[row * n_blocks + b] = scale_at(row, b);
    }
}

}  // namespace dtm::cpu
