// cpu_backend.h - the CPU behind backend.h: worker threads and one kernel
// table (kernels/cpu/dispatch.h), resolved once when the backend is made.
// Device memory is host memory. Every operation splits its work over token
// rows (or output panels, in the weight formats), each row computed whole by
// one task, so results do not depend on the thread count.
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "core/thread_pool.h"
#include "kernels/cpu/dispatch.h"

namespace dtm::cpu {

class CpuBackend final : public Backend {
public:
    // Owns a pool of n_threads threads (>= 1) and runs `kernels`; max_keys
    // (the context) sizes the attention scratch, allocated here: 0 = no
    // attention (kernel tests).
    CpuBackend(int n_threads, const KernelTable & kernels, int32_t max_keys);
    // Borrows `pool` (kernel tests and benchmarks that run Linears).
    CpuBackend(ThreadPool & pool, const KernelTable & kernels);

    ThreadPool & pool() const { return *pool_; }
    const KernelTable & kernels() const { return *kernels_; }

    const char * device() const override { return "cpu"; }
    const CpuBackend * cpu() const override { return this; }

    BufferPtr allocate(size_t n) override;
    bool host_is_device() const override { return true; }
    void upload(float * device_dst, const float * host_src, size_t n) override;
    void download(float * host_dst, const float * device_src, size_t n) override;
    void copy(float * dst, const float * src, size_t n) override;

    void embed(const WeightViews & w, const int32_t * tokens, int64_t n, int32_t dim, float * x) override;
    void rmsnorm(float * out, const float * x, const float * weight, int64_t n, int32_t dim, float eps) override;
    void linear(const Linear & w, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n) override;
    void add_bias(float * y, const float * bias, int64_t n, int32_t width) override;
    void add_residual(float * x, const float * d, int64_t n, int32_t width) override;
    void rope_store_kv(float * q, float * k, const float * v, const int32_t * pos, const int64_t * seq_base, int64_t n,
                       const AttentionShape & shape, const RopeTable & rope, float * key_cache,
                       float * value_cache) override;
    void attention(float * att, const float * q, const float * key_cache, const float * value_cache,
                   const int32_t * pos, const int64_t * seq_base, int64_t n, const AttentionShape & shape) override;
    void swiglu(float * gate, const float * up, int64_t n, int32_t hidden) override;

    void row_stats(const float * logits, int64_t n, int32_t vocab, const int32_t * targets, RowStats * out) override;
    void kl_exact(const float * base_logits, const float * base_lse, const float * logits, const float * lse, int64_t n,
                  int32_t vocab, float * out) override;
    void kl_top_k(const int32_t * ids, const float * logprobs, int32_t k, const float * logits, const float * lse,
                  int64_t n, int32_t vocab, float * out) override;
    void top_k(const float * logits, const float * lse, int64_t n, int32_t vocab, int32_t k, int32_t * ids,
               float * logprobs) override;

private:
    // Runs fn(t, worker) for t in [0, n): on the calling thread below a few
    // rows (the cheap steps are not worth waking the workers), else on the pool.
    void per_row(int64_t n, const ThreadPool::TaskFn & fn);

    std::unique_ptr<ThreadPool> owned_pool_;
    ThreadPool * pool_;
    const KernelTable * kernels_;
    int32_t max_keys_ = 0;
    std::vector<float> scores_;  // attention scores, (thread, max_keys)
};

// The CPU backend behind `backend`; throws dtm::Error(DTM_ERR_UNSUPPORTED)
// naming `what` (a weight format) when it is another device's.
const CpuBackend & require_cpu(const Backend & backend, const char * what);

}  // namespace dtm::cpu
