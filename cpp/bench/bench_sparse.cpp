// bench_sparse.cpp - speed of the sparse (pruned) products against dense fp32.
//
//   bench_sparse [--quick] [--threads N] [--isa scalar|avx2|avx512] [--shape SUBSTRING]
//                [--tokens N] [--sparsity S]
//
// The yardstick is DenseLinear (the engine's fp32 product) on the same
// weights, measured in the same run on the same thread pool. For each shape
// of the default model (stories15M: 288x288 attention, 768x288 w1/w3,
// 288x768 w2) and a 4096x4096 layer, for magnitude sparsity 0, 50, 60, 70,
// 80, 90 and 95 %, for 1 token (decoding), 8 and 64 tokens, on 1 thread and
// then 2 (when the machine has 2 CPUs):
//   - the sparse output is checked once, bit for bit, against the dense one
//     (they must be equal, see kernels/cpu/sparse_matmul.h);
//   - after a warm-up, samples of back-to-back calls are timed (each sample
//     about 2 ms); the median per call is printed for dense and sparse, with
//     the speed-up dense / sparse (> 1: sparse is faster) and the storage.
// Then the time of prune() itself on a 4096x4096 and a 32000x288 matrix.
// Warm caches, as in decoding where a layer's weights come back every token
// (the 4096x4096 layer, 64 MB dense, streams from DRAM anyway). On a shared
// machine the load average is printed: compare ratios, not absolute times.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "bench_support.h"
#include "compress/prune.h"
#include "compress/sparse_linear.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/dispatch.h"
#include "model/linear.h"

namespace {

using dtm::bench::Clock;
using dtm::bench::random_floats;
using dtm::bench::same_bits;
using dtm::bench::seconds_since;

struct Options {
    bool quick = false;
    std::vector<int> thread_counts;
    dtm_isa isa = DTM_ISA_AUTO;
    std::string shape_filter;
    int64_t only_tokens = 0;
    double only_sparsity = -1.0;
};

struct Shape {
    const char * name;
    int64_t rows, cols;
};

// Median seconds per call of fn: a warm-up, then samples of about 2 ms.
double time_per_call(const std::function<void()> & fn, const Options & opt) {
    return dtm::bench::time_per_call(fn, opt.quick ? 0.04 : 0.15, 200).median;
}

void usage() {
    std::fprintf(stderr,
                 "usage: bench_sparse [--quick] [--threads N] [--isa scalar|avx2|avx512] [--shape SUBSTRING]\n"
                 "                    [--tokens N] [--sparsity S]\n");
}

int run(const Options & opt) {
    const dtm_isa isa = dtm::cpu::resolve_isa(opt.isa);
    const dtm::cpu::KernelTable & kernels = dtm::cpu::kernels(isa);
    std::printf("bench_sparse: isa %s, load average %.2f; times are medians per call, ratio = dense / sparse\n",
                kernels.name, dtm::bench::load_average());

    const Shape shapes[] = {{"attn 288x288", 288, 288},
                            {"w1 768x288", 768, 288},
                            {"w2 288x768", 288, 768},
                            {"big 4096x4096", 4096, 4096}};
    const double sparsities[] = {0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
    const int64_t token_counts[] = {1, 8, 64};

    for (int n_threads : opt.thread_counts) {
        dtm::ThreadPool pool(n_threads);
        const dtm::cpu::CpuBackend backend(pool, kernels);
        std::printf("\n== %d thread%s\n", n_threads, n_threads == 1 ? "" : "s");
        std::printf("%-14s %6s %8s %11s %11s %8s %10s\n", "shape", "tokens", "sparsity", "dense us", "sparse us",
                    "ratio", "bytes s/d");
        for (const Shape & shape : shapes) {
            if (!opt.shape_filter.empty() && std::string(shape.name).find(opt.shape_filter) == std::string::npos) continue;
            const std::vector<float> base = random_floats(size_t(shape.rows * shape.cols), 7);
            for (int64_t n_tokens : token_counts) {
                if (opt.only_tokens > 0 && n_tokens != opt.only_tokens) continue;
                const std::vector<float> x = random_floats(size_t(n_tokens * shape.cols), 11);
                std::vector<float> y_dense(size_t(n_tokens * shape.rows)), y_sparse(y_dense.size());
                double dense_s = -1.0;
                for (double sparsity : sparsities) {
                    if (opt.only_sparsity >= 0.0 && std::fabs(sparsity - opt.only_sparsity) > 1e-9) continue;
                    std::vector<float> w = base;
                    dtm_compression spec{};
                    spec.kind = DTM_COMPRESS_PRUNE_MAGNITUDE;
                    spec.sparsity = float(sparsity);
                    dtm::compress::prune(w.data(), shape.rows, shape.cols, spec, nullptr);
                    const auto dense = dtm::DenseLinear::from_rows(w.data(), shape.rows, shape.cols);
                    const auto sparse = dtm::compress::SparseLinear::from_rows(w.data(), shape.rows, shape.cols);
                    auto dense_call = [&] {
                        dense->forward(x.data(), shape.cols, y_dense.data(), shape.rows, n_tokens, backend);
                    };
                    auto sparse_call = [&] {
                        sparse->forward(x.data(), shape.cols, y_sparse.data(), shape.rows, n_tokens, backend);
                    };
                    dense_call();
                    sparse_call();
                    if (!same_bits(y_dense, y_sparse)) {
                        std::printf("MISMATCH: %s, %lld tokens, sparsity %.2f: sparse differs from dense\n",
                                    shape.name, static_cast<long long>(n_tokens), sparsity);
                        return 1;
                    }
                    if (dense_s < 0) dense_s = time_per_call(dense_call, opt);  // dense cost: same at any sparsity
                    const double sparse_s = time_per_call(sparse_call, opt);
                    std::printf("%-14s %6lld %7.0f%% %11.2f %11.2f %7.2fx %10.2f\n", shape.name,
                                static_cast<long long>(n_tokens), sparsity * 100, dense_s * 1e6, sparse_s * 1e6,
                                dense_s / sparse_s, double(sparse->storage_bytes()) / double(dense->storage_bytes()));
                    std::fflush(stdout);
                }
            }
        }
    }

    std::printf("\n== prune() itself (magnitude 90 %% from dense; 2:4; then +5 %% on top)\n");
    const Shape prune_shapes[] = {{"4096x4096", 4096, 4096}, {"32000x288", 32000, 288}};
    for (const Shape & shape : prune_shapes) {
        std::vector<float> w = random_floats(size_t(shape.rows * shape.cols), 3);
        std::vector<float> w24 = w;
        dtm_compression spec{};
        spec.kind = DTM_COMPRESS_PRUNE_MAGNITUDE;
        spec.sparsity = 0.9f;
        auto t0 = Clock::now();
        dtm::compress::prune(w.data(), shape.rows, shape.cols, spec, nullptr);
        const double magnitude_s = seconds_since(t0);
        spec.sparsity = 0.95f;
        t0 = Clock::now();
        dtm::compress::prune(w.data(), shape.rows, shape.cols, spec, nullptr);
        const double step_s = seconds_since(t0);
        spec.kind = DTM_COMPRESS_PRUNE_N_M;
        t0 = Clock::now();
        dtm::compress::prune(w24.data(), shape.rows, shape.cols, spec, nullptr);
        const double nm_s = seconds_since(t0);
        t0 = Clock::now();
        const auto lin = dtm::compress::make_pruned_linear(w.data(), shape.rows, shape.cols);
        const double make_s = seconds_since(t0);
        std::printf("%-10s magnitude 90%% %7.1f ms, 90->95%% %7.1f ms, 2:4 %7.1f ms, make_pruned_linear %7.1f ms\n",
                    shape.name, magnitude_s * 1e3, step_s * 1e3, nm_s * 1e3, make_s * 1e3);
    }
    return 0;
}

}  // namespace

int main(int argc, char ** argv) {
    Options opt;
    int threads = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> const char * {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--quick") {
            opt.quick = true;
        } else if (a == "--threads") {
            threads = std::atoi(value());
        } else if (a == "--isa") {
            const std::string v = value();
            opt.isa = v == "scalar" ? DTM_ISA_SCALAR : v == "avx2" ? DTM_ISA_AVX2 : v == "avx512" ? DTM_ISA_AVX512 : DTM_ISA_AUTO;
        } else if (a == "--shape") {
            opt.shape_filter = value();
        } else if (a == "--tokens") {
            opt.only_tokens = std::atoll(value());
        } else if (a == "--sparsity") {
            opt.only_sparsity = std::atof(value());
        } else {
            usage();
            return 2;
        }
    }
    if (threads > 0) {
        opt.thread_counts = {threads};
    } else {
        opt.thread_counts = {1};
        if (dtm::ThreadPool::hardware_threads() >= 2) opt.thread_counts.push_back(2);
    }
    try {
        return run(opt);
    } catch (const dtm::Error & e) {
        std::fprintf(stderr, "bench_sparse: %s\n", e.what());
        return 1;
    }
}
