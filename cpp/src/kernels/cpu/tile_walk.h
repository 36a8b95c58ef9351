// tile_walk.h - the loop around the register tiles of the int8 and block
// kernels (int8_gemm, int8_weight_matmul, qblock_gemm): tiles of np panels x
// mr tokens over the whole of k, in panel order, tokens innermost. (The fp32
// matmuls block k and prefetch as well: matmul_walk.h.)
//
// Batches of small_batch tokens and more use tiles of tile_tokens x
// tile_panels; smaller batches (decoding) take all their tokens x
// gemv_panels panels at once. Each output is computed by one tile call, so
// the walk does not change a result's bits.
//
// Internal linkage (unnamed namespace), as the kernel files that include it
// are compiled with their own instruction-set flags.
#pragma once

#include <cstdint>

namespace dtm::cpu {
namespace {

struct TileShape {
    int64_t tile_tokens;  // mr of the tiles of a batch of >= small_batch tokens
    int64_t tile_panels;  // np of those tiles
    int64_t small_batch;  // batches below this use all their tokens ...
    int64_t gemv_panels;  // ... times this many panels per tile
};

// Calls tile(p, np, t, mr) for the tiles of panels [panel_begin, panel_end)
// x tokens [0, n_tokens): panels p .. p+np-1, tokens t .. t+mr-1.
template <typename TileCall>
inline void walk_tiles(int64_t n_tokens, int64_t panel_begin, int64_t panel_end, const TileShape & s,
                       const TileCall & tile) {
    if (n_tokens <= 0) return;
    const bool small = n_tokens < s.small_batch;
    const int64_t tile_tokens = small ? n_tokens : s.tile_tokens;
    const int64_t tile_panels = small ? s.gemv_panels : s.tile_panels;
    for (int64_t p = panel_begin; p < panel_end; p += tile_panels) {
        const int64_t np = tile_panels < panel_end - p ? tile_panels : panel_end - p;
        for (int64_t t = 0; t < n_tokens; t += tile_tokens) {
            tile(p, np, t, tile_tokens < n_tokens - t ? tile_tokens : n_tokens - t);
        }
    }
}

}  // namespace
}  // namespace dtm::cpu
