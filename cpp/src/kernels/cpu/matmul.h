// matmul.h - fp32 matrix products against packed weights, one entry per ISA.
//
//   y[t][o] = sum_{k=0}^{cols-1} x[t][k] * W[o][k]
//
// Every path accumulates each output in one fp32 accumulator, in increasing
// k, with a fused multiply-add per step (acc = fma(W[o][k], x[t][k], acc),
// starting from acc = 0). Because the order of operations of each output
// does not depend on the ISA, the tile shape, the batch size or the thread
// that computes it, all paths are bitwise equal to matmul_ref and a batched
// prefill gives bitwise the same logits as one-token decoding.
#pragma once

#include <cstdint>

#include "kernels/cpu/packed_matrix.h"

namespace dtm::cpu {

// Computes the outputs of panels [panel_begin, panel_end) for tokens
// [0, n_tokens). x: (n_tokens, w.cols()) with row stride ldx; y: (n_tokens,
// w.rows()) with row stride ldy. Only columns o < w.rows() of y are written.
using MatmulFn = void (*)(const PackedMatrix & w, const float * x, int64_t ldx,
                          float * y, int64_t ldy, int64_t n_tokens,
                          int64_t panel_begin, int64_t panel_end);

void matmul_ref(const PackedMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                int64_t n_tokens, int64_t panel_begin, int64_t panel_end);
void matmul_avx2(const PackedMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                 int64_t n_tokens, int64_t panel_begin, int64_t panel_end);
void matmul_avx512(const PackedMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                   int64_t n_tokens, int64_t panel_begin, int64_t panel_end);

// The same product against 16-bit panels (bf16 or fp16, w.kind()): each
// weight is widened to fp32 exactly, then every path does the fp32 kernel's
// operations, so the outputs are bitwise those of matmul_ref on the
// PackedMatrix of the widened weights (and equal across paths).
using MatmulHalfFn = void (*)(const PackedHalfMatrix & w, const float * x, int64_t ldx,
                              float * y, int64_t ldy, int64_t n_tokens,
                              int64_t panel_begin, int64_t panel_end);

void matmul_half_ref(const PackedHalfMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                     int64_t n_tokens, int64_t panel_begin, int64_t panel_end);
void matmul_half_avx2(const PackedHalfMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                      int64_t n_tokens, int64_t panel_begin, int64_t panel_end);
void matmul_half_avx512(const PackedHalfMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                        int64_t n_tokens, int64_t panel_begin, int64_t panel_end);

}  // namespace dtm::cpu
