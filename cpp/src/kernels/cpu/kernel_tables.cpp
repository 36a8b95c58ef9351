// kernel_tables.cpp - the kernel table of every path this build has, one
// entry per instruction set (dispatch.h). Baseline code: it only takes the
// kernels' addresses; dispatch.cpp decides which table the CPU may run.
#include <limits>

#include "kernels/cpu/dispatch.h"

namespace dtm::cpu {

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// The sparse tile kernel's break-even (sparse_matmul.h): avx2 from 2
// tokens, scalar and avx512 never. The AVX2 path quantizes tokens with the
// portable code: the division dominates, and the compiler's SSE2 code of the
// reference is close. The avx512 path's int8 / block products run the AVX2
// kernels on a CPU without VNNI (the weight-only kernel and the token
// quantizers need only AVX-512 F/BW).
const KernelTable kTables[] = {
    {DTM_ISA_SCALAR, "scalar", &matmul_ref, &row_stats_ref, &attend_ref, &matmul_half_ref, &swiglu_ref, false,
     {DTM_ISA_SCALAR, "scalar", &int8_gemm_ref, &int8_weight_matmul_ref, &qblock_gemm_ref,
      &quantize_tokens_int8_ref, &quantize_tokens_q8_0_ref},
     {DTM_ISA_SCALAR, "scalar", &sparse_gemv_ref, &sparse_tile_ref, kNever}},
#if defined(__x86_64__) || defined(__i386__)
    {DTM_ISA_AVX2, "avx2", &matmul_avx2, &row_stats_avx2, &attend_avx2, &matmul_half_avx2, &swiglu_avx2, false,
     {DTM_ISA_AVX2, "avx2", &int8_gemm_avx2, &int8_weight_matmul_avx2, &qblock_gemm_avx2,
      &quantize_tokens_int8_ref, &quantize_tokens_q8_0_ref},
     {DTM_ISA_AVX2, "avx2", &sparse_gemv_avx2, &sparse_tile_avx2, 2}},
    {DTM_ISA_AVX512, "avx512", &matmul_avx512, &row_stats_avx512, &attend_avx512, &matmul_half_avx512,
     &swiglu_avx512, false,
     {DTM_ISA_AVX512, "avx512 (int8 via avx2)", &int8_gemm_avx2, &int8_weight_matmul_avx512, &qblock_gemm_avx2,
      &quantize_tokens_int8_avx512, &quantize_tokens_q8_0_avx512},
     {DTM_ISA_AVX512, "avx512", &sparse_gemv_avx512, &sparse_tile_avx512, kNever}},
    // The avx512 path on a CPU with VNNI: the same fp32 kernels, int8 with VNNI.
    {DTM_ISA_AVX512, "avx512", &matmul_avx512, &row_stats_avx512, &attend_avx512, &matmul_half_avx512,
     &swiglu_avx512, true,
     {DTM_ISA_AVX512, "avx512-vnni", &int8_gemm_avx512vnni, &int8_weight_matmul_avx512, &qblock_gemm_avx512vnni,
      &quantize_tokens_int8_avx512, &quantize_tokens_q8_0_avx512},
     {DTM_ISA_AVX512, "avx512", &sparse_gemv_avx512, &sparse_tile_avx512, kNever}},
#endif
};

}  // namespace

const KernelTable * kernel_tables(size_t * n) {
    *n = sizeof kTables / sizeof kTables[0];
    return kTables;
}

}  // namespace dtm::cpu
