// layer_ops.h - the per-token operations of a Llama decoder layer besides
// the matrix products: RMSNorm, rotary embedding, biases (attention over the
// KV cache and the MLP's SwiGLU are kernels per ISA, kernels/cpu/attention.h
// and kernels/cpu/swiglu.h). Each works on one token, so
// a position's result does not depend on which batch it was computed in.
// Sums run in a fixed order; the forward pass parallelises over tokens.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model_config.h"

namespace dtm {

// out[i] = weight[i] * (x[i] / sqrt(mean(x^2) + eps))      (x, out: n floats)
void rmsnorm(float * out, const float * x, const float * weight, int32_t n, float eps);

// Rotary position embedding tables for positions [0, max_pos), llama2.c's
// convention: pairs (2i, 2i+1) of each head rotate by pos * freq_i with
// freq_i = theta^(-2i/head_dim), rescaled as `scaling` says (Hugging Face's
// rope_scaling: linear, dynamic NTK, llama3; see layer_ops.cpp). Hugging
// Face checkpoints rotate halves instead of pairs; their q/k rows are
// permuted back to pairs at load (model/hf_checkpoint.h), so one kernel
// serves both.
struct RopeTable {
    RopeTable(int32_t max_pos, int32_t head_dim, float theta, const RopeScaling & scaling = RopeScaling());
    int32_t half;              // head_dim / 2
    std::vector<float> cos_;   // (max_pos, half)
    std::vector<float> sin_;   // (max_pos, half)
};

// Rotates n_heads consecutive heads of vec (n_heads * head_dim floats) in place.
void rope_rotate(float * vec, int32_t n_heads, int32_t head_dim, int32_t pos, const RopeTable & rope);

// y[i] += bias[i]     (n floats): a bias after a matrix product
void add_bias(float * y, const float * bias, int32_t n);

}  // namespace dtm
