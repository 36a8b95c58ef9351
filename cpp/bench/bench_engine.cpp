// bench_engine.cpp - whole-model throughput of the engine, no Java needed.
//
//   bench_engine [MODEL.bin] [--threads T] [--seqs S] [--len L] [--decode N] [--isa avx2|avx512]
//
// Measures on one model, in one run:
//   prefill: teacher-forced scoring of S sequences of L tokens (dtm_score),
//            scored tokens per second;
//   decode:  greedy generation of N tokens from a short prompt, one sequence
//            (dtm_generate_greedy), tokens per second;
// for every kernel path this CPU has. The yardstick is the scalar reference
// path measured in the same run; each figure is printed with its ratio to it.
// (The LibTorch yardstick runs in the JMH benchmark, tests/jmh, since the
// PyTorch preset ships LibTorch's libraries but not its C++ headers.)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dtm/dtm.h"

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
    std::vector<int32_t> gen(static_cast<size_t>(n_decode));
    int32_t glen = 0;
    if (dtm_generate_greedy(s, prompt, &plen, 1, 8, 0, gen.data(), &glen) != DTM_OK) die("generate");
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

}  // namespace

int main(int argc, char ** argv) {
    std::string path;
    int threads = 0, n_seqs = 8, len = 256, n_decode = 200;
    std::string only_isa;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() { if (i + 1 >= argc) { std::fprintf(stderr, "missing value for %s\n", a.c_str()); std::exit(2); } return std::atoi(argv[++i]); };
        if (a == "--threads") threads = next();
        else if (a == "--seqs") n_seqs = next();
        else if (a == "--len") len = next();
        else if (a == "--decode") n_decode = next();
        else if (a == "--isa" && i + 1 < argc) only_isa = argv[++i];
        else if (a == "-h" || a == "--help") {
            std::printf("usage: bench_engine [MODEL.bin] [--threads T] [--seqs S] [--len L] [--decode N] [--isa avx2|avx512]\n"
                        "MODEL.bin defaults to $DTM_MODEL_DIR/stories15M.bin\n");
            return 0;
        } else path = a;
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

    std::printf("model %s: dim %d, layers %d, vocab %d, %.1f M parameters\n", path.c_str(), c.dim, c.n_layers,
                c.vocab_size, double(c.n_params) / 1e6);
    std::printf("prefill: %d sequences x %d tokens; decode: %d tokens, 1 sequence; best of 3\n\n", n_seqs, len, n_decode);
    std::printf("%-8s %8s %16s %10s %16s %10s\n", "path", "threads", "prefill tok/s", "x scalar", "decode tok/s", "x scalar");
    Figures scalar{};
    for (int isa : {DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512}) {
        if (!dtm_cpu_supports_isa(isa)) continue;
        if (!only_isa.empty() && only_isa != dtm_isa_name(isa) && isa != DTM_ISA_SCALAR) continue;
        const Figures f = run(model, isa, threads, n_seqs, len, n_decode, c.vocab_size);
        if (isa == DTM_ISA_SCALAR) scalar = f;
        std::printf("%-8s %8d %16.0f %10.2f %16.1f %10.2f\n", dtm_isa_name(isa), f.threads,
                    f.prefill_tps, f.prefill_tps / scalar.prefill_tps, f.decode_tps, f.decode_tps / scalar.decode_tps);
    }
    dtm_model_free(model);
    return 0;
}
