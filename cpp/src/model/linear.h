// linear.h - one weight matrix of the model as the forward pass runs it.
//
// A Linear computes y = x W^T for a batch of token rows. The base model's
// matrices are fp32 packed panels (DenseLinear); compressed formats (pruned,
// int8, block-quantized) are further implementations, so a candidate model is
// the base with some Linears swapped and all others shared.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/prepared.h"
#include "core/lazy.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/packed_matrix.h"

namespace dtm {


// One tensor of a Linear's storage, as a candidate file holds it
// (compress/candidate_file): the component's name + "." + name is the
// safetensors key. Together the tensors determine the Linear bitwise.
struct StoredTensor {
    std::string name;             // e.g. "weight", "weight_scale"
    std::string dtype;            // safetensors dtype: F32, F16, I8, U8, U16, I32, I64
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;   // little-endian, row-major
};

class Linear {
public:
    virtual ~Linear() = default;
    virtual int64_t rows() const = 0;  // output features
    virtual int64_t cols() const = 0;  // input features
    virtual size_t storage_bytes() const = 0;
    virtual dtm_weight_format format() const = 0;

    // Weights that are not exactly zero in the effective matrix.
    virtual int64_t nonzeros() const = 0;

    // The effective fp32 weights (rows x cols, row-major): what the forward
    // pass multiplies with, dequantized, zeros where pruned. Compressions
    // start from these, and float simulations in the tests use them.
    virtual void dense_weights(float * out) const = 0;

    // The storage, for export; the format's restore function rebuilds a
    // bitwise-equal Linear from it (compress/restore.h).
    virtual std::vector<StoredTensor> stored_tensors() const = 0;

    // y (n_tokens, rows) with row stride ldy  =  x (n_tokens, cols), row stride ldx, times W^T,
    // on `backend` (x and y its memory). Each output is computed by exactly
    // one task, in an order that does not depend on n_tokens, the thread
    // count or which thread runs it. Every format holds its CPU layout from
    // when it is built, and runs on the CPU backend (the thread pool and
    // kernel table of cpu::CpuBackend); another backend runs a Linear through
    // its own prepared copy (backend.h), and this throws DTM_ERR_UNSUPPORTED
    // for it.
    virtual void forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                         const Backend & backend) const = 0;

    // Device backends' copies of this matrix, one per device, made once and
    // freed with the Linear (backend/prepared.h). A candidate that shares
    // this Linear with its base (shared_ptr) shares these copies too.
    const PreparedSlot & prepared() const { return prepared_; }

private:
    PreparedSlot prepared_;
};

class DenseLinear final : public Linear {
public:
    explicit DenseLinear(cpu::PackedMatrix weights);
    // Packs W (rows x cols, row-major).
    static std::shared_ptr<const DenseLinear> from_rows(const float * w, int64_t rows, int64_t cols);
    // Tensors: "weight" F32 (rows, cols).
    static std::shared_ptr<const DenseLinear> restore(int64_t rows, int64_t cols,
                                                      const std::vector<StoredTensor> & tensors);

    int64_t rows() const override { return w_.rows(); }
    int64_t cols() const override { return w_.cols(); }
    size_t storage_bytes() const override { return w_.bytes(); }
    dtm_weight_format format() const override { return DTM_FORMAT_FP32; }
    // Counted on the first call (a model's matrices are loaded far more
    // often than their sparsity is asked for); thread-safe.
    int64_t nonzeros() const override;
    void dense_weights(float * out) const override;
    std::vector<StoredTensor> stored_tensors() const override;
    void forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                 const Backend & backend) const override;
    const cpu::PackedMatrix & packed() const { return w_; }

private:
    cpu::PackedMatrix w_;
    Lazy<int64_t> nonzeros_;
};

// A dense matrix kept in the 16 bits a checkpoint stores it in (bf16 or
// fp16; DTM_FORMAT_BF16 / DTM_FORMAT_FP16): half the memory of DenseLinear.
// Its effective weights are the exactly widened fp32 values, and its
// products are bitwise those of the DenseLinear of those weights (see
// matmul_half in kernels/cpu/matmul.h), so loading a checkpoint in 16 bits
// or converted to fp32 gives the same logits, and compressing it the same
// result.
class HalfLinear final : public Linear {
public:
    explicit HalfLinear(cpu::PackedHalfMatrix weights);
    // Packs W (rows x cols of `kind` values, row-major).
    static std::shared_ptr<const HalfLinear> from_rows(const uint16_t * w, int64_t rows, int64_t cols,
                                                       cpu::HalfKind kind);
    // Tensors: "weight" BF16 or F16 (rows, cols), as `format` says.
    static std::shared_ptr<const HalfLinear> restore(dtm_weight_format format, int64_t rows, int64_t cols,
                                                     const std::vector<StoredTensor> & tensors);

    int64_t rows() const override { return w_.rows(); }
    int64_t cols() const override { return w_.cols(); }
    size_t storage_bytes() const override { return w_.bytes(); }
    dtm_weight_format format() const override;
    int64_t nonzeros() const override;  // counted on the first call, as DenseLinear
    void dense_weights(float * out) const override;
    std::vector<StoredTensor> stored_tensors() const override;
    void forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                 const Backend & backend) const override;
    const cpu::PackedHalfMatrix & packed() const { return w_; }

private:
    cpu::PackedHalfMatrix w_;
    Lazy<int64_t> nonzeros_;
};

// Finds the tensor `name` among a Linear's stored tensors and checks its
// dtype and shape; throws dtm::Error(DTM_ERR_MODEL_FORMAT) naming what is wrong.
const StoredTensor & find_stored(const std::vector<StoredTensor> & tensors, const std::string & name,
                                 const std::string & dtype, const std::vector<int64_t> & shape);

}  // namespace dtm
