// int8_linear.cpp - the W8A8 int8 Linear, naive and with LLM.int8() outliers
// (int8_linear.h states the arithmetic).
#include "backend/cpu/cpu_backend.h"
#include "compress/int8_linear.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "compress/quantized_tensors.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/int8_gemm.h"
#include "kernels/cpu/quant_kernels.h"
#include "kernels/cpu/quantize_tokens.h"
#include "kernels/cpu/quantize_values.h"
#include "model/output_blocks.h"

namespace dtm::compress {

namespace {

// Tokens quantized by one task: enough work to be worth a task.
constexpr int64_t kTokensPerQuantizeTask = 16;

const char * format_name(dtm_weight_format format) {
    return format == DTM_FORMAT_INT8_OUTLIER ? "int8 with outliers" : "int8";
}

void check_int8_cols(dtm_weight_format format, int64_t rows, int64_t cols) {
    if (cols > cpu::kInt8MaxCols) {
        fail(DTM_ERR_INVALID_ARGUMENT,
             "%s: a %lld x %lld matrix has more than %lld input features, the int32 accumulators could overflow",
             format_name(format), static_cast<long long>(rows), static_cast<long long>(cols),
             static_cast<long long>(cpu::kInt8MaxCols));
    }
}

// The activations of a batch as the int8 product reads them, plus what the
// Linear needs around it (finiteness, outlier features).
struct QuantizedTokens {
    std::vector<int8_t> q;       // (n_tokens, ldq), zero-padded
    int64_t ldq = 0;
    std::vector<int32_t> q_sum;  // (n_tokens)
    std::vector<float> scale;    // (n_tokens)
    std::vector<uint8_t> finite; // (n_tokens): 0 when the token has a NaN or inf
    std::vector<std::vector<int32_t>> outliers;  // (n_tokens): outlier features, increasing
};

}  // namespace

Int8Linear::Int8Linear(dtm_weight_format format, const int8_t * q, const float * scale, int64_t rows, int64_t cols,
                       float outlier_threshold)
    : format_(format),
      threshold_(format == DTM_FORMAT_INT8_OUTLIER ? outlier_threshold : std::numeric_limits<float>::infinity()) {
    if (format != DTM_FORMAT_INT8 && format != DTM_FORMAT_INT8_OUTLIER) {
        fail(DTM_ERR_INVALID_ARGUMENT, "Int8Linear holds int8 or int8 with outliers, not format %d", int(format));
    }
    check_int8_cols(format, rows, cols);
    w_ = cpu::Int8Panels::pack(q, rows, cols);
    scale_.assign(static_cast<size_t>(w_.n_panels() * cpu::kPanelRows), 0.0f);
    if (rows > 0) std::memcpy(scale_.data(), scale, static_cast<size_t>(rows) * sizeof(float));
    int64_t n = 0;
    for (int64_t i = 0; i < rows * cols; ++i) n += q[i] != 0 && scale[i / cols] != 0.0f;
    nonzeros_ = n;
}

std::shared_ptr<const Int8Linear> Int8Linear::quantize(dtm_weight_format format, const float * w, int64_t rows,
                                                       int64_t cols, float outlier_threshold) {
    float threshold = outlier_threshold;
    if (format == DTM_FORMAT_INT8_OUTLIER) {
        if (!(std::isfinite(threshold) && threshold >= 0.0f)) {
            fail(DTM_ERR_INVALID_ARGUMENT, "int8 with outliers: the outlier threshold must be a finite number >= 0 "
                                           "(0 = %g), got %g", double(kDefaultOutlierThreshold), double(threshold));
        }
        if (threshold == 0.0f) threshold = kDefaultOutlierThreshold;
    }
    require_finite_weights(w, rows, cols, format_name(format));
    check_int8_cols(format, rows, cols);
    std::vector<int8_t> q(static_cast<size_t>(rows * cols));
    std::vector<float> scale(static_cast<size_t>(rows));
    quantize_rows_int8(w, rows, cols, q.data(), scale.data());
    return std::make_shared<Int8Linear>(format, q.data(), scale.data(), rows, cols, threshold);
}

std::shared_ptr<const Int8Linear> Int8Linear::restore(dtm_weight_format format, int64_t rows, int64_t cols,
                                                      const std::vector<StoredTensor> & tensors) {
    std::vector<int8_t> q;
    std::vector<float> scale;
    read_int8_tensors(tensors, rows, cols, q, scale);
    float threshold = 0.0f;
    if (format == DTM_FORMAT_INT8_OUTLIER) {
        const StoredTensor & t = find_stored(tensors, "outlier_threshold", "F32", {1});
        std::memcpy(&threshold, t.bytes.data(), sizeof threshold);
        if (!(std::isfinite(threshold) && threshold > 0.0f)) {
            fail(DTM_ERR_MODEL_FORMAT, "stored tensor 'outlier_threshold' is %g: it must be finite and > 0",
                 double(threshold));
        }
    }
    if (cols > cpu::kInt8MaxCols) {
        fail(DTM_ERR_MODEL_FORMAT, "%s: stored matrix has %lld input features, at most %lld are supported",
             format_name(format), static_cast<long long>(cols), static_cast<long long>(cpu::kInt8MaxCols));
    }
    return std::make_shared<Int8Linear>(format, q.data(), scale.data(), rows, cols, threshold);
}

size_t Int8Linear::storage_bytes() const {
    return w_.bytes() + static_cast<size_t>(rows()) * sizeof(float) +
           (format_ == DTM_FORMAT_INT8_OUTLIER ? sizeof(float) : 0);
}

void Int8Linear::dense_weights(float * out) const {
    const int64_t cols = w_.cols();
    for (int64_t o = 0; o < w_.rows(); ++o) {
        for (int64_t k = 0; k < cols; ++k) out[o * cols + k] = float(w_.at(o, k)) * scale_[size_t(o)];
    }
}

std::vector<StoredTensor> Int8Linear::stored_tensors() const {
    const int64_t rows = w_.rows(), cols = w_.cols();
    std::vector<int8_t> q(static_cast<size_t>(rows * cols));
    w_.unpack(q.data());
    std::vector<StoredTensor> tensors;
    tensors.push_back(make_tensor("weight", "I8", {rows, cols}, q.data(), q.size()));
    tensors.push_back(make_tensor("weight_scale", "F32", {rows}, scale_.data(), static_cast<size_t>(rows) * sizeof(float)));
    if (format_ == DTM_FORMAT_INT8_OUTLIER) {
        tensors.push_back(make_tensor("outlier_threshold", "F32", {1}, &threshold_, sizeof threshold_));
    }
    return tensors;
}

void Int8Linear::forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                         const Backend & backend) const {
    const cpu::CpuBackend & cpu = cpu::require_cpu(backend, "int8");
    ThreadPool & pool = cpu.pool();
    const cpu::KernelTable & kernels = cpu.kernels();
    if (n_tokens <= 0) return;
    const cpu::QuantKernels & qk = kernels.quant;
    const int64_t rows = w_.rows(), cols = w_.cols();
    const bool with_outliers = format_ == DTM_FORMAT_INT8_OUTLIER;

    // 1. Quantize each token's activations (outlier features set apart).
    QuantizedTokens xq;
    xq.ldq = w_.k_groups() * cpu::kInt8GroupK;
    xq.q.assign(static_cast<size_t>(n_tokens * xq.ldq), 0);
    xq.q_sum.assign(static_cast<size_t>(n_tokens), 0);
    xq.scale.assign(static_cast<size_t>(n_tokens), 0.0f);
    xq.finite.assign(static_cast<size_t>(n_tokens), 1);
    xq.outliers.resize(with_outliers ? static_cast<size_t>(n_tokens) : 0);
    const int64_t token_chunks = (n_tokens + kTokensPerQuantizeTask - 1) / kTokensPerQuantizeTask;
    pool.parallel_for(token_chunks, [&](int64_t chunk, int) {
        const int64_t t0 = chunk * kTokensPerQuantizeTask;
        const int64_t nt = std::min(kTokensPerQuantizeTask, n_tokens - t0);
        qk.quantize_tokens_int8(x + t0 * ldx, ldx, nt, cols, threshold_, xq.q.data() + t0 * xq.ldq, xq.ldq,
                                xq.scale.data() + t0, xq.q_sum.data() + t0, xq.finite.data() + t0);
        if (!with_outliers) return;
        for (int64_t t = t0; t < t0 + nt; ++t) {
            const float * xt = x + t * ldx;
            for (int64_t k = 0; k < cols; ++k) {
                if (std::fabs(xt[k]) > threshold_) xq.outliers[size_t(t)].push_back(int32_t(k));
            }
        }
    });

    // 2. The int8 product, then per token NaN or the fp32 outlier part.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for_each_output_block(pool, w_.n_panels(), n_tokens, [&](int64_t p0, int64_t p1, int64_t t0, int64_t nt) {
        const cpu::Int8Tokens tokens{xq.q.data() + t0 * xq.ldq, xq.ldq, xq.q_sum.data() + t0, xq.scale.data() + t0};
        qk.int8_gemm(w_, scale_.data(), tokens, nt, y + t0 * ldy, ldy, p0, p1);
        const int64_t o_end = std::min(rows, p1 * cpu::kPanelRows);
        for (int64_t t = t0; t < t0 + nt; ++t) {
            float * yt = y + t * ldy;
            if (!xq.finite[size_t(t)]) {
                for (int64_t o = p0 * cpu::kPanelRows; o < o_end; ++o) yt[o] = nan;
                continue;
            }
            if (!with_outliers || xq.outliers[size_t(t)].empty()) continue;
            const float * xt = x + t * ldx;
            for (int64_t o = p0 * cpu::kPanelRows; o < o_end; ++o) {
                float s = 0.0f;
                for (const int32_t j : xq.outliers[size_t(t)]) s = s + xt[j] * (float(w_.at(o, j)) * scale_[size_t(o)]);
                yt[o] = yt[o] + s;
            }
        }
    });
}

}  // namespace dtm::compress
