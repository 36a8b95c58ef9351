// quantize_values.cpp - absmax int8 and q8_0 / q4_0 block quantization
// (quantize_values.h states the arithmetic).
#include "kernels/cpu/quantize_values.h"

#include <cmath>

#include "kernels/cpu/quant_math.h"
#include "kernels/cpu/quant_panels.h"

namespace dtm::cpu {

float quantize_int8_absmax(const float * v, int64_t n, float skip_above, int8_t * q, int32_t * q_sum) {
    float absmax = 0.0f;
    for (int64_t k = 0; k < n; ++k) {
        const float a = std::fabs(v[k]);
        if (a <= skip_above && a > absmax) absmax = a;
    }
    const float scale = absmax / 127.0f;
    int32_t sum = 0;
    for (int64_t k = 0; k < n; ++k) {
        const bool kept = std::fabs(v[k]) <= skip_above && scale != 0.0f;
        const int32_t qk = kept ? round_clamped(v[k] / scale, 127.0f) : 0;
        q[k] = static_cast<int8_t>(qk);
        sum += qk;
    }
    if (q_sum != nullptr) *q_sum = sum;
    return scale;
}

uint16_t quantize_block_q8_0(const float * v, int8_t * q, int32_t * q_sum) {
    float absmax = 0.0f;
    for (int64_t j = 0; j < kQBlockSize; ++j) absmax = std::fmax(absmax, std::fabs(v[j]));
    const float d = absmax / 127.0f;
    int32_t sum = 0;
    for (int64_t j = 0; j < kQBlockSize; ++j) {
        const int32_t qj = d != 0.0f ? round_clamped(v[j] / d, 127.0f) : 0;
        q[j] = static_cast<int8_t>(qj);
        sum += qj;
    }
    if (q_sum != nullptr) *q_sum = sum;
    return fp32_to_fp16(d);
}

uint16_t quantize_block_q4_0(const float * v, int8_t * q) {
    float absmax = 0.0f, m = 0.0f;
    for (int64_t j = 0; j < kQBlockSize; ++j) {
        if (std::fabs(v[j]) > absmax) {
            absmax = std::fabs(v[j]);
            m = v[j];
        }
    }
    float d = m / -8.0f;
    if (d == 0.0f) d = 0.0f;  // +0, not the -0 of 0 / -8: zero weights dequantize to +0
    for (int64_t j = 0; j < kQBlockSize; ++j) {
        const float scaled = d != 0.0f ? v[j] / d : 0.0f;
        // scaled is in [-8, 8] (a little beyond only when d is subnormal):
        // + 8.5 then truncation rounds to nearest into [0, 16], capped at 15.
        float shifted = scaled + 8.5f;
        shifted = shifted < 0.0f ? 0.0f : shifted;
        shifted = shifted > 15.0f ? 15.0f : shifted;
        q[j] = static_cast<int8_t>(static_cast<int32_t>(shifted) - 8);
    }
    return fp32_to_fp16(d);
}

}  // namespace dtm::cpu
