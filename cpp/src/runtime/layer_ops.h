// layer_ops.h - the per-token operations of a Llama decoder layer besides
// the matrix products: RMSNorm, rotary embedding, causal attention over a
// KV cache, SwiGLU. Each works on one token (or one token and head), so a
// position's result does not depend on which batch it was computed in.
// Sums run in a fixed order; the forward pass parallelises over tokens.
#pragma once

#include <cstdint>
#include <vector>

namespace dtm {

// out[i] = weight[i] * (x[i] / sqrt(mean(x^2) + eps))      (x, out: n floats)
void rmsnorm(float * out, const float * x, const float * weight, int32_t n, float eps);

// Rotary position embedding tables for positions [0, max_pos), llama2.c's
// convention: pairs (2i, 2i+1) of each head rotate by pos * theta^(-2i/head_dim).
struct RopeTable {
    RopeTable(int32_t max_pos, int32_t head_dim, float theta);
    int32_t half;              // head_dim / 2
    std::vector<float> cos_;   // (max_pos, half)
    std::vector<float> sin_;   // (max_pos, half)
};

// Rotates n_heads consecutive heads of vec (n_heads * head_dim floats) in place.
void rope_rotate(float * vec, int32_t n_heads, int32_t head_dim, int32_t pos, const RopeTable & rope);

// Fixed-order dot product (8 interleaved partial sums combined pairwise), so
// the compiler may vectorise it without reassociating.
float dot_fixed_order(const float * a, const float * b, int32_t n);

// One query head attending to keys/values 0..n_keys-1:
//   s_j = q . k_j / sqrt(head_dim);  p = softmax(s);  out = sum_j p_j v_j
// keys/values: row j at keys + j * stride (head_dim floats used).
// scores: scratch of n_keys floats.
void attend(float * out, const float * q, const float * keys, const float * values, int64_t stride,
            int32_t n_keys, int32_t head_dim, float * scores);

// hb[i] = silu(hb[i]) * hb2[i] with silu(x) = x / (1 + exp(-x))   (n floats)
void swiglu(float * hb, const float * hb2, int32_t n);

}  // namespace dtm
