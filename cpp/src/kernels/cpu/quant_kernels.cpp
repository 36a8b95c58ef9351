// quant_kernels.cpp - the table of int8 / block kernels per kernel path
// (quant_kernels.h). Baseline code: it only reads what dispatch.cpp detected.
#include "kernels/cpu/quant_kernels.h"

#include "core/error.h"
#include "kernels/cpu/dispatch.h"

namespace dtm::cpu {

namespace {

// The AVX2 path quantizes tokens with the portable code: the division
// dominates, and the compiler's SSE2 code of the reference is close.
const QuantKernels kScalar = {DTM_ISA_SCALAR,           "scalar",
                              &int8_gemm_ref,           &int8_weight_matmul_ref,
                              &qblock_gemm_ref,         &quantize_tokens_int8_ref,
                              &quantize_tokens_q8_0_ref};
const QuantKernels kAvx2 = {DTM_ISA_AVX2,             "avx2",
                            &int8_gemm_avx2,          &int8_weight_matmul_avx2,
                            &qblock_gemm_avx2,        &quantize_tokens_int8_ref,
                            &quantize_tokens_q8_0_ref};
const QuantKernels kAvx512Vnni = {DTM_ISA_AVX512,              "avx512-vnni",
                                  &int8_gemm_avx512vnni,           &int8_weight_matmul_avx512,
                                  &qblock_gemm_avx512vnni,         &quantize_tokens_int8_avx512,
                                  &quantize_tokens_q8_0_avx512};
const QuantKernels kAvx512NoVnni = {DTM_ISA_AVX512,              "avx512 (int8 via avx2)",
                                    &int8_gemm_avx2,             &int8_weight_matmul_avx512,
                                    &qblock_gemm_avx2,           &quantize_tokens_int8_avx512,
                                    &quantize_tokens_q8_0_avx512};

}  // namespace

const QuantKernels & quant_kernels(const KernelTable & kernels) {
    switch (kernels.isa) {
        case DTM_ISA_SCALAR: return kScalar;
        case DTM_ISA_AVX2: return kAvx2;
        default: return kernels.int8_vnni ? kAvx512Vnni : kAvx512NoVnni;
    }
}

const QuantKernels & quant_kernels(dtm_isa isa) { return quant_kernels(kernels(isa)); }

}  // namespace dtm::cpu
