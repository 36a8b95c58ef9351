// attention_ref.cpp - the portable reference of one head's attention (see
// attention.h). Its order of operations is the definition every vector path
// reproduces bit for bit.
#include <cmath>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/exp_poly.h"

namespace dtm::cpu {

namespace {

// 8 interleaved partial sums combined pairwise (attention.h).
float dot_fixed_order(const float * a, const float * b, int32_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int32_t l = 0; l < 8; ++l) acc[l] += a[i + l] * b[i + l];
    }
    for (int32_t l = 0; i < n; ++i, ++l) acc[l] += a[i] * b[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

}  // namespace

void attend_ref(float * out, const float * q, const float * keys, const float * values, int64_t stride,
                int32_t n_keys, int32_t head_dim, float * scores) {
    const float scale = 1.0f / std::sqrt(float(head_dim));
    float max = -INFINITY;
    for (int32_t j = 0; j < n_keys; ++j) {
        const float s = dot_fixed_order(q, keys + j * stride, head_dim) * scale;
        scores[j] = s;
        if (s > max) max = s;
    }
    float sum = 0.0f;
    for (int32_t j = 0; j < n_keys; ++j) {
        const float e = exp_nonpos_ref(scores[j] - max);
        scores[j] = e;
        sum += e;
    }
    for (int32_t i = 0; i < head_dim; ++i) out[i] = 0.0f;
    for (int32_t j = 0; j < n_keys; ++j) {
        const float p = scores[j] / sum;
        const float * v = values + j * stride;
        for (int32_t i = 0; i < head_dim; ++i) out[i] += p * v[i];
    }
}

}  // namespace dtm::cpu
