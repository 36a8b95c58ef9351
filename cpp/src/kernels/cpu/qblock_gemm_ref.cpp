// qblock_gemm_ref.cpp - the portable reference of the q8_0 / q4_0 products
// (qblock_gemm.h): per block the signed integer dot product, then
// acc = fmaf(d_w * d_x, float(isum), acc) in increasing block.
#include <cmath>

#include "kernels/cpu/qblock_gemm.h"
#include "kernels/cpu/quant_math.h"

namespace dtm::cpu {

void qblock_gemm_ref(const QBlockPanels & w, const QBlockTokens & x, int64_t n_tokens, float * y, int64_t ldy,
                     int64_t panel_begin, int64_t panel_end) {
    const int64_t n_blocks = w.n_blocks();
    for (int64_t t = 0; t < n_tokens; ++t) {
        const int8_t * xq = x.q + t * x.ldq;
        const float * xd = x.d + t * x.ldb;
        for (int64_t o = panel_begin * kPanelRows; o < panel_end * kPanelRows && o < w.rows(); ++o) {
            float acc = 0.0f;
            for (int64_t b = 0; b < n_blocks; ++b) {
                int32_t isum = 0;
                for (int64_t j = 0; j < kQBlockSize; ++j) {
                    const int64_t k = b * kQBlockSize + j;
                    isum += int32_t(w.value_at(o, k)) * int32_t(xq[k]);
                }
                const float dw = fp16_to_fp32(w.scale_at(o, b));
                acc = std::fmaf(dw * xd[b], float(isum), acc);
            }
            y[t * ldy + o] = acc;
        }
    }
}

}  // namespace dtm::cpu
