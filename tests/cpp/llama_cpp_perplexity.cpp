// llama_cpp_perplexity.cpp - llama.cpp's own logits of token windows, for
// the JUnit export tests (tests/junit/dtm/export).
//
// The Java binding de.kherud:llama 4.2.0 gives text and token ids but no
// logits (its per-token probabilities, n_probs > 0, abort the JVM: its JNI
// code reads completion_probabilities[i]["probs"], which the llama.cpp server
// code it embeds writes as "top_logprobs"). The native library it ships,
// libjllama.so, also exports llama.cpp's C API (llama.h, build b4916), so this
// program loads that library with dlopen and runs llama.cpp itself: one
// llama_decode per window with logits for every position, as llama.cpp's
// perplexity tool does, default KV cache (F16) and all.
//
//   llama_cpp_perplexity LIBJLLAMA.so MODEL.gguf THREADS < windows
//
// stdin: the context n_ctx on the first line, then one window per line
// (n_ctx token ids, separated by spaces). stdout: one line per window, for
// every position j < n_ctx - 1 "argmax logprob" of the logits after token j:
// llama.cpp's greedy choice and log p(token j + 1), the log-softmax in double.
// Exit status 0, or 1 with one line on stderr.
//
// Only a few functions are called; their structs are declared here. The
// parameter structs are not: they are obtained from llama's *_default_params
// into a buffer larger than the real struct and passed back by value (on
// x86-64 a struct this size travels in memory, so the callee reads its own
// layout from the start of the copy); only their leading fields, which have
// not moved in llama.h for years, are changed, and the effect is checked
// (llama_n_ctx).
#include <dlfcn.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Params {  // llama_model_params / llama_context_params, opaque
    alignas(8) unsigned char bytes[2048];
};

struct Batch {  // llama.h's struct llama_batch
    int32_t n_tokens;
    int32_t * token;
    float * embd;
    int32_t * pos;
    int32_t * n_seq_id;
    int32_t ** seq_id;
    int8_t * logits;
};

using LogCallback = void (*)(int, const char *, void *);

struct Llama {
    void (*backend_init)();
    Params (*model_default_params)();
    void * (*model_load_from_file)(const char *, Params);
    Params (*context_default_params)();
    void * (*init_from_model)(void *, Params);
    const void * (*model_get_vocab)(const void *);
    int32_t (*vocab_n_tokens)(const void *);
    uint32_t (*n_ctx)(const void *);
    int32_t (*decode)(void *, Batch);
    float * (*get_logits_ith)(void *, int32_t);
    void (*kv_self_clear)(void *);
    void (*free_context)(void *);
    void (*model_free)(void *);
    void (*log_set)(LogCallback, void *);
};

[[noreturn]] void die(const std::string & message) {
    std::fprintf(stderr, "llama_cpp_perplexity: %s\n", message.c_str());
    std::exit(1);
}

template <typename F>
void bind(void * lib, const char * name, F & f) {
    void * p = dlsym(lib, name);
    if (!p) die(std::string("the library has no ") + name);
    f = reinterpret_cast<F>(p);
}

void quiet(int, const char *, void *) {}

}  // namespace

int main(int argc, char ** argv) {
    if (argc != 4) die("usage: llama_cpp_perplexity LIBJLLAMA.so MODEL.gguf THREADS < windows");
    void * lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) die(std::string("cannot load ") + argv[1] + ": " + dlerror());
    Llama L;
    bind(lib, "llama_backend_init", L.backend_init);
    bind(lib, "llama_model_default_params", L.model_default_params);
    bind(lib, "llama_model_load_from_file", L.model_load_from_file);
    bind(lib, "llama_context_default_params", L.context_default_params);
    bind(lib, "llama_init_from_model", L.init_from_model);
    bind(lib, "llama_model_get_vocab", L.model_get_vocab);
    bind(lib, "llama_vocab_n_tokens", L.vocab_n_tokens);
    bind(lib, "llama_n_ctx", L.n_ctx);
    bind(lib, "llama_decode", L.decode);
    bind(lib, "llama_get_logits_ith", L.get_logits_ith);
    bind(lib, "llama_kv_self_clear", L.kv_self_clear);
    bind(lib, "llama_free", L.free_context);
    bind(lib, "llama_model_free", L.model_free);
    bind(lib, "llama_log_set", L.log_set);

    int n_ctx = 0;
    std::string line;
    if (!std::getline(std::cin, line) || (n_ctx = std::atoi(line.c_str())) < 4) die("stdin must start with n_ctx >= 4");
    const int threads = std::atoi(argv[3]);

    L.log_set(quiet, nullptr);
    L.backend_init();
    void * model = L.model_load_from_file(argv[2], L.model_default_params());
    if (!model) die(std::string("llama.cpp cannot load ") + argv[2]);
    Params cp = L.context_default_params();
    uint32_t * u = reinterpret_cast<uint32_t *>(cp.bytes);  // n_ctx, n_batch, n_ubatch, n_seq_max
    int32_t * s = reinterpret_cast<int32_t *>(cp.bytes);    // [4] n_threads, [5] n_threads_batch
    u[0] = uint32_t(n_ctx);
    u[1] = uint32_t(n_ctx);
    u[2] = uint32_t(n_ctx);
    u[3] = 1;
    s[4] = threads;
    s[5] = threads;
    void * ctx = L.init_from_model(model, cp);
    if (!ctx) die("llama.cpp cannot create a context");
    if (L.n_ctx(ctx) != uint32_t(n_ctx)) die("llama.cpp's context is not the one asked for (llama.h has changed?)");
    const int32_t n_vocab = L.vocab_n_tokens(L.model_get_vocab(model));

    const size_t n = static_cast<size_t>(n_ctx);
    std::vector<int32_t> tokens, pos(n), n_seq(n, 1), seq0(1, 0);
    std::vector<int32_t *> seq(n, seq0.data());
    std::vector<int8_t> logits(n, 1);
    for (int i = 0; i < n_ctx; ++i) pos[size_t(i)] = i;
    while (std::getline(std::cin, line)) {
        if (line.empty()) continue;
        tokens.clear();
        std::istringstream in(line);
        for (int32_t t; in >> t;) {
            if (t < 0 || t >= n_vocab) die("token " + std::to_string(t) + " is outside the vocabulary");
            tokens.push_back(t);
        }
        if (int(tokens.size()) != n_ctx) die("a window of " + std::to_string(tokens.size()) + " tokens, not n_ctx");
        L.kv_self_clear(ctx);
        Batch b{n_ctx, tokens.data(), nullptr, pos.data(), n_seq.data(), seq.data(), logits.data()};
        if (L.decode(ctx, b) != 0) die("llama_decode failed");
        std::string out;
        for (int j = 0; j + 1 < n_ctx; ++j) {
            const float * l = L.get_logits_ith(ctx, j);
            if (!l) die("no logits at position " + std::to_string(j));
            int32_t best = 0;
            for (int32_t v = 1; v < n_vocab; ++v) {
                if (l[v] > l[best]) best = v;
            }
            double sum = 0.0;
            for (int32_t v = 0; v < n_vocab; ++v) sum += std::exp(double(l[v]) - double(l[best]));
            const double logprob = double(l[tokens[size_t(j + 1)]]) - double(l[best]) - std::log(sum);
            char cell[64];
            std::snprintf(cell, sizeof cell, "%s%d %.17g", j ? " " : "", best, logprob);
            out += cell;
        }
        std::printf("%s\n", out.c_str());
        std::fflush(stdout);
    }
    L.free_context(ctx);
    L.model_free(model);
    return 0;
}
