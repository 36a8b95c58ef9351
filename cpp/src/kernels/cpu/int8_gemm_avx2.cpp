// int8_gemm_avx2.cpp - the W8A8 product with AVX2 (int8_gemm.h).
//
// A tile is MR tokens x one panel. Per group g of 4 k, each 16-byte quarter
// c of the panel's 64-byte vector (rows 4c .. 4c+3, 4 unsigned weights each)
// is zero-extended to int16 and multiplied with the token's 4 activations
// (sign-extended to int16, repeated) by vpmaddwd, which adds pairs of
// products into int32 lanes without saturation:
//
//   acc[t][c] lane 2m + h += u[4c + m][4g + 2h] * x[4g + 2h] + u[4c + m][4g + 2h + 1] * x[4g + 2h + 1]
//
// At the end the two half sums of each row are added (vphaddd + a lane
// permutation), 128 * sum_k x[t][k] is removed, and the float epilogue is the
// reference's: (float(acc) * x_scale[t]) * w_scale[o]. Integer sums are exact,
// so the result is bitwise that of int8_gemm_ref.
#include <immintrin.h>

#include "kernels/cpu/avx2_util.h"
#include "kernels/cpu/int8_gemm.h"
#include "kernels/cpu/tile_walk.h"

namespace dtm::cpu {

namespace {

// Tiles of up to kTileTokens tokens: 4 * kTileTokens accumulators + kTileTokens
// broadcasts + 1 weight quarter of 16 ymm.
constexpr int kTileTokens = 2;
constexpr TileShape kShape = {kTileTokens, /*tile_panels=*/1, /*small_batch=*/0, /*gemv_panels=*/1};

struct TileArgs {
    const uint8_t * w;      // the panel
    int64_t k_groups;
    const int8_t * x;       // first token's activations, row stride ldq
    int64_t ldq;
    const int32_t * q_sum;
    const float * x_scale;
    const float * w_scale;  // the panel's 16 scales
    float * y;              // y[first token][first output of the panel]
    int64_t ldy;
    int64_t n_valid;
};

// Rows 0..7 and 8..15 of one token's accumulators as int32 lanes in row order.
void row_sums(const __m256i acc[4], __m256i * rows_0_7, __m256i * rows_8_15) {
    *rows_0_7 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[0], acc[1]), 0xd8);
    *rows_8_15 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[2], acc[3]), 0xd8);
}

void store_outputs(float * y, __m256 lo, __m256 hi, int64_t n_valid) {
    if (n_valid >= 16) {
        _mm256_storeu_ps(y, lo);
        _mm256_storeu_ps(y + 8, hi);
        return;
    }
    float tmp[16];
    _mm256_storeu_ps(tmp, lo);
    _mm256_storeu_ps(tmp + 8, hi);
    for (int64_t r = 0; r < n_valid; ++r) y[r] = tmp[r];
}

template <int MR>
void tile(const TileArgs & a) {
    __m256i acc[MR][4];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) acc[i][c] = _mm256_setzero_si256();
    }
    const uint8_t * w = a.w;
    for (int64_t g = 0; g < a.k_groups; ++g, w += kPanelRows * kInt8GroupK) {
        __m256i xb[MR];
#pragma GCC unroll 4
        for (int i = 0; i < MR; ++i) {
            const __m128i x4 = _mm_cvtepi8_epi16(_mm_cvtsi32_si128(load_4_bytes(a.x + i * a.ldq + g * kInt8GroupK)));
            xb[i] = _mm256_broadcastq_epi64(x4);
        }
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) {
            const __m256i wc = _mm256_cvtepu8_epi16(_mm_load_si128(reinterpret_cast<const __m128i *>(w + c * 16)));
#pragma GCC unroll 4
            for (int i = 0; i < MR; ++i) acc[i][c] = _mm256_add_epi32(acc[i][c], _mm256_madd_epi16(wc, xb[i]));
        }
    }
    const __m256 ws_lo = _mm256_loadu_ps(a.w_scale), ws_hi = _mm256_loadu_ps(a.w_scale + 8);
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
        __m256i lo, hi;
        row_sums(acc[i], &lo, &hi);
        const __m256i offset = _mm256_set1_epi32(128 * a.q_sum[i]);
        const __m256 xs = _mm256_set1_ps(a.x_scale[i]);
        const __m256 ylo = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(lo, offset)), xs), ws_lo);
        const __m256 yhi = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(hi, offset)), xs), ws_hi);
        store_outputs(a.y + i * a.ldy, ylo, yhi, a.n_valid);
    }
}

}  // namespace

void int8_gemm_avx2(const Int8Panels & w, const float * w_scale, const Int8Tokens & x, int64_t n_tokens, float * y,
                    int64_t ldy, int64_t panel_begin, int64_t panel_end) {
    TileArgs a;
    a.k_groups = w.k_groups();
    a.ldq = x.ldq;
    a.ldy = ldy;
    walk_tiles(n_tokens, panel_begin, panel_end, kShape, [&](int64_t p, int64_t, int64_t t, int64_t mr) {
        a.w = w.panel(p);
        a.w_scale = w_scale + p * kPanelRows;
        a.n_valid = w.rows() - p * kPanelRows;
        a.x = x.q + t * x.ldq;
        a.q_sum = x.q_sum + t;
        a.x_scale = x.scale + t;
        a.y = y + t * ldy + p * kPanelRows;
        if (mr >= 2) {
            tile<2>(a);
        } else {
            tile<1>(a);
        }
    });
}

}  // namespace dtm::cpu
