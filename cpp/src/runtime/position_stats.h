// position_stats.h - statistics of one scored position beyond row_stats:
// top-k of a distribution and KL divergences between two distributions
// given as logits (z) and their log-normalisers (lse): log p(v) = z[v] - lse.
#pragma once

#include <cstdint>

namespace dtm {

// The k largest logits' ids by descending value, ties to the lowest id
// (1 <= k <= n). One pass with a small sorted buffer.
void top_k_ids(const float * z, int64_t n, int32_t k, int32_t * ids);

// Exact KL(F || C) = sum_v p_F(v) (log p_F(v) - log p_C(v)), summed in double
// in increasing v. Never negative beyond rounding; clamped at 0. NaN when a
// logit or log-normaliser is NaN (never clamped to 0), +inf when C gives
// probability 0 to a token F does not.
double kl_exact(const float * zF, float lseF, const float * zC, float lseC, int64_t n);

// KL(F || C) from F's top-k only: the k listed tokens keep their own terms and
// all other tokens are lumped into one "tail" bin on both sides,
//   sum_{v in top-k} pF(v) log(pF(v)/pC(v)) + tF log(tF / tC),
//   tF = 1 - sum pF(v),  tC = 1 - sum pC(v)   over the top-k.
// Merging bins never increases a KL divergence (log-sum inequality), so this
// is a lower bound of kl_exact (up to the rounding of float log-probabilities,
// about 1e-4 relative); it is exact when the tail carries no mass. Tails
// below 1e-6 count as no mass. NaN in, NaN out, as for kl_exact.
double kl_top_k(const int32_t * ids, const float * logprobs_F, int32_t k, const float * zC, float lseC);

}  // namespace dtm
