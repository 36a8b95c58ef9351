// swiglu.h - the gated activation of the Llama MLP, one entry per ISA.
//
//   gate[i] = (v * sigmoid(v)) * up[i]                  v = gate[i], i < n
//   sigmoid(v) = num / (1 + e),  e = exp(-|v|),  num = (v >= 0 ? 1 : e)
//
// exp(-|v|) is the polynomial of exp_poly.h for arguments <= 0 in the form
// every path shares: 0 below kExpMinArg (-87), else p(r) * 2^n with 2^n built
// in the exponent field (n >= -126, a normal number) and one multiply. Both
// branches of the sigmoid take the exponential of a non-positive argument,
// so it never overflows; e < 2^-24 makes it exactly 1 or e, as in float.
//
// Every path performs exactly these operations on every lane (IEEE
// multiplies, adds, divisions and fused multiply-adds, which round the same
// in scalar and vector code), so all paths are bitwise equal to swiglu_ref,
// and a position's result does not depend on the path, the batch or the
// thread. NaN stays NaN; v = -inf gives NaN (-inf * 0), as v * sigmoid(v)
// does in IEEE arithmetic.
#pragma once

#include <cstdint>

namespace dtm::cpu {

using SwigluFn = void (*)(float * gate, const float * up, int64_t n);

void swiglu_ref(float * gate, const float * up, int64_t n);
void swiglu_avx2(float * gate, const float * up, int64_t n);
void swiglu_avx512(float * gate, const float * up, int64_t n);

}  // namespace dtm::cpu
