// quantize_values.h - turning fp32 values into int8 codes: per-row absmax
// int8 (weights of INT8 / INT8_OUTLIER / INT8_WEIGHT and the activations of
// W8A8) and the llama.cpp blocks q8_0 / q4_0 (weights, and q8_0 for the
// activations of the block formats).
//
// Portable code compiled once for baseline x86-64: the weights and the
// activations of every kernel path are quantized by these same functions, so
// they are the same bits on every path. Rounding is to nearest, ties to even
// (round_clamped in quant_math.h; llama.cpp's q8_0 rounds ties away from
// zero, which differs only on exact ties). Callers check that the values are
// finite first.
#pragma once

#include <cstdint>

namespace dtm::cpu {

// Absmax int8 of n values:
//   scale = absmax / 127 over the values with |v| <= skip_above,
//   q[k]  = round(v[k] / scale) clamped to [-127, 127], and 0 where
//           |v[k]| > skip_above (LLM.int8() outliers; +inf: none) or scale == 0
//           (an all-zero row, or one whose absmax / 127 underflows to 0).
// Returns scale; *q_sum (may be null) gets the sum of the q.
float quantize_int8_absmax(const float * v, int64_t n, float skip_above, int8_t * q, int32_t * q_sum);

// One q8_0 block of 32 values: d = absmax / 127 (fp32), q = round(v / d)
// clamped to [-127, 127] (0 when d == 0); returns d as fp16 bits (which may
// be +inf when absmax > 65504 * 127: the caller decides). *q_sum (may be
// null) gets the sum of the q.
uint16_t quantize_block_q8_0(const float * v, int8_t * q, int32_t * q_sum);

// One q4_0 block of 32 values: m = the value of largest magnitude (the first
// one on ties) with its sign, d = m / -8, q = min(15, trunc(v / d + 8.5)) - 8
// in [-8, 7]; when d == 0, v / d is taken as 0 (q = 0, stored nibble 8, as
// llama.cpp does), and d is +0 (llama.cpp keeps the -0 of 0 / -8, which
// would dequantize zeros to -0). Returns d as fp16 bits (+-inf when
// |m| / 8 > 65504).
uint16_t quantize_block_q4_0(const float * v, int8_t * q);

}  // namespace dtm::cpu
