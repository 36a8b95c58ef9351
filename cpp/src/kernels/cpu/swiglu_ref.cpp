// swiglu_ref.cpp - the portable reference of the MLP's gated activation
// (swiglu.h). Its order of operations is the definition the vector paths
// reproduce bit for bit.
#include <cmath>
#include <cstdint>

#include "kernels/cpu/exp_poly.h"
#include "kernels/cpu/swiglu.h"

namespace dtm::cpu {


void swiglu_ref(float * gate, const float * up, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float v = gate[i];
        const float e = exp_nonpos_ref(-std::fabs(v));
        const float num = v >= 0.0f ? 1.0f : e;
        const float s = num / (1.0f + e);
        gate[i] = (v * s) * up[i];
    }
}

}  // namespace dtm::cpu
