// qblock_gemm_avx2.cpp - q8_0 / q4_0 products with AVX2 (qblock_gemm.h).
//
// A tile is MR tokens x one panel. Per group of 4 k, each 16-byte quarter c
// of the panel's 64-byte vector (rows 4c .. 4c+3, 4 unsigned weights each;
// for q4_0 the low or high nibbles of a packed vector) is zero-extended to
// int16 and multiplied with the token's 4 activations (sign-extended,
// repeated) by vpmaddwd, which adds pairs of products into int32 without
// saturation. At the end of a block the two half sums of each row are added
// (vphaddd + a lane permutation) and
//
//   acc = fmadd(d_w * d_x, float(isum - offset * sum_block(q_x)), acc)
//
// with d_w widened from fp16 by vcvtph2ps (exact): the reference's
// operations in its order, so the result is bitwise equal.
#include <immintrin.h>

#include "kernels/cpu/avx2_util.h"
#include "kernels/cpu/qblock_gemm.h"
#include "kernels/cpu/tile_walk.h"

namespace dtm::cpu {

namespace {

constexpr int kTileTokens = 2;
constexpr TileShape kShape = {kTileTokens, /*tile_panels=*/1, /*small_batch=*/0, /*gemv_panels=*/1};

// x[0 .. 3] sign-extended to int16 and repeated over the 4 64-bit lanes.
__m256i broadcast_4_activations(const int8_t * x) {
    return _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(load_4_bytes(x))));
}

struct TileArgs {
    const uint8_t * w;        // the panel's block 0
    const uint16_t * scales;  // the panel's block-0 scales
    int64_t block_bytes;
    int64_t n_blocks;
    int32_t offset;
    QBlockTokens x;           // from the tile's first token
    float * y;                // y[first token][first output of the panel]
    int64_t ldy;
    int64_t n_valid;
};

template <int MR, bool Q4>
void tile(const TileArgs & a) {
    __m256 acc[MR][2];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    const __m128i low_nibbles = _mm_set1_epi8(0x0f);
    for (int64_t b = 0; b < a.n_blocks; ++b) {
        const uint8_t * wb = a.w + b * a.block_bytes;
        __m256i isum[MR][4];
#pragma GCC unroll 4
        for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
            for (int c = 0; c < 4; ++c) isum[i][c] = _mm256_setzero_si256();
        }
        if (Q4) {
#pragma GCC unroll 4
            for (int h = 0; h < 4; ++h) {
                __m256i x_lo[MR], x_hi[MR];
#pragma GCC unroll 4
                for (int i = 0; i < MR; ++i) {
                    const int8_t * xb = a.x.q + i * a.x.ldq + b * kQBlockSize;
                    x_lo[i] = broadcast_4_activations(xb + h * 4);
                    x_hi[i] = broadcast_4_activations(xb + (h + 4) * 4);
                }
#pragma GCC unroll 4
                for (int c = 0; c < 4; ++c) {
                    const __m128i packed = _mm_load_si128(reinterpret_cast<const __m128i *>(wb + h * 64 + c * 16));
                    const __m256i lo = _mm256_cvtepu8_epi16(_mm_and_si128(packed, low_nibbles));
                    const __m256i hi = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low_nibbles));
#pragma GCC unroll 4
                    for (int i = 0; i < MR; ++i) {
                        isum[i][c] = _mm256_add_epi32(isum[i][c], _mm256_madd_epi16(lo, x_lo[i]));
                        isum[i][c] = _mm256_add_epi32(isum[i][c], _mm256_madd_epi16(hi, x_hi[i]));
                    }
                }
            }
        } else {
#pragma GCC unroll 8
            for (int g = 0; g < 8; ++g) {
                __m256i xv[MR];
#pragma GCC unroll 4
                for (int i = 0; i < MR; ++i) xv[i] = broadcast_4_activations(a.x.q + i * a.x.ldq + b * kQBlockSize + g * 4);
#pragma GCC unroll 4
                for (int c = 0; c < 4; ++c) {
                    const __m256i wc =
                        _mm256_cvtepu8_epi16(_mm_load_si128(reinterpret_cast<const __m128i *>(wb + g * 64 + c * 16)));
#pragma GCC unroll 4
                    for (int i = 0; i < MR; ++i) isum[i][c] = _mm256_add_epi32(isum[i][c], _mm256_madd_epi16(wc, xv[i]));
                }
            }
        }
        const uint16_t * sb = a.scales + b * kPanelRows;
        const __m256 dw_lo = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i *>(sb)));
        const __m256 dw_hi = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i *>(sb + 8)));
#pragma GCC unroll 4
        for (int i = 0; i < MR; ++i) {
            // Rows 0..7 and 8..15 as int32 lanes in row order.
            const __m256i rows_lo = _mm256_permute4x64_epi64(_mm256_hadd_epi32(isum[i][0], isum[i][1]), 0xd8);
            const __m256i rows_hi = _mm256_permute4x64_epi64(_mm256_hadd_epi32(isum[i][2], isum[i][3]), 0xd8);
            const __m256i correction = _mm256_set1_epi32(a.offset * a.x.q_sum[i * a.x.ldb + b]);
            const __m256 dx = _mm256_set1_ps(a.x.d[i * a.x.ldb + b]);
            acc[i][0] = _mm256_fmadd_ps(_mm256_mul_ps(dw_lo, dx),
                                        _mm256_cvtepi32_ps(_mm256_sub_epi32(rows_lo, correction)), acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(_mm256_mul_ps(dw_hi, dx),
                                        _mm256_cvtepi32_ps(_mm256_sub_epi32(rows_hi, correction)), acc[i][1]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
        float tmp[16];
        float * yr = a.y + i * a.ldy;
        float * dst = a.n_valid >= 16 ? yr : tmp;
        _mm256_storeu_ps(dst, acc[i][0]);
        _mm256_storeu_ps(dst + 8, acc[i][1]);
        if (dst == tmp) {
            for (int64_t r = 0; r < a.n_valid; ++r) yr[r] = tmp[r];
        }
    }
}

}  // namespace

void qblock_gemm_avx2(const QBlockPanels & w, const QBlockTokens & x, int64_t n_tokens, float * y, int64_t ldy,
                      int64_t panel_begin, int64_t panel_end) {
    const bool q4 = w.format() == DTM_FORMAT_Q4_0;
    TileArgs a;
    a.block_bytes = w.block_bytes();
    a.n_blocks = w.n_blocks();
    a.offset = w.offset();
    a.ldy = ldy;
    walk_tiles(n_tokens, panel_begin, panel_end, kShape, [&](int64_t p, int64_t, int64_t t, int64_t mr) {
        a.w = w.values(p, 0);
        a.scales = w.scales(p, 0);
        a.n_valid = w.rows() - p * kPanelRows;
        a.x = {x.q + t * x.ldq, x.ldq, x.d + t * x.ldb, x.q_sum + t * x.ldb, x.ldb};
        a.y = y + t * ldy + p * kPanelRows;
        const bool two = mr >= 2;
        if (q4) {
            two ? tile<2, true>(a) : tile<1, true>(a);
        } else {
            two ? tile<2, false>(a) : tile<1, false>(a);
        }
    });
}

}  // namespace dtm::cpu
