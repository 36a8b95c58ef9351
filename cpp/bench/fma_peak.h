// fma_peak.h - the yardstick of the compute-bound benchmarks: one core's FMA
// peak, measured by a register-only loop of independent FMAs (no loads).
// bench_kernels divides GEMM GFLOP/s by it; bench_engine divides scoring
// tokens/s by the FMA limit it gives (peak x threads / FLOP per token).
// (Not a bench_*.cpp file: cpp/bench/CMakeLists.txt makes an executable of
// every one of those.)
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "bench_support.h"

namespace dtm::bench {

constexpr int kPeakChains = 12;  // > FMA latency x FMA ports on current cores
inline volatile float g_peak_sink;

__attribute__((target("avx512f"))) inline double fma_peak_avx512(int64_t iters) {
    __m512 acc[kPeakChains];
    for (int j = 0; j < kPeakChains; ++j) acc[j] = _mm512_set1_ps(float(j));
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-6f);
    const auto t0 = Clock::now();
    for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
        for (int j = 0; j < kPeakChains; ++j) acc[j] = _mm512_fmadd_ps(acc[j], a, b);
    }
    const double s = seconds_since(t0);
    __m512 sum = acc[0];
    for (int j = 1; j < kPeakChains; ++j) sum = _mm512_add_ps(sum, acc[j]);
    float lanes[16];
    _mm512_storeu_ps(lanes, sum);
    g_peak_sink = lanes[0];
    return double(iters) * kPeakChains * 16 * 2 / s * 1e-9;
}

__attribute__((target("avx2,fma"))) inline double fma_peak_avx2(int64_t iters) {
    __m256 acc[kPeakChains];
    for (int j = 0; j < kPeakChains; ++j) acc[j] = _mm256_set1_ps(float(j));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
    const auto t0 = Clock::now();
    for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
        for (int j = 0; j < kPeakChains; ++j) acc[j] = _mm256_fmadd_ps(acc[j], a, b);
    }
    const double s = seconds_since(t0);
    __m256 sum = acc[0];
    for (int j = 1; j < kPeakChains; ++j) sum = _mm256_add_ps(sum, acc[j]);
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    g_peak_sink = lanes[0];
    return double(iters) * kPeakChains * 8 * 2 / s * 1e-9;
}

// One core's peak in GFLOP/s with 512-bit (avx512) or 256-bit FMAs: the best
// of 5 runs of 240 M FMAs each (about 40 ms at 3.4 GHz). The caller checks
// that the CPU has the instructions.
inline double fma_peak(bool avx512) {
    double best = 0.0;
    for (int r = 0; r < 5; ++r) {
        const int64_t iters = 20'000'000;
        best = std::max(best, avx512 ? fma_peak_avx512(iters) : fma_peak_avx2(iters));
    }
    return best;
}

}  // namespace dtm::bench
