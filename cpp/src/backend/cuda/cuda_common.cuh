// cuda_common.cuh - what the kernel files of libdtm_cuda share: the
// context (a stream and scratch memory), errors as exceptions inside the
// library (caught at the C boundary, cuda_api.h), and launch helpers.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "backend/cuda/cuda_api.h"
#include "dtm/dtm.h"

namespace dtm::cuda {

// An error inside the library; never leaves it (guard() turns it into a status).
struct Failure {
    int32_t status;
    std::string message;
};

[[noreturn]] void fail(int32_t status, const std::string & message);
// Throws a Failure naming `what` and CUDA's error string unless e is cudaSuccess.
void check(cudaError_t e, const char * what);
// After a kernel launch: a launch error (bad configuration) as a Failure.
void check_launch(const char * kernel);

// Scratch memory a context keeps between calls, one buffer per role.
enum ScratchSlot {
    kHostInts = 0,     // uploaded host arrays (tokens, positions, targets, ids)
    kHostInts64 = 1,   // seq_base
    kHostFloats = 2,   // uploaded host floats (lse, log-probabilities)
    kResults = 3,      // per-row results before download
    kQuantized = 4,    // activations quantized to int8
    kQuantScales = 5,  // their scales
    kQuantFinite = 6,  // their finite flags
    kSlots = 7
};

}  // namespace dtm::cuda

struct dtm_cuda_context {
    int32_t device = 0;
    cudaStream_t stream = nullptr;
    void * scratch[dtm::cuda::kSlots] = {};
    size_t scratch_bytes[dtm::cuda::kSlots] = {};
};

namespace dtm::cuda {

// Makes ctx's device current on the calling thread.
void use(dtm_cuda_context * ctx);
// At least `bytes` of scratch in `slot` (contents not kept when it grows).
void * scratch(dtm_cuda_context * ctx, ScratchSlot slot, size_t bytes);
// Host array -> scratch slot, on ctx's stream; returns the device copy.
template <typename T>
T * stage(dtm_cuda_context * ctx, ScratchSlot slot, const T * host, size_t n) {
    T * d = static_cast<T *>(scratch(ctx, slot, n * sizeof(T)));
    if (n) check(cudaMemcpyAsync(d, host, n * sizeof(T), cudaMemcpyHostToDevice, ctx->stream), "cudaMemcpyAsync (upload)");
    return d;
}
// Device -> host on ctx's stream, then waits.
void fetch(dtm_cuda_context * ctx, void * host, const void * device, size_t bytes);

// Runs f; a Failure (or any exception) becomes the status and thread-local message.
template <typename F>
int32_t guard(F && f);
int32_t record_failure(int32_t status, const std::string & message);

template <typename F>
int32_t guard(F && f) {
    try {
        f();
        return DTM_OK;
    } catch (const Failure & e) {
        return record_failure(e.status, e.message);
    } catch (const std::exception & e) {
        return record_failure(DTM_ERR_INTERNAL, std::string("libdtm_cuda: ") + e.what());
    } catch (...) {
        return record_failure(DTM_ERR_INTERNAL, "libdtm_cuda: unknown exception");
    }
}

inline unsigned blocks_for(int64_t n, int threads) { return unsigned((n + threads - 1) / threads); }

// The kernel files' entry points (the api table in runtime.cu points at them).
int32_t gemm(dtm_cuda_context * ctx, int32_t wtype, const void * w, const float * scale, int64_t rows, int64_t cols,
             const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n);
int32_t gemm_w8a8(dtm_cuda_context * ctx, const int8_t * q, int64_t ldq, const float * scale, int64_t rows,
                  int64_t cols, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n);
int32_t gemm_qblock(dtm_cuda_context * ctx, const int8_t * q, const float * d, int64_t rows, int64_t cols,
                    const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n);
int32_t embed(dtm_cuda_context * ctx, int32_t wtype, const void * table, const int32_t * tokens, int64_t n,
              int32_t dim, float * x);
int32_t rmsnorm(dtm_cuda_context * ctx, float * out, const float * x, const float * weight, int64_t n, int32_t dim,
                float eps);
int32_t add_bias(dtm_cuda_context * ctx, float * y, const float * bias, int64_t n, int32_t width);
int32_t add_residual(dtm_cuda_context * ctx, float * x, const float * d, int64_t n, int32_t width);
int32_t swiglu(dtm_cuda_context * ctx, float * gate, const float * up, int64_t n, int32_t hidden);
int32_t rope_store_kv(dtm_cuda_context * ctx, float * q, float * k, const float * v, const int32_t * pos,
                      const int64_t * seq_base, int64_t n, int32_t n_heads, int32_t n_kv_heads, int32_t head_dim,
                      const float * cos_, const float * sin_, float * key_cache, float * value_cache);
int32_t attention(dtm_cuda_context * ctx, float * att, const float * q, const float * key_cache,
                  const float * value_cache, const int32_t * pos, const int64_t * seq_base, int64_t n,
                  int32_t n_heads, int32_t n_kv_heads, int32_t head_dim);
int32_t row_stats(dtm_cuda_context * ctx, const float * logits, int64_t n, int32_t vocab, const int32_t * targets,
                  int32_t * argmax, float * max, float * lse, float * target_logit);
int32_t kl_exact(dtm_cuda_context * ctx, const float * base_logits, const float * base_lse, const float * logits,
                 const float * lse, int64_t n, int32_t vocab, float * out);
int32_t kl_top_k(dtm_cuda_context * ctx, const int32_t * ids, const float * logprobs, int32_t k,
                 const float * logits, const float * lse, int64_t n, int32_t vocab, float * out);
int32_t top_k(dtm_cuda_context * ctx, const float * logits, const float * lse, int64_t n, int32_t vocab, int32_t k,
              int32_t * ids, float * logprobs);

}  // namespace dtm::cuda
