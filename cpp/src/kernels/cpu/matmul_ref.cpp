// matmul_ref.cpp - the portable reference of the fp32 matrix product.
//
//   y[t][o] = sum_{k=0}^{cols-1} x[t][k] * W[o][k]
//
// Each output is one fp32 accumulator, starting at 0, updated in increasing k
// with one fused multiply-add per step: acc = fmaf(W[o][k], x[t][k], acc).
// That order of operations is the definition every vector path reproduces
// bit for bit. std::fmaf rounds once, as the vector FMA instructions do.
//
// matmul_half_ref does the same with each 16-bit weight widened to fp32 first
// (exactly: widen_half), so it is bitwise matmul_ref of the widened weights.
#include <cmath>

#include "kernels/cpu/matmul.h"

namespace dtm::cpu {

namespace {

struct Fp32Weight {
    float operator()(float w) const { return w; }
};
struct HalfWeight {
    HalfKind kind;
    float operator()(uint16_t w) const { return widen_half(w, kind); }
};

template <typename Matrix, typename Widen>
void matmul_panels(const Matrix & w, Widen widen, const float * x, int64_t ldx, float * y, int64_t ldy,
                   int64_t n_tokens, int64_t panel_begin, int64_t panel_end) {
    const int64_t cols = w.cols();
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float * xt = x + t * ldx;  // (cols)
        float * yt = y + t * ldy;        // (rows)
        for (int64_t p = panel_begin; p < panel_end; ++p) {
            const auto * wp = w.panel(p);  // (cols, kPanelRows), k-major
            float acc[kPanelRows] = {};
            for (int64_t k = 0; k < cols; ++k) {
                const float xk = xt[k];
                for (int64_t r = 0; r < kPanelRows; ++r) {
                    acc[r] = std::fmaf(widen(wp[k * kPanelRows + r]), xk, acc[r]);
                }
            }
            const int64_t o0 = p * kPanelRows;
            for (int64_t r = 0; r < kPanelRows && o0 + r < w.rows(); ++r) yt[o0 + r] = acc[r];
        }
    }
}

}  // namespace

void matmul_ref(const PackedMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                int64_t n_tokens, int64_t panel_begin, int64_t panel_end) {
    matmul_panels(w, Fp32Weight{}, x, ldx, y, ldy, n_tokens, panel_begin, panel_end);
}

void matmul_half_ref(const PackedHalfMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                     int64_t n_tokens, int64_t panel_begin, int64_t panel_end) {
    matmul_panels(w, HalfWeight{w.kind()}, x, ldx, y, ldy, n_tokens, panel_begin, panel_end);
}

}  // namespace dtm::cpu
