// int8_gemm.h - the W8A8 int8 x int8 product (DTM_FORMAT_INT8 and the int8
// part of INT8_OUTLIER), one entry per instruction set.
//
//   acc[t][o] = sum_k q_w[o][k] * q_x[t][k]                  (exact, int32)
//   y[t][o]   = (float(acc[t][o]) * x_scale[t]) * w_scale[o]  (two fp32 roundings, in this order)
//
// The integer sum is exact on every path, so its order is free: the vector
// paths multiply the unsigned stored weights u = q_w + 128 (Int8Panels) with
// the signed activations and subtract 128 * sum_k q_x[t][k] once per token
// (AVX-512 VNNI: vpdpbusd; AVX2: zero-extension to int16 and vpmaddwd, which
// cannot saturate; vpmaddubsw could and is not used). The float epilogue is
// the same two multiplications everywhere, so all paths are bitwise equal to
// int8_gemm_ref for any tile shape, token count and thread split.
//
// Weights and activations may be anywhere in [-128, 127]. Every partial sum
// stays inside int32 while the padded cols (k_groups * 4) are at most
// kInt8MaxCols: |u * x| <= 255 * 128 per k, 255 * 128 * 65536 < 2^31.
#pragma once

#include <cstdint>

#include "kernels/cpu/quant_panels.h"

namespace dtm::cpu {

constexpr int64_t kInt8MaxCols = 65536;

// The int8 activations of a batch of tokens.
struct Int8Tokens {
    const int8_t * q;       // (n_tokens, ldq): q_x[t][k]; zero for k in [cols, k_groups * 4); ldq >= k_groups * 4
    int64_t ldq;
    const int32_t * q_sum;  // (n_tokens): sum_k q_x[t][k]
    const float * scale;    // (n_tokens): x_scale[t]
};

// Outputs of panels [panel_begin, panel_end) for tokens [0, n_tokens) into
// y (n_tokens, row stride ldy); only columns o < w.rows() are written.
// w_scale holds w.n_panels() * 16 floats (the padding rows' scales are read,
// their outputs are not written).
using Int8GemmFn = void (*)(const Int8Panels & w, const float * w_scale, const Int8Tokens & x, int64_t n_tokens,
                            float * y, int64_t ldy, int64_t panel_begin, int64_t panel_end);

void int8_gemm_ref(const Int8Panels & w, const float * w_scale, const Int8Tokens & x, int64_t n_tokens, float * y,
                   int64_t ldy, int64_t panel_begin, int64_t panel_end);
void int8_gemm_avx2(const Int8Panels & w, const float * w_scale, const Int8Tokens & x, int64_t n_tokens, float * y,
                    int64_t ldy, int64_t panel_begin, int64_t panel_end);
// Needs AVX-512 VNNI (cpu_has_avx512_vnni()).
void int8_gemm_avx512vnni(const Int8Panels & w, const float * w_scale, const Int8Tokens & x, int64_t n_tokens, float * y,
                      int64_t ldy, int64_t panel_begin, int64_t panel_end);

}  // namespace dtm::cpu
