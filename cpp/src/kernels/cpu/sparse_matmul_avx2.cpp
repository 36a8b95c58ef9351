// sparse_matmul_avx2.cpp - products with windowed sliced ELL weights
// (sparse_matrix.h), AVX2 + FMA.
//
// A panel's 16 lanes are two ymm halves (lo = rows 0..7, hi = rows 8..15).
//
// gemv: per panel, window c and slot, for each half (AVX2 has no
// two-register permute, so x is gathered from memory):
//   live = lanes whose local index is < 32 (not padding), a vector mask
//   xg   = x[32c + local] gathered on live lanes, 0 elsewhere
//   acc  = fmadd(values[slot], xg, acc)     (padding: fma(+0, +0, acc) = acc)
// for up to 2 tokens at once.
//
// tile: 16 tokens transposed into windows of 33 rows (two ymm per row); rows
// in groups of 4 (8 accumulators); per slot and row:
//   acc[r][h] = fmadd(broadcast(values[slot][r]), xt[c][local[slot][r]][h], acc[r][h])
// Padding lanes read the window's zero row 32 with weight +0.
//
// One accumulator per output, increasing k, one FMA per stored weight: the
// operations of sparse_gemv_ref, bitwise. Compiled with AVX2 flags, called
// only after the dispatch checked the CPU; no std:: templates here.
#include <immintrin.h>

#include "kernels/cpu/avx2_util.h"
#include "kernels/cpu/sparse_matmul.h"

namespace dtm::cpu {

namespace {

constexpr int64_t kLanes = 16;
constexpr int kGemvTokens = 2;
constexpr int kTileRows = 4;  // rows per group of the tile kernel

// The 8 local indices at p as int32.
__m256i load_local(const uint8_t * p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(p)));
}

template <int NT>
void gemv_panel(const SparseView & w, int64_t p, const float * x, int64_t ldx, float * y, int64_t ldy) {
    const uint8_t * slots = w.window_slots + p * w.n_windows;
    const float * v = w.values + w.panel_start[p] * kLanes;
    const uint8_t * local = w.local + w.panel_start[p] * kLanes;
    const __m256i pad = _mm256_set1_epi32(kSparsePad);
    __m256 acc[NT][2];
#pragma GCC unroll 2
    for (int t = 0; t < NT; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    for (int64_t c = 0; c < w.n_windows; ++c) {
        const int64_t n = slots[c];
        for (int64_t s = 0; s < n; ++s, v += kLanes, local += kLanes) {
            const __m256i j_lo = load_local(local), j_hi = load_local(local + 8);
            const __m256 live_lo = _mm256_castsi256_ps(_mm256_cmpgt_epi32(pad, j_lo));
            const __m256 live_hi = _mm256_castsi256_ps(_mm256_cmpgt_epi32(pad, j_hi));
            const __m256 w_lo = _mm256_load_ps(v), w_hi = _mm256_load_ps(v + 8);
#pragma GCC unroll 2
            for (int t = 0; t < NT; ++t) {
                const float * xw = x + t * ldx + c * kSparseWindow;
                const __m256 x_lo = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), xw, j_lo, live_lo, 4);
                const __m256 x_hi = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), xw, j_hi, live_hi, 4);
                acc[t][0] = _mm256_fmadd_ps(w_lo, x_lo, acc[t][0]);
                acc[t][1] = _mm256_fmadd_ps(w_hi, x_hi, acc[t][1]);
            }
        }
    }
    const int64_t n_rows = w.rows - p * kLanes;
    const __m256i out_lo = lanes_below(n_rows);
    const __m256i out_hi = lanes_below(n_rows - 8);
#pragma GCC unroll 2
    for (int t = 0; t < NT; ++t) {
        float * yr = y + t * ldy + p * kLanes;
        _mm256_maskstore_ps(yr, out_lo, acc[t][0]);
        _mm256_maskstore_ps(yr + 8, out_hi, acc[t][1]);
    }
}

void tile_panel(const SparseView & w, int64_t p, const float * xt, int64_t n_tokens, float * y, int64_t ldy) {
    const uint8_t * slots = w.window_slots + p * w.n_windows;
    alignas(32) float out[kLanes * kLanes];  // out[r * 16 + t]
    for (int64_t r0 = 0; r0 < kLanes; r0 += kTileRows) {
        const float * v = w.values + w.panel_start[p] * kLanes + r0;
        const uint8_t * local = w.local + w.panel_start[p] * kLanes + r0;
        __m256 acc[kTileRows][2];
#pragma GCC unroll 4
        for (int r = 0; r < kTileRows; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
        for (int64_t c = 0; c < w.n_windows; ++c) {
            const float * xw = xt + c * kSparseTileWindowRows * kSparseTileTokens;  // (33, 16)
            for (int64_t s = slots[c]; s > 0; --s, v += kLanes, local += kLanes) {
#pragma GCC unroll 4
                for (int r = 0; r < kTileRows; ++r) {
                    const float * xk = xw + int64_t(local[r]) * kSparseTileTokens;
                    const __m256 wb = _mm256_broadcast_ss(v + r);
                    acc[r][0] = _mm256_fmadd_ps(wb, _mm256_load_ps(xk), acc[r][0]);
                    acc[r][1] = _mm256_fmadd_ps(wb, _mm256_load_ps(xk + 8), acc[r][1]);
                }
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < kTileRows; ++r) {
            _mm256_store_ps(out + (r0 + r) * kLanes, acc[r][0]);
            _mm256_store_ps(out + (r0 + r) * kLanes + 8, acc[r][1]);
        }
    }
    const int64_t n_rows = w.rows - p * kLanes < kLanes ? w.rows - p * kLanes : kLanes;
    for (int64_t t = 0; t < n_tokens; ++t) {
        float * yr = y + t * ldy + p * kLanes;
        for (int64_t r = 0; r < n_rows; ++r) yr[r] = out[r * kLanes + t];
    }
}

}  // namespace

void sparse_gemv_avx2(const SparseView & w, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                      int64_t panel_begin, int64_t panel_end) {
    for (int64_t p = panel_begin; p < panel_end; ++p) {
        for (int64_t t = 0; t < n_tokens; t += kGemvTokens) {
            if (n_tokens - t == 1) {
                gemv_panel<1>(w, p, x + t * ldx, ldx, y + t * ldy, ldy);
            } else {
                gemv_panel<2>(w, p, x + t * ldx, ldx, y + t * ldy, ldy);
            }
        }
    }
}

void sparse_tile_avx2(const SparseView & w, const float * xt, int64_t n_tokens, float * y, int64_t ldy,
                      int64_t panel_begin, int64_t panel_end) {
    for (int64_t p = panel_begin; p < panel_end; ++p) tile_panel(w, p, xt, n_tokens, y, ldy);
}

}  // namespace dtm::cpu
