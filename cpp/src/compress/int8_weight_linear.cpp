// int8_weight_linear.cpp - the weight-only int8 Linear (int8_weight_linear.h).
#include "backend/cpu/cpu_backend.h"
#include "compress/int8_weight_linear.h"

#include <cstring>

#include "compress/quantized_tensors.h"
#include "core/thread_pool.h"
#include "kernels/cpu/quant_kernels.h"
#include "model/output_blocks.h"

namespace dtm::compress {

Int8WeightLinear::Int8WeightLinear(const int8_t * q, const float * scale, int64_t rows, int64_t cols)
    : w_(cpu::Int8KMajorPanels::pack(q, rows, cols)) {
    scale_.assign(static_cast<size_t>(w_.n_panels() * cpu::kPanelRows), 0.0f);
    if (rows > 0) std::memcpy(scale_.data(), scale, static_cast<size_t>(rows) * sizeof(float));
    int64_t n = 0;
    for (int64_t i = 0; i < rows * cols; ++i) n += q[i] != 0 && scale[i / cols] != 0.0f;
    nonzeros_ = n;
}

std::shared_ptr<const Int8WeightLinear> Int8WeightLinear::quantize(const float * w, int64_t rows, int64_t cols) {
    require_finite_weights(w, rows, cols, "int8 weight-only");
    std::vector<int8_t> q(static_cast<size_t>(rows * cols));
    std::vector<float> scale(static_cast<size_t>(rows));
    quantize_rows_int8(w, rows, cols, q.data(), scale.data());
    return std::make_shared<Int8WeightLinear>(q.data(), scale.data(), rows, cols);
}

std::shared_ptr<const Int8WeightLinear> Int8WeightLinear::restore(int64_t rows, int64_t cols,
                                                                  const std::vector<StoredTensor> & tensors) {
    std::vector<int8_t> q;
    std::vector<float> scale;
    read_int8_tensors(tensors, rows, cols, q, scale);
    return std::make_shared<Int8WeightLinear>(q.data(), scale.data(), rows, cols);
}

void Int8WeightLinear::dense_weights(float * out) const {
    const int64_t rows = w_.rows(), cols = w_.cols();
    std::vector<int8_t> q(static_cast<size_t>(rows * cols));
    w_.unpack(q.data());
    for (int64_t i = 0; i < rows * cols; ++i) out[i] = float(q[size_t(i)]) * scale_[size_t(i / cols)];
}

std::vector<StoredTensor> Int8WeightLinear::stored_tensors() const {
    const int64_t rows = w_.rows(), cols = w_.cols();
    std::vector<int8_t> q(static_cast<size_t>(rows * cols));
    w_.unpack(q.data());
    std::vector<StoredTensor> tensors;
    tensors.push_back(make_tensor("weight", "I8", {rows, cols}, q.data(), q.size()));
    tensors.push_back(make_tensor("weight_scale", "F32", {rows}, scale_.data(), static_cast<size_t>(rows) * sizeof(float)));
    return tensors;
}

void Int8WeightLinear::forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                               const Backend & backend) const {
    const cpu::CpuBackend & cpu = cpu::require_cpu(backend, "int8-weight");
    ThreadPool & pool = cpu.pool();
    const cpu::KernelTable & kernels = cpu.kernels();
    const auto matmul = kernels.quant.int8_weight_matmul;
    for_each_output_block(pool, w_.n_panels(), n_tokens, [&](int64_t p0, int64_t p1, int64_t t0, int64_t nt) {
        matmul(w_, scale_.data(), x + t0 * ldx, ldx, y + t0 * ldy, ldy, nt, p0, p1);
    });
}

}  // namespace dtm::compress
