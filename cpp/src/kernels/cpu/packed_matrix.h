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

}  // namespace dtm::cpu
