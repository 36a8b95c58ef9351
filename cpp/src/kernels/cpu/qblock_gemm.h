// qblock_gemm.h - products with q8_0 / q4_0 block weights (llama.cpp's
// formats, QBlockPanels), one entry per instruction set.
//
// The activations come quantized to q8_0 per token and block of 32
// (quantize_block_q8_0): values q_x, fp16 scale d_x (passed as its fp32
// value) and the block's sum of q_x. For each output, in increasing block b:
//
//   isum_b = sum_{k in block b} q_w[o][k] * q_x[t][k]            (exact, int32)
//   acc    = fma(d_w[o][b] * d_x[t][b], float(isum_b), acc)       (acc starts at 0)
//   y[t][o] = acc
//
// q_w is the signed value (q4_0: nibble - 8). The vector paths multiply the
// unsigned stored weights u = q_w + offset (QBlockPanels::offset()) and
// subtract offset * sum(q_x of the block); integer sums are exact, and the
// float steps are the same operations in the same order everywhere, so all
// paths are bitwise equal to qblock_gemm_ref. Activations may be anywhere in
// [-128, 127] (a block's integer sum is at most 32 * 255 * 128).
#pragma once

#include <cstdint>

#include "kernels/cpu/quant_panels.h"

namespace dtm::cpu {

// The q8_0 activations of a batch of tokens.
struct QBlockTokens {
    const int8_t * q;       // (n_tokens, ldq): q_x[t][k], ldq >= cols
    int64_t ldq;
    const float * d;        // (n_tokens, ldb): d_x[t][b] (fp32 value of the fp16 scale)
    const int32_t * q_sum;  // (n_tokens, ldb): sum of q_x over block b
    int64_t ldb;            // >= cols / 32
};

// Outputs of panels [panel_begin, panel_end) for tokens [0, n_tokens) into
// y (n_tokens, row stride ldy); only columns o < w.rows() are written.
using QBlockGemmFn = void (*)(const QBlockPanels & w, const QBlockTokens & x, int64_t n_tokens, float * y, int64_t ldy,
                              int64_t panel_begin, int64_t panel_end);

void qblock_gemm_ref(const QBlockPanels & w, const QBlockTokens & x, int64_t n_tokens, float * y, int64_t ldy,
                     int64_t panel_begin, int64_t panel_end);
void qblock_gemm_avx2(const QBlockPanels & w, const QBlockTokens & x, int64_t n_tokens, float * y, int64_t ldy,
                      int64_t panel_begin, int64_t panel_end);
// Needs AVX-512 VNNI (cpu_has_avx512_vnni()).
void qblock_gemm_avx512vnni(const QBlockPanels & w, const QBlockTokens & x, int64_t n_tokens, float * y, int64_t ldy,
                        int64_t panel_begin, int64_t panel_end);

}  // namespace dtm::cpu
