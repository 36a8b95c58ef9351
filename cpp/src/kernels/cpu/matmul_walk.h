// matmul_walk.h - the loop nest around the register tiles of the vector matmuls.
//
// Each ISA file (matmul_avx2.cpp, matmul_avx512.cpp) supplies a micro-kernel
// for a tile of mr tokens x np panels over one block of k, and its blocking
// constants; this header walks the product with them. Batches of at least
// small_batch tokens:
//
//   for each block of panel_block panels            (y block stays in L2)
//     for each block of k_block steps of k           (only when cols > k_block_max)
//       for each tile of np panels                   (its weights stay in L1/L2)
//         for each tile of mr tokens                 (x rows stream past)
//           tile: acc = (k0 == 0 ? 0 : y); acc = fma(W[o][k], x[t][k], acc)
//                 for k in the block, in increasing k; y = acc
//
// Between k blocks an accumulator rests in y as the exact fp32 value it had,
// so every output is still one accumulator updated in increasing k with one
// FMA per step: bitwise the same as matmul_ref whatever the blocking.
//
// While the first token tile of a panel tile runs, the weights of the next
// panel tile of the walk are prefetched one column per k step, so weights
// that come from DRAM are in cache before they are needed. They go to L2
// (T1), not L1, where they evicted themselves before use: on Zen 4, L2 made
// 16- and 64-token products up to 20 % faster (the output head, 7B shapes),
// and is as fast from 256 tokens.
//
// Smaller batches (decoding) only stream weights; they take the strided walk
// of matmul_walk_small below: each tile's panels far apart, no k blocks, no
// software prefetches.
//
// The walk is the same for fp32 panels (PackedMatrix, tiles of float) and
// 16-bit panels (PackedHalfMatrix, tiles of uint16_t that widen each weight
// to fp32 before the same FMAs): it is a template over the panel element.
//
// Everything here has internal linkage (static / unnamed namespace): each ISA
// file gets its own copy compiled with its own flags, and no instruction of
// one ISA can reach another file's code through the linker.
#pragma once

#include <cstdint>

#include "kernels/cpu/packed_matrix.h"

namespace dtm::cpu {
namespace {

// Tile shapes and cache blocks of one ISA.
struct MatmulBlocking {
    int64_t tile_tokens;   // mr of the tiles of a batch of >= small_batch tokens
    int64_t tile_panels;   // np of those tiles
    int64_t small_batch;   // batches below this (decoding) use all their tokens ...
    int64_t gemv_panels;   // ... times up to this many panels per tile,
    int64_t gemv_budget;   // ... with tokens x panels <= this (accumulator registers)
    int64_t panel_block;   // panels per outer block
    int64_t k_block;       // k steps per block when cols > k_block_max
    int64_t k_block_max;   // no k blocking up to this many cols
};

// E: the panel element (float, or uint16_t for 16-bit panels).
template <typename E>
struct TileArgsOf {
    const E * w;             // first panel of the tile at column k0: (kc, 16) per panel
    int64_t pstride;         // elements from one panel of the tile to the next (cols * 16,
                             // q * cols * 16 in the strided walk of small batches)
    int64_t kc;              // k steps in this block
    const float * x;         // x[first token of the tile][k0], row stride ldx
    int64_t ldx;
    float * y;               // y[first token][first output of the tile], row stride ldy
    int64_t ldy;
    int64_t ystride;         // outputs from one panel of the tile to the next (16, or q * 16)
    int64_t n_valid;         // outputs o of the tile that exist (o < rows, o counted as the
                             // tile's offsets in y: panel j's are j * ystride + 0..15)
    bool resume;             // start from the partial sums in y (k0 > 0) instead of 0
    const E * prefetch;      // next panel tile's weights at its k0, or nullptr for none
    int64_t prefetch_np;     // its panels (>= 1 when prefetch is set)
    int64_t prefetch_kc;     // its k steps
};

using TileArgs = TileArgsOf<float>;

// Picks the micro-kernel for mr tokens x np panels, prefetching or not.
template <typename E>
using TileFnOf = void (*)(const TileArgsOf<E> &);
template <typename E>
using TilePickerOf = TileFnOf<E> (*)(int mr, int np, bool prefetch);
using TileFn = TileFnOf<float>;

inline int64_t walk_min(int64_t a, int64_t b) { return a < b ? a : b; }

// The walk of batches below small_batch tokens (decoding), which only stream
// weights: a tile of np panels reads np weight streams at once, and tiles of
// adjacent panels made each stream one panel long (cols * 64 bytes, 18 KB at
// 288 columns), too short for the hardware prefetchers to keep up: the
// 32000-row head's product ran at ~26 GB/s where a plain read gets ~35. So
// the panels of [panel_begin, panel_end) are dealt to the tiles strided,
//
//   tile i (0 <= i < q) = panels panel_begin + i + j * q, j = 0 .. np-1,
//
// q = full panels / np: tile i + 1 continues each of tile i's np streams
// where it ended, and every stream runs through a q-th of the range. There
// are no k blocks (the tokens' x rows are small) and no software prefetches:
// on long streams the hardware prefetchers do better alone (on Zen 4, with
// one-token tiles on AVX2: the head at ~31 GB/s; prefetching the next tile
// into L2 held it at ~25, the tile's own streams into L1 cost ~4 %). The
// panels left over (fewer than np, and a padded last panel) go in contiguous
// tiles at the end.
template <typename Matrix, typename E>
void matmul_walk_small(const Matrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                       int64_t n_tokens, int64_t panel_begin, int64_t panel_end, int64_t np,
                       TilePickerOf<E> pick) {
    const int64_t cols = w.cols();
    const bool padded_last = panel_end == w.n_panels() && w.rows() % kPanelRows != 0;
    const int64_t q = (panel_end - panel_begin - (padded_last ? 1 : 0)) / np;

    TileArgsOf<E> a;
    a.kc = cols;
    a.x = x;
    a.ldx = ldx;
    a.ldy = ldy;
    a.resume = false;
    a.pstride = q * cols * kPanelRows;
    a.ystride = q * kPanelRows;
    a.n_valid = (np - 1) * a.ystride + kPanelRows;  // all np panels are full
    a.prefetch = nullptr;
    a.prefetch_np = 0;
    a.prefetch_kc = 0;
    const TileFnOf<E> strided_tile = pick(int(n_tokens), int(np), false);
    for (int64_t i = 0; i < q; ++i) {
        a.w = w.panel(panel_begin + i);
        a.y = y + (panel_begin + i) * kPanelRows;
        strided_tile(a);
    }

    a.pstride = cols * kPanelRows;
    a.ystride = kPanelRows;
    for (int64_t p = panel_begin + q * np; p < panel_end; p += np) {
        a.w = w.panel(p);
        a.y = y + p * kPanelRows;
        a.n_valid = w.rows() - p * kPanelRows;
        pick(int(n_tokens), int(walk_min(np, panel_end - p)), false)(a);
    }
}

// Matrix: PackedMatrix (E = float) or PackedHalfMatrix (E = uint16_t).
template <typename Matrix, typename E>
void matmul_walk(const Matrix & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                 int64_t n_tokens, int64_t panel_begin, int64_t panel_end, const MatmulBlocking & b,
                 TilePickerOf<E> pick) {
    if (n_tokens <= 0 || panel_begin >= panel_end) return;
    if (n_tokens < b.small_batch) {
        const int64_t gemv_panels = walk_min(b.gemv_panels, b.gemv_budget / n_tokens);
        matmul_walk_small(w, x, ldx, y, ldy, n_tokens, panel_begin, panel_end, gemv_panels > 1 ? gemv_panels : 1,
                          pick);
        return;
    }
    const int64_t tile_panels = b.tile_panels;
    const int64_t tile_tokens = b.tile_tokens;
    const int64_t cols = w.cols();
    const int64_t kc_max = cols > b.k_block_max ? b.k_block : (cols > 0 ? cols : 1);

    TileArgsOf<E> a;
    a.pstride = cols * kPanelRows;
    a.ystride = kPanelRows;
    a.ldx = ldx;
    a.ldy = ldy;
    for (int64_t pb = panel_begin; pb < panel_end; pb += b.panel_block) {
        const int64_t pb_end = walk_min(panel_end, pb + b.panel_block);
        // At least one k block, so that cols = 0 writes zeros.
        for (int64_t k0 = 0; k0 == 0 || k0 < cols; k0 += kc_max) {
            a.kc = walk_min(kc_max, cols - k0);
            a.resume = k0 > 0;
            for (int64_t p = pb; p < pb_end; p += tile_panels) {
                const int64_t np = walk_min(tile_panels, pb_end - p);
                a.w = w.panel(p) + k0 * kPanelRows;
                a.n_valid = w.rows() - p * kPanelRows;

                // The panel tile that comes next in this walk.
                int64_t next_p = -1, next_k0 = 0, next_end = 0;
                if (p + np < pb_end) {
                    next_p = p + np, next_k0 = k0, next_end = pb_end;
                } else if (k0 + kc_max < cols) {
                    next_p = pb, next_k0 = k0 + kc_max, next_end = pb_end;
                } else if (pb_end < panel_end) {
                    next_p = pb_end, next_k0 = 0, next_end = walk_min(panel_end, pb_end + b.panel_block);
                }
                const E * next = next_p >= 0 ? w.panel(next_p) + next_k0 * kPanelRows : nullptr;
                a.prefetch_np = next ? walk_min(tile_panels, next_end - next_p) : 0;
                a.prefetch_kc = next ? walk_min(kc_max, cols - next_k0) : 0;

                for (int64_t t = 0; t < n_tokens; t += tile_tokens) {
                    const int64_t mr = walk_min(tile_tokens, n_tokens - t);
                    a.x = x + t * ldx + k0;
                    a.y = y + t * ldy + p * kPanelRows;
                    a.prefetch = t == 0 ? next : nullptr;
                    pick(int(mr), int(np), a.prefetch != nullptr)(a);
                }
            }
        }
    }
}

}  // namespace
}  // namespace dtm::cpu
