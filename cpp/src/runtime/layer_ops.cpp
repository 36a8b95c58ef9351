// layer_ops.cpp - RMSNorm, RoPE tables and rotation, biases, one token at a time.
// (The MLP's SwiGLU is a kernel per ISA: kernels/cpu/swiglu.h.)
#include "runtime/layer_ops.h"

#include <cmath>

namespace dtm {

void rmsnorm(float * out, const float * x, const float * weight, int32_t n, float eps) {
    float ss = 0.0f;
    for (int32_t i = 0; i < n; ++i) ss += x[i] * x[i];
    ss /= float(n);
    ss += eps;
    const float inv = 1.0f / std::sqrt(ss);
    for (int32_t i = 0; i < n; ++i) out[i] = weight[i] * (inv * x[i]);
}

namespace {

// freq_i = 1 / theta^(2i / head_dim) for i < half, in float as llama2.c and
// Hugging Face (PyTorch, fp32) compute it.
std::vector<float> base_frequencies(int32_t head_dim, float theta) {
    std::vector<float> freq(size_t(head_dim / 2));
    for (int32_t i = 0; i < head_dim / 2; ++i) {
        freq[size_t(i)] = 1.0f / std::pow(theta, float(2 * i) / float(head_dim));
    }
    return freq;
}

// Llama 3.1's rescaling (Hugging Face's _compute_llama3_parameters): wave
// lengths longer than original_max_pos / low_freq_factor are divided by
// factor, shorter than original_max_pos / high_freq_factor kept, and the
// ones between interpolated smoothly.
void llama3_scale(std::vector<float> & freq, const RopeScaling & s) {
    const float old_context = float(s.original_max_pos);
    const float low_freq_wavelen = old_context / s.low_freq_factor;
    const float high_freq_wavelen = old_context / s.high_freq_factor;
    const float two_pi = 6.283185307179586f;
    for (float & f : freq) {
        const float wavelen = two_pi / f;
        if (wavelen > low_freq_wavelen) {
            f = f / s.factor;
        } else if (wavelen >= high_freq_wavelen) {
            const float smooth = (old_context / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
            f = (1.0f - smooth) * f / s.factor + smooth * f;
        }
    }
}

}  // namespace

RopeTable::RopeTable(int32_t max_pos, int32_t head_dim, float theta, const RopeScaling & scaling)
    : half(head_dim / 2), cos_(size_t(max_pos) * size_t(head_dim / 2)), sin_(cos_.size()) {
    std::vector<float> freq = base_frequencies(head_dim, theta);
    if (scaling.kind == RopeScalingKind::kLinear) {
        for (float & f : freq) f = f / scaling.factor;
    } else if (scaling.kind == RopeScalingKind::kLlama3) {
        llama3_scale(freq, scaling);
    }
    for (int32_t pos = 0; pos < max_pos; ++pos) {
        // Dynamic NTK: a position past the trained context sees the theta
        // Hugging Face uses for a sequence of pos + 1 tokens,
        //   theta' = theta * (factor * (pos + 1) / original - (factor - 1))^(head_dim / (head_dim - 2)),
        // i.e. what its one-token decoding computes (its batched prefill
        // applies the theta of the whole batch's length to every position,
        // which would make a position's logits depend on the batch).
        if (scaling.kind == RopeScalingKind::kDynamic && pos + 1 > scaling.original_max_pos) {
            const double grown = double(scaling.factor) * double(pos + 1) / double(scaling.original_max_pos) -
                                 (double(scaling.factor) - 1.0);
            const float scaled_theta = float(double(theta) * std::pow(grown, double(head_dim) / double(head_dim - 2)));
            freq = base_frequencies(head_dim, scaled_theta);
        }
        for (int32_t i = 0; i < half; ++i) {
            const float angle = float(pos) * freq[size_t(i)];
            cos_[size_t(pos) * half + i] = std::cos(angle);
            sin_[size_t(pos) * half + i] = std::sin(angle);
        }
    }
}

void rope_rotate(float * vec, int32_t n_heads, int32_t head_dim, int32_t pos, const RopeTable & rope) {
    const float * c = rope.cos_.data() + size_t(pos) * rope.half;
    const float * s = rope.sin_.data() + size_t(pos) * rope.half;
    for (int32_t h = 0; h < n_heads; ++h) {
        float * v = vec + size_t(h) * head_dim;
        for (int32_t i = 0; i < rope.half; ++i) {
            const float v0 = v[2 * i], v1 = v[2 * i + 1];
            v[2 * i] = v0 * c[i] - v1 * s[i];
            v[2 * i + 1] = v0 * s[i] + v1 * c[i];
        }
    }
}

void add_bias(float * y, const float * bias, int32_t n) {
    for (int32_t i = 0; i < n; ++i) y[i] += bias[i];
}

}  // namespace dtm
