// layer_ops.cu - the decoder's steps other than the matrix products
// (backend.h): embedding lookup, RMSNorm, bias, residual, SwiGLU, RoPE with
// the KV-cache store, causal attention with GQA.
//
// The element-wise steps are the CPU's operations one for one (compiled
// with -fmad=false, so no multiply-add is fused that the CPU keeps apart):
// RoPE, bias and residual equal the CPU bitwise; SwiGLU differs by CUDA's
// expf. RMSNorm's sum of squares and attention's softmax sum are reduced by
// a fixed tree (one block per row; its shape depends only on the row
// length), so they agree with the CPU's sequential sums within rounding and
// are bitwise reproducible. Attention's scores use the CPU's dot product
// (8 interleaved partial sums combined pairwise, kernels/cpu/attention.h)
// and its weighted sum of values runs over keys in increasing order, as the
// CPU's.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backend/cuda/cuda_common.cuh"

namespace dtm::cuda {

namespace {

constexpr int kRowThreads = 256;
constexpr int kAttnThreads = 128;

__global__ void embed_kernel(int32_t wtype, const void * __restrict__ table, const int32_t * __restrict__ tokens,
                             int64_t n, int32_t dim, float * __restrict__ x) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n * dim) return;
    const int64_t t = i / dim, c = i % dim;
    const int64_t src = int64_t(tokens[t]) * dim + c;
    float v;
    if (wtype == DTM_CUDA_W_F32) {
        v = static_cast<const float *>(table)[src];
    } else if (wtype == DTM_CUDA_W_BF16) {
        v = __uint_as_float(uint32_t(static_cast<const uint16_t *>(table)[src]) << 16);
    } else {
        v = __half2float(static_cast<const __half *>(table)[src]);
    }
    x[i] = v;
}

// Sum of a block's values v (one per thread) by a fixed tree; every thread gets it.
template <typename T, int N>
__device__ T block_sum(T v, T * shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int s = N / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) shared[threadIdx.x] = shared[threadIdx.x] + shared[threadIdx.x + s];
        __syncthreads();
    }
    const T total = shared[0];
    __syncthreads();
    return total;
}

template <int N>
__device__ float block_max(float v, float * shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int s = N / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) shared[threadIdx.x] = fmaxf(shared[threadIdx.x], shared[threadIdx.x + s]);
        __syncthreads();
    }
    const float m = shared[0];
    __syncthreads();
    return m;
}

__global__ void __launch_bounds__(kRowThreads) rmsnorm_kernel(float * __restrict__ out, const float * __restrict__ x,
                                                              const float * __restrict__ weight, int32_t dim,
                                                              float eps) {
    __shared__ float red[kRowThreads];
    const float * xt = x + int64_t(blockIdx.x) * dim;
    float * ot = out + int64_t(blockIdx.x) * dim;
    float ss = 0.0f;
    for (int32_t i = threadIdx.x; i < dim; i += kRowThreads) ss = ss + xt[i] * xt[i];
    ss = block_sum<float, kRowThreads>(ss, red);
    ss = ss / float(dim);
    ss = ss + eps;
    const float inv = 1.0f / sqrtf(ss);
    for (int32_t i = threadIdx.x; i < dim; i += kRowThreads) ot[i] = weight[i] * (inv * xt[i]);
}

__global__ void add_bias_kernel(float * __restrict__ y, const float * __restrict__ bias, int64_t total, int32_t width) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < total) y[i] = y[i] + bias[i % width];
}

__global__ void add_residual_kernel(float * __restrict__ x, const float * __restrict__ d, int64_t total) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < total) x[i] = x[i] + d[i];
}

__global__ void swiglu_kernel(float * __restrict__ gate, const float * __restrict__ up, int64_t total) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= total) return;
    float v = gate[i];
    v = v * (1.0f / (1.0f + expf(-v)));
    gate[i] = v * up[i];
}

// One block per token: rotates its query and key heads, then stores its
// key and value rows in the cache.
__global__ void rope_store_kv_kernel(float * __restrict__ q, float * __restrict__ k, const float * __restrict__ v,
                                     const int32_t * __restrict__ pos, const int64_t * __restrict__ seq_base,
                                     int32_t n_heads, int32_t n_kv_heads, int32_t head_dim,
                                     const float * __restrict__ cos_, const float * __restrict__ sin_,
                                     float * __restrict__ key_cache, float * __restrict__ value_cache) {
    const int64_t t = blockIdx.x;
    const int32_t half = head_dim / 2;
    const int64_t qd = int64_t(n_heads) * head_dim, kvd = int64_t(n_kv_heads) * head_dim;
    const float * c = cos_ + int64_t(pos[t]) * half;
    const float * s = sin_ + int64_t(pos[t]) * half;
    float * qt = q + t * qd;
    float * kt = k + t * kvd;
    const int64_t pairs = int64_t(n_heads + n_kv_heads) * half;
    for (int64_t p = threadIdx.x; p < pairs; p += blockDim.x) {
        const int64_t head = p / half;
        const int32_t i = int32_t(p % half);
        float * vec = head < n_heads ? qt + head * head_dim : kt + (head - n_heads) * head_dim;
        const float v0 = vec[2 * i], v1 = vec[2 * i + 1];
        vec[2 * i] = v0 * c[i] - v1 * s[i];
        vec[2 * i + 1] = v0 * s[i] + v1 * c[i];
    }
    __syncthreads();
    const int64_t row = seq_base[t] + pos[t];
    for (int64_t i = threadIdx.x; i < kvd; i += blockDim.x) {
        key_cache[row * kvd + i] = kt[i];
        value_cache[row * kvd + i] = v[t * kvd + i];
    }
}

// The CPU's dot product: 8 interleaved partial sums combined pairwise.
__device__ float dot_fixed_order(const float * a, const float * b, int32_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
#pragma unroll
        for (int32_t l = 0; l < 8; ++l) acc[l] = acc[l] + a[i + l] * b[i + l];
    }
    for (int32_t l = 0; i < n; ++i, ++l) acc[l] = acc[l] + a[i] * b[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// One block per (token, query head).
__global__ void __launch_bounds__(kAttnThreads) attention_kernel(float * __restrict__ att, const float * __restrict__ q,
                                                                 const float * __restrict__ key_cache,
                                                                 const float * __restrict__ value_cache,
                                                                 const int32_t * __restrict__ pos,
                                                                 const int64_t * __restrict__ seq_base,
                                                                 int32_t n_heads, int32_t n_kv_heads,
                                                                 int32_t head_dim) {
    extern __shared__ float scores[];  // (n_keys)
    __shared__ float red[kAttnThreads];
    const int64_t t = blockIdx.y;
    const int32_t h = blockIdx.x;
    const int32_t group = n_heads / n_kv_heads;
    const int64_t qd = int64_t(n_heads) * head_dim, kvd = int64_t(n_kv_heads) * head_dim;
    const int32_t n_keys = pos[t] + 1;
    const float * qh = q + t * qd + int64_t(h) * head_dim;
    const int64_t kv_off = seq_base[t] * kvd + int64_t(h / group) * head_dim;
    const float scale = 1.0f / sqrtf(float(head_dim));

    float m = -INFINITY;
    for (int32_t j = threadIdx.x; j < n_keys; j += kAttnThreads) {
        const float s = dot_fixed_order(qh, key_cache + kv_off + int64_t(j) * kvd, head_dim) * scale;
        scores[j] = s;
        m = fmaxf(m, s);
    }
    __syncthreads();
    m = block_max<kAttnThreads>(m, red);
    float part = 0.0f;
    for (int32_t j = threadIdx.x; j < n_keys; j += kAttnThreads) {
        const float e = expf(scores[j] - m);
        scores[j] = e;
        part = part + e;
    }
    const float sum = block_sum<float, kAttnThreads>(part, red);  // its barrier also publishes scores
    float * out = att + t * qd + int64_t(h) * head_dim;
    for (int32_t i = threadIdx.x; i < head_dim; i += kAttnThreads) {
        float acc = 0.0f;
        for (int32_t j = 0; j < n_keys; ++j) {
            const float p = scores[j] / sum;
            acc = acc + p * value_cache[kv_off + int64_t(j) * kvd + i];
        }
        out[i] = acc;
    }
}

}  // namespace

int32_t embed(dtm_cuda_context * ctx, int32_t wtype, const void * table, const int32_t * tokens, int64_t n,
              int32_t dim, float * x) {
    return guard([&] {
        if (n <= 0) return;
        use(ctx);
        const int32_t * d_tokens = stage(ctx, kHostInts, tokens, size_t(n));
        embed_kernel<<<blocks_for(n * dim, 256), 256, 0, ctx->stream>>>(wtype, table, d_tokens, n, dim, x);
        check_launch("embed");
    });
}

int32_t rmsnorm(dtm_cuda_context * ctx, float * out, const float * x, const float * weight, int64_t n, int32_t dim,
                float eps) {
    return guard([&] {
        if (n <= 0) return;
        use(ctx);
        rmsnorm_kernel<<<unsigned(n), kRowThreads, 0, ctx->stream>>>(out, x, weight, dim, eps);
        check_launch("rmsnorm");
    });
}

int32_t add_bias(dtm_cuda_context * ctx, float * y, const float * bias, int64_t n, int32_t width) {
    return guard([&] {
        if (n <= 0) return;
        use(ctx);
        add_bias_kernel<<<blocks_for(n * width, 256), 256, 0, ctx->stream>>>(y, bias, n * width, width);
        check_launch("add_bias");
    });
}

int32_t add_residual(dtm_cuda_context * ctx, float * x, const float * d, int64_t n, int32_t width) {
    return guard([&] {
        if (n <= 0) return;
        use(ctx);
        add_residual_kernel<<<blocks_for(n * width, 256), 256, 0, ctx->stream>>>(x, d, n * width);
        check_launch("add_residual");
    });
}

int32_t swiglu(dtm_cuda_context * ctx, float * gate, const float * up, int64_t n, int32_t hidden) {
    return guard([&] {
        if (n <= 0) return;
        use(ctx);
        swiglu_kernel<<<blocks_for(n * hidden, 256), 256, 0, ctx->stream>>>(gate, up, n * hidden);
        check_launch("swiglu");
    });
}

int32_t rope_store_kv(dtm_cuda_context * ctx, float * q, float * k, const float * v, const int32_t * pos,
                      const int64_t * seq_base, int64_t n, int32_t n_heads, int32_t n_kv_heads, int32_t head_dim,
                      const float * cos_, const float * sin_, float * key_cache, float * value_cache) {
    return guard([&] {
        if (n <= 0) return;
        use(ctx);
        const int32_t * d_pos = stage(ctx, kHostInts, pos, size_t(n));
        const int64_t * d_base = stage(ctx, kHostInts64, seq_base, size_t(n));
        rope_store_kv_kernel<<<unsigned(n), 128, 0, ctx->stream>>>(q, k, v, d_pos, d_base, n_heads, n_kv_heads,
                                                                    head_dim, cos_, sin_, key_cache, value_cache);
        check_launch("rope_store_kv");
    });
}

int32_t attention(dtm_cuda_context * ctx, float * att, const float * q, const float * key_cache,
                  const float * value_cache, const int32_t * pos, const int64_t * seq_base, int64_t n,
                  int32_t n_heads, int32_t n_kv_heads, int32_t head_dim) {
    return guard([&] {
        if (n <= 0) return;
        use(ctx);
        int32_t longest = 0;
        for (int64_t t = 0; t < n; ++t) longest = pos[t] + 1 > longest ? pos[t] + 1 : longest;
        const size_t shared = size_t(longest) * sizeof(float);
        if (shared > 48 * 1024) {
            check(cudaFuncSetAttribute(attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared)),
                  "cudaFuncSetAttribute (attention scores)");
        }
        const int32_t * d_pos = stage(ctx, kHostInts, pos, size_t(n));
        const int64_t * d_base = stage(ctx, kHostInts64, seq_base, size_t(n));
        if (n > 65535) fail(DTM_ERR_INVALID_ARGUMENT, "attention: too many tokens in one call");
        const dim3 grid{unsigned(n_heads), unsigned(n)};
        attention_kernel<<<grid, kAttnThreads, shared, ctx->stream>>>(att, q, key_cache, value_cache, d_pos, d_base,
                                                                       n_heads, n_kv_heads, head_dim);
        check_launch("attention");
    });
}

}  // namespace dtm::cuda
