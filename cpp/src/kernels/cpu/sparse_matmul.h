// sparse_matmul.h - fp32 products with pruned weights (sliced ELL, see
// sparse_matrix.h), one entry per instruction set.
//
//   y[t][o] = sum over the stored k of row o, in increasing k:  acc = fma(W[o][k], x[t][k], acc)
//
// starting from acc = +0. This is exactly the dense product (matmul.h) with
// the zero terms left out, and leaving them out changes no bit: for finite
// x, fma(0, x, acc) = acc + (+-0) = acc, because acc is never -0 (it starts at
// +0, and a round-to-nearest sum is -0 only when both addends are -0). So a
// sparse product is BITWISE equal to the dense product of the same weights,
// on every path, batch size and thread count: dense and sparse storage can be
// swapped freely. The one difference: an inf or NaN in x[t][k] for a pruned
// (zero) W[o][k] gives NaN in the dense product and is skipped here.
//
// Two kernels per ISA:
// - gemv (decoding, few tokens): per panel (16 outputs, one per lane) and
//   column window, the window's 32 activations sit in two registers; per slot
//   one permute fetches x[32c + local] for the 16 lanes (zero for padding
//   lanes) and one FMA adds values * x to the 16 accumulators (padding:
//   fma(+0, +0, acc) = acc). AVX2 has no two-register permute and gathers.
// - tile (many tokens): tokens in tiles of 16, x transposed into a
//   feature-major tile (transpose_token_tile); per stored weight, broadcast
//   it and FMA the 16 tokens of its feature at once, 16 rows side by side.
//   Each window of the tile has a 33rd, zero row that padding lanes (local
//   index 32, value +0) read: fma(+0, +0, acc) = acc exactly.
// Both keep one accumulator per output updated in increasing k, so both are
// bitwise equal to each other and to the reference.
#pragma once

#include <cstdint>

#include "dtm/dtm.h"
#include "kernels/cpu/sparse_matrix.h"

namespace dtm::cpu {

// Tokens per transposed tile of the tile kernel (one AVX-512 vector).
constexpr int64_t kSparseTileTokens = 16;

// Outputs of panels [panel_begin, panel_end) for tokens [0, n_tokens):
// x (n_tokens, w.cols) with row stride ldx, y (n_tokens, row stride ldy);
// only columns o < w.rows of y are written.
using SparseGemvFn = void (*)(const SparseView & w, const float * x, int64_t ldx, float * y, int64_t ldy,
                              int64_t n_tokens, int64_t panel_begin, int64_t panel_end);

// The same for one tile of n_tokens <= 16 tokens given transposed by
// transpose_token_tile; xt is 64-byte aligned.
using SparseTileFn = void (*)(const SparseView & w, const float * xt, int64_t n_tokens, float * y, int64_t ldy,
                              int64_t panel_begin, int64_t panel_end);

// Rows of 16 floats per window of a transposed tile: 32 features + 1 zero row.
constexpr int64_t kSparseTileWindowRows = kSparseWindow + 1;

// Floats of one transposed tile of a matrix with `cols` columns.
inline int64_t sparse_tile_floats(int64_t cols) {
    return (cols + kSparseWindow - 1) / kSparseWindow * kSparseTileWindowRows * kSparseTileTokens;
}

// Writes the tile of tokens x[0 .. n_tokens) (n_tokens <= 16), window by window:
//   xt[(c * 33 + j) * 16 + t] = x[t][32c + j]   for 32c + j < cols and t < n_tokens,
// and 0 everywhere else (so row 32 of every window is zero).
void transpose_token_tile(const float * x, int64_t ldx, int64_t n_tokens, int64_t cols, float * xt);

void sparse_gemv_ref(const SparseView & w, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                     int64_t panel_begin, int64_t panel_end);
void sparse_tile_ref(const SparseView & w, const float * xt, int64_t n_tokens, float * y, int64_t ldy,
                     int64_t panel_begin, int64_t panel_end);
void sparse_gemv_avx2(const SparseView & w, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                      int64_t panel_begin, int64_t panel_end);
void sparse_tile_avx2(const SparseView & w, const float * xt, int64_t n_tokens, float * y, int64_t ldy,
                      int64_t panel_begin, int64_t panel_end);
void sparse_gemv_avx512(const SparseView & w, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                        int64_t panel_begin, int64_t panel_end);
void sparse_tile_avx512(const SparseView & w, const float * xt, int64_t n_tokens, float * y, int64_t ldy,
                        int64_t panel_begin, int64_t panel_end);

// The sparse kernels of one instruction set, and from how many tokens the
// tile kernel is the faster one (measured with bench_sparse and on the
// default model's shapes at 90 % sparsity, Zen 5):
// - avx512: never; the permute gemv (8 tokens per pass over the weights) beats
//   the tile kernel plus its transpose at every token count (288x288: 2.8 vs
//   8.8 us at 8 tokens, 22 vs 41 us at 64);
// - avx2: from 2 tokens (its gemv gathers from memory: 12.3 vs 10.0 us at 2);
// - scalar: never (the reference gemv is the simpler loop, and is faster).
struct SparseKernels {
    dtm_isa isa;
    const char * name;
    SparseGemvFn gemv;
    SparseTileFn tile;
    int64_t tile_min_tokens;
};

// Those of the kernel table of a concrete ISA the CPU supports
// (KernelTable::sparse, dispatch.h); throws dtm::Error otherwise (as
// require_isa of dispatch.h).
const SparseKernels & sparse_kernels(dtm_isa isa);

}  // namespace dtm::cpu
