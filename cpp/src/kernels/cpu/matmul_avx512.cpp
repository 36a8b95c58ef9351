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
// The 16-bit panels (matmul_half_avx512) run the same tiles; they only load
// a panel column differently: 16 bf16 (zero-extended, shifted left by 16) or
// 16 fp16 (vcvtph2ps) values widened exactly to the zmm the fp32 tile loads.
// The FMAs that follow are the same.
//
// The loop nest around the tiles (cache blocking, prefetching) is
// matmul_walk.h. This file is compiled with AVX-512 flags and only ever
// called after dispatch.cpp checked the CPU. Nothing here but matmul_avx512
// has external linkage, and no std:: templates are used that the compiler
// could emit out of line, so no AVX-512 code leaks into baseline callers
// through the linker.
#include <immintrin.h>

#include "kernels/cpu/avx512_util.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/matmul_walk.h"

namespace dtm::cpu {

namespace {

// Blocking (see matmul_walk.h for the walk):
// - Batches of at least kSmallBatch tokens use kTileTokens x kTilePanels
//   tiles: 16 accumulators + 2 weight vectors + 1 broadcast, of 32 zmm; per
//   k step 2 loads and 8 broadcasts feed 16 FMAs.
// - Smaller batches (decoding) are memory-bound: tiles of all their token
//   rows times kGemvPanels panels, so that 4+ independent FMA chains hide the
//   FMA latency while 4 weight streams come in (the strided walk of
//   matmul_walk.h: long streams, no software prefetches).
// - Panel blocks of 16 panels (256 outputs); k blocks of 512 steps when
//   cols > 1024 (a 2-panel tile's block of weights is then 64 KB, in L1/L2);
//   prefetches of the next tile go to L2 (matmul_walk.h). Measured on Zen 5:
//   k blocks of 256..1024 and panel blocks of 8..32 are within noise; without
//   k blocks 4096-wide products lose ~10 %, without prefetching the 32000-row
//   head loses 3x at 16 tokens.
constexpr int kTileTokens = 8;
constexpr int kTilePanels = 2;
constexpr int kSmallBatch = 4;
constexpr int kGemvPanels = 4;
constexpr MatmulBlocking kBlocking = {kTileTokens, kTilePanels, kSmallBatch, kGemvPanels,
                                      /*gemv_budget=*/kSmallBatch * kGemvPanels,
                                      /*panel_block=*/16, /*k_block=*/512, /*k_block_max=*/1024};
constexpr auto kPrefetchHint = _MM_HINT_T1;  // L2 (matmul_walk.h); an enum _mm_hint in gcc, an int in clang

// How a tile reads one panel column W[p*16 .. p*16+15][k] as an fp32
// vector, per panel element type.
struct Fp32Panels {
    using Element = float;
    static __m512 load(const float * w) { return _mm512_load_ps(w); }
};
struct Bf16Panels {  // bf16 -> fp32: the bits are the top half of the fp32
    using Element = uint16_t;
    static __m512 load(const uint16_t * w) {
        const __m512i u = _mm512_cvtepu16_epi32(_mm256_load_si256(reinterpret_cast<const __m256i *>(w)));
        return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
    }
};
struct Fp16Panels {  // fp16 -> fp32: exact
    using Element = uint16_t;
    static __m512 load(const uint16_t * w) { return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i *>(w))); }
};

// One tile: MR tokens x NP panels over the k block of a (see TileArgs),
// reading panels of P::Element.
template <typename P, int MR, int NP, bool PREFETCH>
void tile(const TileArgsOf<typename P::Element> & a) {
    using E = typename P::Element;
    __m512 acc[MR][NP];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
        for (int j = 0; j < NP; ++j) {
            // Lanes past the last row (padding) are never stored; load them as 0.
            acc[i][j] = a.resume ? _mm512_maskz_loadu_ps(mask16_below(a.n_valid - j * a.ystride),
                                                          a.y + i * a.ldy + j * a.ystride)
                                 : _mm512_setzero_ps();
        }
    }
    const float * xr[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) xr[i] = a.x + i * a.ldx;
    const E * pf[NP] = {};  // next tile's panels (its last one repeated if it has fewer)
    if (PREFETCH) {
#pragma GCC unroll 8
        for (int j = 0; j < NP; ++j) pf[j] = a.prefetch + (j < a.prefetch_np ? j : a.prefetch_np - 1) * a.pstride;
    }

    const E * w = a.w;
    for (int64_t k = 0; k < a.kc; ++k, w += 16) {
        __m512 wv[NP];
#pragma GCC unroll 8
        for (int j = 0; j < NP; ++j) wv[j] = P::load(w + j * a.pstride);
        if (PREFETCH && k < a.prefetch_kc) {
#pragma GCC unroll 8
            for (int j = 0; j < NP; ++j) _mm_prefetch(reinterpret_cast<const char *>(pf[j] + k * 16), kPrefetchHint);
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
            const int64_t o = j * a.ystride;
            if (o + 16 <= a.n_valid) {
                _mm512_storeu_ps(yr + o, acc[i][j]);
            } else if (o < a.n_valid) {  // padded last panel: write o < rows only
                _mm512_mask_storeu_ps(yr + o, mask16_below(a.n_valid - o), acc[i][j]);
            }
        }
    }
}

template <typename P, int MR, bool PF>
TileFnOf<typename P::Element> tile_for_panels(int np) {
    switch (np) {
        case 1: return &tile<P, MR, 1, PF>;
        case 2: return &tile<P, MR, 2, PF>;
        case 3: return &tile<P, MR, 3, PF>;
        default: return &tile<P, MR, 4, PF>;
    }
}

template <typename P, bool PF>
TileFnOf<typename P::Element> tile_for_tokens(int mr, int np) {
    switch (mr) {
        case 1: return tile_for_panels<P, 1, PF>(np);
        case 2: return tile_for_panels<P, 2, PF>(np);
        case 3: return tile_for_panels<P, 3, PF>(np);
        case 4: return tile_for_panels<P, 4, PF>(np);
        case 5: return tile_for_panels<P, 5, PF>(np);
        case 6: return tile_for_panels<P, 6, PF>(np);
        case 7: return tile_for_panels<P, 7, PF>(np);
        default: return tile_for_panels<P, 8, PF>(np);
    }
}

// Micro-kernel for mr tokens (1..kTileTokens) x np panels (1..kGemvPanels).
template <typename P>
TileFnOf<typename P::Element> pick_tile(int mr, int np, bool prefetch) {
    static_assert(kTileTokens == 8 && kGemvPanels == 4 && kTilePanels <= kGemvPanels, "update the tile table");
    return prefetch ? tile_for_tokens<P, true>(mr, np) : tile_for_tokens<P, false>(mr, np);
}

}  // namespace

void matmul_avx512(const PackedMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                   int64_t n_tokens, int64_t panel_begin, int64_t panel_end) {
    matmul_walk(w, x, ldx, y, ldy, n_tokens, panel_begin, panel_end, kBlocking, &pick_tile<Fp32Panels>);
}

void matmul_half_avx512(const PackedHalfMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                        int64_t n_tokens, int64_t panel_begin, int64_t panel_end) {
    const TilePickerOf<uint16_t> pick = w.kind() == HalfKind::kBf16 ? &pick_tile<Bf16Panels> : &pick_tile<Fp16Panels>;
    matmul_walk(w, x, ldx, y, ldy, n_tokens, panel_begin, panel_end, kBlocking, pick);
}

}  // namespace dtm::cpu
