// quant_gemm.cu - the integer products: W8A8 int8 (per-token activation
// quantization, exact int32 sums) and llama.cpp's q8_0 / q4_0 block
// products (activations quantized to q8_0 blocks), each as the CPU
// defines it (compress/int8_linear.h, compress/block_quant_linear.h), so
// that results equal the CPU's bitwise: the integer sums are exact in any
// order, and the float steps are the same operations in the same order.
#include <cuda_fp16.h>

#include "backend/cuda/cuda_common.cuh"

namespace dtm::cuda {

namespace {

constexpr int kThreads = 256, kTile = 64;
constexpr int kQBlock = 32;

// v clamped to [-127, 127], rounded to nearest, ties to even (quant_math.h's round_clamped).
__device__ __forceinline__ int32_t round_clamped(float v) {
    v = v < -127.0f ? -127.0f : v;
    v = v > 127.0f ? 127.0f : v;
    return __float2int_rn(v);
}

// ---- W8A8 ----

// One block per token: scale = absmax / 127, q = round(x / scale); finite flag.
__global__ void __launch_bounds__(kThreads) quantize_tokens_int8(const float * __restrict__ x, int64_t ldx,
                                                                 int64_t cols, int8_t * __restrict__ q, int64_t ldq,
                                                                 float * __restrict__ scale,
                                                                 uint8_t * __restrict__ finite) {
    __shared__ float s_max[kThreads];
    __shared__ int s_finite[kThreads];
    const int64_t t = blockIdx.x;
    const float * xt = x + t * ldx;
    float m = 0.0f;
    int ok = 1;
    for (int64_t k = threadIdx.x; k < cols; k += kThreads) {
        const float v = xt[k];
        if (!isfinite(v)) ok = 0;
        const float a = fabsf(v);
        if (a > m) m = a;
    }
    s_max[threadIdx.x] = m;
    s_finite[threadIdx.x] = ok;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s /= 2) {  // max and and: exact in any order
        if (threadIdx.x < s) {
            s_max[threadIdx.x] = fmaxf(s_max[threadIdx.x], s_max[threadIdx.x + s]);
            s_finite[threadIdx.x] &= s_finite[threadIdx.x + s];
        }
        __syncthreads();
    }
    const bool all_finite = s_finite[0] != 0;
    const float sc = all_finite ? __fdiv_rn(s_max[0], 127.0f) : 0.0f;
    int8_t * qt = q + t * ldq;
    for (int64_t k = threadIdx.x; k < ldq; k += kThreads) {
        qt[k] = k < cols && all_finite && sc != 0.0f ? int8_t(round_clamped(__fdiv_rn(xt[k], sc))) : int8_t(0);
    }
    if (threadIdx.x == 0) {
        scale[t] = sc;
        finite[t] = all_finite ? 1 : 0;
    }
}

// y[t][o] = (float(sum_k qw[o][k] qx[t][k]) * sx[t]) * sw[o]; ldq % 16 == 0.
__global__ void __launch_bounds__(kThreads) int8_gemm_kernel(const int8_t * __restrict__ qw, int64_t ldq,
                                                             const float * __restrict__ sw, int64_t rows,
                                                             const int8_t * __restrict__ qx,
                                                             const float * __restrict__ sx,
                                                             const uint8_t * __restrict__ finite,
                                                             float * __restrict__ y, int64_t ldy, int64_t n) {
    __shared__ int32_t xs[4][kTile + 1];  // 16 k as 4 words of 4 int8
    __shared__ int32_t ws[4][kTile + 1];
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    const int64_t o0 = int64_t(blockIdx.x) * kTile, t0 = int64_t(blockIdx.y) * kTile;
    int32_t acc[4][4] = {};
    const int r = threadIdx.x / 4, c = threadIdx.x % 4;
    for (int64_t k0 = 0; k0 < ldq; k0 += 16) {
        const int64_t t = t0 + r, o = o0 + r;
        xs[c][r] = t < n ? *reinterpret_cast<const int32_t *>(qx + t * ldq + k0 + 4 * c) : 0;
        ws[c][r] = o < rows ? *reinterpret_cast<const int32_t *>(qw + o * ldq + k0 + 4 * c) : 0;
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
#pragma unroll
            for (int i = 0; i < 4; ++i) {
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] = __dp4a(xs[kk][ty + 16 * i], ws[kk][tx + 16 * j], acc[i][j]);
            }
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; ++i) {
        const int64_t t = t0 + ty + 16 * i;
        if (t >= n) continue;
        for (int j = 0; j < 4; ++j) {
            const int64_t o = o0 + tx + 16 * j;
            if (o >= rows) continue;
            y[t * ldy + o] = finite[t] ? __fmul_rn(__fmul_rn(float(acc[i][j]), sx[t]), sw[o]) : __int_as_float(0x7fc00000);
        }
    }
}

// ---- q8_0 / q4_0 ----

// One thread per (token, block of 32): d = absmax / 127 rounded to fp16,
// q = round(x / d) (with the fp32 d); a token is not finite when a value is
// NaN or inf or a block's fp16 scale overflows.
__global__ void quantize_tokens_q8_0(const float * __restrict__ x, int64_t ldx, int64_t cols,
                                     int8_t * __restrict__ q, float * __restrict__ d, uint8_t * __restrict__ bad) {
    const int64_t t = blockIdx.y;
    const int64_t nb = cols / kQBlock;
    const int64_t b = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (b >= nb) return;
    const float * v = x + t * ldx + b * kQBlock;
    float absmax = 0.0f;
    bool ok = true;
    for (int j = 0; j < kQBlock; ++j) {
        if (!isfinite(v[j])) ok = false;
        absmax = fmaxf(absmax, fabsf(v[j]));
    }
    const float dq = __fdiv_rn(absmax, 127.0f);
    int8_t * qb = q + t * cols + b * kQBlock;
    for (int j = 0; j < kQBlock; ++j) qb[j] = ok && dq != 0.0f ? int8_t(round_clamped(__fdiv_rn(v[j], dq))) : int8_t(0);
    const __half dh = __float2half_rn(dq);
    if (__hisinf(dh) || __hisnan(dh)) ok = false;
    d[t * nb + b] = __half2float(dh);
    if (!ok) bad[t] = 1;  // only ever set to 1: the same value from any thread
}

// acc = fma(dw[o][b] * dx[t][b], float(sum_{k in b} qw qx), acc) in increasing b.
__global__ void __launch_bounds__(kThreads) qblock_gemm_kernel(const int8_t * __restrict__ qw,
                                                               const float * __restrict__ dw, int64_t rows,
                                                               int64_t cols, const int8_t * __restrict__ qx,
                                                               const float * __restrict__ dx,
                                                               const uint8_t * __restrict__ bad,
                                                               float * __restrict__ y, int64_t ldy, int64_t n) {
    __shared__ int32_t xs[8][kTile + 1];  // one block of 32 as 8 words
    __shared__ int32_t ws[8][kTile + 1];
    __shared__ float dxs[kTile], dws[kTile];
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    const int64_t o0 = int64_t(blockIdx.x) * kTile, t0 = int64_t(blockIdx.y) * kTile;
    const int64_t nb = cols / kQBlock;
    float acc[4][4] = {};
    for (int64_t b = 0; b < nb; ++b) {
#pragma unroll
        for (int l = 0; l < 2; ++l) {
            const int idx = threadIdx.x + l * kThreads, r = idx / 8, c = idx % 8;
            const int64_t t = t0 + r, o = o0 + r;
            xs[c][r] = t < n ? *reinterpret_cast<const int32_t *>(qx + t * cols + b * kQBlock + 4 * c) : 0;
            ws[c][r] = o < rows ? *reinterpret_cast<const int32_t *>(qw + o * cols + b * kQBlock + 4 * c) : 0;
        }
        if (threadIdx.x < kTile) {
            const int64_t t = t0 + threadIdx.x;
            dxs[threadIdx.x] = t < n ? dx[t * nb + b] : 0.0f;
        } else if (threadIdx.x < 2 * kTile) {
            const int64_t o = o0 + threadIdx.x - kTile;
            dws[threadIdx.x - kTile] = o < rows ? dw[o * nb + b] : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int i = 0; i < 4; ++i) {
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                int32_t s = 0;
#pragma unroll
                for (int kk = 0; kk < 8; ++kk) s = __dp4a(xs[kk][ty + 16 * i], ws[kk][tx + 16 * j], s);
                acc[i][j] = __fmaf_rn(__fmul_rn(dws[tx + 16 * j], dxs[ty + 16 * i]), float(s), acc[i][j]);
            }
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; ++i) {
        const int64_t t = t0 + ty + 16 * i;
        if (t >= n) continue;
        for (int j = 0; j < 4; ++j) {
            const int64_t o = o0 + tx + 16 * j;
            if (o < rows) y[t * ldy + o] = bad[t] ? __int_as_float(0x7fc00000) : acc[i][j];
        }
    }
}

}  // namespace

int32_t gemm_w8a8(dtm_cuda_context * ctx, const int8_t * q, int64_t ldq, const float * scale, int64_t rows,
                  int64_t cols, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n) {
    return guard([&] {
        if (n <= 0 || rows <= 0) return;
        if (ldq % 16 != 0 || ldq < cols) fail(DTM_ERR_INVALID_ARGUMENT, "gemm_w8a8: ldq must be >= cols and a multiple of 16");
        use(ctx);
        auto * qx = static_cast<int8_t *>(scratch(ctx, kQuantized, size_t(n) * size_t(ldq)));
        auto * sx = static_cast<float *>(scratch(ctx, kQuantScales, size_t(n) * sizeof(float)));
        auto * fin = static_cast<uint8_t *>(scratch(ctx, kQuantFinite, size_t(n)));
        quantize_tokens_int8<<<unsigned(n), kThreads, 0, ctx->stream>>>(x, ldx, cols, qx, ldq, sx, fin);
        check_launch("quantize_tokens_int8");
        const dim3 grid(blocks_for(rows, kTile), blocks_for(n, kTile));
        int8_gemm_kernel<<<grid, kThreads, 0, ctx->stream>>>(q, ldq, scale, rows, qx, sx, fin, y, ldy, n);
        check_launch("int8_gemm");
    });
}

int32_t gemm_qblock(dtm_cuda_context * ctx, const int8_t * q, const float * d, int64_t rows, int64_t cols,
                    const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n) {
    return guard([&] {
        if (n <= 0 || rows <= 0) return;
        if (cols % kQBlock != 0) fail(DTM_ERR_INVALID_ARGUMENT, "gemm_qblock: cols must be a multiple of 32");
        use(ctx);
        const int64_t nb = cols / kQBlock;
        auto * qx = static_cast<int8_t *>(scratch(ctx, kQuantized, size_t(n) * size_t(cols)));
        auto * dx = static_cast<float *>(scratch(ctx, kQuantScales, size_t(n) * size_t(nb) * sizeof(float)));
        auto * bad = static_cast<uint8_t *>(scratch(ctx, kQuantFinite, size_t(n)));
        check(cudaMemsetAsync(bad, 0, size_t(n), ctx->stream), "cudaMemsetAsync");
        const dim3 qgrid(blocks_for(nb, 128), unsigned(n));
        quantize_tokens_q8_0<<<qgrid, 128, 0, ctx->stream>>>(x, ldx, cols, qx, dx, bad);
        check_launch("quantize_tokens_q8_0");
        const dim3 grid(blocks_for(rows, kTile), blocks_for(n, kTile));
        qblock_gemm_kernel<<<grid, kThreads, 0, ctx->stream>>>(q, d, rows, cols, qx, dx, bad, y, ldy, n);
        check_launch("qblock_gemm");
    });
}

}  // namespace dtm::cuda
