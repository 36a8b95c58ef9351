#include "backend/cuda/cuda_backend.h"

#include <cstring>
#include <vector>

#include "backend/cuda/cuda_library.h"
#include "core/error.h"
#include "kernels/cpu/quant_math.h"
#include "kernels/cpu/row_stats.h"
#include "model/linear.h"
#include "model/llama2c_file.h"
#include "model/model.h"
#include "runtime/layer_ops.h"

namespace dtm::cuda {

namespace {

const dtm_cuda_api & api_or_fail() {
    const Library & lib = library();
    if (lib.api == nullptr) fail(DTM_ERR_UNSUPPORTED, "CUDA is not available: %s", lib.why_not.c_str());
    return *lib.api;
}

class DeviceBuffer final : public Buffer {
public:
    DeviceBuffer(dtm_cuda_context * ctx, int32_t device, size_t n) : mem_(ctx, device, n * sizeof(float)), n_(n) {}
    float * data() override { return static_cast<float *>(mem_.get()); }
    float * host() override { return nullptr; }
    size_t size() const override { return n_; }

private:
    DeviceMemory mem_;
    size_t n_;
};

DeviceMemory upload_bytes(const dtm_cuda_api & api, dtm_cuda_context * ctx, int32_t device, const void * host,
                          size_t bytes) {
    DeviceMemory m(ctx, device, bytes);
    if (bytes) check(api.upload(ctx, m.get(), host, bytes), "uploading weights");
    return m;
}

// A Linear on the device, in the layout its kernel reads.
struct DeviceLinear final : PreparedWeights {
    enum Kind { kDense, kW8A8, kQBlock } kind = kDense;
    int32_t wtype = DTM_CUDA_W_F32;  // kDense: element type
    int64_t rows = 0, cols = 0, ldq = 0;
    DeviceMemory weights;  // dense values, int8 rows (ldq apart) or block values
    DeviceMemory scales;   // per row (int8), per block (q8_0 / q4_0), or none
};

// The model file's views on the device, by host address.
struct DeviceViews final : PreparedWeights {
    std::unordered_map<const void *, DeviceMemory> by_host;
};

}  // namespace

DeviceMemory::DeviceMemory(dtm_cuda_context * ctx, int32_t device, size_t bytes) : device_(device), bytes_(bytes) {
    check(api_or_fail().alloc(ctx, bytes, &p_), "allocating CUDA memory");
}

DeviceMemory::~DeviceMemory() {
    if (p_) library().api->free(device_, p_);
}

DeviceMemory & DeviceMemory::operator=(DeviceMemory && o) noexcept {
    if (this != &o) {
        if (p_) library().api->free(device_, p_);
        device_ = o.device_;
        p_ = o.p_;
        bytes_ = o.bytes_;
        o.p_ = nullptr;
    }
    return *this;
}

CudaBackend::CudaBackend(int32_t index, int32_t max_keys)
    : api_(&api_or_fail()), index_(index), name_("cuda:" + std::to_string(index)), max_keys_(max_keys) {
    check(api_->context_create(index, &ctx_), ("opening " + name_).c_str());
}

CudaBackend::~CudaBackend() {
    // Prepared copies the model still holds outlive this context; they free
    // through the device index alone.
    prepared_ = PreparedModel();
    rope_cos_ = DeviceMemory();
    rope_sin_ = DeviceMemory();
    api_->context_free(ctx_);
}

void CudaBackend::prepare(const Model & model) {
    prepared_ = prepare_model(
        model, name_, [&](const Linear & w) { return prepare_linear(w); },
        [&](const Model & m) { return prepare_views(m); });
}

PreparedPtr CudaBackend::prepare_linear(const Linear & w) {
    const dtm_cuda_api & api = *api_;
    auto d = std::make_shared<DeviceLinear>();
    d->rows = w.rows();
    d->cols = w.cols();
    const size_t count = size_t(d->rows) * size_t(d->cols);
    const dtm_weight_format f = w.format();
    auto tensor = [&](const std::vector<StoredTensor> & ts, const char * name) -> const StoredTensor & {
        for (const StoredTensor & t : ts) {
            if (t.name == name) return t;
        }
        fail(DTM_ERR_INTERNAL, "a weight format without its \"%s\" tensor", name);
    };
    switch (f) {
        case DTM_FORMAT_BF16:
        case DTM_FORMAT_FP16: {
            const std::vector<StoredTensor> ts = w.stored_tensors();
            const StoredTensor & t = tensor(ts, "weight");
            d->wtype = f == DTM_FORMAT_BF16 ? DTM_CUDA_W_BF16 : DTM_CUDA_W_F16;
            d->weights = upload_bytes(api, ctx_, index_, t.bytes.data(), count * 2);
            break;
        }
        case DTM_FORMAT_INT8_WEIGHT: {
            const std::vector<StoredTensor> ts = w.stored_tensors();
            d->wtype = DTM_CUDA_W_I8;
            d->weights = upload_bytes(api, ctx_, index_, tensor(ts, "weight").bytes.data(), count);
            d->scales = upload_bytes(api, ctx_, index_, tensor(ts, "weight_scale").bytes.data(), size_t(d->rows) * 4);
            break;
        }
        case DTM_FORMAT_INT8: {
            const std::vector<StoredTensor> ts = w.stored_tensors();
            d->kind = DeviceLinear::kW8A8;
            d->ldq = (d->cols + 15) / 16 * 16;
            const std::vector<uint8_t> & q = tensor(ts, "weight").bytes;
            std::vector<int8_t> padded(size_t(d->rows) * size_t(d->ldq), 0);
            for (int64_t o = 0; o < d->rows; ++o) {
                std::memcpy(&padded[size_t(o * d->ldq)], &q[size_t(o * d->cols)], size_t(d->cols));
            }
            d->weights = upload_bytes(api, ctx_, index_, padded.data(), padded.size());
            d->scales = upload_bytes(api, ctx_, index_, tensor(ts, "weight_scale").bytes.data(), size_t(d->rows) * 4);
            break;
        }
        case DTM_FORMAT_Q8_0:
        case DTM_FORMAT_Q4_0: {
            const std::vector<StoredTensor> ts = w.stored_tensors();
            d->kind = DeviceLinear::kQBlock;
            const std::vector<uint8_t> & blocks = tensor(ts, "blocks").bytes;
            const int64_t nb = d->cols / 32, block_bytes = f == DTM_FORMAT_Q8_0 ? 34 : 18;
            std::vector<int8_t> q(count);
            std::vector<float> scale(size_t(d->rows) * size_t(nb));
            for (int64_t o = 0; o < d->rows; ++o) {
                for (int64_t b = 0; b < nb; ++b) {
                    const uint8_t * src = &blocks[size_t((o * nb + b) * block_bytes)];
                    scale[size_t(o * nb + b)] = cpu::fp16_to_fp32(uint16_t(src[0] | (src[1] << 8)));
                    int8_t * dst = &q[size_t(o * d->cols + b * 32)];
                    for (int j = 0; j < 16 && f == DTM_FORMAT_Q4_0; ++j) {
                        dst[j] = int8_t(int(src[2 + j] & 0x0f) - 8);
                        dst[j + 16] = int8_t(int(src[2 + j] >> 4) - 8);
                    }
                    if (f == DTM_FORMAT_Q8_0) std::memcpy(dst, src + 2, 32);
                }
            }
            d->weights = upload_bytes(api, ctx_, index_, q.data(), q.size());
            d->scales = upload_bytes(api, ctx_, index_, scale.data(), scale.size() * sizeof(float));
            break;
        }
        case DTM_FORMAT_INT8_OUTLIER:
            fail(DTM_ERR_UNSUPPORTED, "int8 with outlier features (LLM.int8) has no CUDA kernel yet (device %s)",
                 name_.c_str());
        case DTM_FORMAT_FP32:
        case DTM_FORMAT_SPARSE:
        default: {
            // fp32, and pruned matrices dense with their zeros
            std::vector<float> dense(count);
            w.dense_weights(dense.data());
            d->weights = upload_bytes(api, ctx_, index_, dense.data(), count * sizeof(float));
            break;
        }
    }
    ++linears_prepared_;
    return d;
}

PreparedPtr CudaBackend::prepare_views(const Model & model) {
    auto v = std::make_shared<DeviceViews>();
    const ModelConfig & c = model.config();
    const WeightViews & w = model.views();
    auto place = [&](const void * host, size_t bytes) {
        if (host == nullptr || v->by_host.count(host)) return;
        v->by_host.emplace(host, upload_bytes(*api_, ctx_, index_, host, bytes));
    };
    const size_t dim = size_t(c.dim), hidden = size_t(c.hidden_dim), qd = size_t(c.q_dim()), kvd = size_t(c.kv_dim());
    for (const LayerWeightViews & l : w.layers) {
        place(l.attn_norm, dim * 4);
        place(l.mlp_norm, dim * 4);
        place(l.bq, qd * 4);
        place(l.bk, kvd * 4);
        place(l.bv, kvd * 4);
        place(l.bo, dim * 4);
        place(l.b_gate, hidden * 4);
        place(l.b_up, hidden * 4);
        place(l.b_down, dim * 4);
    }
    place(w.final_norm, dim * 4);
    place(w.embedding_table(), size_t(c.vocab_size) * dim * size_t(w.embedding_value_bytes()));
    return v;
}

const void * CudaBackend::device_view(const void * host) const {
    if (const auto * v = dynamic_cast<const DeviceViews *>(prepared_.views.get())) {
        const auto it = v->by_host.find(host);
        if (it != v->by_host.end()) return it->second.get();
    }
    if (api_->is_device_pointer(host)) return host;
    fail(DTM_ERR_INTERNAL, "weights at host address %p were not prepared for %s", host, name_.c_str());
}

BufferPtr CudaBackend::allocate(size_t n) { return std::make_unique<DeviceBuffer>(ctx_, index_, n); }

void CudaBackend::upload(float * dst, const float * src, size_t n) {
    check(api_->upload(ctx_, dst, src, n * sizeof(float)), "upload");
}

void CudaBackend::download(float * dst, const float * src, size_t n) {
    check(api_->download(ctx_, dst, src, n * sizeof(float)), "download");
}

void CudaBackend::copy(float * dst, const float * src, size_t n) {
    check(api_->copy(ctx_, dst, src, n * sizeof(float)), "copy");
}

void CudaBackend::synchronize() { check(api_->synchronize(ctx_), "synchronize"); }

void CudaBackend::embed(const WeightViews & w, const int32_t * tokens, int64_t n, int32_t dim, float * x) {
    const int32_t wtype = w.token_embedding ? DTM_CUDA_W_F32
                          : w.token_embedding_kind == cpu::HalfKind::kBf16 ? DTM_CUDA_W_BF16
                                                                           : DTM_CUDA_W_F16;
    check(api_->embed(ctx_, wtype, device_view(w.embedding_table()), tokens, n, dim, x), "embed");
}

void CudaBackend::rmsnorm(float * out, const float * x, const float * weight, int64_t n, int32_t dim, float eps) {
    check(api_->rmsnorm(ctx_, out, x, static_cast<const float *>(device_view(weight)), n, dim, eps), "rmsnorm");
}

void CudaBackend::linear(const Linear & w, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n) {
    PreparedPtr p;
    const auto it = prepared_.linears.find(&w);
    if (it != prepared_.linears.end()) {
        p = it->second;
    } else {
        // A Linear outside the prepared model (kernel tests, benchmarks): prepared now, kept with it.
        p = w.prepared().get(name_, [&] { return prepare_linear(w); });
        prepared_.linears.emplace(&w, p);
    }
    const auto & d = static_cast<const DeviceLinear &>(*p);
    switch (d.kind) {
        case DeviceLinear::kDense:
            check(api_->gemm(ctx_, d.wtype, d.weights.get(), static_cast<const float *>(d.scales.get()), d.rows,
                             d.cols, x, ldx, y, ldy, n),
                  "linear");
            break;
        case DeviceLinear::kW8A8:
            check(api_->gemm_w8a8(ctx_, static_cast<const int8_t *>(d.weights.get()), d.ldq,
                                  static_cast<const float *>(d.scales.get()), d.rows, d.cols, x, ldx, y, ldy, n),
                  "linear (int8)");
            break;
        case DeviceLinear::kQBlock:
            check(api_->gemm_qblock(ctx_, static_cast<const int8_t *>(d.weights.get()),
                                    static_cast<const float *>(d.scales.get()), d.rows, d.cols, x, ldx, y, ldy, n),
                  "linear (q8_0 / q4_0)");
            break;
    }
}

void CudaBackend::add_bias(float * y, const float * bias, int64_t n, int32_t width) {
    check(api_->add_bias(ctx_, y, static_cast<const float *>(device_view(bias)), n, width), "add_bias");
}

void CudaBackend::add_residual(float * x, const float * d, int64_t n, int32_t width) {
    check(api_->add_residual(ctx_, x, d, n, width), "add_residual");
}

void CudaBackend::rope_store_kv(float * q, float * k, const float * v, const int32_t * pos, const int64_t * seq_base,
                                int64_t n, const AttentionShape & s, const RopeTable & rope, float * key_cache,
                                float * value_cache) {
    if (rope_host_ != &rope || rope_cos_.bytes() != rope.cos_.size() * sizeof(float)) {
        rope_cos_ = upload_bytes(*api_, ctx_, index_, rope.cos_.data(), rope.cos_.size() * sizeof(float));
        rope_sin_ = upload_bytes(*api_, ctx_, index_, rope.sin_.data(), rope.sin_.size() * sizeof(float));
        rope_host_ = &rope;
    }
    check(api_->rope_store_kv(ctx_, q, k, v, pos, seq_base, n, s.n_heads, s.n_kv_heads, s.head_dim,
                              static_cast<const float *>(rope_cos_.get()), static_cast<const float *>(rope_sin_.get()),
                              key_cache, value_cache),
          "rope_store_kv");
}

void CudaBackend::attention(float * att, const float * q, const float * key_cache, const float * value_cache,
                            const int32_t * pos, const int64_t * seq_base, int64_t n, const AttentionShape & s) {
    if (s.max_keys > max_keys_) {
        fail(DTM_ERR_INTERNAL, "attention over %d keys, the backend was made for %d", s.max_keys, max_keys_);
    }
    check(api_->attention(ctx_, att, q, key_cache, value_cache, pos, seq_base, n, s.n_heads, s.n_kv_heads,
                          s.head_dim),
          "attention");
}

void CudaBackend::swiglu(float * gate, const float * up, int64_t n, int32_t hidden) {
    check(api_->swiglu(ctx_, gate, up, n, hidden), "swiglu");
}

void CudaBackend::row_stats(const float * logits, int64_t n, int32_t vocab, const int32_t * targets,
                            cpu::RowStats * out) {
    if (n <= 0) return;
    const size_t rows = static_cast<size_t>(n);
    std::vector<int32_t> argmax(rows);
    std::vector<float> max(rows), lse(rows), target(rows);
    check(api_->row_stats(ctx_, logits, n, vocab, targets, argmax.data(), max.data(), lse.data(), target.data()),
          "row_stats");
    for (int64_t t = 0; t < n; ++t) {
        out[t].argmax = argmax[size_t(t)];
        out[t].max = max[size_t(t)];
        out[t].logsumexp = lse[size_t(t)];
        out[t].target_logit = target[size_t(t)];
    }
}

void CudaBackend::kl_exact(const float * base_logits, const float * base_lse, const float * logits, const float * lse,
                           int64_t n, int32_t vocab, float * out) {
    check(api_->kl_exact(ctx_, base_logits, base_lse, logits, lse, n, vocab, out), "kl_exact");
}

void CudaBackend::kl_top_k(const int32_t * ids, const float * logprobs, int32_t k, const float * logits,
                           const float * lse, int64_t n, int32_t vocab, float * out) {
    check(api_->kl_top_k(ctx_, ids, logprobs, k, logits, lse, n, vocab, out), "kl_top_k");
}

void CudaBackend::top_k(const float * logits, const float * lse, int64_t n, int32_t vocab, int32_t k, int32_t * ids,
                        float * logprobs) {
    check(api_->top_k(ctx_, logits, lse, n, vocab, k, ids, logprobs), "top_k");
}

}  // namespace dtm::cuda
