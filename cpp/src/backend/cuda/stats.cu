// stats.cu - per-position statistics on the device (backend.h): only one
// row of results per position goes back to the host.
//
//   row_stats: argmax (ties to the lowest id; the first NaN when there is
//              one), max, logsumexp = max + log(sum exp(z - max)) with exp
//              and the sum in double, and the target's logit
//              (kernels/cpu/row_stats.h); argmax and max are exact, the
//              sum is a fixed tree instead of the CPU's sequence.
//   kl_exact:  sum_v p_F (log p_F - log p_C) in double, a fixed tree, clamped at 0.
//   kl_top_k:  the CPU's loop over the k entries (one thread per row), in double.
//   top_k:     k rounds of a block-wide argmax under the order (value desc,
//              id asc), each round after the previous winner: the CPU's
//              top_k_ids for rows without NaN.
#include <cfloat>

#include "backend/cuda/cuda_common.cuh"

namespace dtm::cuda {

namespace {

constexpr int kThreads = 256;

struct Best {
    float v;
    int32_t i;
};

// a before b: larger value, or equal value and lower id; an empty slot (i < 0) never wins.
__device__ __forceinline__ bool before(Best a, Best b) {
    if (a.i < 0) return false;
    if (b.i < 0) return true;
    return a.v > b.v || (a.v == b.v && a.i < b.i);
}

__device__ Best block_best(Best mine, float * sv, int32_t * si) {
    sv[threadIdx.x] = mine.v;
    si[threadIdx.x] = mine.i;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) {
            const Best a{sv[threadIdx.x], si[threadIdx.x]}, b{sv[threadIdx.x + s], si[threadIdx.x + s]};
            if (before(b, a)) {
                sv[threadIdx.x] = b.v;
                si[threadIdx.x] = b.i;
            }
        }
        __syncthreads();
    }
    const Best out{sv[0], si[0]};
    __syncthreads();
    return out;
}

__device__ double block_sum_double(double v, double * shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) shared[threadIdx.x] = shared[threadIdx.x] + shared[threadIdx.x + s];
        __syncthreads();
    }
    const double total = shared[0];
    __syncthreads();
    return total;
}

__device__ int32_t block_min_int(int32_t v, int32_t * shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) shared[threadIdx.x] = min(shared[threadIdx.x], shared[threadIdx.x + s]);
        __syncthreads();
    }
    const int32_t m = shared[0];
    __syncthreads();
    return m;
}

// One block per row of logits.
__global__ void __launch_bounds__(kThreads) row_stats_kernel(const float * __restrict__ logits, int32_t vocab,
                                                             const int32_t * __restrict__ targets,
                                                             int32_t * __restrict__ argmax, float * __restrict__ max,
                                                             float * __restrict__ lse, float * __restrict__ target) {
    __shared__ float sv[kThreads];
    __shared__ int32_t si[kThreads];
    __shared__ double sd[kThreads];
    const int64_t t = blockIdx.x;
    const float * z = logits + t * vocab;
    int32_t first_nan = INT32_MAX;
    Best mine{-INFINITY, -1};
    for (int32_t i = threadIdx.x; i < vocab; i += kThreads) {
        const float v = z[i];
        if (isnan(v)) {
            if (i < first_nan) first_nan = i;
            continue;
        }
        if (mine.i < 0 || v > mine.v) mine = Best{v, i};
    }
    first_nan = block_min_int(first_nan, si);
    const Best best = block_best(mine, sv, si);
    const float tl = targets != nullptr && targets[t] >= 0 ? z[targets[t]] : __int_as_float(0x7fc00000);
    if (first_nan != INT32_MAX) {
        if (threadIdx.x == 0) {
            argmax[t] = first_nan;
            max[t] = lse[t] = __int_as_float(0x7fc00000);
            target[t] = tl;
        }
        return;
    }
    const float m = best.v;
    if (isinf(m)) {
        if (threadIdx.x == 0) {
            argmax[t] = best.i;
            max[t] = lse[t] = m;
            target[t] = tl;
        }
        return;
    }
    double part = 0.0;
    for (int32_t i = threadIdx.x; i < vocab; i += kThreads) part = part + exp(double(z[i]) - double(m));
    const double sum = block_sum_double(part, sd);
    if (threadIdx.x == 0) {
        argmax[t] = best.i;
        max[t] = m;
        lse[t] = float(double(m) + log(sum));
        target[t] = tl;
    }
}

__global__ void __launch_bounds__(kThreads) kl_exact_kernel(const float * __restrict__ zf_all,
                                                            const float * __restrict__ lse_f,
                                                            const float * __restrict__ zc_all,
                                                            const float * __restrict__ lse_c, int32_t vocab,
                                                            float * __restrict__ out) {
    __shared__ double sd[kThreads];
    const int64_t t = blockIdx.x;
    const float * zf = zf_all + t * vocab;
    const float * zc = zc_all + t * vocab;
    double kl = 0.0;
    for (int32_t v = threadIdx.x; v < vocab; v += kThreads) {
        const double lpf = double(zf[v]) - double(lse_f[t]);
        const double lpc = double(zc[v]) - double(lse_c[t]);
        const double p = exp(lpf);
        if (p != 0.0) kl = kl + p * (lpf - lpc);
    }
    kl = block_sum_double(kl, sd);
    if (threadIdx.x == 0) out[t] = float(kl < 0.0 ? 0.0 : kl);
}

__global__ void kl_top_k_kernel(const int32_t * __restrict__ ids, const float * __restrict__ logprobs, int32_t k,
                                const float * __restrict__ logits, const float * __restrict__ lse, int64_t n,
                                int32_t vocab, float * __restrict__ out) {
    const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (t >= n) return;
    const float * zc = logits + t * vocab;
    double kl = 0.0, mass_f = 0.0, mass_c = 0.0;
    for (int32_t j = 0; j < k; ++j) {
        const double lpf = logprobs[t * k + j];
        const double lpc = double(zc[ids[t * k + j]]) - double(lse[t]);
        const double p = exp(lpf);
        mass_f = mass_f + p;
        mass_c = mass_c + exp(lpc);
        if (p != 0.0) kl = kl + p * (lpf - lpc);
    }
    const double tf = 1.0 - mass_f, tc = 1.0 - mass_c;
    if (tf > 1e-6) kl = kl + tf * (log(tf) - log(tc < 1e-30 ? 1e-30 : tc));
    out[t] = float(kl < 0.0 ? 0.0 : kl);
}

__global__ void __launch_bounds__(kThreads) top_k_kernel(const float * __restrict__ logits,
                                                         const float * __restrict__ lse, int32_t vocab, int32_t k,
                                                         int32_t * __restrict__ ids, float * __restrict__ logprobs) {
    __shared__ float sv[kThreads];
    __shared__ int32_t si[kThreads];
    const int64_t t = blockIdx.x;
    const float * z = logits + t * vocab;
    Best prev{INFINITY, -1};
    for (int32_t r = 0; r < k; ++r) {
        Best mine{-INFINITY, -1};
        for (int32_t i = threadIdx.x; i < vocab; i += kThreads) {
            const float v = z[i];
            if (isnan(v)) continue;
            const bool after = r == 0 || v < prev.v || (v == prev.v && i > prev.i);
            if (after && (mine.i < 0 || v > mine.v)) mine = Best{v, i};
        }
        const Best b = block_best(mine, sv, si);
        if (threadIdx.x == 0) {
            ids[t * k + r] = b.i < 0 ? 0 : b.i;
            logprobs[t * k + r] = b.i < 0 ? -INFINITY : z[b.i] - lse[t];
        }
        prev = b;
    }
}

void check_rows(int64_t n, int32_t vocab) {
    if (n > int64_t(INT32_MAX) || vocab < 1) fail(DTM_ERR_INVALID_ARGUMENT, "row statistics need 1 or more logits per row");
}

}  // namespace

int32_t row_stats(dtm_cuda_context * ctx, const float * logits, int64_t n, int32_t vocab, const int32_t * targets,
                  int32_t * argmax, float * max, float * lse, float * target_logit) {
    return guard([&] {
        if (n <= 0) return;
        check_rows(n, vocab);
        if (targets) {
            for (int64_t t = 0; t < n; ++t) {
                if (targets[t] >= vocab) {
                    fail(DTM_ERR_TOKEN_OUT_OF_RANGE, "target " + std::to_string(targets[t]) + " is outside the " +
                                                         std::to_string(vocab) + " logits");
                }
            }
        }
        use(ctx);
        const int32_t * d_targets = targets ? stage(ctx, kHostInts, targets, size_t(n)) : nullptr;
        auto * res = static_cast<float *>(scratch(ctx, kResults, size_t(n) * 4 * sizeof(float)));
        auto * d_argmax = reinterpret_cast<int32_t *>(res);
        row_stats_kernel<<<unsigned(n), kThreads, 0, ctx->stream>>>(logits, vocab, d_targets, d_argmax, res + n,
                                                                     res + 2 * n, res + 3 * n);
        check_launch("row_stats");
        fetch(ctx, argmax, d_argmax, size_t(n) * sizeof(int32_t));
        fetch(ctx, max, res + n, size_t(n) * sizeof(float));
        fetch(ctx, lse, res + 2 * n, size_t(n) * sizeof(float));
        fetch(ctx, target_logit, res + 3 * n, size_t(n) * sizeof(float));
    });
}

int32_t kl_exact(dtm_cuda_context * ctx, const float * base_logits, const float * base_lse, const float * logits,
                 const float * lse, int64_t n, int32_t vocab, float * out) {
    return guard([&] {
        if (n <= 0) return;
        check_rows(n, vocab);
        use(ctx);
        // base_lse then lse, one staging buffer
        auto * lses = static_cast<float *>(scratch(ctx, kHostFloats, 2 * size_t(n) * sizeof(float)));
        check(cudaMemcpyAsync(lses, base_lse, size_t(n) * sizeof(float), cudaMemcpyHostToDevice, ctx->stream),
              "cudaMemcpyAsync (upload)");
        check(cudaMemcpyAsync(lses + n, lse, size_t(n) * sizeof(float), cudaMemcpyHostToDevice, ctx->stream),
              "cudaMemcpyAsync (upload)");
        auto * res = static_cast<float *>(scratch(ctx, kResults, size_t(n) * sizeof(float)));
        kl_exact_kernel<<<unsigned(n), kThreads, 0, ctx->stream>>>(base_logits, lses, logits, lses + n, vocab, res);
        check_launch("kl_exact");
        fetch(ctx, out, res, size_t(n) * sizeof(float));
    });
}

int32_t kl_top_k(dtm_cuda_context * ctx, const int32_t * ids, const float * logprobs, int32_t k,
                 const float * logits, const float * lse, int64_t n, int32_t vocab, float * out) {
    return guard([&] {
        if (n <= 0) return;
        check_rows(n, vocab);
        if (k < 1) fail(DTM_ERR_INVALID_ARGUMENT, "kl_top_k: k must be >= 1");
        for (int64_t i = 0; i < n * k; ++i) {
            if (ids[i] < 0 || ids[i] >= vocab) fail(DTM_ERR_TOKEN_OUT_OF_RANGE, "kl_top_k: id " + std::to_string(ids[i]) + " is outside the vocabulary");
        }
        use(ctx);
        const int32_t * d_ids = stage(ctx, kHostInts, ids, size_t(n) * size_t(k));
        // log-probabilities (n, k) then lse (n), one staging buffer
        auto * f = static_cast<float *>(scratch(ctx, kHostFloats, (size_t(n) * size_t(k) + size_t(n)) * sizeof(float)));
        check(cudaMemcpyAsync(f, logprobs, size_t(n) * size_t(k) * sizeof(float), cudaMemcpyHostToDevice, ctx->stream),
              "cudaMemcpyAsync (upload)");
        check(cudaMemcpyAsync(f + n * k, lse, size_t(n) * sizeof(float), cudaMemcpyHostToDevice, ctx->stream),
              "cudaMemcpyAsync (upload)");
        auto * res = static_cast<float *>(scratch(ctx, kResults, size_t(n) * sizeof(float)));
        kl_top_k_kernel<<<blocks_for(n, 128), 128, 0, ctx->stream>>>(d_ids, f, k, logits, f + n * k, n, vocab, res);
        check_launch("kl_top_k");
        fetch(ctx, out, res, size_t(n) * sizeof(float));
    });
}

int32_t top_k(dtm_cuda_context * ctx, const float * logits, const float * lse, int64_t n, int32_t vocab, int32_t k,
              int32_t * ids, float * logprobs) {
    return guard([&] {
        if (n <= 0) return;
        check_rows(n, vocab);
        if (k < 1 || k > vocab) fail(DTM_ERR_INVALID_ARGUMENT, "top_k: k must be in [1, vocab]");
        use(ctx);
        const float * d_lse = stage(ctx, kHostFloats, lse, size_t(n));
        // ids (n, k) then log-probabilities (n, k), one result buffer
        auto * res = static_cast<int32_t *>(scratch(ctx, kResults, 2 * size_t(n) * size_t(k) * sizeof(int32_t)));
        auto * d_lp = reinterpret_cast<float *>(res + n * k);
        top_k_kernel<<<unsigned(n), kThreads, 0, ctx->stream>>>(logits, d_lse, vocab, k, res, d_lp);
        check_launch("top_k");
        fetch(ctx, ids, res, size_t(n) * size_t(k) * sizeof(int32_t));
        fetch(ctx, logprobs, d_lp, size_t(n) * size_t(k) * sizeof(float));
    });
}

}  // namespace dtm::cuda
