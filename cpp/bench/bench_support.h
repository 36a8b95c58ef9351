// bench_support.h - what the native benchmarks share: the clock, the timing
// harness, random inputs, the bitwise check of outputs and the load average.
// (Not a bench_*.cpp file: cpp/bench/CMakeLists.txt makes an executable of
// every one of those, and this header is included by them.)
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

namespace dtm::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Timing {
    double median;  // seconds per call, median sample
    double best;    // seconds per call, fastest sample (least disturbed by other load)
};

// Seconds per call of fn: a warm-up call, then samples of back-to-back calls
// (each about 2 ms) until `budget` seconds are spent, at least 5 and at most
// max_samples samples. With `flush` (cold caches), each sample is one call
// after flush().
inline Timing time_per_call(const std::function<void()> & fn, double budget, size_t max_samples,
                            void (*flush)() = nullptr) {
    fn();  // warm-up (also pages in and caches what the call touches)
    const auto one = Clock::now();
    fn();
    const double first = std::max(seconds_since(one), 1e-7);
    const int64_t calls = flush ? 1 : std::max<int64_t>(1, int64_t(2e-3 / first));
    std::vector<double> samples;
    const auto start = Clock::now();
    while (samples.size() < 5 || (seconds_since(start) < budget && samples.size() < max_samples)) {
        if (flush) flush();
        const auto t0 = Clock::now();
        for (int64_t c = 0; c < calls; ++c) fn();
        samples.push_back(seconds_since(t0) / double(calls));
    }
    std::sort(samples.begin(), samples.end());
    return {samples[samples.size() / 2], samples.front()};
}

// n values uniform in [lo, hi) from std::mt19937(seed).
inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float & f : v) f = dist(rng);
    return v;
}

inline bool same_bits(const std::vector<float> & a, const std::vector<float> & b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The 1-minute load average (-1 when unknown), to judge how disturbed the
// timings were.
inline double load_average() {
    double load[3] = {0, 0, 0};
    return getloadavg(load, 3) < 1 ? -1.0 : load[0];
}

}  // namespace dtm::bench
