// quant_panels.h - quantized weights packed for the int8 and block kernels.
//
// All three layouts cut W (rows = output features, cols = input features) in
// panels of kPanelRows = 16 rows, as the fp32 PackedMatrix does, so one
// AVX-512 vector holds one value per output row of a panel. Rows past `rows`
// in the last panel hold the value 0. Buffers are 64-byte aligned.
//
// Int8Panels (W8A8, the VNNI layout): groups of 4 consecutive k per row, the
// 16 rows of a panel side by side, stored as unsigned bytes u = q + 128:
//
//   data[((p * k_groups + g) * 16 + r) * 4 + i] = q[16p + r][4g + i] + 128
//
// k from cols up to k_groups * 4 hold q = 0. One 64-byte vector is one group
// of a panel: lane r (32 bits) holds row r's 4 values, the operand shape of
// vpdpbusd. The +128 makes the weights the unsigned operand; kernels subtract
// 128 * sum_k x[t][k] once per token (see int8_gemm.h).
//
// Int8KMajorPanels (weight-only int8): k-major like PackedMatrix, signed:
//
//   data[(p * cols + k) * 16 + r] = q[16p + r][k]
//
// QBlockPanels (q8_0 and q4_0): blocks of 32 k; per (panel, block) the
// integer values of the 16 rows, then, apart, the blocks' fp16 scales:
//
//   scales[(p * n_blocks + b) * 16 + r] = d[16p + r][b]       (fp16 bits)
//
//   q8_0: 8 vectors of 64 bytes per (panel, block), vector g holding
//         byte r * 4 + i = q[16p + r][32b + 4g + i] + 128      (u8, q in [-128, 127])
//   q4_0: 4 vectors of 64 bytes per (panel, block), vector h holding in
//         byte r * 4 + i the nibbles
//           low  = q[16p + r][32b + 4h + i] + 8                (q in [-8, 7])
//           high = q[16p + r][32b + 4(h + 4) + i] + 8
//
// so after unpacking, q4_0 and q8_0 feed the same int8 dot products with
// unsigned weights u = q + offset (offset 128 or 8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dtm/dtm.h"
#include "kernels/cpu/aligned_array.h"
#include "kernels/cpu/packed_matrix.h"

namespace dtm::cpu {

constexpr int64_t kInt8GroupK = 4;     // k per 32-bit lane of the W8A8 layout
constexpr int64_t kQBlockSize = 32;    // weights per q8_0 / q4_0 block
constexpr int64_t kQ8BlockPanelBytes = kQBlockSize * kPanelRows;      // 512
constexpr int64_t kQ4BlockPanelBytes = kQBlockSize * kPanelRows / 2;  // 256

using AlignedBytes = AlignedArray<uint8_t>;

// `count` bytes, 64-byte aligned, every byte `fill`; throws
// DTM_ERR_OUT_OF_MEMORY when the allocation fails.
AlignedBytes aligned_bytes(size_t count, uint8_t fill);

class Int8Panels {
public:
    Int8Panels() = default;
    // Packs q (rows x cols, row-major, values in [-128, 127]).
    static Int8Panels pack(const int8_t * q, int64_t rows, int64_t cols);
    // Writes q back (rows x cols, row-major), for round trips.
    void unpack(int8_t * q) const;
    int8_t at(int64_t row, int64_t k) const {
        const int64_t p = row / kPanelRows, r = row % kPanelRows, g = k / kInt8GroupK, i = k % kInt8GroupK;
        return static_cast<int8_t>(data_.get()[((p * k_groups_ + g) * kPanelRows + r) * kInt8GroupK + i] - 128);
    }

    int64_t rows() const { return rows_; }
    int64_t cols() const { return cols_; }
    int64_t k_groups() const { return k_groups_; }
    int64_t n_panels() const { return (rows_ + kPanelRows - 1) / kPanelRows; }
    const uint8_t * panel(int64_t p) const { return data_.get() + p * k_groups_ * kPanelRows * kInt8GroupK; }
    size_t bytes() const { return static_cast<size_t>(n_panels() * k_groups_ * kPanelRows * kInt8GroupK); }

private:
    int64_t rows_ = 0;
    int64_t cols_ = 0;
    int64_t k_groups_ = 0;  // ceil(cols / 4)
    AlignedBytes data_;
};

class Int8KMajorPanels {
public:
    Int8KMajorPanels() = default;
    static Int8KMajorPanels pack(const int8_t * q, int64_t rows, int64_t cols);
    void unpack(int8_t * q) const;

    int64_t rows() const { return rows_; }
    int64_t cols() const { return cols_; }
    int64_t n_panels() const { return (rows_ + kPanelRows - 1) / kPanelRows; }
    const int8_t * panel(int64_t p) const {
        return reinterpret_cast<const int8_t *>(data_.get()) + p * cols_ * kPanelRows;
    }
    size_t bytes() const { return static_cast<size_t>(n_panels() * cols_ * kPanelRows); }

private:
    int64_t rows_ = 0;
    int64_t cols_ = 0;
    AlignedBytes data_;
};

class QBlockPanels {
public:
    QBlockPanels() = default;
    // format: DTM_FORMAT_Q8_0 (q in [-128, 127]) or DTM_FORMAT_Q4_0 (q in
    // [-8, 7]); q (rows x cols, row-major), d (rows x cols/32, fp16 bits).
    // cols must be a multiple of 32.
    static QBlockPanels pack(dtm_weight_format format, const int8_t * q, const uint16_t * d, int64_t rows,
                             int64_t cols);
    // Writes q and d back, for round trips and export.
    void unpack(int8_t * q, uint16_t * d) const;

    dtm_weight_format format() const { return format_; }
    int64_t rows() const { return rows_; }
    int64_t cols() const { return cols_; }
    int64_t n_blocks() const { return cols_ / kQBlockSize; }
    int64_t n_panels() const { return (rows_ + kPanelRows - 1) / kPanelRows; }
    // Bytes of one (panel, block): 512 for q8_0, 256 for q4_0.
    int64_t block_bytes() const { return format_ == DTM_FORMAT_Q4_0 ? kQ4BlockPanelBytes : kQ8BlockPanelBytes; }
    // The unsigned weights are q + offset: 128 for q8_0, 8 for q4_0.
    int32_t offset() const { return format_ == DTM_FORMAT_Q4_0 ? 8 : 128; }
    // The values of panel p, block b (block_bytes() bytes, 64-byte aligned).
    const uint8_t * values(int64_t p, int64_t b) const { return data_.get() + (p * n_blocks() + b) * block_bytes(); }
    // The 16 fp16 scales of panel p, block b (32-byte aligned).
    const uint16_t * scales(int64_t p, int64_t b) const {
        return reinterpret_cast<const uint16_t *>(scales_.get()) + (p * n_blocks() + b) * kPanelRows;
    }
    int8_t value_at(int64_t row, int64_t k) const;
    uint16_t scale_at(int64_t row, int64_t block) const {
        return scales(row / kPanelRows, block)[row % kPanelRows];
    }

private:
    dtm_weight_format format_ = DTM_FORMAT_Q8_0;
    int64_t rows_ = 0;
    int64_t cols_ = 0;
    AlignedBytes data_;
    AlignedBytes scales_;
};

}  // namespace dtm::cpu
