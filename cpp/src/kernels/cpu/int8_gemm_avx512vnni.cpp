// int8_gemm_avx512vnni.cpp - the W8A8 product with AVX-512 VNNI (int8_gemm.h).
//
// A tile of MR tokens x NP panels keeps MR * NP zmm int32 accumulators, one
// lane per output. Per group g of 4 k it loads the NP panels' 64-byte
// vectors (16 rows x 4 unsigned weights u = q_w + 128) once, broadcasts the
// 4 activation bytes of each token, and issues
//
//   acc[t][p] = vpdpbusd(acc[t][p], u_panel[p], x[t][4g .. 4g+3])
//
// (each lane adds the 4 products u * x of its row). The epilogue removes the
// offset, acc - 128 * sum_k x[t][k], converts to float and multiplies by
// x_scale[t], then by w_scale[o]: the reference's operations, so the result
// is bitwise equal. Compiled with the AVX-512 + VNNI flags (the _avx512vnni
// suffix, CMakeLists.txt), called only through a kernel table whose int8_vnni
// is set (quant_kernels.cpp); nothing but int8_gemm_avx512vnni has external
// linkage.
#include <immintrin.h>

#include "kernels/cpu/avx512_util.h"
#include "kernels/cpu/int8_gemm.h"
#include "kernels/cpu/tile_walk.h"

namespace dtm::cpu {

namespace {

// Tiles: batches of kSmallBatch tokens and more use kTileTokens x kTilePanels
// (24 accumulators + 4 weight vectors + 1 broadcast of 32 zmm; per group 4 +
// 6 loads feed 24 vpdpbusd). Smaller batches (decoding, memory-bound) use all
// their tokens x kGemvPanels panels.
constexpr int kTileTokens = 6;
constexpr int kTilePanels = 4;
constexpr int kSmallBatch = 4;
constexpr int kGemvPanels = 4;
constexpr TileShape kShape = {kTileTokens, kTilePanels, kSmallBatch, kGemvPanels};

struct TileArgs {
    const uint8_t * w;       // first panel of the tile
    int64_t pstride;         // bytes from one panel to the next
    int64_t k_groups;
    const int8_t * x;        // first token's activations, row stride ldq
    int64_t ldq;
    const int32_t * q_sum;   // first token's
    const float * x_scale;   // first token's
    const float * w_scale;   // first output's
    float * y;               // y[first token][first output], row stride ldy
    int64_t ldy;
    int64_t n_valid;         // outputs of the tile that exist
};

template <int MR, int NP>
void tile(const TileArgs & a) {
    __m512i acc[MR][NP];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_setzero_si512();
    }
    const uint8_t * w = a.w;
    for (int64_t g = 0; g < a.k_groups; ++g, w += kPanelRows * kInt8GroupK) {
        __m512i wv[NP];
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) wv[j] = _mm512_load_si512(w + j * a.pstride);
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            const __m512i xb = _mm512_set1_epi32(load_4_bytes(a.x + i * a.ldq + g * kInt8GroupK));
#pragma GCC unroll 4
            for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], wv[j], xb);
        }
    }
    __m512 ws[NP];
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) ws[j] = _mm512_loadu_ps(a.w_scale + j * 16);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
        const __m512i offset = _mm512_set1_epi32(128 * a.q_sum[i]);
        const __m512 xs = _mm512_set1_ps(a.x_scale[i]);
        float * yr = a.y + i * a.ldy;
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) {
            __m512 v = int32_to_float(_mm512_sub_epi32(acc[i][j], offset));
            v = _mm512_mul_ps(_mm512_mul_ps(v, xs), ws[j]);
            const int64_t o = int64_t(j) * 16;
            if (o + 16 <= a.n_valid) {
                _mm512_storeu_ps(yr + o, v);
            } else if (o < a.n_valid) {
                _mm512_mask_storeu_ps(yr + o, mask16_below(a.n_valid - o), v);
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
    static_assert(kTileTokens == 6 && kTilePanels <= 4 && kGemvPanels <= 4, "update the tile table");
    switch (mr) {
        case 1: return tile_for_panels<1>(np);
        case 2: return tile_for_panels<2>(np);
        case 3: return tile_for_panels<3>(np);
        case 4: return tile_for_panels<4>(np);
        case 5: return tile_for_panels<5>(np);
        default: return tile_for_panels<6>(np);
    }
}

}  // namespace

void int8_gemm_avx512vnni(const Int8Panels & w, const float * w_scale, const Int8Tokens & x, int64_t n_tokens, float * y,
                      int64_t ldy, int64_t panel_begin, int64_t panel_end) {
    TileArgs a;
    a.pstride = w.k_groups() * kPanelRows * kInt8GroupK;
    a.k_groups = w.k_groups();
    a.ldq = x.ldq;
    a.ldy = ldy;
    walk_tiles(n_tokens, panel_begin, panel_end, kShape, [&](int64_t p, int64_t np, int64_t t, int64_t mr) {
        a.w = w.panel(p);
        a.w_scale = w_scale + p * kPanelRows;
        a.n_valid = w.rows() - p * kPanelRows;
        a.x = x.q + t * x.ldq;
        a.q_sum = x.q_sum + t;
        a.x_scale = x.scale + t;
        a.y = y + t * ldy + p * kPanelRows;
        pick_tile(int(mr), int(np))(a);
    });
}

}  // namespace dtm::cpu
