// bench_kernels.cpp - speed of the CPU fp32 kernels against the machine's FMA peak.
//
//   bench_kernels [--quick] [--cold] [--threads N] [--isa scalar|avx2|avx512]
//                 [--shape SUBSTRING] [--tokens N]
//
// The yardstick is measured in the same run, at the start and again at the
// end: a register-only loop of independent FMAs (no loads) per instruction
// set gives one core's peak in GFLOP/s. Then, for each supported path and
// each shape of the default model (stories15M: dim 288, hidden 768, vocab
// 32000) and of a 4096-wide layer, with n_tokens in {1, 16, 64, 256}:
//   - the output is checked once, bit for bit, against matmul_ref (a sample
//     of tokens and panels: every path must equal the reference exactly);
//   - after a warm-up, samples of back-to-back calls are timed: GFLOP/s =
//     2 * rows * cols * n_tokens / time for the median and the fastest
//     sample, the median's share of the path's and of the core's peak, and
//     for n_tokens = 1 (memory-bound decoding) the packed weight bytes
//     streamed per second next to a plain sequential read of the same bytes.
// --threads N (default: 1, then 2 when the machine has 2 CPUs) splits the
// panel range into N contiguous parts, one per thread, as the engine does.
// --cold flushes the caches before every call (default: warm, as in the
// engine's prefill). Row statistics (argmax + logsumexp of 32000 logits) are
// timed per row. The scalar reference runs only on the small products.
// The machine's load average is printed: on a shared machine, trust the
// "best" column and the peak measured at the end as well.

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "fma_peak.h"
#include "core/error.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/packed_matrix.h"
#include "kernels/cpu/row_stats.h"

namespace {

using namespace dtm::cpu;
using dtm::bench::Clock;
using dtm::bench::random_floats;
using dtm::bench::seconds_since;
using dtm::bench::Timing;

// The yardstick (fma_peak.h) per path; 0 for the scalar path.
double fma_peak(dtm_isa isa) {
    if (isa == DTM_ISA_SCALAR || !isa_supported(isa)) return 0.0;
    return dtm::bench::fma_peak(isa == DTM_ISA_AVX512);
}

volatile float g_sink;

// ---------------------------------------------------------------------------
// Running a kernel on N threads, each over a contiguous part of the panels.

class PanelSplitter {
public:
    explicit PanelSplitter(int n_threads) : n_threads_(n_threads) {
        for (int w = 1; w < n_threads_; ++w) workers_.emplace_back([this, w] { worker(w); });
    }
    ~PanelSplitter() {
        stop_ = true;
        generation_.fetch_add(1);
        for (auto & t : workers_) t.join();
    }

    // fn(p0, p1) for the parts of [0, n_panels); returns when all are done.
    void run(int64_t n_panels, const std::function<void(int64_t, int64_t)> & fn) {
        fn_ = &fn;
        n_panels_ = n_panels;
        pending_.store(n_threads_ - 1);
        generation_.fetch_add(1);
        part(0);
        for (int spins = 0; pending_.load() != 0; ++spins) relax(spins);
    }

private:
    // Spins briefly, then yields: on a loaded machine the thread waited for
    // may need this core to run at all.
    static void relax(int spins) {
        if (spins > 2000) std::this_thread::yield();
    }
    void part(int w) {
        const int64_t p0 = n_panels_ * w / n_threads_, p1 = n_panels_ * (w + 1) / n_threads_;
        if (p0 < p1) (*fn_)(p0, p1);
    }
    void worker(int w) {
        uint64_t seen = 0;
        for (;;) {
            for (int spins = 0; generation_.load() == seen; ++spins) relax(spins);
            seen = generation_.load();
            if (stop_) return;
            part(w);
            pending_.fetch_sub(1);
        }
    }

    int n_threads_;
    std::vector<std::thread> workers_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stop_{false};
    const std::function<void(int64_t, int64_t)> * fn_ = nullptr;
    int64_t n_panels_ = 0;
};

// ---------------------------------------------------------------------------
// Timing

struct Options {
    bool quick = false;
    bool cold = false;
    std::vector<int> thread_counts;
    std::vector<dtm_isa> isas;
    std::string shape_filter;  // only shapes whose name contains this
    int64_t only_tokens = 0;   // only this n_tokens (0 = all)
};

// Evicts the caches by reading a buffer larger than any last-level cache,
// so that they hold clean lines, as in decoding (the weights of the other
// layers), not dirty ones whose write-back would slow the timed call.
void flush_caches() {
    static std::vector<char> junk(size_t(256) << 20, 1);
    char sum = 0;
    for (size_t i = 0; i < junk.size(); i += 64) sum = char(sum + junk[i]);
    asm volatile("" : : "r"(sum));  // the reads must happen
}

// Seconds per call of fn: a warm-up, then samples of about 2 ms (one call
// after a cache flush when cold) until the time budget is spent.
Timing time_per_call(const std::function<void()> & fn, const Options & opt) {
    return dtm::bench::time_per_call(fn, opt.quick ? 0.1 : 0.5, 500, opt.cold ? &flush_caches : nullptr);
}

// Bytes per second of a plain sequential read of n floats (4 running sums):
// the yardstick for the memory-bound one-token products.
__attribute__((target("avx2"))) double read_bandwidth_avx2(const float * p, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    const auto t0 = Clock::now();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(p + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(p + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(p + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(p + i + 24));
    }
    const double s = seconds_since(t0);
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    g_sink = lanes[0];
    return double(i) * sizeof(float) / s;
}

double read_bandwidth(const float * p, size_t n, const Options & opt) {
    if (!isa_supported(DTM_ISA_AVX2)) return 0.0;
    double best = 0.0;
    for (int r = 0; r < (opt.quick ? 3 : 10); ++r) best = std::max(best, read_bandwidth_avx2(p, n));
    return best;
}

// ---------------------------------------------------------------------------
// Matmul

struct Shape {
    const char * name;
    int64_t rows, cols;
};

// Compares a sample of y (first and last tokens, first and last panels, a
// middle panel) with matmul_ref; exits on the first difference.
void check_against_reference(const char * isa, const Shape & s, const PackedMatrix & w,
                             const std::vector<float> & x, const std::vector<float> & y, int64_t n_tokens) {
    const int64_t n_panels = w.n_panels();
    std::vector<int64_t> panels = {0, 1, n_panels / 2, n_panels - 2, n_panels - 1};
    std::vector<int64_t> tokens = {0, 1, 2, 3, n_tokens / 2, n_tokens - 2, n_tokens - 1};
    std::vector<float> want(size_t(w.rows()));
    for (int64_t t : tokens) {
        if (t < 0 || t >= n_tokens) continue;
        for (int64_t p : panels) {
            if (p < 0 || p >= n_panels) continue;
            matmul_ref(w, x.data() + t * w.cols(), w.cols(), want.data(), w.rows(), 1, p, p + 1);
            for (int64_t o = p * kPanelRows; o < std::min(w.rows(), (p + 1) * kPanelRows); ++o) {
                const float got = y[size_t(t * w.rows() + o)];
                if (std::memcmp(&got, &want[size_t(o)], sizeof got) != 0) {
                    std::fprintf(stderr, "MISMATCH %s %s n_tokens=%lld: y[%lld][%lld] = %.9g, reference %.9g\n",
                                 isa, s.name, static_cast<long long>(n_tokens), static_cast<long long>(t),
                                 static_cast<long long>(o), got, want[size_t(o)]);
                    std::exit(1);
                }
            }
        }
    }
}

void bench_matmul(const Options & opt, const double peak_of[4], double core_peak) {
    const Shape shapes[] = {
        {"288x288 (q/k/v/o)", 288, 288},       {"768x288 (gate/up)", 768, 288},
        {"288x768 (down)", 288, 768},          {"32000x288 (lm_head)", 32000, 288},
        {"4096x4096 (7B attn)", 4096, 4096},   {"11008x4096 (7B mlp)", 11008, 4096},
    };
    const int64_t token_counts[] = {1, 16, 64, 256};
    // The scalar reference runs at about 1 GFLOP/s: bigger calls are skipped.
    const double scalar_max_flop = opt.quick ? 5e7 : 2e8;

    std::printf("\n%-7s %-21s %6s %3s %10s %8s %8s %6s %6s %7s %7s\n", "isa", "shape", "tokens", "thr",
                "us/call", "GFLOP/s", "best", "%path", "%core", "GB/s", "read");
    for (const Shape & s : shapes) {
        if (opt.quick && s.cols > 1000) continue;
        if (std::string(s.name).find(opt.shape_filter) == std::string::npos) continue;
        const std::vector<float> wv = random_floats(size_t(s.rows * s.cols), 1);
        const PackedMatrix w = PackedMatrix::pack(wv.data(), s.rows, s.cols, s.cols);
        const std::vector<float> x = random_floats(size_t(256 * s.cols), 2);
        std::vector<float> y(size_t(256 * s.rows));
        const double read_bps = read_bandwidth(w.panel(0), w.bytes() / sizeof(float), opt);
        for (dtm_isa isa : opt.isas) {
            const MatmulFn fn = kernels(isa).matmul;
            for (int64_t n_tokens : token_counts) {
                const double flop = 2.0 * double(s.rows) * double(s.cols) * double(n_tokens);
                if (isa == DTM_ISA_SCALAR && flop > scalar_max_flop) continue;
                if (opt.only_tokens != 0 && n_tokens != opt.only_tokens) continue;
                for (int n_threads : opt.thread_counts) {
                    PanelSplitter split(n_threads);
                    std::fill(y.begin(), y.end(), -12345.0f);
                    auto call = [&] {
                        split.run(w.n_panels(), [&](int64_t p0, int64_t p1) {
                            fn(w, x.data(), s.cols, y.data(), s.rows, n_tokens, p0, p1);
                        });
                    };
                    call();
                    check_against_reference(isa_name(isa), s, w, x, y, n_tokens);
                    const Timing t = time_per_call(call, opt);
                    const double gflops = flop / t.median * 1e-9, best = flop / t.best * 1e-9;
                    const double path_peak = peak_of[isa] * n_threads, machine_peak = core_peak * n_threads;
                    char path_pct[16] = "-", core_pct[16] = "-", gbs[16] = "", read[16] = "";
                    if (path_peak > 0) std::snprintf(path_pct, sizeof path_pct, "%.0f%%", 100 * gflops / path_peak);
                    if (machine_peak > 0) std::snprintf(core_pct, sizeof core_pct, "%.0f%%", 100 * gflops / machine_peak);
                    if (n_tokens == 1) {
                        std::snprintf(gbs, sizeof gbs, "%.1f", double(w.bytes()) / t.median * 1e-9);
                        std::snprintf(read, sizeof read, "%.1f", read_bps * 1e-9);
                    }
                    std::printf("%-7s %-21s %6lld %3d %10.2f %8.1f %8.1f %6s %6s %7s %7s\n", isa_name(isa), s.name,
                                static_cast<long long>(n_tokens), n_threads, t.median * 1e6, gflops, best, path_pct,
                                core_pct, gbs, read);
                    std::fflush(stdout);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Row statistics

void bench_row_stats(const Options & opt) {
    const int64_t n = 32000;
    std::mt19937 rng(3);
    std::normal_distribution<float> dist(0.0f, 3.0f);
    std::vector<float> z(static_cast<size_t>(n));
    for (float & v : z) v = dist(rng);
    const RowStats want = row_stats_ref(z.data(), n, 17);

    std::printf("\n%-7s %-30s %10s %10s\n", "isa", "row_stats", "us/row", "best");
    for (dtm_isa isa : opt.isas) {
        const RowStatsFn fn = kernels(isa).row_stats;
        const RowStats got = fn(z.data(), n, 17);
        if (got.argmax != want.argmax || got.max != want.max ||
            std::fabs(got.logsumexp - want.logsumexp) > 1e-5f) {
            std::fprintf(stderr, "MISMATCH row_stats %s: argmax %d vs %d, lse %.9g vs %.9g\n", isa_name(isa),
                         got.argmax, want.argmax, got.logsumexp, want.logsumexp);
            std::exit(1);
        }
        const Timing t = time_per_call([&] { g_sink = fn(z.data(), n, 17).logsumexp; }, opt);
        std::printf("%-7s %-30s %10.2f %10.2f\n", isa_name(isa), "32000 logits (argmax, lse)", t.median * 1e6,
                    t.best * 1e6);
    }
}

Options parse(int argc, char ** argv) {
    Options opt;
    int threads = 0;
    std::vector<dtm_isa> only;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick") {
            opt.quick = true;
        } else if (a == "--cold") {
            opt.cold = true;
        } else if (a == "--threads" && i + 1 < argc) {
            threads = std::atoi(argv[++i]);
        } else if (a == "--shape" && i + 1 < argc) {
            opt.shape_filter = argv[++i];
        } else if (a == "--tokens" && i + 1 < argc) {
            opt.only_tokens = std::atoll(argv[++i]);
        } else if (a == "--isa" && i + 1 < argc) {
            setenv("DTM_ISA", argv[++i], 1);
            only.push_back(resolve_isa(DTM_ISA_AUTO));
        } else {
            std::fprintf(stderr,
                         "usage: %s [--quick] [--cold] [--threads N] [--isa scalar|avx2|avx512] "
                         "[--shape SUBSTRING] [--tokens N]\n",
                         argv[0]);
            std::exit(2);
        }
    }
    if (threads > 0) {
        opt.thread_counts = {threads};
    } else {
        opt.thread_counts = {1};
        if (std::thread::hardware_concurrency() >= 2) opt.thread_counts.push_back(2);
    }
    if (!only.empty()) {
        opt.isas = only;
    } else {
        for (dtm_isa isa : {DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512}) {
            if (isa_supported(isa)) opt.isas.push_back(isa);
        }
    }
    return opt;
}

}  // namespace

int main(int argc, char ** argv) {
    try {
        const Options opt = parse(argc, argv);
        std::printf("dtm bench_kernels: best ISA %s, %u CPUs, %s caches, load average %.2f\n", isa_name(best_isa()),
                    std::thread::hardware_concurrency(), opt.cold ? "cold" : "warm", dtm::bench::load_average());
        double peak_of[4] = {0, 0, 0, 0};
        for (dtm_isa isa : {DTM_ISA_AVX2, DTM_ISA_AVX512}) peak_of[isa] = fma_peak(isa);
        double core_peak = std::max(peak_of[DTM_ISA_AVX2], peak_of[DTM_ISA_AVX512]);
        std::printf("FMA peak per core (register-only loop, %d chains): avx2 %.1f GFLOP/s, avx512 %.1f GFLOP/s\n",
                    dtm::bench::kPeakChains, peak_of[DTM_ISA_AVX2], peak_of[DTM_ISA_AVX512]);
        std::printf("GFLOP/s from the median sample, best from the fastest; %%path = median / (that path's peak x\n"
                    "threads), %%core = median / (the core's best peak x threads); GB/s = packed weights / time,\n"
                    "read = a plain sequential read of the same bytes\n");
        bench_matmul(opt, peak_of, core_peak);
        bench_row_stats(opt);

        // The yardstick again: a peak that moved means the run was disturbed.
        double again[4] = {0, 0, 0, 0};
        for (dtm_isa isa : {DTM_ISA_AVX2, DTM_ISA_AVX512}) again[isa] = fma_peak(isa);
        std::printf("\nFMA peak per core at the end: avx2 %.1f GFLOP/s, avx512 %.1f GFLOP/s; load average %.2f\n",
                    again[DTM_ISA_AVX2], again[DTM_ISA_AVX512], dtm::bench::load_average());
    } catch (const dtm::Error & e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
