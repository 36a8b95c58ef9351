// avx512_util.h - small helpers shared by the AVX-512 kernel files (on top of
// avx2_util.h, which it includes).
//
// Only for files compiled with the AVX-512 flags (*_avx512.cpp; see
// CMakeLists.txt). Everything here has internal linkage (unnamed namespace):
// each kernel file gets its own copy compiled with its own flags, and the
// linker can never hand it to code of another instruction set.
#pragma once

#if !defined(__AVX512F__)
#error "avx512_util.h is for the *_avx512.cpp kernel files only"
#endif

#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/avx2_util.h"

namespace dtm::cpu {
namespace {

// The k-mask of lanes [0, n) of 16 (none for n <= 0, all for n >= 16).
inline __mmask16 mask16_below(int64_t n) {
    return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1u);
}

// int32 -> fp32 (exact below 2^24, else rounded to nearest even). The
// zero-masking form with a full mask is the same instruction as
// _mm512_cvtepi32_ps, whose undefined pass-through operand GCC 12 warns about.
inline __m512 int32_to_float(__m512i v) { return _mm512_maskz_cvtepi32_ps(__mmask16(0xffff), v); }

}  // namespace
}  // namespace dtm::cpu
