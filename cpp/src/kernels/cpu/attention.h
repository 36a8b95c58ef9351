// attention.h - one query head attending to a KV cache, one entry per ISA.
//
//   s_j = dot(q, k_j) * (1 / sqrt(head_dim))          j = 0 .. n_keys-1
//   m   = max_j s_j   (NaN scores ignored; -inf when there is none)
//   e_j = exp(s_j - m),    sum = e_0 + e_1 + ... (in increasing j, in float)
//   out = sum_j (e_j / sum) * v_j                       (in increasing j)
//
// dot(a, b) over n floats keeps 8 partial sums, acc[l] += a[i] * b[i] for
// i = l (mod 8) in increasing i (a product, then a sum: the project builds
// with -ffp-contract=off and no path uses an FMA here), and combines them
// pairwise: ((acc0 + acc1) + (acc2 + acc3)) + ((acc4 + acc5) + (acc6 + acc7)).
// out starts at 0 and each of its lanes gets out[i] += p_j * v_j[i] in
// increasing j, again a product then a sum.
//
// exp is the flushed polynomial of exp_poly.h (within 1.06 ulp of exp; 0
// below -87, where e_j / sum < 2^-125 could not change out; NaN stays NaN),
// the same operations in scalar and vector code. Every path performs exactly
// these operations on every lane, so all paths are bitwise equal to
// attend_ref; attention therefore does not change the
// result of a position between batched prefill and one-token decoding, the
// kernel path or the thread count. (A vector path may find the maximum m in
// another order; it can then differ from the reference's only in the sign of
// a zero, which changes no s_j - m and so no result bit.)
//
// keys / values: row j at keys + j * stride (head_dim floats used; stride >=
// head_dim). scores: scratch of at least n_keys floats. n_keys >= 0
// (0 gives out = 0), head_dim >= 0.
#pragma once

#include <cstdint>

namespace dtm::cpu {

using AttendFn = void (*)(float * out, const float * q, const float * keys, const float * values,
                          int64_t stride, int32_t n_keys, int32_t head_dim, float * scores);

void attend_ref(float * out, const float * q, const float * keys, const float * values, int64_t stride,
                int32_t n_keys, int32_t head_dim, float * scores);
void attend_avx2(float * out, const float * q, const float * keys, const float * values, int64_t stride,
                 int32_t n_keys, int32_t head_dim, float * scores);
void attend_avx512(float * out, const float * q, const float * keys, const float * values, int64_t stride,
                   int32_t n_keys, int32_t head_dim, float * scores);

}  // namespace dtm::cpu
