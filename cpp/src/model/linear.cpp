#include "backend/cpu/cpu_backend.h"
#include "model/linear.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "model/output_blocks.h"
#include "model/safetensors_file.h"

namespace dtm {

DenseLinear::DenseLinear(cpu::PackedMatrix weights) : w_(std::move(weights)) {}

int64_t DenseLinear::nonzeros() const {
    return nonzeros_.get([this] {
        int64_t n = 0;
        for (int64_t p = 0; p < w_.n_panels(); ++p) {
            const float * panel = w_.panel(p);
            // Padding rows of the last panel are zero and do not count.
            for (int64_t i = 0; i < w_.cols() * cpu::kPanelRows; ++i) n += panel[i] != 0.0f;
        }
        return n;
    });
}

std::shared_ptr<const DenseLinear> DenseLinear::from_rows(const float * w, int64_t rows, int64_t cols) {
    return std::make_shared<DenseLinear>(cpu::PackedMatrix::pack(w, rows, cols, cols));
}

void DenseLinear::dense_weights(float * out) const { w_.unpack(out, w_.cols()); }

std::vector<StoredTensor> DenseLinear::stored_tensors() const {
    StoredTensor t{"weight", "F32", {w_.rows(), w_.cols()}, {}};
    t.bytes.resize(size_t(w_.rows() * w_.cols()) * sizeof(float));
    dense_weights(reinterpret_cast<float *>(t.bytes.data()));
    return {std::move(t)};
}

std::shared_ptr<const DenseLinear> DenseLinear::restore(int64_t rows, int64_t cols,
                                                        const std::vector<StoredTensor> & tensors) {
    const StoredTensor & w = find_stored(tensors, "weight", "F32", {rows, cols});
    return from_rows(reinterpret_cast<const float *>(w.bytes.data()), rows, cols);
}

const StoredTensor & find_stored(const std::vector<StoredTensor> & tensors, const std::string & name,
                                 const std::string & dtype, const std::vector<int64_t> & shape) {
    for (const StoredTensor & t : tensors) {
        if (t.name != name) continue;
        if (t.dtype != dtype) {
            throw Error(DTM_ERR_MODEL_FORMAT, "stored tensor '" + name + "' has dtype " + t.dtype +
                                                  ", expected " + dtype);
        }
        if (t.shape != shape) throw Error(DTM_ERR_MODEL_FORMAT, "stored tensor '" + name + "' has the wrong shape");
        int64_t elements = 1;
        for (int64_t d : shape) elements *= d;
        const int64_t width = int64_t(safetensors_dtype_size(dtype));
        if (int64_t(t.bytes.size()) != elements * width) {
            throw Error(DTM_ERR_MODEL_FORMAT, "stored tensor '" + name + "' has " + std::to_string(t.bytes.size()) +
                                                  " bytes, its shape needs " + std::to_string(elements * width));
        }
        return t;
    }
    throw Error(DTM_ERR_MODEL_FORMAT, "stored tensor '" + name + "' is missing");
}

void DenseLinear::forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                          const Backend & backend) const {
    const cpu::CpuBackend & cpu = cpu::require_cpu(backend, "fp32");
    ThreadPool & pool = cpu.pool();
    const cpu::KernelTable & kernels = cpu.kernels();
    const auto matmul = kernels.matmul;
    for_each_output_block(pool, w_.n_panels(), n_tokens, [&](int64_t p0, int64_t p1, int64_t t0, int64_t nt) {
        matmul(w_, x + t0 * ldx, ldx, y + t0 * ldy, ldy, nt, p0, p1);
    });
}

HalfLinear::HalfLinear(cpu::PackedHalfMatrix weights) : w_(std::move(weights)) {}

std::shared_ptr<const HalfLinear> HalfLinear::from_rows(const uint16_t * w, int64_t rows, int64_t cols,
                                                        cpu::HalfKind kind) {
    return std::make_shared<HalfLinear>(cpu::PackedHalfMatrix::pack(w, rows, cols, cols, kind));
}

dtm_weight_format HalfLinear::format() const {
    return w_.kind() == cpu::HalfKind::kBf16 ? DTM_FORMAT_BF16 : DTM_FORMAT_FP16;
}

int64_t HalfLinear::nonzeros() const {
    return nonzeros_.get([this] {
        int64_t n = 0;
        for (int64_t p = 0; p < w_.n_panels(); ++p) {
            const uint16_t * panel = w_.panel(p);
            // +0 and -0 are the values whose bits other than the sign are 0
            // (in both formats); padding rows are zero and do not count.
            for (int64_t i = 0; i < w_.cols() * cpu::kPanelRows; ++i) n += (panel[i] & 0x7fffu) != 0;
        }
        return n;
    });
}

void HalfLinear::dense_weights(float * out) const { w_.unpack(out, w_.cols()); }

std::vector<StoredTensor> HalfLinear::stored_tensors() const {
    StoredTensor t{"weight", w_.kind() == cpu::HalfKind::kBf16 ? "BF16" : "F16", {w_.rows(), w_.cols()}, {}};
    t.bytes.resize(size_t(w_.rows() * w_.cols()) * sizeof(uint16_t));
    w_.unpack_bits(reinterpret_cast<uint16_t *>(t.bytes.data()), w_.cols());
    return {std::move(t)};
}

std::shared_ptr<const HalfLinear> HalfLinear::restore(dtm_weight_format format, int64_t rows, int64_t cols,
                                                      const std::vector<StoredTensor> & tensors) {
    if (format != DTM_FORMAT_BF16 && format != DTM_FORMAT_FP16) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "format " + std::to_string(int(format)) + " is not a 16-bit dense format");
    }
    const bool bf16 = format == DTM_FORMAT_BF16;
    const StoredTensor & w = find_stored(tensors, "weight", bf16 ? "BF16" : "F16", {rows, cols});
    return from_rows(reinterpret_cast<const uint16_t *>(w.bytes.data()), rows, cols,
                     bf16 ? cpu::HalfKind::kBf16 : cpu::HalfKind::kFp16);
}

void HalfLinear::forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                         const Backend & backend) const {
    const cpu::CpuBackend & cpu = cpu::require_cpu(backend, "16-bit");
    ThreadPool & pool = cpu.pool();
    const cpu::KernelTable & kernels = cpu.kernels();
    const auto matmul = kernels.matmul_half;
    for_each_output_block(pool, w_.n_panels(), n_tokens, [&](int64_t p0, int64_t p1, int64_t t0, int64_t nt) {
        matmul(w_, x + t0 * ldx, ldx, y + t0 * ldy, ldy, nt, p0, p1);
    });
}

}  // namespace dtm
