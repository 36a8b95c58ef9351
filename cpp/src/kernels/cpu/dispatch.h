// dispatch.h - which kernel path runs: detected once, forceable for tests.
#pragma once

#include "dtm/dtm.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/row_stats.h"

namespace dtm::cpu {

// The kernels of one instruction set.
struct KernelTable {
    dtm_isa isa;
    const char * name;
    MatmulFn matmul;
    RowStatsFn row_stats;
    AttendFn attend;
    MatmulHalfFn matmul_half;  // the same product against 16-bit panels
};

// Best ISA of this CPU (detected once, cached; never DTM_ISA_AUTO).
dtm_isa best_isa();

bool isa_supported(dtm_isa isa);

// AVX-512 VNNI (int8 dot products) on top of DTM_ISA_AVX512; the int8
// kernels of the avx512 path check it, the fp32 kernels do not need it.
bool cpu_has_avx512_vnni();

// Resolves DTM_ISA_AUTO (honouring $DTM_ISA = scalar|avx2|avx512) and checks
// support; throws dtm::Error(DTM_ERR_UNSUPPORTED) for a path the CPU lacks or
// DTM_ERR_INVALID_ARGUMENT for an unknown value.
dtm_isa resolve_isa(int32_t requested);

const KernelTable & kernels(dtm_isa isa);

const char * isa_name(int32_t isa);

}  // namespace dtm::cpu
