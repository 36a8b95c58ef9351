// quantize_tokens_ref.cpp - the portable token quantizers (quantize_tokens.h):
// the scalar quantizers of quantize_values.h applied token by token.
#include <cmath>

#include "kernels/cpu/quant_math.h"
#include "kernels/cpu/quant_panels.h"
#include "kernels/cpu/quantize_tokens.h"
#include "kernels/cpu/quantize_values.h"

namespace dtm::cpu {

namespace {

bool all_finite(const float * v, int64_t n) {
    for (int64_t k = 0; k < n; ++k) {
        if (!std::isfinite(v[k])) return false;
    }
    return true;
}

}  // namespace

void quantize_tokens_int8_ref(const float * x, int64_t ldx, int64_t n_tokens, int64_t cols, float skip_above,
                              int8_t * q, int64_t ldq, float * scale, int32_t * q_sum, uint8_t * finite) {
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float * xt = x + t * ldx;
        finite[t] = all_finite(xt, cols) ? 1 : 0;
        scale[t] = 0.0f;
        q_sum[t] = 0;
        if (finite[t]) scale[t] = quantize_int8_absmax(xt, cols, skip_above, q + t * ldq, q_sum + t);
    }
}

void quantize_tokens_q8_0_ref(const float * x, int64_t ldx, int64_t n_tokens, int64_t cols, int8_t * q, int64_t ldq,
                              float * d, int32_t * q_sum, int64_t ldb, uint8_t * finite) {
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float * xt = x + t * ldx;
        finite[t] = all_finite(xt, cols) ? 1 : 0;
        for (int64_t b = 0; finite[t] && b < cols / kQBlockSize; ++b) {
            const uint16_t dh = quantize_block_q8_0(xt + b * kQBlockSize, q + t * ldq + b * kQBlockSize, q_sum + t * ldb + b);
            if ((dh & 0x7c00u) == 0x7c00u) finite[t] = 0;
            d[t * ldb + b] = fp16_to_fp32(dh);
        }
    }
}

}  // namespace dtm::cpu
