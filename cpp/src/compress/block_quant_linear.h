// block_quant_linear.h - the Linear of llama.cpp's block formats
// DTM_FORMAT_Q8_0 and DTM_FORMAT_Q4_0: blocks of 32 consecutive weights of a
// row, each with one fp16 scale d (cols must be a multiple of 32).
//
// Weights (kernels/cpu/quantize_values.h):
//   q8_0: d = absmax / 127, q = round(w / d) in [-127, 127] (ties to even);
//         effective weight float(d) * q.
//   q4_0: m = the block's value of largest magnitude, with its sign;
//         d = m / -8, q = min(15, trunc(w / d + 8.5)) - 8 in [-8, 7];
//         effective weight float(d) * q.
//   (the quantization divides by the fp32 d; the fp16 d is what is stored
//   and what the effective weights and the product use, as in llama.cpp).
//
// forward (kernels/cpu/qblock_gemm.h), per token t, as llama.cpp's
// q8_0 x q8_0 and q4_0 x q8_0 dot products: x is quantized to q8_0 per block
// of 32 (d_x in fp16), and in increasing block b
//   acc = fma(d_w[o][b] * d_x[t][b], float(sum_{k in b} q_w[o][k] * q_x[t][k]), acc),
// y[t][o] = acc. A token with a NaN or infinite activation, or with a block
// whose scale overflows fp16 (|x| > 65504 * 127), gets NaN in all its outputs.
//
// Stored tensor: "blocks" U8 (rows, cols / 32 * bytes per block), llama.cpp's
// block layout, row by row:
//   q8_0: 34 bytes: d (fp16, little-endian), then q[0..31] as int8;
//   q4_0: 18 bytes: d (fp16, little-endian), then 16 bytes, byte i holding
//         q[i] + 8 in its low nibble and q[i + 16] + 8 in its high nibble.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu/quant_panels.h"
#include "model/linear.h"

namespace dtm::compress {

// Bytes of one stored block: 34 (q8_0) or 18 (q4_0).
int64_t stored_block_bytes(dtm_weight_format format);

class BlockQuantLinear final : public Linear {
public:
    explicit BlockQuantLinear(cpu::QBlockPanels weights);

    // Quantizes w (rows x cols, row-major) to format (DTM_FORMAT_Q8_0 or
    // DTM_FORMAT_Q4_0). DTM_ERR_INVALID_ARGUMENT, naming the format and the
    // shape, when cols % 32 != 0; also for non-finite weights and weights too
    // large for an fp16 scale.
    static std::shared_ptr<const BlockQuantLinear> quantize(dtm_weight_format format, const float * w, int64_t rows,
                                                            int64_t cols);
    // DTM_ERR_MODEL_FORMAT for a missing or misshapen "blocks" tensor, a
    // scale that is NaN or infinite (or negative for q8_0), or a q8_0 value
    // of -128.
    static std::shared_ptr<const BlockQuantLinear> restore(dtm_weight_format format, int64_t rows, int64_t cols,
                                                           const std::vector<StoredTensor> & tensors);

    int64_t rows() const override { return w_.rows(); }
    int64_t cols() const override { return w_.cols(); }
    size_t storage_bytes() const override;
    dtm_weight_format format() const override { return w_.format(); }
    int64_t nonzeros() const override { return nonzeros_; }
    void dense_weights(float * out) const override;
    std::vector<StoredTensor> stored_tensors() const override;
    void forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                 const Backend & backend) const override;

private:
    cpu::QBlockPanels w_;
    int64_t nonzeros_ = 0;
};

}  // namespace dtm::compress
