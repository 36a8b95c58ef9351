// exp_poly.h - constants of the vector exp used by the row_stats paths.
//
// For d <= 0 (the argument z - max of a logsumexp):
//
//   n = round(d * log2(e)),   r = d - n * ln2   (|r| <= ln2 / 2)
//   exp(d) = 2^n * exp(r),    exp(r) ~ sum_{j=0}^{7} r^j / j!
//
// r is formed in two fused steps with ln2 split into a float part and its
// remainder (Cody-Waite), so it is accurate to about one float ulp. The
// truncation error of the degree-7 Taylor polynomial on |r| <= 0.347 is
// |r|^8 / 8! * e^|r| < 1e-8 (0.1 ulp); with Horner's rounding the result is
// within 0.94 ulp of exp(d) (measured over every float d in [-87, 0]). 2^n is built in the exponent field, so d is
// clamped to kExpMinArg first (n >= -126) and lanes with d < kExpMinArg
// (including d = -inf) are set to 0: exp(-87) < 2e-38 cannot change a sum that
// holds the maximum's exp(0) = 1, even in double.
//
// Only constants live here (internal linkage), no functions: each ISA file
// spells the steps with its own intrinsics.
#pragma once

namespace dtm::cpu::exp_poly {

constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693147182464599609375f;   // float(ln 2), 0x3f317218
constexpr float kLn2Lo = -1.904654299957768e-09f;    // ln 2 - kLn2Hi
constexpr float kExpMinArg = -87.0f;                  // exp(d) treated as 0 below this

// 1 / j! for j = 0..7, Horner order from the highest degree.
constexpr float kC7 = 1.0f / 5040.0f;
constexpr float kC6 = 1.0f / 720.0f;
constexpr float kC5 = 1.0f / 120.0f;
constexpr float kC4 = 1.0f / 24.0f;
constexpr float kC3 = 1.0f / 6.0f;
constexpr float kC2 = 0.5f;
constexpr float kC1 = 1.0f;
constexpr float kC0 = 1.0f;

}  // namespace dtm::cpu::exp_poly
