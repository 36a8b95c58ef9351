// cuda_backend.h - the CUDA behind backend.h, for device "cuda:N".
//
// Part of libdtm and compiled everywhere (it needs no CUDA headers): it runs
// on the kernels of libdtm_cuda.so through the C table of cuda_api.h, loaded
// only when a session asks for a CUDA device (cuda_library.h).
//
// Weights. prepare(model) puts every Linear on the device once per device,
// through the Linear's PreparedSlot (backend/prepared.h), in its own width
// or format: fp32, bf16 and fp16 as they are stored, int8 W8A8 and int8
// weight-only as int8 rows with their scales, q8_0 / q4_0 as int8 values
// with fp32 block scales (q4_0 unpacked: twice its packed size), pruned
// matrices (SPARSE) dense with their zeros. Norm weights, biases and the
// embedding are placed once per model file (Model::prepared_views()); the
// operations receive the host pointers of the model's views and look their
// device copies up. LLM.int8 with outliers (DTM_FORMAT_INT8_OUTLIER) has
// no kernel yet: DTM_ERR_UNSUPPORTED when prepared.
//
// Numbers: see the kernel files (gemm.cu, quant_gemm.cu, layer_ops.cu,
// stats.cu): deterministic, no atomics in reductions, a token's results
// independent of its batch; the matrix products of fp32/16-bit/int8/q8_0/
// q4_0 weights are the CPU's operations in the CPU's order.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "backend/backend.h"
#include "backend/cuda/cuda_api.h"
#include "backend/prepared.h"

namespace dtm::cuda {

// Device memory of one device, freed with the object.
class DeviceMemory {
public:
    DeviceMemory() = default;
    // bytes of zeroed memory of `device` (ctx's), through ctx
    DeviceMemory(dtm_cuda_context * ctx, int32_t device, size_t bytes);
    ~DeviceMemory();
    DeviceMemory(DeviceMemory && o) noexcept : device_(o.device_), p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr; }
    DeviceMemory & operator=(DeviceMemory && o) noexcept;
    DeviceMemory(const DeviceMemory &) = delete;
    DeviceMemory & operator=(const DeviceMemory &) = delete;
    void * get() const { return p_; }
    size_t bytes() const { return bytes_; }

private:
    int32_t device_ = 0;
    void * p_ = nullptr;
    size_t bytes_ = 0;
};

class CudaBackend final : public Backend {
public:
    // Device `index` ("cuda:<index>", a device cuda_library.h lists);
    // attention over at most max_keys positions.
    CudaBackend(int32_t index, int32_t max_keys);
    ~CudaBackend() override;

    const char * device() const override { return name_.c_str(); }
    void prepare(const Model & model) override;

    BufferPtr allocate(size_t n) override;
    bool host_is_device() const override { return false; }
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

    void row_stats(const float * logits, int64_t n, int32_t vocab, const int32_t * targets,
                   cpu::RowStats * out) override;
    void kl_exact(const float * base_logits, const float * base_lse, const float * logits, const float * lse, int64_t n,
                  int32_t vocab, float * out) override;
    void kl_top_k(const int32_t * ids, const float * logprobs, int32_t k, const float * logits, const float * lse,
                  int64_t n, int32_t vocab, float * out) override;
    void top_k(const float * logits, const float * lse, int64_t n, int32_t vocab, int32_t k, int32_t * ids,
               float * logprobs) override;

    // Waits for the device (benchmarks; every host result waits anyway).
    void synchronize();
    // The device copy of model weights at host address `host` (a view
    // prepare() placed), or `host` itself when it is device memory already;
    // DTM_ERR_INTERNAL otherwise.
    const void * device_view(const void * host) const;
    // How many Linears this backend prepared itself (tests: shared ones are not counted).
    int linears_prepared() const { return linears_prepared_; }

private:
    PreparedPtr prepare_linear(const Linear & w);
    PreparedPtr prepare_views(const Model & model);

    const dtm_cuda_api * api_;
    int32_t index_;
    std::string name_;
    int32_t max_keys_;
    dtm_cuda_context * ctx_ = nullptr;
    PreparedModel prepared_;
    int linears_prepared_ = 0;
    // The RoPE table of the session, uploaded on first use.
    const RopeTable * rope_host_ = nullptr;
    DeviceMemory rope_cos_, rope_sin_;
};

}  // namespace dtm::cuda
