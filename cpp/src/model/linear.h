// linear.h - one weight matrix of the model as the forward pass runs it.
//
// A Linear computes y = x W^T for a batch of token rows. The base model's
// matrices are fp32 packed panels (DenseLinear); compressed formats (pruned,
// int8, block-quantized) are further implementations, so a candidate model is
// the base with some Linears swapped and all others shared.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/packed_matrix.h"

namespace dtm {

class ThreadPool;

class Linear {
public:
    virtual ~Linear() = default;
    virtual int64_t rows() const = 0;  // output features
    virtual int64_t cols() const = 0;  // input features
    virtual size_t storage_bytes() const = 0;

    // y (n_tokens, rows) with row stride ldy  =  x (n_tokens, cols), row stride ldx, times W^T.
    // Each output is computed by exactly one task, in an order that does not
    // depend on n_tokens, the thread count or which thread runs it.
    virtual void forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                         ThreadPool & pool, const cpu::KernelTable & kernels) const = 0;
};

class DenseLinear final : public Linear {
public:
    explicit DenseLinear(cpu::PackedMatrix weights) : w_(std::move(weights)) {}
    int64_t rows() const override { return w_.rows(); }
    int64_t cols() const override { return w_.cols(); }
    size_t storage_bytes() const override { return w_.bytes(); }
    void forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                 ThreadPool & pool, const cpu::KernelTable & kernels) const override;
    const cpu::PackedMatrix & packed() const { return w_; }

private:
    cpu::PackedMatrix w_;
};

}  // namespace dtm
