// quantize_tokens.h - quantizing a batch of activation rows (tokens) for the
// W8A8 and block products, one entry per instruction set.
//
// The result is defined by the scalar quantizers of quantize_values.h, token
// by token: quantize_int8_absmax for W8A8, quantize_block_q8_0 per block of
// 32 for q8_0 / q4_0. The vector versions do the same IEEE operations (the
// division by the scale, clamping, rounding to nearest even with cvtps2dq in
// the default rounding mode; an absmax is exact whatever the order), so they
// give the same bits.
//
// A token with a NaN or infinite value (or, for q8_0, a block whose scale
// overflows fp16) is marked finite[t] = 0; its q, scales and sums are then
// unspecified and the Linear writes NaN to its outputs.
#pragma once

#include <cstdint>

namespace dtm::cpu {

// x (n_tokens, cols) with row stride ldx -> q (n_tokens, ldq; entries past
// cols untouched), scale[t], q_sum[t], finite[t]. Values with
// |x| > skip_above are outliers: q = 0, left out of the absmax (+inf: none).
using QuantizeTokensInt8Fn = void (*)(const float * x, int64_t ldx, int64_t n_tokens, int64_t cols, float skip_above,
                                      int8_t * q, int64_t ldq, float * scale, int32_t * q_sum, uint8_t * finite);

// x (n_tokens, cols), cols % 32 == 0 -> q (n_tokens, ldq), d[t * ldb + b]
// (the fp32 value of the block's fp16 scale), q_sum[t * ldb + b], finite[t].
using QuantizeTokensQ8_0Fn = void (*)(const float * x, int64_t ldx, int64_t n_tokens, int64_t cols, int8_t * q,
                                      int64_t ldq, float * d, int32_t * q_sum, int64_t ldb, uint8_t * finite);

void quantize_tokens_int8_ref(const float * x, int64_t ldx, int64_t n_tokens, int64_t cols, float skip_above,
                              int8_t * q, int64_t ldq, float * scale, int32_t * q_sum, uint8_t * finite);
void quantize_tokens_int8_avx512(const float * x, int64_t ldx, int64_t n_tokens, int64_t cols, float skip_above,
                                 int8_t * q, int64_t ldq, float * scale, int32_t * q_sum, uint8_t * finite);

void quantize_tokens_q8_0_ref(const float * x, int64_t ldx, int64_t n_tokens, int64_t cols, int8_t * q, int64_t ldq,
                              float * d, int32_t * q_sum, int64_t ldb, uint8_t * finite);
void quantize_tokens_q8_0_avx512(const float * x, int64_t ldx, int64_t n_tokens, int64_t cols, int8_t * q,
                                 int64_t ldq, float * d, int32_t * q_sum, int64_t ldb, uint8_t * finite);

}  // namespace dtm::cpu
