// int8_weight_matmul_avx512.cpp - the weight-only int8 product, AVX-512F
// (int8_weight_matmul.h).
//
// A tile of MR tokens x NP panels keeps MR * NP zmm accumulators. Per k it
// widens each panel's 16 int8 weights to fp32 once (vpmovsxbd + vcvtdq2ps,
// exact) and broadcasts x[t][k] per token:
//
//   acc[t][p] = fmadd(float(q_panel[p][k]), broadcast(x[t][k]), acc[t][p])
//
// then y = w_scale * acc: the reference's operations, bitwise. Compiled with
// AVX-512 flags, called only after the dispatch checked the CPU.
#include <immintrin.h>

#include "kernels/cpu/avx512_util.h"
#include "kernels/cpu/int8_weight_matmul.h"
#include "kernels/cpu/tile_walk.h"

namespace dtm::cpu {

namespace {

// Batches of kSmallBatch tokens and more: kTileTokens x kTilePanels tiles
// (16 accumulators); smaller batches: all their tokens x kGemvPanels panels.
constexpr int kTileTokens = 8;
constexpr int kTilePanels = 2;
constexpr int kSmallBatch = 4;
constexpr int kGemvPanels = 4;
constexpr TileShape kShape = {kTileTokens, kTilePanels, kSmallBatch, kGemvPanels};

// 16 int8 -> 16 int32 (the zero-masking form, for the same reason).
__m512i int8_to_int32(__m128i v) { return _mm512_maskz_cvtepi8_epi32(__mmask16(0xffff), v); }

struct TileArgs {
    const int8_t * w;        // first panel of the tile
    int64_t pstride;         // bytes from one panel to the next (cols * 16)
    int64_t cols;
    const float * x;         // first token, row stride ldx
    int64_t ldx;
    const float * w_scale;   // first output's
    float * y;               // y[first token][first output]
    int64_t ldy;
    int64_t n_valid;
};

template <int MR, int NP>
void tile(const TileArgs & a) {
    __m512 acc[MR][NP];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_setzero_ps();
    }
    const int8_t * w = a.w;
    for (int64_t k = 0; k < a.cols; ++k, w += kPanelRows) {
        __m512 wv[NP];
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) {
            const __m128i q = _mm_load_si128(reinterpret_cast<const __m128i *>(w + j * a.pstride));
            wv[j] = int32_to_float(int8_to_int32(q));
        }
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            const __m512 xb = _mm512_set1_ps(a.x[i * a.ldx + k]);
#pragma GCC unroll 4
            for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_fmadd_ps(wv[j], xb, acc[i][j]);
        }
    }
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) {
        const __m512 ws = _mm512_loadu_ps(a.w_scale + j * 16);
        const int64_t o = int64_t(j) * 16;
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            const __m512 v = _mm512_mul_ps(ws, acc[i][j]);
            float * yr = a.y + i * a.ldy + o;
            if (o + 16 <= a.n_valid) {
                _mm512_storeu_ps(yr, v);
            } else if (o < a.n_valid) {
                _mm512_mask_storeu_ps(yr, mask16_below(a.n_valid - o), v);
            }
        }
    }
}

using TileFn = void (*)(const TileArgs &);

template <int MR>
TileFn tile_for_panels(int np) {
    switch (np) {
        case 1: return &tile<MR, 1>;
        case 2: return &tile<MR, 2>;
        case 3: return &tile<MR, 3>;
        default: return &tile<MR, 4>;
    }
}

TileFn pick_tile(int mr, int np) {
    static_assert(kTileTokens == 8 && kGemvPanels <= 4 && kTilePanels <= 4, "update the tile table");
    switch (mr) {
        case 1: return tile_for_panels<1>(np);
        case 2: return tile_for_panels<2>(np);
        case 3: return tile_for_panels<3>(np);
        case 4: return tile_for_panels<4>(np);
        case 5: return tile_for_panels<5>(np);
        case 6: return tile_for_panels<6>(np);
        case 7: return tile_for_panels<7>(np);
        default: return tile_for_panels<8>(np);
    }
}

}  // namespace

void int8_weight_matmul_avx512(const Int8KMajorPanels & w, const float * w_scale, const float * x, int64_t ldx,
                               float * y, int64_t ldy, int64_t n_tokens, int64_t panel_begin, int64_t panel_end) {
    TileArgs a;
    a.pstride = w.cols() * kPanelRows;
    a.cols = w.cols();
    a.ldx = ldx;
    a.ldy = ldy;
    walk_tiles(n_tokens, panel_begin, panel_end, kShape, [&](int64_t p, int64_t np, int64_t t, int64_t mr) {
        a.w = w.panel(p);
        a.w_scale = w_scale + p * kPanelRows;
        a.n_valid = w.rows() - p * kPanelRows;
        a.x = x + t * ldx;
        a.y = y + t * ldy + p * kPanelRows;
        pick_tile(int(mr), int(np))(a);
    });
}

}  // namespace dtm::cpu
