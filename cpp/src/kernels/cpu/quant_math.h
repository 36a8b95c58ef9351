// quant_math.h - the scalar number conversions of quantization: rounding a
// float to the nearest integer (ties to even) and IEEE half precision (fp16)
// to and from fp32, in portable code (no F16C), so that every kernel path and
// the quantizers agree bit for bit.
//
// Everything here has internal linkage (unnamed namespace): a kernel file
// compiled with AVX-512 flags gets its own copy, and the linker can never
// hand that copy to baseline code.
#pragma once

#include <cstdint>
#include <cstring>

namespace dtm::cpu {
namespace {

inline uint32_t float_bits(float f) {
    uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    return b;
}

inline float float_from_bits(uint32_t b) {
    float f;
    std::memcpy(&f, &b, sizeof f);
    return f;
}

// v clamped to [-limit, limit] and rounded to the nearest integer, ties to
// even (the rounding of cvtps2dq in the default MXCSR mode). v must not be
// NaN and limit must be below 2^22. The rounding adds and subtracts
// 1.5 * 2^23: for |v| < 2^22 the sum's last mantissa bit is the unit, so the
// hardware's round-to-nearest-even does the rounding (-ffp-contract=off and
// no -ffast-math keep the compiler from folding the two operations).
inline int32_t round_clamped(float v, float limit) {
    constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
    v = v < -limit ? -limit : v;
    v = v > limit ? limit : v;
    const float r = (v + kMagic) - kMagic;
    return static_cast<int32_t>(r);
}

// fp32 -> fp16, rounding to nearest even; overflow gives +-inf, NaN stays a
// (quiet) NaN, values below the smallest half subnormal round to +-0.
inline uint16_t fp32_to_fp16(float f) {
    const uint32_t x = float_bits(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) {  // inf or NaN
        const uint32_t nan_bits = ax > 0x7f800000u ? (0x200u | ((ax >> 13) & 0x3ffu)) : 0u;
        return static_cast<uint16_t>(sign | 0x7c00u | nan_bits);
    }
    if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
    if (ax >= 0x38800000u) {  // normal half: rebias the exponent, round the 13 dropped bits
        uint32_t h = (ax >> 13) - ((127u - 15u) << 10);
        const uint32_t rest = ax & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry moves into the exponent
        return static_cast<uint16_t>(sign | h);
    }
    // Subnormal half: the value in units of 2^-24 (exact: a power-of-two
    // scaling), rounded to the nearest even integer; 1024 is the smallest normal.
    const float units = float_from_bits(ax) * 16777216.0f;
    const float rounded = (units + 12582912.0f) - 12582912.0f;
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(rounded));
}

// fp16 -> fp32, exact.
inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    const uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
        const float v = static_cast<float>(mantissa) * (1.0f / 16777216.0f);
        return float_from_bits(float_bits(v) | sign);
    }
    if (exponent == 31) return float_from_bits(sign | 0x7f800000u | (mantissa << 13));
    return float_from_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

}  // namespace
}  // namespace dtm::cpu
