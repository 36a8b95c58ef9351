// exp_poly_ref.cpp - the flushed exp of d <= 0 (exp_poly.h) in scalar code:
// the definition the vector forms (exp_nonpos in avx2_util.h and
// avx512_util.h) reproduce bit for bit.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/exp_poly.h"

namespace dtm::cpu {

float exp_nonpos_ref(float d) {
    using namespace exp_poly;
    if (std::isnan(d)) return d;
    if (d < kExpMinArg) return 0.0f;
    const float n = std::nearbyint(d * kLog2e);  // round half to even, as the vector rounding
    float r = std::fma(-n, kLn2Hi, d);
    r = std::fma(-n, kLn2Lo, r);
    float p = kC6;
    p = std::fma(p, r, kC5);
    p = std::fma(p, r, kC4);
    p = std::fma(p, r, kC3);
    p = std::fma(p, r, kC2);
    p = std::fma(p, r, kC1);
    p = std::fma(p, r, kC0);
    const uint32_t bits = uint32_t(int32_t(n) + 127) << 23;  // 2^n, n in [-126, 0]
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

}  // namespace dtm::cpu
