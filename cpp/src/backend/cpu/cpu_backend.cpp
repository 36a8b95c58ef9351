#include "backend/cpu/cpu_backend.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "core/error.h"
#include "core/fault_injection.h"
#include "kernels/cpu/aligned_array.h"
#include "model/linear.h"
#include "model/llama2c_file.h"
#include "runtime/layer_ops.h"
#include "runtime/position_stats.h"

namespace dtm::cpu {

namespace {

// Below this many rows the cheap per-row steps run on the calling thread.
constexpr int64_t kParallelRows = 4;
// Rows of one task of a per-row step.
constexpr int64_t kRowsPerTask = 16;

// Zero-filled, in the kernels' aligned storage (large ones, such as the
// logits of a batch, on transparent huge pages: aligned_array.h).
class HostBuffer final : public Buffer {
public:
    explicit HostBuffer(size_t n) : v_(aligned_array<float>(n, "session buffers")), n_(n) {
        if (n) std::memset(v_.get(), 0, sizeof(float) * n);
    }
    float * data() override { return v_.get(); }
    float * host() override { return v_.get(); }
    size_t size() const override { return n_; }

private:
    AlignedArray<float> v_;
    size_t n_;
};

std::vector<float> scratch(size_t n) {
    try {
        fault::allocation_point();
        return std::vector<float>(n);
    } catch (const std::bad_alloc &) {
        fail(DTM_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes of session buffers", n * sizeof(float));
    }
}

}  // namespace

CpuBackend::CpuBackend(int n_threads, const KernelTable & kernels, int32_t max_keys)
    : owned_pool_(std::make_unique<ThreadPool>(n_threads)),
      pool_(owned_pool_.get()),
      kernels_(&kernels),
      max_keys_(max_keys),
      scores_(scratch(size_t(pool_->size()) * size_t(max_keys))) {}

CpuBackend::CpuBackend(ThreadPool & pool, const KernelTable & kernels) : pool_(&pool), kernels_(&kernels) {}

BufferPtr CpuBackend::allocate(size_t n) {
    try {
        fault::allocation_point();
        return std::make_unique<HostBuffer>(n);
    } catch (const std::bad_alloc &) {
        fail(DTM_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes of session buffers", n * sizeof(float));
    }
}

void CpuBackend::upload(float * device_dst, const float * host_src, size_t n) {
    if (n) std::memcpy(device_dst, host_src, sizeof(float) * n);
}

void CpuBackend::download(float * host_dst, const float * device_src, size_t n) {
    if (n) std::memcpy(host_dst, device_src, sizeof(float) * n);
}

void CpuBackend::copy(float * dst, const float * src, size_t n) {
    if (n) std::memcpy(dst, src, sizeof(float) * n);
}

void CpuBackend::per_row(int64_t n, const ThreadPool::TaskFn & fn) {
    if (n < kParallelRows || pool_->size() == 1) {
        for (int64_t t = 0; t < n; ++t) fn(t, 0);
        return;
    }
    // Tasks of up to kRowsPerTask consecutive rows, at least 8 per thread:
    // one task per row made the hand-out cost more than a row of RMSNorm.
    const int64_t rows = std::max<int64_t>(1, std::min<int64_t>(kRowsPerTask, n / (8 * pool_->size())));
    pool_->parallel_for((n + rows - 1) / rows, [&](int64_t task, int worker) {
        const int64_t end = std::min(n, (task + 1) * rows);
        for (int64_t t = task * rows; t < end; ++t) fn(t, worker);
    });
}

void CpuBackend::embed(const WeightViews & w, const int32_t * tokens, int64_t n, int32_t dim, float * x) {
    per_row(n, [&](int64_t t, int) { embedding_rows(w, int64_t(tokens[t]), 1, dim, x + t * dim); });
}

void CpuBackend::rmsnorm(float * out, const float * x, const float * weight, int64_t n, int32_t dim, float eps) {
    per_row(n, [&](int64_t t, int) { dtm::rmsnorm(out + t * dim, x + t * dim, weight, dim, eps); });
}

void CpuBackend::linear(const Linear & w, const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n) {
    w.forward(x, ldx, y, ldy, n, *this);
}

void CpuBackend::add_bias(float * y, const float * bias, int64_t n, int32_t width) {
    per_row(n, [&](int64_t t, int) { dtm::add_bias(y + t * width, bias, width); });
}

void CpuBackend::add_residual(float * x, const float * d, int64_t n, int32_t width) {
    per_row(n, [&](int64_t t, int) {
        float * xt = x + t * width;
        const float * dt = d + t * width;
        for (int32_t i = 0; i < width; ++i) xt[i] += dt[i];
    });
}

void CpuBackend::rope_store_kv(float * q, float * k, const float * v, const int32_t * pos, const int64_t * seq_base,
                               int64_t n, const AttentionShape & s, const RopeTable & rope, float * key_cache,
                               float * value_cache) {
    const int64_t qd = int64_t(s.n_heads) * s.head_dim, kvd = int64_t(s.n_kv_heads) * s.head_dim;
    per_row(n, [&](int64_t t, int) {
        rope_rotate(q + t * qd, s.n_heads, s.head_dim, pos[t], rope);
        rope_rotate(k + t * kvd, s.n_kv_heads, s.head_dim, pos[t], rope);
        const int64_t row = seq_base[t] + pos[t];
        std::memcpy(key_cache + row * kvd, k + t * kvd, sizeof(float) * size_t(kvd));
        std::memcpy(value_cache + row * kvd, v + t * kvd, sizeof(float) * size_t(kvd));
    });
}

void CpuBackend::attention(float * att, const float * q, const float * key_cache, const float * value_cache,
                           const int32_t * pos, const int64_t * seq_base, int64_t n, const AttentionShape & s) {
    if (s.max_keys > max_keys_) {
        fail(DTM_ERR_INTERNAL, "attention over %d keys, the backend was made for %d", s.max_keys, max_keys_);
    }
    const int64_t qd = int64_t(s.n_heads) * s.head_dim, kvd = int64_t(s.n_kv_heads) * s.head_dim;
    const int32_t group = s.n_heads / s.n_kv_heads;
    const AttendFn attend = kernels_->attend;
    per_row(n, [&](int64_t t, int worker) {
        float * scores = &scores_[size_t(worker) * size_t(max_keys_)];
        for (int32_t h = 0; h < s.n_heads; ++h) {
            const int64_t kv_off = seq_base[t] * kvd + int64_t(h / group) * s.head_dim;
            attend(att + t * qd + int64_t(h) * s.head_dim, q + t * qd + int64_t(h) * s.head_dim, key_cache + kv_off,
                   value_cache + kv_off, kvd, pos[t] + 1, s.head_dim, scores);
        }
    });
}

void CpuBackend::swiglu(float * gate, const float * up, int64_t n, int32_t hidden) {
    const SwigluFn activate = kernels_->swiglu;
    per_row(n, [&](int64_t t, int) { activate(gate + t * hidden, up + t * hidden, hidden); });
}

void CpuBackend::row_stats(const float * logits, int64_t n, int32_t vocab, const int32_t * targets, RowStats * out) {
    const RowStatsFn stats = kernels_->row_stats;
    per_row(n, [&](int64_t t, int) { out[t] = stats(logits + t * vocab, vocab, targets ? targets[t] : -1); });
}

void CpuBackend::kl_exact(const float * base_logits, const float * base_lse, const float * logits, const float * lse,
                          int64_t n, int32_t vocab, float * out) {
    per_row(n, [&](int64_t t, int) {
        out[t] = float(dtm::kl_exact(base_logits + t * vocab, base_lse[t], logits + t * vocab, lse[t], vocab));
    });
}

void CpuBackend::kl_top_k(const int32_t * ids, const float * logprobs, int32_t k, const float * logits,
                          const float * lse, int64_t n, int32_t vocab, float * out) {
    per_row(n, [&](int64_t t, int) {
        out[t] = float(dtm::kl_top_k(ids + t * k, logprobs + t * k, k, logits + t * vocab, lse[t]));
    });
}

void CpuBackend::top_k(const float * logits, const float * lse, int64_t n, int32_t vocab, int32_t k, int32_t * ids,
                       float * logprobs) {
    per_row(n, [&](int64_t t, int) {
        const float * z = logits + t * vocab;
        int32_t * row_ids = ids + t * k;
        top_k_ids(z, vocab, k, row_ids);
        for (int32_t j = 0; j < k; ++j) logprobs[t * k + j] = z[row_ids[j]] - lse[t];
    });
}

const CpuBackend & require_cpu(const Backend & backend, const char * what) {
    const CpuBackend * cpu = backend.cpu();
    if (cpu == nullptr) {
        fail(DTM_ERR_UNSUPPORTED, "%s weights have no layout for device \"%s\" yet", what, backend.device());
    }
    return *cpu;
}

}  // namespace dtm::cpu
