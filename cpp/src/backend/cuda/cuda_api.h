/* cuda_api.h - the C interface of libdtm_cuda.so, the CUDA kernels of dtm.
 *
 * The engine (libdtm) never links CUDA: when a "cuda:N" device is listed or
 * asked for, backend/cuda/cuda_library.cpp dlopen()s libdtm_cuda.so and asks
 * its one exported symbol, dtm_cuda_get_api(), for this table of plain C
 * functions. The CudaBackend (backend/cuda/cuda_backend.cpp, part of libdtm)
 * implements backend.h on top of it. Only C types cross: no C++ exception,
 * no std:: object, no allocation freed on the other side, so the two
 * libraries may carry their own C++ runtimes (both link libstdc++
 * statically) and a machine without CUDA never loads any of it.
 *
 * Every function returns a dtm_status (dtm/dtm.h): DTM_OK, or an error whose
 * one-line message last_error() returns (thread-local, valid until the next
 * call on that thread), naming the CUDA call and CUDA's error string.
 * DTM_ERR_OUT_OF_MEMORY for a failed device allocation, DTM_ERR_UNSUPPORTED
 * when there is no driver or device, DTM_ERR_INTERNAL for any other CUDA
 * error. Nothing here aborts.
 *
 * Pointers are device memory unless marked "host". Each context owns a
 * CUDA stream; operations on one context are ordered, and every function
 * that returns host results waits for them. A context is used by one thread
 * at a time (a session's).
 *
 * Numbers (the kernels are written so, and tested against the CPU):
 * every output is computed by one thread or by one block with a reduction
 * tree whose shape depends only on the row length, never on the batch, and
 * no reduction uses atomics, so results are bitwise reproducible and a
 * token's results do not depend on the other tokens of its batch.
 */
#ifndef DTM_CUDA_API_H
#define DTM_CUDA_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DTM_CUDA_API_VERSION 1

typedef struct dtm_cuda_context dtm_cuda_context;

typedef struct dtm_cuda_device_props {
    char name[96];
    int64_t memory_bytes;
    int32_t multiprocessors;
    int32_t cc_major, cc_minor;
    int64_t memory_bandwidth_bytes_per_s; /* from the memory clock and bus width; 0 = unknown */
} dtm_cuda_device_props;

/* Element types of a dense weight matrix (dtm_cuda_api.gemm). */
enum {
    DTM_CUDA_W_F32 = 0,
    DTM_CUDA_W_BF16 = 1,
    DTM_CUDA_W_F16 = 2,
    DTM_CUDA_W_I8 = 3 /* int8 with a per-row scale: y = scale[o] * sum fma(float(q), x) */
};

/* Block formats (dtm_cuda_api.gemm_qblock). */
enum { DTM_CUDA_Q8_0 = 0, DTM_CUDA_Q4_0 = 1 };

typedef struct dtm_cuda_api {
    int32_t version; /* DTM_CUDA_API_VERSION */
    const char * (*last_error)(void);

    /* ---- devices ---- */
    int32_t (*device_count)(int32_t * n);
    int32_t (*device_props)(int32_t device, dtm_cuda_device_props * out);

    /* ---- contexts and memory ---- */
    int32_t (*context_create)(int32_t device, dtm_cuda_context ** out);
    void (*context_free)(dtm_cuda_context * ctx); /* NULL: nothing */
    /* bytes of zeroed device memory on ctx's device (0 bytes: *out = NULL) */
    int32_t (*alloc)(dtm_cuda_context * ctx, size_t bytes, void ** out);
    /* frees memory of `device` (made by alloc on a context of it); NULL: nothing */
    void (*free)(int32_t device, void * p);
    int32_t (*upload)(dtm_cuda_context * ctx, void * dst, const void * host_src, size_t bytes);
    int32_t (*download)(dtm_cuda_context * ctx, void * host_dst, const void * src, size_t bytes);
    int32_t (*copy)(dtm_cuda_context * ctx, void * dst, const void * src, size_t bytes);
    int32_t (*synchronize)(dtm_cuda_context * ctx);
    /* 1 when p is memory of a device (as opposed to host memory) */
    int32_t (*is_device_pointer)(const void * p);

    /* ---- matrix products: y (n, rows), stride ldy = x (n, cols), stride ldx, times W^T ---- */
    /* W (rows, cols) row-major of `wtype`; scale (rows) for DTM_CUDA_W_I8, else NULL.
     * acc = 0; acc = fma(x[t][k], w[o][k], acc) in increasing k (the CPU's
     * DenseLinear / HalfLinear / Int8WeightLinear order). */
    int32_t (*gemm)(dtm_cuda_context * ctx, int32_t wtype, const void * w, const float * scale, int64_t rows,
                    int64_t cols, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n);
    /* W8A8 (compress/int8_linear.h, DTM_FORMAT_INT8): per-token absmax
     * quantization of x, exact int32 products (q (rows, ldq) int8, ldq = cols
     * rounded up to 16, zero-padded), y = (float(acc) * scale_x) * scale[o];
     * a token with a NaN or inf gets NaN. */
    int32_t (*gemm_w8a8)(dtm_cuda_context * ctx, const int8_t * q, int64_t ldq, const float * scale, int64_t rows,
                         int64_t cols, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n);
    /* q8_0 / q4_0 (compress/block_quant_linear.h) with x quantized to q8_0:
     * q (rows, cols) int8 values (q4_0 unpacked to [-8, 7]), d (rows, cols / 32)
     * the fp32 value of each block's fp16 scale; acc = fma(d_w * d_x,
     * float(sum q_w q_x), acc) in increasing block. */
    int32_t (*gemm_qblock)(dtm_cuda_context * ctx, const int8_t * q, const float * d, int64_t rows, int64_t cols,
                           const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n);

    /* ---- the steps of a decoder (backend.h) ---- */
    /* x[t] = table[tokens[t]] widened exactly; table (vocab, dim) of wtype F32, BF16 or F16; tokens host */
    int32_t (*embed)(dtm_cuda_context * ctx, int32_t wtype, const void * table, const int32_t * tokens, int64_t n,
                     int32_t dim, float * x);
    int32_t (*rmsnorm)(dtm_cuda_context * ctx, float * out, const float * x, const float * weight, int64_t n,
                       int32_t dim, float eps);
    int32_t (*add_bias)(dtm_cuda_context * ctx, float * y, const float * bias, int64_t n, int32_t width);
    int32_t (*add_residual)(dtm_cuda_context * ctx, float * x, const float * d, int64_t n, int32_t width);
    int32_t (*swiglu)(dtm_cuda_context * ctx, float * gate, const float * up, int64_t n, int32_t hidden);
    /* cos_, sin_ (max_pos, head_dim / 2); pos, seq_base host (n) */
    int32_t (*rope_store_kv)(dtm_cuda_context * ctx, float * q, float * k, const float * v, const int32_t * pos,
                             const int64_t * seq_base, int64_t n, int32_t n_heads, int32_t n_kv_heads,
                             int32_t head_dim, const float * cos_, const float * sin_, float * key_cache,
                             float * value_cache);
    int32_t (*attention)(dtm_cuda_context * ctx, float * att, const float * q, const float * key_cache,
                         const float * value_cache, const int32_t * pos, const int64_t * seq_base, int64_t n,
                         int32_t n_heads, int32_t n_kv_heads, int32_t head_dim);

    /* ---- per-position statistics; results host ---- */
    /* targets host (n) or NULL; argmax, max, lse, target_logit host (n) */
    int32_t (*row_stats)(dtm_cuda_context * ctx, const float * logits, int64_t n, int32_t vocab,
                         const int32_t * targets, int32_t * argmax, float * max, float * lse, float * target_logit);
    /* base_lse, lse, out host (n) */
    int32_t (*kl_exact)(dtm_cuda_context * ctx, const float * base_logits, const float * base_lse,
                        const float * logits, const float * lse, int64_t n, int32_t vocab, float * out);
    /* ids, logprobs host (n, k); lse, out host (n) */
    int32_t (*kl_top_k)(dtm_cuda_context * ctx, const int32_t * ids, const float * logprobs, int32_t k,
                        const float * logits, const float * lse, int64_t n, int32_t vocab, float * out);
    /* lse host (n); ids, logprobs host (n, k) */
    int32_t (*top_k)(dtm_cuda_context * ctx, const float * logits, const float * lse, int64_t n, int32_t vocab,
                     int32_t k, int32_t * ids, float * logprobs);
} dtm_cuda_api;

/* The table, or NULL when `version` is not this library's. */
typedef const dtm_cuda_api * (*dtm_cuda_api_fn)(int32_t version);
__attribute__((visibility("default"))) const dtm_cuda_api * dtm_cuda_get_api(int32_t version);

#ifdef __cplusplus
}
#endif

#endif
