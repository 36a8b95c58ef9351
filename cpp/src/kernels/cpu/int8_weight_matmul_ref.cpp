// int8_weight_matmul_ref.cpp - the portable reference of the weight-only int8
// product (int8_weight_matmul.h): acc = fmaf(float(q), x, acc) in increasing
// k, then y = w_scale[o] * acc.
#include <cmath>

#include "kernels/cpu/int8_weight_matmul.h"

namespace dtm::cpu {

void int8_weight_matmul_ref(const Int8KMajorPanels & w, const float * w_scale, const float * x, int64_t ldx, float * y,
                            int64_t ldy, int64_t n_tokens, int64_t panel_begin, int64_t panel_end) {
    const int64_t cols = w.cols();
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float * xt = x + t * ldx;
        for (int64_t p = panel_begin; p < panel_end; ++p) {
            const int8_t * wp = w.panel(p);  // (cols, 16), k-major
            float acc[kPanelRows] = {};
            for (int64_t k = 0; k < cols; ++k) {
                for (int64_t r = 0; r < kPanelRows; ++r) acc[r] = std::fmaf(float(wp[k * kPanelRows + r]), xt[k], acc[r]);
            }
            for (int64_t r = 0; r < kPanelRows && p * kPanelRows + r < w.rows(); ++r) {
                const int64_t o = p * kPanelRows + r;
                y[t * ldy + o] = w_scale[o] * acc[r];
            }
        }
    }
}

}  // namespace dtm::cpu
