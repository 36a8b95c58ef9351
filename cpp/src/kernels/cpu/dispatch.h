// dispatch.h - which kernel path runs: detected once, forceable for tests.
//
// A kernel path is one KernelTable: every kernel the engine calls (fp32,
// 16-bit, int8 / block and sparse products, attention, row statistics) for
// one instruction set. The tables live in kernel_tables.cpp, one entry per
// path; a session resolves its table once, when it is created, and passes it
// down. A new instruction set is one entry there plus its *_<isa>.cpp files
// (and its feature test in dispatch.cpp).
#pragma once

#include <cstddef>

#include "dtm/dtm.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/quant_kernels.h"
#include "kernels/cpu/row_stats.h"
#include "kernels/cpu/sparse_matmul.h"
#include "kernels/cpu/swiglu.h"

namespace dtm::cpu {

// The kernels of one instruction set.
struct KernelTable {
    dtm_isa isa;
    const char * name;
    MatmulFn matmul;
    RowStatsFn row_stats;
    AttendFn attend;
    MatmulHalfFn matmul_half;  // the same product against 16-bit panels
    SwigluFn swiglu;           // the MLP's gated activation
    // The int8 kernels of this path may use AVX-512 VNNI (quant_kernels.h):
    // set only in the avx512 table handed out on a CPU with VNNI while
    // $DTM_NO_VNNI is not 1.
    bool int8_vnni;
    QuantKernels quant;    // int8 W8A8, int8 weight-only, q8_0 / q4_0 blocks
    SparseKernels sparse;  // pruned weights (sliced ELL)
};

// Every kernel table this build has (kernel_tables.cpp): *n entries, at most
// one per (isa, int8_vnni); only scalar on a host that is not x86.
const KernelTable * kernel_tables(size_t * n);

// Best ISA of this CPU (detected once, cached; never DTM_ISA_AUTO).
dtm_isa best_isa();

bool isa_supported(dtm_isa isa);

// AVX-512 VNNI (int8 dot products) on top of DTM_ISA_AVX512; the int8
// kernels of the avx512 path use it where kernels() sets int8_vnni, the fp32
// kernels do not need it.
bool cpu_has_avx512_vnni();

// Resolves DTM_ISA_AUTO (honouring $DTM_ISA = scalar|avx2|avx512) and checks
// support; throws dtm::Error(DTM_ERR_UNSUPPORTED) for a path the CPU lacks or
// DTM_ERR_INVALID_ARGUMENT for an unknown value.
dtm_isa resolve_isa(int32_t requested);

// Throws dtm::Error(DTM_ERR_INVALID_ARGUMENT) for an unresolved or unknown
// isa and DTM_ERR_UNSUPPORTED for one the CPU lacks.
void require_isa(int32_t isa);

// The table of a concrete isa (throws as require_isa). For DTM_ISA_AVX512
// the table with int8_vnni set when the CPU has VNNI, unless $DTM_NO_VNNI=1
// asks for the int8 kernels of a CPU without it (read on every call; any
// value but unset, "", "0" and "1" is DTM_ERR_INVALID_ARGUMENT).
const KernelTable & kernels(dtm_isa isa);

const char * isa_name(int32_t isa);

}  // namespace dtm::cpu
