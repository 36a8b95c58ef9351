// gemm.cu - y = x W^T with fp32 activations and fp32 accumulation, W in
// fp32, bf16, fp16 (kept in the width a checkpoint stores) or int8 with a
// per-row scale.
//
// Order of operations, the CPU's (kernels/cpu/matmul.h): one accumulator per
// output, acc = fma(x[t][k], w[o][k], acc) for k = 0, 1, ... cols - 1, and
// for int8 weights y = scale[o] * acc. Each output is computed entirely by
// one thread in that order, whatever the tile it falls in, so a token's
// outputs do not depend on the batch (prefill = decode bitwise) and equal
// the CPU's fp32 and 16-bit products bitwise (both use one fma per k).
//
// Tiles: 64 tokens x 64 outputs per block of 256 threads, 4 x 4 outputs per
// thread, k in steps of 16 through shared memory.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backend/cuda/cuda_common.cuh"

namespace dtm::cuda {

namespace {

constexpr int kTileT = 64, kTileO = 64, kTileK = 16, kThreads = 256;

template <int W>
__device__ __forceinline__ float widen(const void * w, int64_t i) {
    if constexpr (W == DTM_CUDA_W_F32) {
        return static_cast<const float *>(w)[i];
    } else if constexpr (W == DTM_CUDA_W_BF16) {
        return __uint_as_float(uint32_t(static_cast<const uint16_t *>(w)[i]) << 16);
    } else if constexpr (W == DTM_CUDA_W_F16) {
        return __half2float(static_cast<const __half *>(w)[i]);
    } else {
        return float(static_cast<const int8_t *>(w)[i]);
    }
}

template <int W>
__global__ void __launch_bounds__(kThreads) gemm_kernel(const void * __restrict__ w, const float * __restrict__ scale,
                                                        int64_t rows, int64_t cols, const float * __restrict__ x,
                                                        int64_t ldx, float * __restrict__ y, int64_t ldy, int64_t n) {
    __shared__ float xs[kTileK][kTileT + 1];
    __shared__ float ws[kTileK][kTileO + 1];
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    const int64_t o0 = int64_t(blockIdx.x) * kTileO, t0 = int64_t(blockIdx.y) * kTileT;
    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = 0.0f;
    }
    for (int64_t k0 = 0; k0 < cols; k0 += kTileK) {
#pragma unroll
        for (int l = 0; l < (kTileT * kTileK) / kThreads; ++l) {
            const int idx = threadIdx.x + l * kThreads, r = idx / kTileK, c = idx % kTileK;
            const int64_t t = t0 + r, k = k0 + c, o = o0 + r;
            xs[c][r] = t < n && k < cols ? x[t * ldx + k] : 0.0f;
            ws[c][r] = o < rows && k < cols ? widen<W>(w, o * cols + k) : 0.0f;
        }
        __syncthreads();
        const int kmax = cols - k0 < kTileK ? int(cols - k0) : kTileK;  // no padded step: acc stays bitwise the CPU's
        for (int kk = 0; kk < kmax; ++kk) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) a[i] = xs[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; ++j) b[j] = ws[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] = __fmaf_rn(a[i], b[j], acc[i][j]);
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int64_t t = t0 + ty + 16 * i;
        if (t >= n) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int64_t o = o0 + tx + 16 * j;
            if (o >= rows) continue;
            y[t * ldy + o] = W == DTM_CUDA_W_I8 ? __fmul_rn(scale[o], acc[i][j]) : acc[i][j];
        }
    }
}

template <int W>
void launch(dtm_cuda_context * ctx, const void * w, const float * scale, int64_t rows, int64_t cols, const float * x,
            int64_t ldx, float * y, int64_t ldy, int64_t n) {
    const dim3 grid(blocks_for(rows, kTileO), blocks_for(n, kTileT));
    if (grid.y > 65535u) fail(DTM_ERR_INVALID_ARGUMENT, "gemm: too many tokens in one call");
    gemm_kernel<W><<<grid, kThreads, 0, ctx->stream>>>(w, scale, rows, cols, x, ldx, y, ldy, n);
    check_launch("gemm");
}

}  // namespace

int32_t gemm(dtm_cuda_context * ctx, int32_t wtype, const void * w, const float * scale, int64_t rows, int64_t cols,
             const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n) {
    return guard([&] {
        if (n <= 0 || rows <= 0) return;
        use(ctx);
        switch (wtype) {
            case DTM_CUDA_W_F32: launch<DTM_CUDA_W_F32>(ctx, w, scale, rows, cols, x, ldx, y, ldy, n); break;
            case DTM_CUDA_W_BF16: launch<DTM_CUDA_W_BF16>(ctx, w, scale, rows, cols, x, ldx, y, ldy, n); break;
            case DTM_CUDA_W_F16: launch<DTM_CUDA_W_F16>(ctx, w, scale, rows, cols, x, ldx, y, ldy, n); break;
            case DTM_CUDA_W_I8: launch<DTM_CUDA_W_I8>(ctx, w, scale, rows, cols, x, ldx, y, ldy, n); break;
            default: fail(DTM_ERR_INVALID_ARGUMENT, "gemm: unknown weight type " + std::to_string(wtype));
        }
    });
}

}  // namespace dtm::cuda
