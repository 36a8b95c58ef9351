// backend.h - the one interface between the runtime and a device.
//
// The runtime (runtime/: the forward pass, the session's buffers, scoring,
// generation, evaluation) never calls device code directly: it allocates
// its buffers from a Backend and asks it to run each step of the model over
// a batch of token rows. The CPU backend is backend/cpu/ (CpuBackend: the
// thread pool and the kernel table resolved once per session); the CUDA
// backend, backend/cuda/ (CudaBackend over libdtm_cuda.so), implements this
// same interface.
//
// Memory. Every float* an operation takes is device memory of this backend
// (a Buffer's data()), unless its comment says "host". A Buffer has a host
// view where the backend has one (the CPU: the memory itself); where
// host_is_device(), host pointers may be passed as device pointers too.
//
// Batches. An operation runs over n token rows; row t of a (n, width)
// operand starts at t * width. Token positions and KV rows (pos, seq_base)
// are host arrays, as in runtime/session.h's TokenBatch: token t's keys and
// values live in cache row seq_base[t] + pos[t].
//
// Weights. A weight matrix is a Linear (model/linear.h) in one of the
// weight formats; linear() runs y = x W^T with it. Every format builds its
// CPU layout when it is made (packed panels, int8 rows, blocks, sliced ELL),
// so the CPU backend runs any Linear as it is; a device backend prepares its
// own copy of a Linear once, keyed by the Linear, so a candidate that shares
// its unchanged Linears with the base (shared_ptr) shares their prepared
// copies too. Norm weights, biases and the embedding are model views
// (model/llama2c_file.h's WeightViews), likewise placed once per model file.
// backend/prepared.h holds the mechanism (a PreparedSlot per Linear and per
// model file); Session's constructor calls prepare(model) once.
//
// Numbers. Within one backend every operation is deterministic and computes
// a token row independently of the others in the batch, of the batch size
// and of the thread count, which is what makes prefill and decoding bitwise
// equal (dtm.h's numeric contract). Across backends results agree within
// DTM_BACKEND_LOGIT_TOLERANCE on the logits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dtm/dtm.h"

namespace dtm {

class Linear;
class Model;
struct RopeTable;
struct WeightViews;

namespace cpu {
class CpuBackend;
struct RowStats;
}  // namespace cpu

// n floats of a backend's memory, zeroed when allocated; freed with the Buffer.
class Buffer {
public:
    virtual ~Buffer() = default;
    virtual float * data() = 0;        // device memory, for the backend's operations
    virtual float * host() = 0;        // the host view, or nullptr where there is none
    virtual size_t size() const = 0;   // floats
};
using BufferPtr = std::unique_ptr<Buffer>;

// The shape of attention over the KV cache.
struct AttentionShape {
    int32_t n_heads;     // query heads
    int32_t n_kv_heads;  // key/value heads (n_heads / n_kv_heads queries share one)
    int32_t head_dim;
    int32_t max_keys;    // the most positions a query attends to (the context)
};

class Backend {
public:
    virtual ~Backend() = default;

    // The dtm_device_info name of the device this backend runs on ("cpu").
    virtual const char * device() const = 0;
    // The CPU backend, or nullptr (the weight formats' CPU kernels need it).
    virtual const cpu::CpuBackend * cpu() const { return nullptr; }

    // Places `model`'s weights on the device before a session runs it: each
    // Linear once per device through its slot, the model file's norms, biases
    // and embedding once (backend/prepared.h's prepare_model), so the
    // operations below find them. The model outlives the backend. The CPU
    // runs every weight format as it is built: nothing to do.
    virtual void prepare(const Model & model) {}

    // ---- buffers ----
    // A zeroed buffer of n floats; throws dtm::Error(DTM_ERR_OUT_OF_MEMORY).
    virtual BufferPtr allocate(size_t n) = 0;
    // Whether host memory is device memory (then upload / download are copies
    // a caller may skip by passing host pointers to the operations).
    virtual bool host_is_device() const = 0;
    virtual void upload(float * device_dst, const float * host_src, size_t n) = 0;
    virtual void download(float * host_dst, const float * device_src, size_t n) = 0;
    virtual void copy(float * dst, const float * src, size_t n) = 0;  // device to device

    // ---- the steps of a decoder ----
    // x[t] = embedding[tokens[t]]                  tokens: host (n); x (n, dim)
    virtual void embed(const WeightViews & w, const int32_t * tokens, int64_t n, int32_t dim, float * x) = 0;
    // out[t] = weight * x[t] / sqrt(mean(x[t]^2) + eps)     x, out (n, dim); weight (dim)
    virtual void rmsnorm(float * out, const float * x, const float * weight, int64_t n, int32_t dim,
                         float eps) = 0;
    // y (n, rows), row stride ldy = x (n, cols), row stride ldx, times W^T
    virtual void linear(const Linear & w, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n) = 0;
    // y[t] += bias                                 y (n, width); bias (width)
    virtual void add_bias(float * y, const float * bias, int64_t n, int32_t width) = 0;
    // x[t] += d[t]                                 x, d (n, width)
    virtual void add_residual(float * x, const float * d, int64_t n, int32_t width) = 0;
    // Rotates q (n, n_heads * head_dim) and k (n, n_kv_heads * head_dim) by
    // position pos[t] (RoPE, layer_ops.h), then stores k[t] and v[t] in cache
    // row seq_base[t] + pos[t] of key_cache / value_cache (rows of kv_dim).
    // All rows are stored before any token attends (attention below).
    virtual void rope_store_kv(float * q, float * k, const float * v, const int32_t * pos, const int64_t * seq_base,
                               int64_t n, const AttentionShape & shape, const RopeTable & rope, float * key_cache,
                               float * value_cache) = 0;
    // att[t] per head h = softmax(q[t]_h . k_j / sqrt(head_dim)) v_j over the
    // cache rows j = seq_base[t] .. seq_base[t] + pos[t] of kv head h / group.
    // q, att (n, n_heads * head_dim).
    virtual void attention(float * att, const float * q, const float * key_cache, const float * value_cache,
                           const int32_t * pos, const int64_t * seq_base, int64_t n,
                           const AttentionShape & shape) = 0;
    // gate[t] = silu(gate[t]) * up[t]              gate, up (n, hidden)
    virtual void swiglu(float * gate, const float * up, int64_t n, int32_t hidden) = 0;

    // ---- per-position statistics: only these results leave the device ----
    // For rows of logits (n, vocab): argmax (ties to the lowest id), max,
    // logsumexp and the logit of targets[t] (host; -1 = none) into out (host, n)
    // (kernels/cpu/row_stats.h).
    virtual void row_stats(const float * logits, int64_t n, int32_t vocab, const int32_t * targets,
                           cpu::RowStats * out) = 0;
    // out[t] = KL(F || C) exact over the vocabulary, F = base_logits[t] with
    // log-normaliser base_lse[t], C = logits[t] with lse[t] (lse: host, n;
    // out: host, n; runtime/position_stats.h's kl_exact).
    virtual void kl_exact(const float * base_logits, const float * base_lse, const float * logits, const float * lse,
                          int64_t n, int32_t vocab, float * out) = 0;
    // out[t] = KL(F || C) from F's top-k only (kl_top_k): ids, logprobs host (n, k).
    virtual void kl_top_k(const int32_t * ids, const float * logprobs, int32_t k, const float * logits,
                          const float * lse, int64_t n, int32_t vocab, float * out) = 0;
    // The k largest logits of each row, ties to the lowest id, with their log
    // probabilities logits - lse[t]: ids, logprobs host (n, k).
    virtual void top_k(const float * logits, const float * lse, int64_t n, int32_t vocab, int32_t k, int32_t * ids,
                       float * logprobs) = 0;
};

}  // namespace dtm
