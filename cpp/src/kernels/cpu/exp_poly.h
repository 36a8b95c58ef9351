// exp_poly.h - constants of the vector exp used by the row_stats paths.
//
// For d <= 0 (the argument z - max of a logsumexp):
//
//   n = round(d * log2(e)),   r = d - n * ln2   (|r| <= ln2 / 2)
//   exp(d) = 2^n * exp(r),    exp(r) ~ p(r) = sum_{j=0}^{6} c_j r^j
//
// r is formed in two fused steps with ln2 split into a float part and its
// remainder (Cody-Waite), so it is accurate to about one float ulp. p is the
// degree-6 minimax polynomial for the relative error of exp on
// [-ln2/2, ln2/2] (Remez; 1.9e-9 before rounding the coefficients to float).
// Evaluated by Horner with FMAs, the result is within 1.06 ulp of exp(d),
// a relative error below 1.3e-7 (max 1.052 ulp, measured over every float d
// in [-87, 0] on both paths).
//
// 2^n: the AVX-512 path uses scalef (exact, underflows gracefully), after
// clamping d >= kExpMinArgScalef so that d = -inf gives 0 and not NaN. The
// AVX2 path builds 2^n in the exponent field, so it clamps d >= kExpMinArg
// (n >= -126) and sets lanes with d < kExpMinArg (including -inf) to 0.
// Either way a term below exp(-87) < 2e-38 cannot change a sum that holds
// the maximum's exp(0) = 1, even in double.
//
// The flushed form (attention's softmax, the MLP's SwiGLU: swiglu.h,
// attention.h) is the same on every path, scalar included, so that those
// kernels are bitwise equal across paths: d < kExpMinArg (-inf included)
// gives 0, NaN stays NaN, and otherwise p(r) * 2^n with 2^n built in the
// exponent field (n in [-126, 0], a normal number) and one multiply. It is
// exp_nonpos_ref below, exp_nonpos in avx2_util.h and avx512_util.h.
// (row_stats_avx512 keeps its scalef form, which also covers d in [-104, -87):
// its sum is only accurate, not bitwise across paths.)
//
// Besides exp_nonpos_ref, only constants live here (internal linkage): each
// ISA file spells the steps with its own intrinsics, and the scalar function
// is defined in a baseline file (exp_poly_ref.cpp), never inline here.
#pragma once

namespace dtm::cpu::exp_poly {

constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693147182464599609375f;   // float(ln 2), 0x3f317218
constexpr float kLn2Lo = -1.904654299957768e-09f;    // ln 2 - kLn2Hi
constexpr float kExpMinArg = -87.0f;                  // AVX2: exp(d) = 0 below this
constexpr float kExpMinArgScalef = -104.0f;           // AVX-512: exp(-104) rounds to 0

// Minimax coefficients c_j of p(r), Horner order from the highest degree.
constexpr float kC6 = 0.0013836845755577087f;
constexpr float kC5 = 0.008374815806746483f;
constexpr float kC4 = 0.04166822507977486f;
constexpr float kC3 = 0.16666419804096222f;
constexpr float kC2 = 0.49999991059303284f;
constexpr float kC1 = 1.0f;
constexpr float kC0 = 1.0f;

}  // namespace dtm::cpu::exp_poly

namespace dtm::cpu {

// The flushed exp of d <= 0 in scalar code, one float operation at a time
// (std::fma for each fused multiply-add of the vector paths).
float exp_nonpos_ref(float d);

}  // namespace dtm::cpu
