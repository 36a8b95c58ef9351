// sparse_matmul_ref.cpp - the portable reference of the sparse products and
// the token-tile transpose.
//
// For every output: acc = +0; for each stored weight of the row in
// increasing column k, acc = fmaf(W[o][k], x[t][k], acc); y[t][o] = acc.
// Padding lanes (local index kSparsePad) are never touched.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/sparse_matmul.h"

namespace dtm::cpu {

namespace {

constexpr int64_t kLanes = 16;

// acc over the stored weights of row 16p + r, reading x[k] as xk(k): window
// by window, slot by slot, skipping padding lanes.
template <typename XAt>
float row_product(const SparseView & w, int64_t p, int64_t r, XAt xk) {
    const uint8_t * slots = w.window_slots + p * w.n_windows;
    int64_t slot = w.panel_start[p];
    float acc = 0.0f;
    for (int64_t c = 0; c < w.n_windows; ++c) {
        for (int64_t s = 0; s < slots[c]; ++s) {
            const int64_t at = (slot + s) * kLanes + r;
            if (w.local[at] < kSparsePad) acc = std::fmaf(w.values[at], xk(c * kSparseWindow + w.local[at]), acc);
        }
        slot += slots[c];
    }
    return acc;
}

}  // namespace

void sparse_gemv_ref(const SparseView & w, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                     int64_t panel_begin, int64_t panel_end) {
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float * xt = x + t * ldx;  // (cols)
        for (int64_t p = panel_begin; p < panel_end; ++p) {
            for (int64_t r = 0; r < kLanes && p * kLanes + r < w.rows; ++r) {
                y[t * ldy + p * kLanes + r] = row_product(w, p, r, [xt](int64_t k) { return xt[k]; });
            }
        }
    }
}

void sparse_tile_ref(const SparseView & w, const float * xt, int64_t n_tokens, float * y, int64_t ldy,
                     int64_t panel_begin, int64_t panel_end) {
    for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t p = panel_begin; p < panel_end; ++p) {
            for (int64_t r = 0; r < kLanes && p * kLanes + r < w.rows; ++r) {
                y[t * ldy + p * kLanes + r] =
                    row_product(w, p, r, [xt, t](int64_t k) {
                        const int64_t c = k / kSparseWindow, j = k % kSparseWindow;
                        return xt[(c * kSparseTileWindowRows + j) * kSparseTileTokens + t];
                    });
            }
        }
    }
}

void transpose_token_tile(const float * x, int64_t ldx, int64_t n_tokens, int64_t cols, float * xt) {
    std::memset(xt, 0, size_t(sparse_tile_floats(cols)) * sizeof(float));
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float * xr = x + t * ldx;
        for (int64_t c = 0; c * kSparseWindow < cols; ++c) {
            float * window = xt + c * kSparseTileWindowRows * kSparseTileTokens + t;
            const int64_t width = std::min(kSparseWindow, cols - c * kSparseWindow);
            for (int64_t j = 0; j < width; ++j) window[j * kSparseTileTokens] = xr[c * kSparseWindow + j];
        }
    }
}

}  // namespace dtm::cpu
