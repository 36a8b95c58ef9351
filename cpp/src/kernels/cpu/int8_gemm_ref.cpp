// int8_gemm_ref.cpp - the portable reference of the W8A8 product (int8_gemm.h):
// the signed products summed in int32 in increasing k, then
// y = (float(acc) * x_scale[t]) * w_scale[o].
#include "kernels/cpu/int8_gemm.h"

namespace dtm::cpu {

void int8_gemm_ref(const Int8Panels & w, const float * w_scale, const Int8Tokens & x, int64_t n_tokens, float * y,
                   int64_t ldy, int64_t panel_begin, int64_t panel_end) {
    const int64_t k_groups = w.k_groups();
    for (int64_t t = 0; t < n_tokens; ++t) {
        const int8_t * xt = x.q + t * x.ldq;  // (k_groups * 4)
        for (int64_t p = panel_begin; p < panel_end; ++p) {
            const uint8_t * wp = w.panel(p);  // (k_groups, 16, 4), unsigned q + 128
            for (int64_t r = 0; r < kPanelRows; ++r) {
                const int64_t o = p * kPanelRows + r;
                if (o >= w.rows()) break;
                int32_t acc = 0;
                for (int64_t g = 0; g < k_groups; ++g) {
                    for (int64_t i = 0; i < kInt8GroupK; ++i) {
                        const int32_t wq = int32_t(wp[(g * kPanelRows + r) * kInt8GroupK + i]) - 128;
                        acc += wq * int32_t(xt[g * kInt8GroupK + i]);
                    }
                }
                y[t * ldy + o] = (float(acc) * x.scale[t]) * w_scale[o];
            }
        }
    }
}

}  // namespace dtm::cpu
