// matmul_avx2.cpp - fp32 matrix product against packed panels, AVX2 + FMA.
//
//   y[t][o] = sum_{k=0}^{cols-1} x[t][k] * W[o][k]
//
// A 16-row panel column W[p*16 .. p*16+15][k] is two ymm vectors (lo, hi).
// A micro-tile of MR tokens x NP panels keeps MR * NP * 2 ymm accumulators;
// per step k it loads the panel columns once and broadcasts x[t][k] once
// per token:
//
//   acc[t][p][h] = fmadd(Wcol[p][h], broadcast(x[t][k]), acc[t][p][h])
//
// One lane = one output, one accumulator from 0, increasing k, one fused
// multiply-add per step: the operations of matmul_ref, so bitwise equal.
//
// Compiled with AVX2 flags and called only after dispatch.cpp checked the
// CPU; nothing here has external linkage besides matmul_avx2 (no std::
// templates the linker could share with baseline code).
#include <immintrin.h>

#include "kernels/cpu/matmul.h"

namespace dtm::cpu {

namespace {

// Blocking: batches of at least kSmallBatch tokens use kTileTokens x
// kTilePanels tiles (12 accumulators + 2 weight vectors + 1 broadcast, of 16
// ymm: the 6x16 kernel). Smaller batches (decoding) are memory-bound: all
// their token rows times kGemvPanels panels (the weights then come straight
// from memory operands of the FMAs).
constexpr int kTileTokens = 6;
constexpr int kTilePanels = 1;
constexpr int kSmallBatch = 3;
constexpr int kGemvPanels = 2;

struct TileArgs {
    const float * w;   // first panel of the tile, (cols, 16) per panel
    int64_t pstride;   // floats from one panel to the next (cols * 16)
    int64_t cols;
    const float * x;   // first token row of the tile, row stride ldx
    int64_t ldx;
    float * y;         // y[t][first output of the tile], row stride ldy
    int64_t ldy;
    int64_t n_valid;   // outputs of the tile that exist (o < rows), may exceed NP * 16
};

// Stores the lanes o .. o+7 of v that are < n_valid.
inline void store8(float * dst, int64_t o, int64_t n_valid, __m256 v) {
    if (o + 8 <= n_valid) {
        _mm256_storeu_ps(dst + o, v);
    } else if (o < n_valid) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n_valid - o)), lane);
        _mm256_maskstore_ps(dst + o, mask, v);
    }
}

template <int MR, int NP>
void tile(const TileArgs & a) {
    __m256 acc[MR][NP][2];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) {
            acc[i][j][0] = _mm256_setzero_ps();
            acc[i][j][1] = _mm256_setzero_ps();
        }
    }
    const float * xr[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) xr[i] = a.x + i * a.ldx;

    const float * w = a.w;
    for (int64_t k = 0; k < a.cols; ++k, w += 16) {
        __m256 wv[NP][2];
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) {
            wv[j][0] = _mm256_load_ps(w + j * a.pstride);
            wv[j][1] = _mm256_load_ps(w + j * a.pstride + 8);
        }
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            const __m256 xb = _mm256_broadcast_ss(xr[i] + k);
#pragma GCC unroll 4
            for (int j = 0; j < NP; ++j) {
                acc[i][j][0] = _mm256_fmadd_ps(wv[j][0], xb, acc[i][j][0]);
                acc[i][j][1] = _mm256_fmadd_ps(wv[j][1], xb, acc[i][j][1]);
            }
        }
    }

#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
        float * yr = a.y + i * a.ldy;
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) {
            store8(yr, int64_t(j) * 16, a.n_valid, acc[i][j][0]);
            store8(yr, int64_t(j) * 16 + 8, a.n_valid, acc[i][j][1]);
        }
    }
}

using TileFn = void (*)(const TileArgs &);

// Micro-kernel for mr tokens (1..kTileTokens) x np panels: np = 1 for any
// mr, np = 1..kGemvPanels when mr < kSmallBatch.
TileFn tile_for(int mr, int np) {
    static_assert(kTileTokens == 6 && kTilePanels == 1 && kSmallBatch == 3 && kGemvPanels == 2,
                  "update the tile table");
    switch (mr) {
        case 1: return np == 1 ? &tile<1, 1> : &tile<1, 2>;
        case 2: return np == 1 ? &tile<2, 1> : &tile<2, 2>;
        case 3: return &tile<3, 1>;
        case 4: return &tile<4, 1>;
        case 5: return &tile<5, 1>;
        default: return &tile<6, 1>;
    }
}

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

}  // namespace

void matmul_avx2(const PackedMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                 int64_t n_tokens, int64_t panel_begin, int64_t panel_end) {
    if (n_tokens <= 0 || panel_begin >= panel_end) return;
    const bool small = n_tokens < kSmallBatch;
    const int64_t tile_panels = small ? kGemvPanels : kTilePanels;
    const int64_t tile_tokens = small ? n_tokens : kTileTokens;

    TileArgs a;
    a.pstride = w.cols() * kPanelRows;
    a.cols = w.cols();
    a.ldx = ldx;
    a.ldy = ldy;
    // Panels outer, tokens inner: a tile's panels stay in cache while every
    // token block streams past them.
    for (int64_t p = panel_begin; p < panel_end; p += tile_panels) {
        const int64_t np = min64(tile_panels, panel_end - p);
        a.w = w.panel(p);
        a.n_valid = w.rows() - p * kPanelRows;
        for (int64_t t = 0; t < n_tokens; t += tile_tokens) {
            const int64_t mr = min64(tile_tokens, n_tokens - t);
            a.x = x + t * ldx;
            a.y = y + t * ldy + p * kPanelRows;
            tile_for(int(mr), int(np))(a);
        }
    }
}

}  // namespace dtm::cpu
