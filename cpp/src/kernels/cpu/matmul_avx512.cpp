// matmul_avx512.cpp - fp32 matrix product against packed panels, AVX-512F.
//
//   y[t][o] = sum_{k=0}^{cols-1} x[t][k] * W[o][k]
//
// Register blocking: a micro-tile of MR tokens x NP panels (NP * 16 outputs)
// keeps MR * NP zmm accumulators. Per step k it loads the NP panel columns
// W[p*16 .. p*16+15][k] (one aligned zmm each, see packed_matrix.h) once and
// broadcasts x[t][k] once per token:
//
//   acc[t][p] = fmadd(Wcol[p], broadcast(x[t][k]), acc[t][p])
//
// Each lane is one output with one accumulator, starting at 0 and updated in
// increasing k by one fused multiply-add: exactly the operations of
// matmul_ref, so the result is bitwise equal whatever the tiling.
//
// This file is compiled with AVX-512 flags and only ever called after
// dispatch.cpp checked the CPU. It uses nothing with external linkage that
// the compiler could emit out of line (no std:: templates), so no AVX-512
// code can leak into baseline callers through the linker.
#include <immintrin.h>

#include "kernels/cpu/matmul.h"

namespace dtm::cpu {

namespace {

// Blocking:
// - Batches of at least kSmallBatch tokens use kTileTokens x kTilePanels
//   tiles (16 accumulators + 2 weight vectors + 1 broadcast, of 32 zmm).
//   Smaller batches (decoding) are memory-bound: all their token rows times
//   kGemvPanels panels, so that enough independent FMA chains hide the FMA
//   latency while the weights stream in.
// - k is cut into blocks of kKBlock steps when cols > kKBlockMax, so that a
//   tile's weights (kTilePanels x kKBlock x 64 B) and the token rows' slices
//   stay in L1/L2 while every token group passes. Between blocks the
//   accumulators rest in y (exact fp32 values), so each output still sees one
//   accumulator updated in increasing k.
// - While the first token group of a panel group runs, the next panel group
//   (same k block) is prefetched, one column per k step, so weights that come
//   from DRAM arrive before they are needed.
constexpr int kTileTokens = 8;
constexpr int kTilePanels = 2;
constexpr int kSmallBatch = 4;
constexpr int kGemvPanels = 4;
constexpr int64_t kKBlock = 512;
constexpr int64_t kKBlockMax = 1024;
constexpr _mm_hint kPrefetchHint = _MM_HINT_T0;

struct TileArgs {
    const float * w;         // first panel of the tile at column k0: (kc, 16) per panel
    int64_t pstride;         // floats from one panel to the next (cols * 16)
    int64_t kc;              // k steps in this block
    const float * x;         // x[first token of the tile][k0], row stride ldx
    int64_t ldx;
    float * y;               // y[first token][first output of the tile], row stride ldy
    int64_t ldy;
    int64_t n_valid;         // outputs of the tile that exist (o < rows), may exceed NP * 16
    bool resume;             // start from the partial sums in y (k0 > 0) instead of 0
    const float * prefetch;  // next panel group at column k0, or nullptr
};

__mmask16 lanes_below(int64_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1u); }

template <int MR, int NP, bool PREFETCH>
void tile(const TileArgs & a) {
    __m512 acc[MR][NP];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
        for (int j = 0; j < NP; ++j) {
            // Lanes past the last row (padding) are never stored; load them as 0.
            acc[i][j] = a.resume ? _mm512_maskz_loadu_ps(lanes_below(a.n_valid - j * 16), a.y + i * a.ldy + j * 16)
                                 : _mm512_setzero_ps();
        }
    }
    const float * xr[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) xr[i] = a.x + i * a.ldx;

    const float * w = a.w;
    const float * pf = a.prefetch;
    for (int64_t k = 0; k < a.kc; ++k, w += 16) {
        __m512 wv[NP];
#pragma GCC unroll 8
        for (int j = 0; j < NP; ++j) wv[j] = _mm512_load_ps(w + j * a.pstride);
        if (PREFETCH) {
#pragma GCC unroll 8
            for (int j = 0; j < NP; ++j) _mm_prefetch(reinterpret_cast<const char *>(pf + j * a.pstride), kPrefetchHint);
            pf += 16;
        }
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
            const __m512 xb = _mm512_set1_ps(xr[i][k]);
#pragma GCC unroll 8
            for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_fmadd_ps(wv[j], xb, acc[i][j]);
        }
    }

#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
        float * yr = a.y + i * a.ldy;
#pragma GCC unroll 8
        for (int j = 0; j < NP; ++j) {
            const int64_t o = int64_t(j) * 16;
            if (o + 16 <= a.n_valid) {
                _mm512_storeu_ps(yr + o, acc[i][j]);
            } else if (o < a.n_valid) {  // padded last panel: write o < rows only
                _mm512_mask_storeu_ps(yr + o, lanes_below(a.n_valid - o), acc[i][j]);
            }
        }
    }
}

using TileFn = void (*)(const TileArgs &);

template <int MR, bool PF>
TileFn tile_for_panels(int np) {
    switch (np) {
        case 1: return &tile<MR, 1, PF>;
        case 2: return &tile<MR, 2, PF>;
        case 3: return &tile<MR, 3, PF>;
        default: return &tile<MR, 4, PF>;
    }
}

template <bool PF>
TileFn tile_for_tokens(int mr, int np) {
    switch (mr) {
        case 1: return tile_for_panels<1, PF>(np);
        case 2: return tile_for_panels<2, PF>(np);
        case 3: return tile_for_panels<3, PF>(np);
        case 4: return tile_for_panels<4, PF>(np);
        case 5: return tile_for_panels<5, PF>(np);
        case 6: return tile_for_panels<6, PF>(np);
        case 7: return tile_for_panels<7, PF>(np);
        default: return tile_for_panels<8, PF>(np);
    }
}

// Micro-kernel for mr tokens (1..kTileTokens) x np panels (1..kGemvPanels).
TileFn tile_for(int mr, int np, bool prefetch) {
    static_assert(kTileTokens == 8 && kGemvPanels == 4, "update the tile table");
    return prefetch ? tile_for_tokens<true>(mr, np) : tile_for_tokens<false>(mr, np);
}

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

}  // namespace

void matmul_avx512(const PackedMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                   int64_t n_tokens, int64_t panel_begin, int64_t panel_end) {
    if (n_tokens <= 0 || panel_begin >= panel_end) return;
    const bool small = n_tokens < kSmallBatch;
    const int64_t tile_panels = small ? kGemvPanels : kTilePanels;
    const int64_t tile_tokens = small ? n_tokens : kTileTokens;
    const int64_t cols = w.cols();
    const int64_t kc_max = cols > kKBlockMax ? kKBlock : (cols > 0 ? cols : 1);

    TileArgs a;
    a.pstride = cols * kPanelRows;
    a.ldx = ldx;
    a.ldy = ldy;
    // k blocks outer (at least one, so that cols = 0 writes zeros), then panel
    // groups, then token groups: a panel group's block of weights stays in
    // cache while every token group streams past it.
    for (int64_t k0 = 0; k0 == 0 || k0 < cols; k0 += kc_max) {
        a.kc = min64(kc_max, cols - k0);
        a.resume = k0 > 0;
        for (int64_t p = panel_begin; p < panel_end; p += tile_panels) {
            const int64_t np = min64(tile_panels, panel_end - p);
            a.w = w.panel(p) + k0 * kPanelRows;
            a.n_valid = w.rows() - p * kPanelRows;
            const int64_t next = p + np;
            const float * next_w = next + np <= panel_end ? w.panel(next) + k0 * kPanelRows : nullptr;
            for (int64_t t = 0; t < n_tokens; t += tile_tokens) {
                const int64_t mr = min64(tile_tokens, n_tokens - t);
                a.x = x + t * ldx + k0;
                a.y = y + t * ldy + p * kPanelRows;
                a.prefetch = t == 0 ? next_w : nullptr;
                tile_for(int(mr), int(np), a.prefetch != nullptr)(a);
            }
        }
    }
}

}  // namespace dtm::cpu
