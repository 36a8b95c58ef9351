// sparse_matmul_avx512.cpp - products with windowed sliced ELL weights
// (sparse_matrix.h), AVX-512F/BW/VL.
//
// gemv: per panel (16 outputs, one per lane) and column window c, the
// window's activations x[32c .. 32c + 31] are two registers (lo, hi); per slot:
//   live = lanes whose local index is < 32 (not padding)
//   xv   = permutex2var(lo, local, hi) on live lanes, 0 elsewhere
//   acc  = fmadd(values[slot], xv, acc)     (padding: fma(+0, +0, acc) = acc)
// for up to 8 tokens at once, sharing the loads of values and indices.
// One permute per slot replaces a 16-element gather from memory (measured
// several times faster on Zen 5).
//
// tile: 16 tokens of x transposed into windows of 33 rows (sparse_matmul.h);
// per panel, window and slot, for each of the 16 rows r:
//   acc[r] = fmadd(broadcast(values[slot][r]), xt[c][local[slot][r]], acc[r])
// 16 independent accumulators (one per row, 16 tokens per vector) hide the
// FMA latency; padding lanes read the window's zero row 32 with weight +0.
//
// Each output is one accumulator updated in increasing k with one FMA per
// stored weight, as sparse_gemv_ref: bitwise equal. Compiled with AVX-512
// flags, called only after the dispatch checked the CPU; nothing here but the
// two entry points has external linkage and no std:: templates are used.
#include <immintrin.h>

#include "kernels/cpu/avx512_util.h"
#include "kernels/cpu/sparse_matmul.h"

namespace dtm::cpu {

namespace {

constexpr int64_t kLanes = 16;
constexpr int kGemvTokens = 8;  // tokens sharing one pass over a panel's weights

template <int NT>
void gemv_panel(const SparseView & w, int64_t p, const float * x, int64_t ldx, float * y, int64_t ldy) {
    const uint8_t * slots = w.window_slots + p * w.n_windows;
    const float * v = w.values + w.panel_start[p] * kLanes;
    const uint8_t * local = w.local + w.panel_start[p] * kLanes;
    const __m128i pad = _mm_set1_epi8(char(kSparsePad));
    __m512 acc[NT];
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t c = 0; c < w.n_windows; ++c) {
        const int64_t n = slots[c];
        if (n == 0) continue;
        const int64_t k0 = c * kSparseWindow;
        // The last window may be partial: load only columns < cols.
        const __mmask16 m_lo = mask16_below(w.cols - k0), m_hi = mask16_below(w.cols - k0 - 16);
        __m512 lo[NT], hi[NT];
#pragma GCC unroll 8
        for (int t = 0; t < NT; ++t) {
            lo[t] = _mm512_maskz_loadu_ps(m_lo, x + t * ldx + k0);
            hi[t] = _mm512_maskz_loadu_ps(m_hi, x + t * ldx + k0 + 16);
        }
        for (int64_t s = 0; s < n; ++s, v += kLanes, local += kLanes) {
            const __m128i j8 = _mm_loadu_si128(reinterpret_cast<const __m128i *>(local));
            const __mmask16 live = _mm_cmplt_epu8_mask(j8, pad);
            // maskz form: avoids GCC 12's false "uninitialized" warning on the plain one.
            const __m512i j = _mm512_maskz_cvtepu8_epi32(__mmask16(0xffff), j8);
            const __m512 wv = _mm512_load_ps(v);
#pragma GCC unroll 8
            for (int t = 0; t < NT; ++t) {
                acc[t] = _mm512_fmadd_ps(wv, _mm512_maskz_permutex2var_ps(live, lo[t], j, hi[t]), acc[t]);
            }
        }
    }
    const __mmask16 out = mask16_below(w.rows - p * kLanes);
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) _mm512_mask_storeu_ps(y + t * ldy + p * kLanes, out, acc[t]);
}

void tile_panel(const SparseView & w, int64_t p, const float * xt, int64_t n_tokens, float * y, int64_t ldy) {
    const uint8_t * slots = w.window_slots + p * w.n_windows;
    const float * v = w.values + w.panel_start[p] * kLanes;
    const uint8_t * local = w.local + w.panel_start[p] * kLanes;
    __m512 acc[kLanes];
#pragma GCC unroll 16
    for (int r = 0; r < kLanes; ++r) acc[r] = _mm512_setzero_ps();
    for (int64_t c = 0; c < w.n_windows; ++c) {
        const float * xw = xt + c * kSparseTileWindowRows * kSparseTileTokens;  // (33, 16)
        for (int64_t s = slots[c]; s > 0; --s, v += kLanes, local += kLanes) {
#pragma GCC unroll 16
            for (int r = 0; r < kLanes; ++r) {
                const __m512 xk = _mm512_load_ps(xw + int64_t(local[r]) * kSparseTileTokens);
                acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(v[r]), xk, acc[r]);
            }
        }
    }
    // acc[r] holds row r for the 16 tokens; token t's outputs are column t.
    alignas(64) float out[kLanes * kLanes];  // out[r * 16 + t]
#pragma GCC unroll 16
    for (int r = 0; r < kLanes; ++r) _mm512_store_ps(out + r * kLanes, acc[r]);
    const __m512i column = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                              _mm512_set1_epi32(int32_t(kLanes)));
    const __mmask16 rows_here = mask16_below(w.rows - p * kLanes);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const __m512 yt = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), __mmask16(0xffff),
                                                   _mm512_add_epi32(column, _mm512_set1_epi32(int32_t(t))), out, 4);
        _mm512_mask_storeu_ps(y + t * ldy + p * kLanes, rows_here, yt);
    }
}

}  // namespace

void sparse_gemv_avx512(const SparseView & w, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                        int64_t panel_begin, int64_t panel_end) {
    for (int64_t p = panel_begin; p < panel_end; ++p) {
        for (int64_t t = 0; t < n_tokens; t += kGemvTokens) {
            const float * xt = x + t * ldx;
            float * yt = y + t * ldy;
            switch (n_tokens - t) {
                case 1: gemv_panel<1>(w, p, xt, ldx, yt, ldy); break;
                case 2: gemv_panel<2>(w, p, xt, ldx, yt, ldy); break;
                case 3: gemv_panel<3>(w, p, xt, ldx, yt, ldy); break;
                case 4: gemv_panel<4>(w, p, xt, ldx, yt, ldy); break;
                case 5: gemv_panel<5>(w, p, xt, ldx, yt, ldy); break;
                case 6: gemv_panel<6>(w, p, xt, ldx, yt, ldy); break;
                case 7: gemv_panel<7>(w, p, xt, ldx, yt, ldy); break;
                default: gemv_panel<8>(w, p, xt, ldx, yt, ldy); break;
            }
        }
    }
}

void sparse_tile_avx512(const SparseView & w, const float * xt, int64_t n_tokens, float * y, int64_t ldy,
                        int64_t panel_begin, int64_t panel_end) {
    for (int64_t p = panel_begin; p < panel_end; ++p) tile_panel(w, p, xt, n_tokens, y, ldy);
}

}  // namespace dtm::cpu
