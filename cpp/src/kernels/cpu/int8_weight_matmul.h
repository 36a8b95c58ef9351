// int8_weight_matmul.h - the weight-only int8 product (DTM_FORMAT_INT8_WEIGHT),
// one entry per instruction set: int8 weights with a per-row fp32 scale,
// fp32 activations.
//
//   acc = 0;  acc = fma(float(q_w[o][k]), x[t][k], acc) for k = 0 .. cols-1
//   y[t][o] = w_scale[o] * acc
//
// One fp32 accumulator per output, one fused multiply-add per k in
// increasing k (as the fp32 matmul), then one multiplication: every path does
// exactly these operations, so all are bitwise equal to the reference. NaN
// and inf in x propagate as IEEE arithmetic says (a NaN output's payload may
// differ between paths).
#pragma once

#include <cstdint>

#include "kernels/cpu/quant_panels.h"

namespace dtm::cpu {

// Outputs of panels [panel_begin, panel_end) for tokens [0, n_tokens): x
// (n_tokens, w.cols()) with row stride ldx, y (n_tokens, row stride ldy),
// only columns o < w.rows() written. w_scale holds w.n_panels() * 16 floats.
using Int8WeightMatmulFn = void (*)(const Int8KMajorPanels & w, const float * w_scale, const float * x, int64_t ldx,
                                    float * y, int64_t ldy, int64_t n_tokens, int64_t panel_begin,
                                    int64_t panel_end);

void int8_weight_matmul_ref(const Int8KMajorPanels & w, const float * w_scale, const float * x, int64_t ldx, float * y,
                            int64_t ldy, int64_t n_tokens, int64_t panel_begin, int64_t panel_end);
void int8_weight_matmul_avx2(const Int8KMajorPanels & w, const float * w_scale, const float * x, int64_t ldx, float * y,
                             int64_t ldy, int64_t n_tokens, int64_t panel_begin, int64_t panel_end);
void int8_weight_matmul_avx512(const Int8KMajorPanels & w, const float * w_scale, const float * x, int64_t ldx,
                               float * y, int64_t ldy, int64_t n_tokens, int64_t panel_begin, int64_t panel_end);

}  // namespace dtm::cpu
