// int8_linear.h - the W8A8 int8 Linear: DTM_FORMAT_INT8 (naive, as the paper
// quantizes) and DTM_FORMAT_INT8_OUTLIER (LLM.int8()).
//
// Weights: per output row o, scale_w[o] = absmax_o / 127 and
// q_w[o][k] = round(w[o][k] / scale_w[o]) in [-127, 127], ties to even (an
// all-zero row has scale 0 and q 0). The effective weight is
// float(q_w) * scale_w.
//
// forward, per token t (so a token's outputs never depend on the other
// tokens of the batch, and a prefill equals one-token calls bitwise):
//
//   INT8:  scale_x[t] = absmax_t / 127, q_x = round(x / scale_x) in [-127, 127];
//          y[t][o] = (float(sum_k q_w[o][k] * q_x[t][k]) * scale_x[t]) * scale_w[o]
//          (exact int32 sum, kernels/cpu/int8_gemm.h).
//   INT8_OUTLIER: O_t = { j : |x[t][j]| > threshold } (default 6.0). The
//          other features are quantized as above with absmax over them only
//          and go through the int8 product with the outlier features zeroed;
//          then, in fp32 and increasing j,
//            s = 0;  s = s + x[t][j] * (float(q_w[o][j]) * scale_w[o])  for j in O_t
//          (LLM.int8() dequantizes the int8 weights of the outlier columns),
//          and y[t][o] = y_int8[t][o] + s when O_t is not empty.
//          LLM.int8() chooses the outlier columns per batch (a feature that
//          is an outlier in any token of the batch); dtm chooses them per
//          token, so that a token's result does not depend on what else is
//          in its batch (DESIGN.md: prefill equals decoding bitwise).
//   A token with a NaN or infinite activation gets NaN in all its outputs.
//
// Stored tensors: "weight" I8 (rows, cols), "weight_scale" F32 (rows), and
// for INT8_OUTLIER "outlier_threshold" F32 (1) (the threshold in effect).
// cols is at most kInt8MaxCols (65536), so the int32 sums cannot overflow.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu/quant_panels.h"
#include "model/linear.h"

namespace dtm::compress {

constexpr float kDefaultOutlierThreshold = 6.0f;

class Int8Linear final : public Linear {
public:
    // q (rows x cols, row-major, in [-127, 127]), scale (rows, finite, >= 0);
    // format DTM_FORMAT_INT8 or DTM_FORMAT_INT8_OUTLIER (then threshold > 0, finite).
    Int8Linear(dtm_weight_format format, const int8_t * q, const float * scale, int64_t rows, int64_t cols,
               float outlier_threshold);

    // Quantizes w (rows x cols, row-major). outlier_threshold is used by
    // INT8_OUTLIER: 0 means kDefaultOutlierThreshold; NaN, infinite or < 0
    // throws DTM_ERR_INVALID_ARGUMENT, as do non-finite weights and
    // cols > kInt8MaxCols.
    static std::shared_ptr<const Int8Linear> quantize(dtm_weight_format format, const float * w, int64_t rows,
                                                      int64_t cols, float outlier_threshold);
    // Rebuilds the Linear from stored_tensors(); DTM_ERR_MODEL_FORMAT for
    // missing or inconsistent tensors.
    static std::shared_ptr<const Int8Linear> restore(dtm_weight_format format, int64_t rows, int64_t cols,
                                                     const std::vector<StoredTensor> & tensors);

    int64_t rows() const override { return w_.rows(); }
    int64_t cols() const override { return w_.cols(); }
    size_t storage_bytes() const override;
    dtm_weight_format format() const override { return format_; }
    int64_t nonzeros() const override { return nonzeros_; }
    void dense_weights(float * out) const override;
    std::vector<StoredTensor> stored_tensors() const override;
    void forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                 const Backend & backend) const override;

    float outlier_threshold() const { return threshold_; }  // +inf for INT8
    const cpu::Int8Panels & panels() const { return w_; }
    const float * weight_scales() const { return scale_.data(); }  // (n_panels * 16), zero past rows

private:
    dtm_weight_format format_;
    cpu::Int8Panels w_;
    std::vector<float> scale_;  // (n_panels * 16): scale_w, zero for padding rows
    float threshold_;           // features with |x| above it are outliers (+inf: none)
    int64_t nonzeros_ = 0;
};

}  // namespace dtm::compress
