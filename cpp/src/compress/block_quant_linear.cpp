// block_quant_linear.cpp - the q8_0 / q4_0 Linear (block_quant_linear.h).
#include "backend/cpu/cpu_backend.h"
#include "compress/block_quant_linear.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "compress/quantized_tensors.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/qblock_gemm.h"
#include "kernels/cpu/quant_kernels.h"
#include "kernels/cpu/quant_math.h"
#include "kernels/cpu/quantize_values.h"
#include "model/output_blocks.h"

namespace dtm::compress {

namespace {

// Tokens quantized by one task: enough work to be worth a task.
constexpr int64_t kTokensPerQuantizeTask = 16;

const char * format_name(dtm_weight_format format) { return format == DTM_FORMAT_Q4_0 ? "q4_0" : "q8_0"; }

bool fp16_is_finite(uint16_t h) { return (h & 0x7c00u) != 0x7c00u; }

void check_block_shape(dtm_weight_format format, int64_t rows, int64_t cols, dtm_status status) {
    if (format != DTM_FORMAT_Q8_0 && format != DTM_FORMAT_Q4_0) {
        fail(DTM_ERR_INVALID_ARGUMENT, "BlockQuantLinear holds q8_0 or q4_0, not format %d", int(format));
    }
    if (rows < 0 || cols < 0 || cols % cpu::kQBlockSize != 0) {
        fail(status, "%s stores blocks of 32 weights of a row: cols must be a multiple of 32, got a %lld x %lld matrix",
             format_name(format), static_cast<long long>(rows), static_cast<long long>(cols));
    }
}

}  // namespace

int64_t stored_block_bytes(dtm_weight_format format) {
    return 2 + (format == DTM_FORMAT_Q4_0 ? cpu::kQBlockSize / 2 : cpu::kQBlockSize);
}

BlockQuantLinear::BlockQuantLinear(cpu::QBlockPanels weights) : w_(std::move(weights)) {
    // The effective weights of dense_weights(), counted without storing them.
    const int64_t cols = w_.cols();
    int64_t n = 0;
    for (int64_t o = 0; o < w_.rows(); ++o) {
        for (int64_t k = 0; k < cols; ++k) {
            const float d = cpu::fp16_to_fp32(w_.scale_at(o, k / cpu::kQBlockSize));
            n += d * float(w_.value_at(o, k)) != 0.0f;
        }
    }
    nonzeros_ = n;
}

std::shared_ptr<const BlockQuantLinear> BlockQuantLinear::quantize(dtm_weight_format format, const float * w,
                                                                   int64_t rows, int64_t cols) {
    check_block_shape(format, rows, cols, DTM_ERR_INVALID_ARGUMENT);
    require_finite_weights(w, rows, cols, format_name(format));
    const int64_t n_blocks = cols / cpu::kQBlockSize;
    std::vector<int8_t> q(static_cast<size_t>(rows * cols));
    std::vector<uint16_t> d(static_cast<size_t>(rows * n_blocks));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < n_blocks; ++b) {
            const float * block = w + r * cols + b * cpu::kQBlockSize;
            int8_t * qb = q.data() + r * cols + b * cpu::kQBlockSize;
            const uint16_t db = format == DTM_FORMAT_Q4_0 ? cpu::quantize_block_q4_0(block, qb)
                                                          : cpu::quantize_block_q8_0(block, qb, nullptr);
            if (!fp16_is_finite(db)) {
                fail(DTM_ERR_INVALID_ARGUMENT, "%s: block %lld of row %lld has weights too large for an fp16 scale",
                     format_name(format), static_cast<long long>(b), static_cast<long long>(r));
            }
            d[size_t(r * n_blocks + b)] = db;
        }
    }
    return std::make_shared<BlockQuantLinear>(cpu::QBlockPanels::pack(format, q.data(), d.data(), rows, cols));
}

std::shared_ptr<const BlockQuantLinear> BlockQuantLinear::restore(dtm_weight_format format, int64_t rows, int64_t cols,
                                                                  const std::vector<StoredTensor> & tensors) {
    check_block_shape(format, rows, cols, DTM_ERR_MODEL_FORMAT);
    const int64_t n_blocks = cols / cpu::kQBlockSize, bpb = stored_block_bytes(format);
    const StoredTensor & t = find_stored(tensors, "blocks", "U8", {rows, n_blocks * bpb});
    std::vector<int8_t> q(static_cast<size_t>(rows * cols));
    std::vector<uint16_t> d(static_cast<size_t>(rows * n_blocks));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < n_blocks; ++b) {
            const uint8_t * src = t.bytes.data() + (r * n_blocks + b) * bpb;
            const uint16_t db = static_cast<uint16_t>(src[0] | (src[1] << 8));
            const bool negative = (db & 0x8000u) != 0;
            if (!fp16_is_finite(db) || (format == DTM_FORMAT_Q8_0 && negative)) {
                fail(DTM_ERR_MODEL_FORMAT, "%s: stored block %lld of row %lld has scale %g", format_name(format),
                     static_cast<long long>(b), static_cast<long long>(r), double(cpu::fp16_to_fp32(db)));
            }
            d[size_t(r * n_blocks + b)] = db;
            int8_t * qb = q.data() + r * cols + b * cpu::kQBlockSize;
            for (int64_t j = 0; j < cpu::kQBlockSize; ++j) {
                if (format == DTM_FORMAT_Q8_0) {
                    qb[j] = static_cast<int8_t>(src[2 + j]);
                    if (qb[j] == -128) {
                        fail(DTM_ERR_MODEL_FORMAT, "q8_0: stored block %lld of row %lld holds -128 (values are in [-127, 127])",
                             static_cast<long long>(b), static_cast<long long>(r));
                    }
                } else {
                    const uint8_t byte = src[2 + j % 16];
                    qb[j] = static_cast<int8_t>((j < 16 ? (byte & 0x0f) : (byte >> 4)) - 8);
                }
            }
        }
    }
    return std::make_shared<BlockQuantLinear>(cpu::QBlockPanels::pack(format, q.data(), d.data(), rows, cols));
}

size_t BlockQuantLinear::storage_bytes() const {
    return static_cast<size_t>(w_.n_panels() * w_.n_blocks() * (w_.block_bytes() + cpu::kPanelRows * 2));
}

void BlockQuantLinear::dense_weights(float * out) const {
    const int64_t cols = w_.cols();
    for (int64_t o = 0; o < w_.rows(); ++o) {
        for (int64_t k = 0; k < cols; ++k) {
            const float d = cpu::fp16_to_fp32(w_.scale_at(o, k / cpu::kQBlockSize));
            out[o * cols + k] = d * float(w_.value_at(o, k));
        }
    }
}

std::vector<StoredTensor> BlockQuantLinear::stored_tensors() const {
    const dtm_weight_format format = w_.format();
    const int64_t rows = w_.rows(), cols = w_.cols(), n_blocks = w_.n_blocks(), bpb = stored_block_bytes(format);
    std::vector<int8_t> q(static_cast<size_t>(rows * cols));
    std::vector<uint16_t> d(static_cast<size_t>(rows * n_blocks));
    w_.unpack(q.data(), d.data());
    StoredTensor t{"blocks", "U8", {rows, n_blocks * bpb}, {}};
    t.bytes.assign(static_cast<size_t>(rows * n_blocks * bpb), 0);
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < n_blocks; ++b) {
            uint8_t * dst = t.bytes.data() + (r * n_blocks + b) * bpb;
            const uint16_t db = d[size_t(r * n_blocks + b)];
            dst[0] = static_cast<uint8_t>(db & 0xff);
            dst[1] = static_cast<uint8_t>(db >> 8);
            const int8_t * qb = q.data() + r * cols + b * cpu::kQBlockSize;
            for (int64_t j = 0; j < cpu::kQBlockSize; ++j) {
                if (format == DTM_FORMAT_Q8_0) {
                    dst[2 + j] = static_cast<uint8_t>(qb[j]);
                } else {
                    const uint8_t nibble = static_cast<uint8_t>(qb[j] + 8);
                    dst[2 + j % 16] |= j < 16 ? nibble : static_cast<uint8_t>(nibble << 4);
                }
            }
        }
    }
    std::vector<StoredTensor> tensors;
    tensors.push_back(std::move(t));
    return tensors;
}

void BlockQuantLinear::forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                               const Backend & backend) const {
    const cpu::CpuBackend & cpu = cpu::require_cpu(backend, "q8_0/q4_0");
    ThreadPool & pool = cpu.pool();
    const cpu::KernelTable & kernels = cpu.kernels();
    if (n_tokens <= 0) return;
    const cpu::QuantKernels & qk = kernels.quant;
    const int64_t rows = w_.rows(), cols = w_.cols(), n_blocks = w_.n_blocks();

    // 1. Each token's activations to q8_0 blocks.
    std::vector<int8_t> q(static_cast<size_t>(n_tokens * cols), 0);
    std::vector<float> d(static_cast<size_t>(n_tokens * n_blocks), 0.0f);
    std::vector<int32_t> q_sum(static_cast<size_t>(n_tokens * n_blocks), 0);
    std::vector<uint8_t> finite(static_cast<size_t>(n_tokens), 1);
    const int64_t token_chunks = (n_tokens + kTokensPerQuantizeTask - 1) / kTokensPerQuantizeTask;
    pool.parallel_for(token_chunks, [&](int64_t chunk, int) {
        const int64_t t0 = chunk * kTokensPerQuantizeTask;
        const int64_t nt = std::min(kTokensPerQuantizeTask, n_tokens - t0);
        qk.quantize_tokens_q8_0(x + t0 * ldx, ldx, nt, cols, q.data() + t0 * cols, cols, d.data() + t0 * n_blocks,
                                q_sum.data() + t0 * n_blocks, n_blocks, finite.data() + t0);
    });

    // 2. The block product, then NaN for the tokens that could not be quantized.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for_each_output_block(pool, w_.n_panels(), n_tokens, [&](int64_t p0, int64_t p1, int64_t t0, int64_t nt) {
        const cpu::QBlockTokens tokens{q.data() + t0 * cols, cols, d.data() + t0 * n_blocks,
                                       q_sum.data() + t0 * n_blocks, n_blocks};
        qk.qblock_gemm(w_, tokens, nt, y + t0 * ldy, ldy, p0, p1);
        for (int64_t t = t0; t < t0 + nt; ++t) {
            if (finite[size_t(t)]) continue;
            for (int64_t o = p0 * cpu::kPanelRows; o < std::min(rows, p1 * cpu::kPanelRows); ++o) y[t * ldy + o] = nan;
        }
    });
}

}  // namespace dtm::compress
