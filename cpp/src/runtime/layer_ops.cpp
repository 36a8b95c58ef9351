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

RopeTable::RopeTable(int32_t max_pos, int32_t head_dim, float theta)
    : half(head_dim / 2), cos_(size_t(max_pos) * size_t(head_dim / 2)), sin_(cos_.size()) {
    for (int32_t pos = 0; pos < max_pos; ++pos) {
        for (int32_t i = 0; i < half; ++i) {
            // As llama2.c computes it, in float: freq = 1 / theta^(2i / head_dim).
            const float freq = 1.0f / std::pow(theta, float(2 * i) / float(head_dim));
            const float angle = float(pos) * freq;
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

void swiglu(float * hb, const float * hb2, int32_t n) {
    for (int32_t i = 0; i < n; ++i) {
        float v = hb[i];
        v *= 1.0f / (1.0f + std::exp(-v));
        hb[i] = v * hb2[i];
    }
}

}  // namespace dtm
