// dispatch.cpp - run-time choice of the kernel path (the tables themselves
// are in kernel_tables.cpp).
//
// Compiled for baseline x86-64: it must run on any CPU, so it only asks the
// CPU (cpuid) and the OS (xgetbv: which register state the OS saves on a
// context switch) what is available, and never executes AVX code itself.
//
//   avx2   = AVX2 + FMA + F16C, with XMM and YMM state enabled by the OS
//   avx512 = avx2 + AVX-512 F/DQ/BW/VL, with opmask and ZMM state enabled
//
// (the flags each ISA's files are compiled with, see CMakeLists.txt). VNNI is
// one more bit: the avx512 path's int8 kernels use it (files *_avx512vnni.cpp)
// only through the table that says int8_vnni, handed out where the CPU has
// it and $DTM_NO_VNNI does not turn it off. On a host that is not x86 only
// the scalar path exists, and none of this is compiled.
#include "kernels/cpu/dispatch.h"

#if defined(__x86_64__) || defined(__i386__)
#define DTM_X86 1
#include <cpuid.h>
#endif

#include <cctype>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace dtm::cpu {

namespace {

struct CpuFeatures {
    bool avx2 = false;         // AVX2, FMA, F16C and OS-enabled YMM state
    bool avx512 = false;       // AVX-512 F/DQ/BW/VL and OS-enabled ZMM state (implies avx2)
    bool avx512_vnni = false;  // avx512 plus AVX512_VNNI
};

#if DTM_X86
// XCR0, the register state the OS saves; only valid when CPUID says OSXSAVE.
uint64_t read_xcr0() {
    uint32_t eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (uint64_t(edx) << 32) | eax;
}

bool bit(uint32_t reg, int b) { return (reg >> b) & 1u; }

CpuFeatures detect() {
    CpuFeatures f;
    uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid_max(0, nullptr) < 7) return f;

    __cpuid_count(1, 0, eax, ebx, ecx, edx);
    const bool fma = bit(ecx, 12), osxsave = bit(ecx, 27), avx = bit(ecx, 28), f16c = bit(ecx, 29);
    if (!osxsave || !avx) return f;
    const uint64_t xcr0 = read_xcr0();
    const bool ymm_state = (xcr0 & 0x6) == 0x6;     // SSE (bit 1) + AVX (bit 2)
    const bool zmm_state = (xcr0 & 0xe6) == 0xe6;   // + opmask (5), ZMM_Hi256 (6), Hi16_ZMM (7)

    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const bool avx2 = bit(ebx, 5);
    const bool avx512f = bit(ebx, 16), avx512dq = bit(ebx, 17);
    const bool avx512bw = bit(ebx, 30), avx512vl = bit(ebx, 31);
    const bool avx512vnni = bit(ecx, 11);

    f.avx2 = ymm_state && avx2 && fma && f16c;
    f.avx512 = f.avx2 && zmm_state && avx512f && avx512dq && avx512bw && avx512vl;
    f.avx512_vnni = f.avx512 && avx512vnni;
    return f;
}
#else
CpuFeatures detect() { return CpuFeatures(); }  // no x86: the scalar path only
#endif

const CpuFeatures & features() {
    static const CpuFeatures f = detect();  // thread-safe one-time initialisation
    return f;
}

// The table this build has for (isa, int8_vnni); throws if none (a bug, or a
// build without that path).
const KernelTable & table_of(dtm_isa isa, bool int8_vnni) {
    size_t n = 0;
    const KernelTable * tables = kernel_tables(&n);
    for (size_t i = 0; i < n; ++i) {
        if (tables[i].isa == isa && tables[i].int8_vnni == int8_vnni) return tables[i];
    }
    fail(DTM_ERR_UNSUPPORTED, "this build has no kernel table for instruction set %s%s", isa_name(isa),
         int8_vnni ? " with VNNI" : "");
}

// $DTM_NO_VNNI: "1" turns VNNI off; unset, "" or "0" leaves it on.
bool vnni_turned_off() {
    const char * env = std::getenv("DTM_NO_VNNI");
    if (env == nullptr || env[0] == '\0' || std::string(env) == "0") return false;
    if (std::string(env) == "1") return true;
    fail(DTM_ERR_INVALID_ARGUMENT, "DTM_NO_VNNI=\"%s\" is neither 0 nor 1", env);
}

bool is_concrete(int32_t isa) { return isa >= DTM_ISA_SCALAR && isa <= DTM_ISA_AVX512; }

// "scalar" | "avx2" | "avx512" | "auto" (any case) -> isa; throws on anything else.
dtm_isa parse_isa(const char * value) {
    std::string v(value);
    for (char & c : v) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (v == "auto") return DTM_ISA_AUTO;
    if (v == "scalar") return DTM_ISA_SCALAR;
    if (v == "avx2") return DTM_ISA_AVX2;
    if (v == "avx512") return DTM_ISA_AVX512;
    fail(DTM_ERR_INVALID_ARGUMENT, "unknown instruction set DTM_ISA=\"%s\" (expected scalar, avx2, avx512 or auto)",
         value);
}

}  // namespace

bool cpu_has_avx512_vnni() { return features().avx512_vnni; }

dtm_isa best_isa() {
    const CpuFeatures & f = features();
    if (f.avx512) return DTM_ISA_AVX512;
    if (f.avx2) return DTM_ISA_AVX2;
    return DTM_ISA_SCALAR;
}

bool isa_supported(dtm_isa isa) {
    switch (isa) {
        case DTM_ISA_SCALAR: return true;
        case DTM_ISA_AVX2: return features().avx2;
        case DTM_ISA_AVX512: return features().avx512;
        default: return false;
    }
}

dtm_isa resolve_isa(int32_t requested) {
    if (requested != DTM_ISA_AUTO && !is_concrete(requested)) {
        fail(DTM_ERR_INVALID_ARGUMENT, "unknown instruction set %d", int(requested));
    }
    dtm_isa isa = dtm_isa(requested);
    const char * source = "requested";
    if (isa == DTM_ISA_AUTO) {
        const char * env = std::getenv("DTM_ISA");
        if (env != nullptr && env[0] != '\0') {
            isa = parse_isa(env);
            source = "DTM_ISA";
        }
    }
    if (isa == DTM_ISA_AUTO) return best_isa();
    if (!isa_supported(isa)) {
        fail(DTM_ERR_UNSUPPORTED, "instruction set %s (%s) is not supported by this CPU (best: %s)",
             isa_name(isa), source, isa_name(best_isa()));
    }
    return isa;
}

void require_isa(int32_t isa) {
    if (!is_concrete(isa)) {
        fail(DTM_ERR_INVALID_ARGUMENT, "no kernel table for instruction set %d (resolve it first)", int(isa));
    }
    if (!isa_supported(dtm_isa(isa))) {
        fail(DTM_ERR_UNSUPPORTED, "instruction set %s is not supported by this CPU", isa_name(isa));
    }
}

const KernelTable & kernels(dtm_isa isa) {
    require_isa(isa);
    return table_of(isa, isa == DTM_ISA_AVX512 && cpu_has_avx512_vnni() && !vnni_turned_off());
}

const QuantKernels & quant_kernels(const KernelTable & kernels) { return kernels.quant; }

const QuantKernels & quant_kernels(dtm_isa isa) { return kernels(isa).quant; }

// The sparse kernels do not depend on VNNI, nor on $DTM_NO_VNNI.
const SparseKernels & sparse_kernels(dtm_isa isa) {
    require_isa(isa);
    return table_of(isa, false).sparse;
}

const char * isa_name(int32_t isa) {
    switch (isa) {
        case DTM_ISA_AUTO: return "auto";
        case DTM_ISA_SCALAR: return "scalar";
        case DTM_ISA_AVX2: return "avx2";
        case DTM_ISA_AVX512: return "avx512";
        default: return "unknown";
    }
}

}  // namespace dtm::cpu
