// bench_quant.cpp - speed of the quantized Linears against the fp32 DenseLinear.
//
//   bench_quant [--quick] [--threads N] [--shape SUBSTRING] [--tokens N]
//
// The yardstick is the fp32 DenseLinear measured in the same run, on the same
// shape, token count and thread count. For each shape of the default model
// (stories15M: 288x288, 768x288, 288x768, 32000x288) and a 4096x4096 layer,
// n_tokens in {1, 64, 256}, and 1 thread then all threads, it times
// Linear::forward of fp32, int8 (W8A8), int8 weight-only, q8_0 and q4_0 (the
// whole forward: activation quantization, the kernel, the thread split) and
// prints GOP/s = 2 * rows * cols * n_tokens / time (median sample; "best" is
// the fastest sample) and the ratio to fp32.
//
// A second table times the bare kernels on one thread: the W8A8 int8 GEMM
// (activations already quantized) against the fp32 matmul kernel, the
// design's "int8 VNNI GEMM >= 3x our fp32 GEMM".
//
// Every forward's output is checked once: the batch's first token must equal,
// bit for bit, a one-token forward on the scalar reference path.
// The machine's load average is printed: on a shared machine, trust "best".

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "bench_support.h"
#include "compress/quantize.h"
#include "core/thread_pool.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/int8_gemm.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/quant_kernels.h"
#include "kernels/cpu/quantize_values.h"
#include "model/linear.h"

namespace {

using dtm::bench::random_floats;
using dtm::bench::Timing;

struct Options {
    bool quick = false;
    std::vector<int> thread_counts;
    std::string shape_filter;
    int64_t only_tokens = 0;
};

// A warm-up, then samples of about 2 ms until the budget is spent.
Timing time_per_call(const std::function<void()> & fn, const Options & opt) {
    return dtm::bench::time_per_call(fn, opt.quick ? 0.05 : 0.2, 200);
}

struct Shape {
    const char * name;
    int64_t rows, cols;
};

struct Format {
    const char * name;
    int32_t kind;  // dtm_compression_kind, 0 = fp32 DenseLinear
};

const Format kFormats[] = {
    {"fp32", 0}, {"int8", DTM_COMPRESS_INT8}, {"int8_w", DTM_COMPRESS_INT8_WEIGHT},
    {"q8_0", DTM_COMPRESS_Q8_0}, {"q4_0", DTM_COMPRESS_Q4_0},
};

std::shared_ptr<const dtm::Linear> make_linear(const Format & f, const std::vector<float> & w, const Shape & s) {
    if (f.kind == 0) return dtm::DenseLinear::from_rows(w.data(), s.rows, s.cols);
    dtm_compression spec{};
    spec.kind = f.kind;
    return dtm::compress::quantize(w.data(), s.rows, s.cols, spec);
}

// The first token of a batched forward must equal a one-token scalar forward.
void check_first_token(const dtm::Linear & lin, const Format & f, const Shape & s, const std::vector<float> & x,
                       const std::vector<float> & y) {
    std::vector<float> want(static_cast<size_t>(s.rows));
    dtm::ThreadPool one(1);
    const dtm::cpu::CpuBackend scalar(one, dtm::cpu::kernels(DTM_ISA_SCALAR));
    lin.forward(x.data(), s.cols, want.data(), s.rows, 1, scalar);
    if (std::memcmp(want.data(), y.data(), want.size() * sizeof(float)) != 0) {
        std::fprintf(stderr, "MISMATCH %s %s: the first token differs from the scalar reference\n", f.name, s.name);
        std::exit(1);
    }
}

void bench_linears(const Options & opt, dtm_isa isa) {
    const Shape shapes[] = {
        {"288x288 (q/k/v/o)", 288, 288}, {"768x288 (gate/up)", 768, 288}, {"288x768 (down)", 288, 768},
        {"32000x288 (lm_head)", 32000, 288}, {"4096x4096", 4096, 4096},
    };
    const int64_t token_counts[] = {1, 64, 256};
    const dtm::cpu::KernelTable & kernels = dtm::cpu::kernels(isa);
    std::printf("\nLinear::forward on %s (int8 kernels: %s)\n", dtm::cpu::isa_name(isa),
                dtm::cpu::quant_kernels(isa).name);
    std::printf("%-21s %6s %3s %-7s %10s %8s %8s %7s\n", "shape", "tokens", "thr", "format", "us/call", "GOP/s", "best",
                "x fp32");
    for (const Shape & s : shapes) {
        if (std::string(s.name).find(opt.shape_filter) == std::string::npos) continue;
        if (opt.quick && s.cols > 1000) continue;
        const std::vector<float> w = random_floats(static_cast<size_t>(s.rows * s.cols), 1, -0.1f, 0.1f);
        const std::vector<float> x = random_floats(static_cast<size_t>(256 * s.cols), 2, -2.0f, 2.0f);
        std::vector<float> y(static_cast<size_t>(256 * s.rows));
        std::vector<std::shared_ptr<const dtm::Linear>> linears;
        for (const Format & f : kFormats) linears.push_back(make_linear(f, w, s));
        for (int64_t n_tokens : token_counts) {
            if (opt.only_tokens != 0 && n_tokens != opt.only_tokens) continue;
            const double ops = 2.0 * double(s.rows) * double(s.cols) * double(n_tokens);
            for (int n_threads : opt.thread_counts) {
                dtm::ThreadPool pool(n_threads);
                const dtm::cpu::CpuBackend backend(pool, kernels);
                double fp32_time = 0.0;
                for (size_t i = 0; i < linears.size(); ++i) {
                    const dtm::Linear & lin = *linears[i];
                    auto call = [&] { lin.forward(x.data(), s.cols, y.data(), s.rows, n_tokens, backend); };
                    call();
                    check_first_token(lin, kFormats[i], s, x, y);
                    const Timing t = time_per_call(call, opt);
                    if (i == 0) fp32_time = t.median;
                    std::printf("%-21s %6lld %3d %-7s %10.2f %8.1f %8.1f %7.2f\n", s.name,
                                static_cast<long long>(n_tokens), n_threads, kFormats[i].name, t.median * 1e6,
                                ops / t.median * 1e-9, ops / t.best * 1e-9, fp32_time / t.median);
                    std::fflush(stdout);
                }
            }
        }
    }
}

// The bare W8A8 kernel against the bare fp32 kernel, one thread, all panels.
void bench_bare_kernels(const Options & opt, dtm_isa isa) {
    const Shape shapes[] = {{"768x288 (gate/up)", 768, 288}, {"288x768 (down)", 288, 768}, {"4096x4096", 4096, 4096}};
    const int64_t token_counts[] = {64, 256};
    const dtm::cpu::MatmulFn matmul = dtm::cpu::kernels(isa).matmul;
    const dtm::cpu::QuantKernels & qk = dtm::cpu::quant_kernels(isa);
    std::printf("\nBare kernels, 1 thread: fp32 matmul (%s) vs int8 GEMM (%s), activations pre-quantized\n",
                dtm::cpu::isa_name(isa), qk.name);
    std::printf("%-21s %6s %12s %12s %7s\n", "shape", "tokens", "fp32 GFLOP/s", "int8 GOP/s", "ratio");
    for (const Shape & s : shapes) {
        if (std::string(s.name).find(opt.shape_filter) == std::string::npos) continue;
        if (opt.quick && s.cols > 1000) continue;
        const std::vector<float> w = random_floats(static_cast<size_t>(s.rows * s.cols), 3, -0.1f, 0.1f);
        const dtm::cpu::PackedMatrix wf = dtm::cpu::PackedMatrix::pack(w.data(), s.rows, s.cols, s.cols);
        std::vector<int8_t> wq(w.size());
        for (size_t i = 0; i < wq.size(); ++i) wq[i] = static_cast<int8_t>(std::lround(w[i] * 1270.0f));
        const dtm::cpu::Int8Panels wi = dtm::cpu::Int8Panels::pack(wq.data(), s.rows, s.cols);
        const std::vector<float> w_scale(static_cast<size_t>(wi.n_panels() * dtm::cpu::kPanelRows), 1e-3f);
        const std::vector<float> x = random_floats(static_cast<size_t>(256 * s.cols), 4, -2.0f, 2.0f);
        const int64_t ldq = wi.k_groups() * dtm::cpu::kInt8GroupK;
        std::vector<int8_t> xq(static_cast<size_t>(256 * ldq), 0);
        std::vector<int32_t> x_sum(256);
        std::vector<float> x_scale(256);
        for (int64_t t = 0; t < 256; ++t) {
            x_scale[size_t(t)] = dtm::cpu::quantize_int8_absmax(x.data() + t * s.cols, s.cols, INFINITY,
                                                                xq.data() + t * ldq, x_sum.data() + t);
        }
        std::vector<float> y(static_cast<size_t>(256 * s.rows));
        for (int64_t n_tokens : token_counts) {
            if (opt.only_tokens != 0 && n_tokens != opt.only_tokens) continue;
            const double ops = 2.0 * double(s.rows) * double(s.cols) * double(n_tokens);
            const Timing tf = time_per_call(
                [&] { matmul(wf, x.data(), s.cols, y.data(), s.rows, n_tokens, 0, wf.n_panels()); }, opt);
            const dtm::cpu::Int8Tokens tokens{xq.data(), ldq, x_sum.data(), x_scale.data()};
            const Timing ti = time_per_call(
                [&] { qk.int8_gemm(wi, w_scale.data(), tokens, n_tokens, y.data(), s.rows, 0, wi.n_panels()); }, opt);
            std::printf("%-21s %6lld %12.1f %12.1f %7.2f\n", s.name, static_cast<long long>(n_tokens),
                        ops / tf.median * 1e-9, ops / ti.median * 1e-9, tf.median / ti.median);
            std::fflush(stdout);
        }
    }
}

Options parse(int argc, char ** argv) {
    Options opt;
    int threads = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick") {
            opt.quick = true;
        } else if (a == "--threads" && i + 1 < argc) {
            threads = std::atoi(argv[++i]);
        } else if (a == "--shape" && i + 1 < argc) {
            opt.shape_filter = argv[++i];
        } else if (a == "--tokens" && i + 1 < argc) {
            opt.only_tokens = std::atoll(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: bench_quant [--quick] [--threads N] [--shape SUBSTRING] [--tokens N]\n");
            std::exit(2);
        }
    }
    const int all = dtm::ThreadPool::hardware_threads();
    if (threads > 0) {
        opt.thread_counts = {threads};
    } else {
        opt.thread_counts = {1};
        if (all > 1) opt.thread_counts.push_back(all);
    }
    return opt;
}

}  // namespace

int main(int argc, char ** argv) {
    const Options opt = parse(argc, argv);
    const dtm_isa isa = dtm::cpu::best_isa();
    std::printf("bench_quant: best isa %s, AVX-512 VNNI %s, %d CPUs, load average %.2f\n", dtm::cpu::isa_name(isa),
                dtm::cpu::cpu_has_avx512_vnni() ? "yes" : "no", dtm::ThreadPool::hardware_threads(),
                dtm::bench::load_average());
    bench_bare_kernels(opt, isa);
    bench_linears(opt, isa);
    return 0;
}
