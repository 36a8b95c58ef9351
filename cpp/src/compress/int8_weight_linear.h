// int8_weight_linear.h - the weight-only int8 Linear (DTM_FORMAT_INT8_WEIGHT).
//
// Weights as the W8A8 format: per output row o, scale_w[o] = absmax_o / 127,
// q_w[o][k] = round(w[o][k] / scale_w[o]) in [-127, 127], ties to even.
// Activations stay fp32:
//
//   acc = 0;  acc = fma(float(q_w[o][k]), x[t][k], acc) in increasing k
//   y[t][o] = scale_w[o] * acc
//
// (kernels/cpu/int8_weight_matmul.h). NaN and inf in x propagate as in
// IEEE arithmetic, as in the fp32 DenseLinear.
//
// Stored tensors: "weight" I8 (rows, cols), "weight_scale" F32 (rows).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu/quant_panels.h"
#include "model/linear.h"

namespace dtm::compress {

class Int8WeightLinear final : public Linear {
public:
    // q (rows x cols, row-major, in [-127, 127]), scale (rows, finite, >= 0).
    Int8WeightLinear(const int8_t * q, const float * scale, int64_t rows, int64_t cols);

    // Quantizes w (rows x cols, row-major); DTM_ERR_INVALID_ARGUMENT for
    // non-finite weights.
    static std::shared_ptr<const Int8WeightLinear> quantize(const float * w, int64_t rows, int64_t cols);
    // DTM_ERR_MODEL_FORMAT for missing or inconsistent tensors.
    static std::shared_ptr<const Int8WeightLinear> restore(int64_t rows, int64_t cols,
                                                           const std::vector<StoredTensor> & tensors);

    int64_t rows() const override { return w_.rows(); }
    int64_t cols() const override { return w_.cols(); }
    size_t storage_bytes() const override { return w_.bytes() + static_cast<size_t>(rows()) * sizeof(float); }
    dtm_weight_format format() const override { return DTM_FORMAT_INT8_WEIGHT; }
    int64_t nonzeros() const override { return nonzeros_; }
    void dense_weights(float * out) const override;
    std::vector<StoredTensor> stored_tensors() const override;
    void forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                 const Backend & backend) const override;

    const cpu::Int8KMajorPanels & panels() const { return w_; }
    const float * weight_scales() const { return scale_.data(); }  // (n_panels * 16), zero past rows

private:
    cpu::Int8KMajorPanels w_;
    std::vector<float> scale_;  // (n_panels * 16)
    int64_t nonzeros_ = 0;
};

}  // namespace dtm::compress
