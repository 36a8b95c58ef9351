// quant_kernels.h - the int8 / block kernels of a kernel path: part of the
// path's KernelTable (dispatch.h, filled in kernel_tables.cpp).
//
// scalar -> the
// references; avx2 -> the AVX2 kernels; avx512 -> the AVX-512 VNNI kernels
// when the table says int8_vnni (the CPU has VNNI and $DTM_NO_VNNI is not 1),
// else the AVX2 int8 / block kernels (the weight-only kernel and the token
// quantizers need only AVX-512 F/BW, no VNNI). Every path is bitwise equal to
// the scalar reference (integer sums are exact), so the choice only changes
// the speed.
#pragma once

#include "dtm/dtm.h"
#include "kernels/cpu/int8_gemm.h"
#include "kernels/cpu/int8_weight_matmul.h"
#include "kernels/cpu/qblock_gemm.h"
#include "kernels/cpu/quantize_tokens.h"

namespace dtm::cpu {

struct QuantKernels {
    dtm_isa isa;        // the path asked for
    const char * name;  // what runs: "scalar", "avx2", "avx512-vnni", "avx512 (int8 via avx2)"
    Int8GemmFn int8_gemm;
    Int8WeightMatmulFn int8_weight_matmul;
    QBlockGemmFn qblock_gemm;
    QuantizeTokensInt8Fn quantize_tokens_int8;  // activations of int8_gemm
    QuantizeTokensQ8_0Fn quantize_tokens_q8_0;  // activations of qblock_gemm
};

struct KernelTable;

// The int8 / block kernels of a kernel table (kernels.quant).
const QuantKernels & quant_kernels(const KernelTable & kernels);

// Those of kernels(isa), throwing like it: DTM_ERR_INVALID_ARGUMENT for an
// unresolved or unknown isa (or a bad $DTM_NO_VNNI), DTM_ERR_UNSUPPORTED for
// a path the CPU lacks.
const QuantKernels & quant_kernels(dtm_isa isa);

}  // namespace dtm::cpu
