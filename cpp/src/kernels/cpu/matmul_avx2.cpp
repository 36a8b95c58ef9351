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
// The 16-bit panels (matmul_half_avx2) run the same tiles; they only load a
// panel column differently: 16 bf16 (zero-extended, shifted left by 16) or
// 16 fp16 (vcvtph2ps) values widened exactly to the two fp32 vectors the
// fp32 tile loads. The FMAs that follow are the same.
//
// The loop nest around the tiles (cache blocking, prefetching) is
// matmul_walk.h. Compiled with AVX2 flags and called only after dispatch.cpp
// checked the CPU; nothing here has external linkage besides matmul_avx2
// (no std:: templates the linker could share with baseline code).
#include <immintrin.h>

#include "kernels/cpu/avx2_util.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/matmul_walk.h"

namespace dtm::cpu {

namespace {

// Blocking (see matmul_walk.h for the walk):
// - Batches of at least kSmallBatch tokens use kTileTokens x kTilePanels
//   tiles: 12 accumulators + 2 weight vectors + 1 broadcast, of 16 ymm (the
//   6x16 kernel); per k step 2 loads and 6 broadcasts feed 12 FMAs.
// - Smaller batches (decoding) are memory-bound: tiles of all their token
//   rows times kGemvBudget / n_tokens panels (1 x 4 or 2 x 2: 8 accumulator
//   ymm, enough independent FMA chains to hide the FMA latency), in the
//   strided walk of matmul_walk.h, without software prefetches.
// - Panel blocks, k blocks and prefetching as in matmul_avx512.cpp.
constexpr int kTileTokens = 6;
constexpr int kTilePanels = 1;
constexpr int kSmallBatch = 3;
constexpr int kGemvPanels = 4;
constexpr int kGemvBudget = 4;
constexpr MatmulBlocking kBlocking = {kTileTokens, kTilePanels, kSmallBatch, kGemvPanels, kGemvBudget,
                                      /*panel_block=*/16, /*k_block=*/512, /*k_block_max=*/1024};
constexpr auto kPrefetchHint = _MM_HINT_T1;  // L2 (matmul_walk.h); an enum _mm_hint in gcc, an int in clang

// y lanes o .. o+7 (those < n_valid; the others read as 0).
__m256 load8(const float * src, int64_t o, int64_t n_valid) {
    if (o + 8 <= n_valid) return _mm256_loadu_ps(src + o);
    if (o >= n_valid) return _mm256_setzero_ps();
    return _mm256_maskload_ps(src + o, lanes_below(n_valid - o));
}

// Stores the lanes o .. o+7 of v that are < n_valid.
void store8(float * dst, int64_t o, int64_t n_valid, __m256 v) {
    if (o + 8 <= n_valid) {
        _mm256_storeu_ps(dst + o, v);
    } else if (o < n_valid) {
        _mm256_maskstore_ps(dst + o, lanes_below(n_valid - o), v);
    }
}

// How a tile reads one panel column W[p*16 .. p*16+15][k] as two fp32
// vectors (rows 0..7, 8..15), per panel element type.
struct Fp32Panels {
    using Element = float;
    static __m256 lo(const float * w) { return _mm256_load_ps(w); }
    static __m256 hi(const float * w) { return _mm256_load_ps(w + 8); }
};
struct Bf16Panels {  // bf16 -> fp32: the bits are the top half of the fp32
    using Element = uint16_t;
    static __m256 widen(const uint16_t * w) {
        const __m256i u = _mm256_cvtepu16_epi32(_mm_load_si128(reinterpret_cast<const __m128i *>(w)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
    }
    static __m256 lo(const uint16_t * w) { return widen(w); }
    static __m256 hi(const uint16_t * w) { return widen(w + 8); }
};
struct Fp16Panels {  // fp16 -> fp32: F16C, exact
    using Element = uint16_t;
    static __m256 lo(const uint16_t * w) { return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i *>(w))); }
    static __m256 hi(const uint16_t * w) { return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i *>(w + 8))); }
};

// One tile: MR tokens x NP panels over the k block of a (see TileArgs),
// reading panels of P::Element.
template <typename P, int MR, int NP, bool PREFETCH>
void tile(const TileArgsOf<typename P::Element> & a) {
    using E = typename P::Element;
    __m256 acc[MR][NP][2];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) {
            const float * yr = a.y + i * a.ldy;
            acc[i][j][0] = a.resume ? load8(yr, j * a.ystride, a.n_valid) : _mm256_setzero_ps();
            acc[i][j][1] = a.resume ? load8(yr, j * a.ystride + 8, a.n_valid) : _mm256_setzero_ps();
        }
    }
    const float * xr[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) xr[i] = a.x + i * a.ldx;
    const E * pf[NP] = {};  // next tile's panels (its last one repeated if it has fewer)
    if (PREFETCH) {
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) pf[j] = a.prefetch + (j < a.prefetch_np ? j : a.prefetch_np - 1) * a.pstride;
    }

    const E * w = a.w;
    for (int64_t k = 0; k < a.kc; ++k, w += 16) {
        __m256 wv[NP][2];
#pragma GCC unroll 4
        for (int j = 0; j < NP; ++j) {
            wv[j][0] = P::lo(w + j * a.pstride);
            wv[j][1] = P::hi(w + j * a.pstride);
        }
        if (PREFETCH && k < a.prefetch_kc) {
#pragma GCC unroll 4
            for (int j = 0; j < NP; ++j) _mm_prefetch(reinterpret_cast<const char *>(pf[j] + k * 16), kPrefetchHint);
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
            store8(yr, j * a.ystride, a.n_valid, acc[i][j][0]);
            store8(yr, j * a.ystride + 8, a.n_valid, acc[i][j][1]);
        }
    }
}

template <typename P, bool PF>
TileFnOf<typename P::Element> tile_for_tokens(int mr, int np) {
    switch (mr) {
        case 1:
            switch (np) {
                case 1: return &tile<P, 1, 1, PF>;
                case 2: return &tile<P, 1, 2, PF>;
                case 3: return &tile<P, 1, 3, PF>;
                default: return &tile<P, 1, 4, PF>;
            }
        case 2: return np == 1 ? &tile<P, 2, 1, PF> : &tile<P, 2, 2, PF>;
        case 3: return &tile<P, 3, 1, PF>;
        case 4: return &tile<P, 4, 1, PF>;
        case 5: return &tile<P, 5, 1, PF>;
        default: return &tile<P, 6, 1, PF>;
    }
}

// Micro-kernel for mr tokens (1..kTileTokens) x np panels: np = 1 for any
// mr, np <= kGemvBudget / mr when mr < kSmallBatch.
template <typename P>
TileFnOf<typename P::Element> pick_tile(int mr, int np, bool prefetch) {
    static_assert(kTileTokens == 6 && kTilePanels == 1 && kSmallBatch == 3 && kGemvPanels == 4 &&
                      kGemvBudget == 4,
                  "update the tile table");
    return prefetch ? tile_for_tokens<P, true>(mr, np) : tile_for_tokens<P, false>(mr, np);
}

}  // namespace

void matmul_avx2(const PackedMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                 int64_t n_tokens, int64_t panel_begin, int64_t panel_end) {
    matmul_walk(w, x, ldx, y, ldy, n_tokens, panel_begin, panel_end, kBlocking, &pick_tile<Fp32Panels>);
}

void matmul_half_avx2(const PackedHalfMatrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                      int64_t n_tokens, int64_t panel_begin, int64_t panel_end) {
    const TilePickerOf<uint16_t> pick = w.kind() == HalfKind::kBf16 ? &pick_tile<Bf16Panels> : &pick_tile<Fp16Panels>;
    matmul_walk(w, x, ldx, y, ldy, n_tokens, panel_begin, panel_end, kBlocking, pick);
}

}  // namespace dtm::cpu
