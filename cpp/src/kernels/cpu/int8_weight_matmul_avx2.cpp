// int8_weight_matmul_avx2.cpp - the weight-only int8 product, AVX2 + FMA
// (int8_weight_matmul.h).
//
// A tile is MR tokens x one panel (two ymm halves of 8 rows). Per k the
// panel's 16 int8 weights are widened to fp32 once (vpmovsxbd + vcvtdq2ps,
// exact) and each token's x[t][k] is broadcast:
//
//   acc[t][h] = fmadd(float(q[8h .. 8h+7][k]), broadcast(x[t][k]), acc[t][h])
//
// then y = w_scale * acc: the reference's operations, bitwise.
#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/int8_weight_matmul.h"
#include "kernels/cpu/tile_walk.h"

namespace dtm::cpu {

namespace {

// 2 * kTileTokens accumulators + 2 weight vectors + 1 broadcast of 16 ymm.
constexpr int kTileTokens = 6;
constexpr TileShape kShape = {kTileTokens, /*tile_panels=*/1, /*small_batch=*/0, /*gemv_panels=*/1};

__m256 widen_8(const int8_t * q) {
    int64_t bytes;
    std::memcpy(&bytes, q, sizeof bytes);
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes)));
}

template <int MR>
void tile(const int8_t * w, int64_t cols, const float * x, int64_t ldx, const float * w_scale, float * y, int64_t ldy,
          int64_t n_valid) {
    __m256 acc[MR][2];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < cols; ++k, w += kPanelRows) {
        const __m256 w_lo = widen_8(w), w_hi = widen_8(w + 8);
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            const __m256 xb = _mm256_set1_ps(x[i * ldx + k]);
            acc[i][0] = _mm256_fmadd_ps(w_lo, xb, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(w_hi, xb, acc[i][1]);
        }
    }
    const __m256 ws_lo = _mm256_loadu_ps(w_scale), ws_hi = _mm256_loadu_ps(w_scale + 8);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
        float tmp[16];
        float * yr = y + i * ldy;
        float * dst = n_valid >= 16 ? yr : tmp;
        _mm256_storeu_ps(dst, _mm256_mul_ps(ws_lo, acc[i][0]));
        _mm256_storeu_ps(dst + 8, _mm256_mul_ps(ws_hi, acc[i][1]));
        if (dst == tmp) {
            for (int64_t r = 0; r < n_valid; ++r) yr[r] = tmp[r];
        }
    }
}

using TileFn = void (*)(const int8_t *, int64_t, const float *, int64_t, const float *, float *, int64_t, int64_t);

TileFn pick_tile(int64_t mr) {
    static_assert(kTileTokens == 6, "update the tile table");
    switch (mr) {
        case 1: return &tile<1>;
        case 2: return &tile<2>;
        case 3: return &tile<3>;
        case 4: return &tile<4>;
        case 5: return &tile<5>;
        default: return &tile<6>;
    }
}

}  // namespace

void int8_weight_matmul_avx2(const Int8KMajorPanels & w, const float * w_scale, const float * x, int64_t ldx, float * y,
                             int64_t ldy, int64_t n_tokens, int64_t panel_begin, int64_t panel_end) {
    walk_tiles(n_tokens, panel_begin, panel_end, kShape, [&](int64_t p, int64_t, int64_t t, int64_t mr) {
        pick_tile(mr)(w.panel(p), w.cols(), x + t * ldx, ldx, w_scale + p * kPanelRows, y + t * ldy + p * kPanelRows,
                      ldy, w.rows() - p * kPanelRows);
    });
}

}  // namespace dtm::cpu
