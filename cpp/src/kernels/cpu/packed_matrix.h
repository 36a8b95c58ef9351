// packed_matrix.h - fp32 weights packed for the matmul kernels.
//
// A weight matrix W (rows = output features, cols = input features, row-major
// as in llama2.c and Hugging Face files) is stored in panels of kPanelRows
// consecutive rows. Inside a panel the layout is k-major:
//
//   data[(panel * cols + k) * kPanelRows + r] = W[panel * kPanelRows + r][k]
//
// so one step of k reads kPanelRows contiguous weights (one AVX-512 vector,
// two AVX2 vectors). Rows past `rows` in the last panel are zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/cpu/aligned_array.h"

namespace dtm::cpu {

constexpr int64_t kPanelRows = 16;

class PackedMatrix {
public:
    PackedMatrix() = default;

    // Packs W (rows x cols, row-major, row stride `ld` floats).
    static PackedMatrix pack(const float * w, int64_t rows, int64_t cols, int64_t ld);

    // Writes W back (rows x cols, row-major, row stride `ld`), for round-trip tests.
    void unpack(float * w, int64_t ld) const;

    int64_t rows() const { return rows_; }
    int64_t cols() const { return cols_; }
    int64_t n_panels() const { return (rows_ + kPanelRows - 1) / kPanelRows; }
    const float * panel(int64_t p) const { return data_.get() + p * cols_ * kPanelRows; }
    size_t bytes() const { return size_t(n_panels() * cols_ * kPanelRows) * sizeof(float); }

private:
    int64_t rows_ = 0;
    int64_t cols_ = 0;
    AlignedArray<float> data_;  // (n_panels, cols, kPanelRows), 64-byte aligned
};

// The 16-bit floats a checkpoint may store its weights in. Both widen to
// fp32 exactly: bf16 is the top half of an fp32 (bits << 16), fp16 by IEEE
// conversion (fp16_to_fp32, or F16C's vcvtph2ps).
enum class HalfKind { kBf16, kFp16 };

// 16-bit weights in the panel layout of PackedMatrix (same panels, same
// k-major order, same zero padding), kept in the file's 16 bits: half the
// memory of the fp32 panels. The matmul_half kernels widen each weight to
// fp32 and then do exactly the fp32 kernel's operations, so their outputs
// are bitwise those of the PackedMatrix of the widened weights.
class PackedHalfMatrix {
public:
    PackedHalfMatrix() = default;

    // Packs W (rows x cols of 16-bit values of `kind`, row-major, row stride `ld`).
    static PackedHalfMatrix pack(const uint16_t * w, int64_t rows, int64_t cols, int64_t ld, HalfKind kind);

    // Writes the widened fp32 weights (rows x cols, row stride `ld`).
    void unpack(float * w, int64_t ld) const;
    // Writes the 16-bit values as stored (rows x cols, row stride `ld`).
    void unpack_bits(uint16_t * w, int64_t ld) const;

    HalfKind kind() const { return kind_; }
    int64_t rows() const { return rows_; }
    int64_t cols() const { return cols_; }
    int64_t n_panels() const { return (rows_ + kPanelRows - 1) / kPanelRows; }
    const uint16_t * panel(int64_t p) const { return data_.get() + p * cols_ * kPanelRows; }
    size_t bytes() const { return size_t(n_panels() * cols_ * kPanelRows) * sizeof(uint16_t); }

private:
    int64_t rows_ = 0;
    int64_t cols_ = 0;
    HalfKind kind_ = HalfKind::kBf16;
    AlignedArray<uint16_t> data_;  // (n_panels, cols, kPanelRows), 64-byte aligned
};

// One 16-bit value of `kind` widened to fp32 (exact).
float widen_half(uint16_t bits, HalfKind kind);

}  // namespace dtm::cpu
