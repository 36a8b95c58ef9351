// qblock_gemm_avx512vnni.cpp - q8_0 / q4_0 products with AVX-512 VNNI
// (qblock_gemm.h).
//
// A tile of MR tokens x NP panels keeps MR * NP fp32 accumulators and, per
// block, MR * NP int32 block sums. Per group of 4 k the panels' 64-byte
// vectors of unsigned weights (16 rows x 4; for q4_0 the low or high nibbles
// of a packed vector, masked with 0x0f) meet each token's 4 activation bytes
// in vpdpbusd. At the end of a block:
//
//   acc = fmadd(d_w * d_x, float(isum - offset * sum_block(q_x)), acc)
//
// with d_w the panel's 16 fp16 scales widened by vcvtph2ps (exact): the
// reference's operations in its order, so the result is bitwise equal.
// Compiled with the AVX-512 + VNNI flags (the _avx512vnni suffix,
// CMakeLists.txt), called only through a kernel table whose int8_vnni is set
// (quant_kernels.cpp).
#include <immintrin.h>

#include "kernels/cpu/avx512_util.h"
#include "kernels/cpu/qblock_gemm.h"
#include "kernels/cpu/tile_walk.h"

namespace dtm::cpu {

namespace {

// Batches of kSmallBatch tokens and more: tiles of kTileTokens x kTilePanels
// (8 + 8 accumulators, 4 unpacked weight vectors); smaller batches: all their
// tokens x kGemvPanels panels.
constexpr int kTileTokens = 4;
constexpr int kTilePanels = 2;
constexpr int kSmallBatch = 3;
constexpr int kGemvPanels = 4;
constexpr TileShape kShape = {kTileTokens, kTilePanels, kSmallBatch, kGemvPanels};

struct TileArgs {
    const uint8_t * w;        // the first panel's block 0
    const uint16_t * scales;  // the first panel's block-0 scales
    int64_t pstride;          // bytes from one panel's values to the next
    int64_t sstride;          // scales from one panel to the next
    int64_t block_bytes;
    int64_t n_blocks;
    int32_t offset;           // u = q + offset
    QBlockTokens x;           // from the tile's first token
    float * y;                // y[first token][first output]
    int64_t ldy;
    int64_t n_valid;
};

template <int MR, int NP, bool Q4>
void tile(const TileArgs & a) {
    __m512 acc[MR][NP];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_setzero_ps();
    }
    const __m512i low_nibbles = _mm512_set1_epi8(0x0f);
    for (int64_t b = 0; b < a.n_blocks; ++b) {
        const uint8_t * wb = a.w + b * a.block_bytes;
        __m512i isum[MR][NP];
#pragma GCC unroll 4
        for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
            for (int j = 0; j < NP; ++j) isum[i][j] = _mm512_setzero_si512();
        }
        if (Q4) {
#pragma GCC unroll 4
            for (int h = 0; h < 4; ++h) {
                __m512i lo[NP], hi[NP];
#pragma GCC unroll 4
                for (int j = 0; j < NP; ++j) {
                    const __m512i packed = _mm512_load_si512(wb + j * a.pstride + h * 64);
                    lo[j] = _mm512_and_si512(packed, low_nibbles);
                    hi[j] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low_nibbles);
                }
#pragma GCC unroll 4
                for (int i = 0; i < MR; ++i) {
                    const int8_t * xb = a.x.q + i * a.x.ldq + b * kQBlockSize;
                    const __m512i x_lo = _mm512_set1_epi32(load_4_bytes(xb + h * 4));
                    const __m512i x_hi = _mm512_set1_epi32(load_4_bytes(xb + (h + 4) * 4));
#pragma GCC unroll 4
                    for (int j = 0; j < NP; ++j) {
                        isum[i][j] = _mm512_dpbusd_epi32(isum[i][j], lo[j], x_lo);
                        isum[i][j] = _mm512_dpbusd_epi32(isum[i][j], hi[j], x_hi);
                    }
                }
            }
        } else {
#pragma GCC unroll 8
            for (int g = 0; g < 8; ++g) {
                __m512i wv[NP];
#pragma GCC unroll 4
                for (int j = 0; j < NP; ++j) wv[j] = _mm512_load_si512(wb + j * a.pstride + g * 64);
#pragma GCC unroll 4
                for (int i = 0; i < MR; ++i) {
                    const __m512i xv = _mm512_set1_epi32(load_4_bytes(a.x.q + i * a.x.ldq + b * kQBlockSize + g * 4));
#pragma GCC unroll 4
                    for (int j = 0; j < NP; ++j) isum[i][j] = _mm512_dpbusd_epi32(isum[i][j], wv[j], xv);
                }
            }
        }
        __m512 dw[NP];
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) {
            // The zero-masking form: GCC 12's _mm512_cvtph_ps warns about its own undefined operand.
            dw[j] = _mm512_maskz_cvtph_ps(
                __mmask16(0xffff),
                _mm256_load_si256(reinterpret_cast<const __m256i *>(a.scales + j * a.sstride + b * kPanelRows)));
        }
#pragma GCC unroll 4
        for (int i = 0; i < MR; ++i) {
            const __m512i correction = _mm512_set1_epi32(a.offset * a.x.q_sum[i * a.x.ldb + b]);
            const __m512 dx = _mm512_set1_ps(a.x.d[i * a.x.ldb + b]);
#pragma GCC unroll 4
            for (int j = 0; j < NP; ++j) {
                const __m512 s = int32_to_float(_mm512_sub_epi32(isum[i][j], correction));
                acc[i][j] = _mm512_fmadd_ps(_mm512_mul_ps(dw[j], dx), s, acc[i][j]);
            }
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) {
            const int64_t o = int64_t(j) * 16;
            float * yr = a.y + i * a.ldy + o;
            if (o + 16 <= a.n_valid) {
                _mm512_storeu_ps(yr, acc[i][j]);
            } else if (o < a.n_valid) {
                _mm512_mask_storeu_ps(yr, mask16_below(a.n_valid - o), acc[i][j]);
            }
        }
    }
}

using TileFn = void (*)(const TileArgs &);

template <int MR, bool Q4>
TileFn tile_for_panels(int np) {
    switch (np) {
        case 1: return &tile<MR, 1, Q4>;
        case 2: return &tile<MR, 2, Q4>;
        case 3: return &tile<MR, 3, Q4>;
        default: return &tile<MR, 4, Q4>;
    }
}

template <bool Q4>
TileFn pick_tile(int mr, int np) {
    static_assert(kTileTokens == 4 && kTilePanels <= 4 && kGemvPanels <= 4, "update the tile table");
    switch (mr) {
        case 1: return tile_for_panels<1, Q4>(np);
        case 2: return tile_for_panels<2, Q4>(np);
        case 3: return tile_for_panels<3, Q4>(np);
        default: return tile_for_panels<4, Q4>(np);
    }
}

}  // namespace

void qblock_gemm_avx512vnni(const QBlockPanels & w, const QBlockTokens & x, int64_t n_tokens, float * y, int64_t ldy,
                        int64_t panel_begin, int64_t panel_end) {
    const bool q4 = w.format() == DTM_FORMAT_Q4_0;
    TileArgs a;
    a.pstride = w.n_blocks() * w.block_bytes();
    a.sstride = w.n_blocks() * kPanelRows;
    a.block_bytes = w.block_bytes();
    a.n_blocks = w.n_blocks();
    a.offset = w.offset();
    a.ldy = ldy;
    walk_tiles(n_tokens, panel_begin, panel_end, kShape, [&](int64_t p, int64_t np, int64_t t, int64_t mr) {
        a.w = w.values(p, 0);
        a.scales = w.scales(p, 0);
        a.n_valid = w.rows() - p * kPanelRows;
        a.x = {x.q + t * x.ldq, x.ldq, x.d + t * x.ldb, x.q_sum + t * x.ldb, x.ldb};
        a.y = y + t * ldy + p * kPanelRows;
        (q4 ? pick_tile<true>(int(mr), int(np)) : pick_tile<false>(int(mr), int(np)))(a);
    });
}

}  // namespace dtm::cpu
