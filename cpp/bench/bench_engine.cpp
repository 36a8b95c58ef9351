// bench_engine.cpp - whole-model throughput of the engine, no Java needed.
//
//   bench_engine [MODEL.bin] [--threads T] [--seqs S] [--len L] [--decode N]
//                [--isa avx2|avx512] [--scalar]
//
// Measures on one model, in one run:
//   prefill: teacher-forced scoring of S sequences of L tokens (dtm_score:
//            all logits, their row statistics), scored tokens per second;
//   decode:  greedy generation of N tokens from a short prompt, one sequence
//            (dtm_generate_greedy), tokens per second;
// for every vector kernel path this CPU has (and the scalar reference path
// with --scalar; it is about 100x slower).
//
// The yardstick, measured in the same run: the FMA limit of scoring, i.e.
// one core's FMA peak (fma_peak.h, the best of the 256- and 512-bit loops)
// x threads / FLOP per scored token, counting 2 FLOP per weight of every
// decoder matrix and of the output head (attention's products over earlier
// positions, norms and the row statistics are not counted: they are the
// work the limit leaves no time for). "%FMA" is prefill tok/s against it.
// (The LibTorch yardstick runs in the JMH benchmark, tests/jmh, since the
// PyTorch preset ships LibTorch's libraries but not its C++ headers; the
// llama.cpp yardstick of decoding is DecodeVsLlamaCppBenchmark there.)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dtm/dtm.h"
#include "fma_peak.h"

namespace {

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void die(const char * what) {
    std::fprintf(stderr, "bench_engine: %s: %s\n", what, dtm_last_error());
    std::exit(1);
}

struct Figures {
    double prefill_tps = 0, decode_tps = 0;
    int threads = 0;
};

Figures run(dtm_model * model, int isa, int threads, int n_seqs, int len, int n_decode, int vocab) {
    dtm_session_params p = dtm_session_default_params();
    p.isa = isa;
    p.n_threads = threads;
    dtm_session * s = nullptr;
    if (dtm_session_create(model, p, &s) != DTM_OK) die("session");

    std::vector<int32_t> tokens(size_t(n_seqs) * size_t(len)), lens(size_t(n_seqs), len);
    uint64_t x = 42;
    for (size_t i = 0; i < tokens.size(); ++i) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        tokens[i] = (i % size_t(len) == 0) ? 1 : int32_t(x % uint64_t(vocab));
    }
    std::vector<int32_t> argmax(tokens.size());
    std::vector<float> lp(tokens.size());
    dtm_score_outputs out{};
    out.argmax = argmax.data();
    out.logprob_next = lp.data();

    Figures f;
    f.threads = dtm_session_n_threads(s);
    // Warm-up, then the best of 3 (the least disturbed run).
    if (dtm_score(s, tokens.data(), lens.data(), 1, out) != DTM_OK) die("score");
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
        const double t0 = now_s();
        if (dtm_score(s, tokens.data(), lens.data(), n_seqs, out) != DTM_OK) die("score");
        best = std::min(best, now_s() - t0);
    }
    f.prefill_tps = double(tokens.size()) / best;

    const int32_t prompt[] = {1, 9038, 2501, 263, 931};  // "Once upon a time" in the llama2 vocabulary
    int32_t plen = 5;
    constexpr int32_t kWarmupTokens = 8;
    std::vector<int32_t> gen(static_cast<size_t>(std::max(n_decode, kWarmupTokens)));
    int32_t glen = 0;
    if (dtm_generate_greedy(s, prompt, &plen, 1, kWarmupTokens, 0, gen.data(), &glen) != DTM_OK) die("generate");
    best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
        const double t0 = now_s();
        if (dtm_generate_greedy(s, prompt, &plen, 1, n_decode, 0, gen.data(), &glen) != DTM_OK) die("generate");
        best = std::min(best, now_s() - t0);
    }
    f.decode_tps = double(n_decode) / best;
    dtm_session_free(s);
    return f;
}

// 2 FLOP per weight of the decoder matrices and the output head.
double flop_per_token(const dtm_model_config & c) {
    const double q_dim = double(c.n_heads) * c.head_dim, kv_dim = double(c.n_kv_heads) * c.head_dim;
    const double attention = double(c.dim) * (2 * q_dim + 2 * kv_dim);  // q, o; k, v
    const double mlp = 3.0 * double(c.dim) * c.hidden_dim;
    return 2.0 * (double(c.n_layers) * (attention + mlp) + double(c.vocab_size) * c.dim);
}

}  // namespace

int main(int argc, char ** argv) {
    std::string path;
    int threads = 0, n_seqs = 8, len = 256, n_decode = 200;
    bool with_scalar = false;
    std::string only_isa;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() { if (i + 1 >= argc) { std::fprintf(stderr, "missing value for %s\n", a.c_str()); std::exit(2); } return std::atoi(argv[++i]); };
        if (a == "--threads") threads = next();
        else if (a == "--seqs") n_seqs = next();
        else if (a == "--len") len = next();
        else if (a == "--decode") n_decode = next();
        else if (a == "--scalar") with_scalar = true;
        else if (a == "--isa" && i + 1 < argc) only_isa = argv[++i];
        else if (a == "-h" || a == "--help") {
            std::printf("usage: bench_engine [MODEL.bin] [--threads T] [--seqs S] [--len L] [--decode N] [--isa avx2|avx512] [--scalar]\n"
                        "MODEL.bin defaults to $DTM_MODEL_DIR/stories15M.bin\n");
            return 0;
        } else path = a;
    }
    if (n_seqs < 1 || len < 1 || n_decode < 1 || threads < 0) {
        std::fprintf(stderr, "bench_engine: --seqs, --len and --decode take a count of at least 1, --threads one of 0 or more\n");
        return 2;
    }
    if (path.empty()) {
        const char * dir = std::getenv("DTM_MODEL_DIR");
        if (!dir) { std::fprintf(stderr, "bench_engine: give MODEL.bin or set DTM_MODEL_DIR\n"); return 2; }
        path = std::string(dir) + "/stories15M.bin";
    }
    dtm_model * model = nullptr;
    if (dtm_model_load(path.c_str(), dtm_model_default_params(), &model) != DTM_OK) die("load");
    dtm_model_config c;
    dtm_model_get_config(model, &c);
    len = std::min(len, int(c.max_seq_len));
    n_decode = std::min(n_decode, int(c.max_seq_len) - 5);
    const double flop = flop_per_token(c);

    const auto peak = [] {
        double p = 0;
        if (dtm_cpu_supports_isa(DTM_ISA_AVX2)) p = std::max(p, dtm::bench::fma_peak(false));
        if (dtm_cpu_supports_isa(DTM_ISA_AVX512)) p = std::max(p, dtm::bench::fma_peak(true));
        return p;
    };
    const double peak_start = peak();
    std::printf("model %s: dim %d, layers %d, vocab %d, %.1f M parameters, %.1f MFLOP per scored token\n",
                path.c_str(), c.dim, c.n_layers, c.vocab_size, double(c.n_params) / 1e6, flop / 1e6);
    std::printf("FMA peak per core %.1f GFLOP/s: FMA limit %.0f scored tok/s per thread; load average %.2f\n",
                peak_start, peak_start * 1e9 / flop, dtm::bench::load_average());
    std::printf("prefill: %d sequences x %d tokens; decode: %d tokens, 1 sequence; best of 3\n\n", n_seqs, len, n_decode);
    std::printf("%-8s %8s %16s %8s %16s\n", "path", "threads", "prefill tok/s", "%FMA", "decode tok/s");
    for (int isa : {DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512}) {
        if (!dtm_cpu_supports_isa(isa)) continue;
        if (isa == DTM_ISA_SCALAR ? !with_scalar : (!only_isa.empty() && only_isa != dtm_isa_name(isa))) continue;
        const Figures f = run(model, isa, threads, n_seqs, len, n_decode, c.vocab_size);
        const double limit = peak_start * 1e9 * f.threads / flop;
        std::printf("%-8s %8d %16.0f %7.0f%% %16.1f\n", dtm_isa_name(isa), f.threads, f.prefill_tps,
                    100 * f.prefill_tps / limit, f.decode_tps);
        std::fflush(stdout);
    }
    // The yardstick again: a peak that moved means the run was disturbed.
    std::printf("\nFMA peak per core at the end %.1f GFLOP/s; load average %.2f\n", peak(), dtm::bench::load_average());
    dtm_model_free(model);
    return 0;
}
