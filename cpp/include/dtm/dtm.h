/*
 * dtm.h - the one boundary of the dtm engine.
 *
 * Flat C: opaque handles, plain structs, int status codes and a thread-local
 * last-error message. No C++ exception and no abort() crosses this boundary;
 * every function that can fail returns a dtm_status and, on failure, leaves a
 * message that dtm_last_error() returns on the same thread.
 *
 * Ownership: every *_create / *_load has a matching *_free; free(NULL) does
 * nothing. Outputs go into caller-provided buffers; where the size is not
 * known in advance the function reports the size it needs (two-call pattern).
 *
 * Threads: a dtm_model is immutable after loading and may be shared by any
 * number of threads. A dtm_session (scratch buffers, KV cache, worker
 * threads) belongs to one calling thread at a time.
 *
 * Versioning: new struct fields are only ever appended; fields documented
 * with "0 = ..." take their value from the model or the machine when 0.
 */
#ifndef DTM_H
#define DTM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  define DTM_API __declspec(dllexport)
#else
#  define DTM_API __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------------ */
/* Status codes and errors                                                   */
/* ------------------------------------------------------------------------ */

/* What failed. On any non-zero status no output buffer is guaranteed to be
 * filled and no handle is created; handles passed in stay valid and unchanged
 * unless the function's comment says otherwise. */
typedef enum dtm_status {
    DTM_OK                    = 0,
    DTM_ERR_INVALID_ARGUMENT  = 1,  /* NULL pointer, negative size, value out of range */
    DTM_ERR_IO                = 2,  /* a file could not be opened, mapped or read */
    DTM_ERR_MODEL_FORMAT      = 3,  /* model file truncated, foreign or inconsistent */
    DTM_ERR_TOKENIZER_FORMAT  = 4,  /* tokenizer file truncated, foreign or inconsistent */
    DTM_ERR_TOKEN_OUT_OF_RANGE= 5,  /* a token id is outside [0, vocab_size) */
    DTM_ERR_CONTEXT_OVERFLOW  = 6,  /* a sequence is longer than the context */
    DTM_ERR_OUT_OF_MEMORY     = 7,  /* an allocation failed */
    DTM_ERR_BUFFER_TOO_SMALL  = 8,  /* output buffer too small; the needed size was reported */
    DTM_ERR_UNSUPPORTED       = 9,  /* e.g. an instruction set the CPU lacks */
    DTM_ERR_NON_FINITE        = 10, /* NaN or infinity in weights */
    DTM_ERR_INTERNAL          = 99  /* a bug in dtm: please report it */
} dtm_status;

/* Message of the last failed call on this thread ("" if none). Valid until the
 * next dtm call on this thread. */
DTM_API const char * dtm_last_error(void);

/* Stable upper-case name of a status, e.g. "MODEL_FORMAT". */
DTM_API const char * dtm_status_name(int32_t status);

/* Library version, e.g. "0.1.0". */
DTM_API const char * dtm_version(void);

/* ------------------------------------------------------------------------ */
/* CPU instruction sets                                                      */
/* ------------------------------------------------------------------------ */

/* Kernel paths. Every path computes fp32 matrix products with the same
 * sequential per-output accumulation, so all paths give bitwise equal
 * logits; they differ only in speed. */
typedef enum dtm_isa {
    DTM_ISA_AUTO    = 0, /* best the CPU supports, or $DTM_ISA (scalar|avx2|avx512) if set */
    DTM_ISA_SCALAR  = 1, /* portable reference */
    DTM_ISA_AVX2    = 2, /* AVX2 + FMA */
    DTM_ISA_AVX512  = 3  /* AVX-512 F/BW/VL (+VNNI for int8 where present) */
} dtm_isa;

/* Best instruction set this CPU supports (never DTM_ISA_AUTO). */
DTM_API int32_t dtm_cpu_best_isa(void);

/* 1 if this CPU can run the given path, else 0. */
DTM_API int32_t dtm_cpu_supports_isa(int32_t isa);

/* "auto", "scalar", "avx2", "avx512" (or "unknown"). */
DTM_API const char * dtm_isa_name(int32_t isa);

/* ------------------------------------------------------------------------ */
/* Devices (backends)                                                        */
/* ------------------------------------------------------------------------ */

/* A device a session can run on (dtm_session_params.device). The list holds
 * what this build was compiled with and this machine offers: "cpu" always,
 * first; "cuda:0", "cuda:1", ... only in a build with the CUDA backend on a
 * machine with such devices.
 *
 * The numeric contract:
 *  - within one backend and one thread count, results are bitwise
 *    reproducible: a position's logits and statistics are the same whether
 *    it was computed in prefill or decoding, in any batch and any chunking
 *    (on the CPU also on every isa, see dtm_isa above);
 *  - across backends, logits agree with the CPU path within
 *    DTM_BACKEND_LOGIT_TOLERANCE (absolute, per logit); statistics derived
 *    from them (argmax, log p, KL) agree to the same order, and an argmax may
 *    differ only where the top two logits are closer than that;
 *  - FDT and SDT of a model against itself are exact on every backend
 *    (FDT = N, SDT = 0), as the base's reference is made on the backend that
 *    evaluates against it. */
#define DTM_BACKEND_LOGIT_TOLERANCE 1e-3f

typedef struct dtm_device_info {
    char    name[32];         /* what dtm_session_params.device takes: "cpu", "cuda:0" */
    char    description[128]; /* one line, e.g. "x86-64 CPU, kernels avx512 + VNNI" */
    int64_t memory_bytes;     /* memory the device has (the CPU: physical RAM); 0 = unknown */
    int32_t compute_units;    /* the CPU: online CPUs; a GPU: multiprocessors */
} dtm_device_info;

/* Devices this build and machine can run (>= 1: the CPU is device 0). */
DTM_API int32_t dtm_n_devices(void);

/* Fills *out with device `index` (0 .. dtm_n_devices() - 1).
 * INVALID_ARGUMENT for an index out of range or a NULL out. */
DTM_API int32_t dtm_device(int32_t index, dtm_device_info * out);

/* ------------------------------------------------------------------------ */
/* Models                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct dtm_model dtm_model;

typedef struct dtm_model_params {
    /* Tokenizer file. NULL = "tokenizer.bin" in the model file's directory. */
    const char * tokenizer_path;
    /* 1 (the default of dtm_model_default_params) = scan every weight, norm and
     * bias for NaN/inf at load, llama2.c file or checkpoint alike: one pass over
     * the weights, DTM_ERR_NON_FINITE naming the first tensor with one. 0 skips
     * the scan: NaN/inf weights then show as NaN or infinite logits and metrics. */
    int32_t check_finite;
} dtm_model_params;

DTM_API dtm_model_params dtm_model_default_params(void);

/* Loads a model. `path` is either
 *  - a llama2.c model file (.bin, shared or separate classifier), with its
 *    tokenizer.bin (params.tokenizer_path), or
 *  - a Hugging Face checkpoint directory of the Llama family (Llama 2/3,
 *    Mistral, TinyLlama, SmolLM, Qwen2): config.json plus model.safetensors,
 *    or model.safetensors.index.json and its shards; weights F32, F16 or
 *    BF16 (computed in fp32: see docs/huggingface.md). tokenizer_path is
 *    ignored: tokenizer.json is read by the Java API, and dtm_tokenize /
 *    dtm_detokenize / dtm_token_piece answer DTM_ERR_UNSUPPORTED for it.
 * Every size, offset, dtype and shape is validated against the files before
 * any weight is touched. Errors: IO, MODEL_FORMAT, TOKENIZER_FORMAT,
 * UNSUPPORTED (an architecture or config option dtm does not run, named in
 * the message), NON_FINITE, OUT_OF_MEMORY (also before loading, when the
 * estimated memory exceeds MemAvailable). On failure *out is set to NULL. */
DTM_API int32_t dtm_model_load(const char * path, dtm_model_params params, dtm_model ** out);

/* Writes the model as a Hugging Face checkpoint into directory `dir`
 * (created if needed): config.json (LlamaForCausalLM) and model.safetensors
 * with fp32 weights, q/k rows permuted to Hugging Face's rotate-half layout.
 * Loading that directory gives bitwise the same weights and logits. The
 * tokenizer files are written by the Java API (dtm convert). Each file is
 * written to a temporary file and renamed. Errors: IO. */
DTM_API int32_t dtm_model_save_hf(const dtm_model * model, const char * dir);

DTM_API void dtm_model_free(dtm_model * model);

typedef struct dtm_model_config {
    int32_t dim;              /* residual stream width */
    int32_t hidden_dim;       /* MLP width */
    int32_t n_layers;
    int32_t n_heads;          /* query heads */
    int32_t n_kv_heads;       /* key/value heads (grouped-query attention when < n_heads) */
    int32_t head_dim;         /* dim / n_heads */
    int32_t vocab_size;
    int32_t max_seq_len;      /* context length */
    float   rope_theta;       /* RoPE base, 10000 for llama2.c files */
    float   norm_eps;         /* RMSNorm epsilon, 1e-5 for llama2.c files */
    int32_t shared_classifier;/* 1 = output head tied to the token embedding */
    int32_t bos_id;
    int32_t eos_id;
    int64_t n_params;         /* parameters, counting a tied head once */
    /* appended for Hugging Face checkpoints */
    int32_t source;           /* 0 = llama2.c file, 1 = Hugging Face checkpoint directory */
    int32_t rope_scaling;     /* 0 = none, 1 = linear, 2 = dynamic (NTK), 3 = llama3 */
    float   rope_scaling_factor;      /* 1 when none */
    float   rope_low_freq_factor;     /* llama3 */
    float   rope_high_freq_factor;    /* llama3 */
    int32_t rope_original_max_pos;    /* dynamic, llama3: the trained context; else 0 */
    int32_t qkv_bias;         /* 1 = q, k, v projections have biases (Qwen2, Llama attention_bias) */
    int32_t o_bias;           /* 1 = the output projection has a bias (Llama attention_bias) */
    int32_t mlp_bias;         /* 1 = gate, up, down have biases (Llama mlp_bias) */
} dtm_model_config;

DTM_API int32_t dtm_model_get_config(const dtm_model * model, dtm_model_config * out);

/* What a component is: one weight matrix, named as Hugging Face names it. */
typedef enum dtm_component_kind {
    DTM_COMPONENT_Q_PROJ    = 0,
    DTM_COMPONENT_K_PROJ    = 1,
    DTM_COMPONENT_V_PROJ    = 2,
    DTM_COMPONENT_O_PROJ    = 3,
    DTM_COMPONENT_GATE_PROJ = 4,
    DTM_COMPONENT_UP_PROJ   = 5,
    DTM_COMPONENT_DOWN_PROJ = 6,
    DTM_COMPONENT_EMBEDDING = 7, /* model.embed_tokens */
    DTM_COMPONENT_LM_HEAD   = 8  /* lm_head (the embedding itself when tied) */
} dtm_component_kind;

/* The Hugging Face name of a component kind, from the engine's one
 * description of the architecture: the module under "model.layers.N." for a
 * decoder matrix ("self_attn.q_proj"), the whole name for the embedding
 * ("model.embed_tokens") and the head ("lm_head"). NULL for a value that is
 * no dtm_component_kind. */
DTM_API const char * dtm_component_kind_hf_name(int32_t kind);

/* How a component is stored and run (see "Compression" below). */
typedef enum dtm_weight_format {
    DTM_FORMAT_FP32        = 0, /* dense fp32 (pruned matrices below the sparse break-even too) */
    DTM_FORMAT_SPARSE      = 1, /* pruned, stored sparse (values + column indices) */
    DTM_FORMAT_INT8        = 2, /* int8 W8A8, per-row weight scales, per-token activation scales */
    DTM_FORMAT_INT8_OUTLIER= 3, /* int8 W8A8 with LLM.int8() outlier features in floating point */
    DTM_FORMAT_INT8_WEIGHT = 4, /* int8 weights (per-row scales), fp32 activations */
    DTM_FORMAT_Q8_0        = 5, /* blocks of 32: fp16 scale + 32 int8 */
    DTM_FORMAT_Q4_0        = 6, /* blocks of 32: fp16 scale + 32 4-bit */
    DTM_FORMAT_FP16        = 7, /* dense IEEE half, as an F16 checkpoint stores it (widened to fp32 exactly) */
    DTM_FORMAT_BF16        = 8  /* dense bfloat16, as a BF16 checkpoint stores it (widened to fp32 exactly) */
} dtm_weight_format;

typedef struct dtm_component_info {
    char    name[96];  /* e.g. "model.layers.3.mlp.down_proj" */
    int32_t kind;      /* dtm_component_kind */
    int32_t layer;     /* decoder layer, -1 for embedding and head */
    int64_t rows;      /* output features */
    int64_t cols;      /* input features */
    /* appended for compression */
    int32_t format;        /* dtm_weight_format of this model's copy */
    float   sparsity;      /* share of weights that are exactly zero, in [0, 1] */
    int64_t storage_bytes; /* bytes the component's weights take in this format */
} dtm_component_info;

/* Components in a fixed order: per layer q,k,v,o,gate,up,down; then the
 * embedding and the head. */
DTM_API int32_t dtm_model_n_components(const dtm_model * model);
DTM_API int32_t dtm_model_component(const dtm_model * model, int32_t index, dtm_component_info * out);

/* ------------------------------------------------------------------------ */
/* Tokenizer (part of the model)                                             */
/* ------------------------------------------------------------------------ */

/* Encodes UTF-8 text (text_len bytes) as llama2.c does: a leading space is
 * added to non-empty text, SentencePiece-BPE merges by score, unknown bytes
 * fall back to byte tokens <0xXX> by id (3 + byte). add_bos = 1 prepends BOS.
 * Two-call: *n_tokens is always set to the count; DTM_ERR_BUFFER_TOO_SMALL
 * when capacity is smaller (tokens may then be NULL). */
DTM_API int32_t dtm_tokenize(const dtm_model * model, const char * text, int32_t text_len,
                             int32_t add_bos, int32_t * tokens, int32_t capacity,
                             int32_t * n_tokens);

/* Decodes tokens to UTF-8 as llama2.c prints them: byte tokens become their
 * byte, the space after BOS is dropped, BOS/EOS themselves print nothing.
 * Two-call like dtm_tokenize; *n_bytes excludes any terminator (none written). */
DTM_API int32_t dtm_detokenize(const dtm_model * model, const int32_t * tokens, int32_t n_tokens,
                               char * text, int32_t capacity, int32_t * n_bytes);

/* The vocabulary entry of one token as stored (may be empty or raw bytes). */
DTM_API int32_t dtm_token_piece(const dtm_model * model, int32_t token,
                                char * text, int32_t capacity, int32_t * n_bytes);

/* The merge score of one token in tokenizer.bin (higher merges first). */
DTM_API int32_t dtm_token_score(const dtm_model * model, int32_t token, float * out);

/* ------------------------------------------------------------------------ */
/* Sessions: scratch buffers, KV cache and worker threads for one caller      */
/* ------------------------------------------------------------------------ */

typedef struct dtm_session dtm_session;

/* The most threads a session (n_threads) or dtm_model_compress accepts:
 * 4 per online CPU, at least 64. More threads than CPUs never compute
 * faster; a larger count fails with DTM_ERR_INVALID_ARGUMENT naming this
 * limit, instead of exhausting the system's threads. */
DTM_API int32_t dtm_max_threads(void);

typedef struct dtm_session_params {
    int32_t n_threads;     /* 0 = all online CPUs; at most dtm_max_threads() */
    int32_t isa;           /* dtm_isa; 0 = auto (CPU device only) */
    int32_t max_sequences; /* sequences decoded side by side; 0 = 1 */
    int32_t max_batch_tokens; /* tokens per forward chunk when scoring; 0 = 512 */
    /* appended for backends */
    const char * device;   /* a dtm_device_info name: "cpu" (the default; NULL = "cpu"),
                            * "cuda:N" for CUDA device N where the build has a CUDA backend */
} dtm_session_params;

DTM_API dtm_session_params dtm_session_default_params(void);

/* Checks the device first: DTM_ERR_UNSUPPORTED, with a one-line message naming
 * it, for a device this build or machine does not have (e.g. "cuda:0" in a
 * build without CUDA) or a name that is no device at all. Then
 * DTM_ERR_UNSUPPORTED when the requested isa is not available on this CPU;
 * INVALID_ARGUMENT for n_threads < 0 or > dtm_max_threads(); OUT_OF_MEMORY
 * when the system cannot start another thread (the ones started are stopped
 * first). */
DTM_API int32_t dtm_session_create(const dtm_model * model, dtm_session_params params,
                                   dtm_session ** out);

DTM_API void dtm_session_free(dtm_session * session);

/* The kernel path this session runs (never DTM_ISA_AUTO). */
DTM_API int32_t dtm_session_isa(const dtm_session * session);

/* The name of the device this session runs on, e.g. "cpu" (a dtm_device_info
 * name); valid as long as the session. NULL for a NULL session. */
DTM_API const char * dtm_session_device(const dtm_session * session);

/* Threads this session computes with. */
DTM_API int32_t dtm_session_n_threads(const dtm_session * session);

/* Forgets all cached positions of the one-token decoding stream. The stream
 * shares the session's KV cache with dtm_score, dtm_generate_greedy,
 * dtm_evaluate and dtm_calibrate, which therefore reset it too, also when they
 * fail after they began computing. Each grows the session's buffers before it
 * computes, so one refused for want of memory (OUT_OF_MEMORY) leaves the
 * session, its stream included, as it was. */
DTM_API int32_t dtm_session_reset(dtm_session * session);

/* One-token decoding: appends `token` at the next position of the session's
 * decoding stream (sequence 0) and writes the vocab_size logits predicting the
 * token after it. Bitwise equal to the logits that dtm_score gives for the
 * same position. DTM_ERR_CONTEXT_OVERFLOW at max_seq_len; the stream is then
 * unchanged. */
DTM_API int32_t dtm_session_decode(dtm_session * session, int32_t token, float * logits);

/* Position of the next token of the decoding stream (tokens decoded so far). */
DTM_API int32_t dtm_session_position(const dtm_session * session);

/* Greedy generation for a batch of prompts, decoded side by side.
 * prompts: the prompts' tokens one after another; prompt_lens[s] tokens each
 * (each >= 1; include BOS yourself). For each prompt, n_new tokens are
 * chosen by argmax (ties to the lowest id) and written to
 * out_tokens[s * n_new ...]; out_lens[s] is n_new, or fewer when
 * stop_at_eos = 1 and an end-of-text token was chosen (it is then the last
 * token written). End of text is EOS, or BOS: llama2.c's models write BOS
 * between texts and its run.c stops there; no model writes BOS inside one.
 * DTM_ERR_CONTEXT_OVERFLOW when prompt_len + n_new - 1 > max_seq_len. */
DTM_API int32_t dtm_generate_greedy(dtm_session * session,
                                    const int32_t * prompts, const int32_t * prompt_lens,
                                    int32_t n_prompts, int32_t n_new, int32_t stop_at_eos,
                                    int32_t * out_tokens, int32_t * out_lens);

/* Per-position outputs of teacher-forced scoring. Each array has one entry per
 * input token (sum of seq_lens); NULL skips that output. Position p of a
 * sequence holds what the model predicts for position p+1. */
typedef struct dtm_score_outputs {
    int32_t * argmax;       /* argmax over the vocabulary, ties to the lowest id */
    float   * logprob_next; /* log p(token[p+1]); NaN at each sequence's last position */
    float   * logsumexp;    /* log of the softmax normaliser of the logits */
    float   * logits;       /* all logits, (n_total, vocab_size); large: tests and tools only */
} dtm_score_outputs;

/* Teacher-forced scoring of many sequences in batched prefill (matrix-matrix
 * products over whole chunks of tokens). tokens: all sequences one after
 * another, seq_lens[s] tokens each (each >= 1 and <= max_seq_len). */
DTM_API int32_t dtm_score(dtm_session * session,
                          const int32_t * tokens, const int32_t * seq_lens, int32_t n_seqs,
                          dtm_score_outputs outputs);

/* ------------------------------------------------------------------------ */
/* Divergent token metrics: teacher-forced evaluation against a reference     */
/* ------------------------------------------------------------------------ */

/* Samples of a reference: for sample s, a prompt x (prompt_lens[s] tokens,
 * BOS included) followed by the base's continuation y_1..y_N (cont_lens[s]
 * tokens, N >= 1), all samples one after another in `tokens`. The model is fed
 * x + y_1..y_{N-1} once; position i of the continuation (i = 1..N) is scored
 * against y_i. Optional base statistics per continuation token (sum of
 * cont_lens entries): base_logprobs = log p_F(y_i); base_topk_* = the base's
 * top-k (ids by descending logit, ties to the lowest id, and their
 * log-probabilities), used for the approximate KL when no base session is
 * given. */
typedef struct dtm_eval_inputs {
    const int32_t * tokens;
    const int32_t * prompt_lens;
    const int32_t * cont_lens;
    int32_t n_samples;
    const float * base_logprobs;       /* (n_cont) or NULL */
    int32_t base_top_k;                /* 0 = no base top-k */
    const int32_t * base_topk_ids;     /* (n_cont, base_top_k) or NULL */
    const float * base_topk_logprobs;  /* (n_cont, base_top_k) or NULL */
} dtm_eval_inputs;

/* Per-sample results (arrays of n_samples) and, optionally, per continuation
 * token (arrays of n_cont = sum of cont_lens). NULL skips an output.
 *   fdt      = number of tokens before the first i with argmax != y_i (N if none)
 *   sdt      = number of i with argmax != y_i
 *   nll      = mean over i of -log p_F'(y_i)
 *   delta_p  = mean over i of p_F'(y_i) - p_F(y_i)   (NaN without base log-probs)
 *   kl       = mean over i of KL(F || F') at position i: exact with a base
 *              session; else from the base top-k with the tail mass lumped
 *              into one bin (a lower bound of the exact value); else NaN.
 * A NaN logit (a candidate whose weights hold NaN or overflow) makes its
 * position's values NaN, and a sample's means NaN: never a number such as 0. */
typedef struct dtm_eval_outputs {
    int32_t * fdt;
    int32_t * sdt;
    float   * nll;
    float   * delta_p;
    float   * kl;
    /* per continuation token */
    int32_t * argmax;        /* the candidate's choice at position i */
    float   * logprob;       /* log p_F'(y_i) */
    float   * base_logprob;  /* log p_F(y_i) (exact mode only) */
    float   * position_kl;   /* KL at position i */
    int32_t   top_k;         /* the candidate's own top-k, e.g. to build a reference; 0 = none */
    int32_t * topk_ids;      /* (n_cont, top_k) */
    float   * topk_logprobs; /* (n_cont, top_k) */
} dtm_eval_outputs;

/* Evaluates `candidate` against the reference in one batched teacher-forced
 * pass. `base` (NULL allowed) is a session of the base model over the same
 * tokenizer; when given, the base runs on the same batches and KL and
 * base_logprob are exact. The two sessions must be different objects.
 * Errors: INVALID_ARGUMENT (no samples, empty prompt or continuation,
 * vocabularies differ, top-k out of [1, vocab] where used), TOKEN_OUT_OF_RANGE,
 * CONTEXT_OVERFLOW (prompt_len + cont_len - 1 > max_seq_len). */
DTM_API int32_t dtm_evaluate(dtm_session * candidate, dtm_session * base,
                             dtm_eval_inputs inputs, dtm_eval_outputs outputs);

/* Layer inputs: the residual stream entering one decoder layer for every fed
 * token of a set of evaluation samples (prompt + continuation minus its last
 * token, sample after sample). A scan of the components of layer l changes
 * nothing before l, so these rows are the same for all its cells: capture
 * them once, then evaluate each cell from there (DESIGN.md section 3). The
 * results are bitwise those of a full pass. */
typedef struct dtm_layer_inputs dtm_layer_inputs;

/* Runs the session's model over the samples up to `layer` (0..n_layers;
 * n_layers = the input of the final norm) and keeps the rows entering it.
 * `from` (NULL allowed): earlier inputs of the same samples and model to
 * start from, so capturing layer after layer costs one pass in all.
 * INVALID_ARGUMENT for a layer out of range, or a `from` of other samples,
 * of a later layer, or of a model that differs before its layer. */
DTM_API int32_t dtm_capture_layer_inputs(dtm_session * session, dtm_eval_inputs inputs, int32_t layer,
                                         const dtm_layer_inputs * from, dtm_layer_inputs ** out);

DTM_API void dtm_layer_inputs_free(dtm_layer_inputs * inputs);

/* Memory the rows take, in bytes. */
DTM_API int64_t dtm_layer_inputs_bytes(const dtm_layer_inputs * inputs);

/* dtm_evaluate starting at the cached layer: the layers before it are not
 * run. The candidate (and the base session, when given) must share every
 * matrix before that layer with the model that captured the rows, else
 * INVALID_ARGUMENT names the first that differs; the samples must be the
 * ones captured. */
DTM_API int32_t dtm_evaluate_from(dtm_session * candidate, dtm_session * base, dtm_eval_inputs inputs,
                                  const dtm_layer_inputs * from, dtm_eval_outputs outputs);

/* ------------------------------------------------------------------------ */
/* Compression: candidates made from a model by compressing components        */
/* ------------------------------------------------------------------------ */

/* One compression of one component (DESIGN.md section 2). A compression always
 * starts from the component's current effective weights in the model it is
 * applied to (dequantized, zeros kept), so pruning in steps adds sparsity on
 * top of an existing mask and pruning then quantizing composes. */
typedef enum dtm_compression_kind {
    DTM_COMPRESS_PRUNE_MAGNITUDE = 1, /* unstructured: the smallest |w| of the whole matrix */
    DTM_COMPRESS_PRUNE_N_M       = 2, /* in every group of m consecutive weights of a row keep the n largest */
    DTM_COMPRESS_PRUNE_WANDA     = 3, /* per output row, the smallest |w_ij| * ||X_j|| (needs a calibration) */
    DTM_COMPRESS_INT8            = 4, /* naive W8A8 */
    DTM_COMPRESS_INT8_OUTLIER    = 5, /* LLM.int8(): features above the threshold stay floating point */
    DTM_COMPRESS_INT8_WEIGHT     = 6, /* int8 weight-only, per row */
    DTM_COMPRESS_Q8_0            = 7,
    DTM_COMPRESS_Q4_0            = 8
} dtm_compression_kind;

typedef struct dtm_compression {
    int32_t kind;              /* dtm_compression_kind */
    /* Pruning (magnitude, Wanda): share of weights that are zero afterwards, in
     * [0, 1], counting zeros already there: magnitude prunes exactly
     * round(sparsity * rows * cols) weights of the matrix, Wanda exactly
     * round(sparsity * cols) of each row. Ties go to the lowest index
     * (row-major), so pruning is deterministic. */
    float   sparsity;
    int32_t n, m;              /* N:M pruning: keep n of every m (0, 0 = 2:4); cols % m == 0 */
    float   outlier_threshold; /* INT8_OUTLIER: |x| above it is an outlier; 0 = 6.0 */
} dtm_compression;

/* Calibration activations for Wanda: for every decoder matrix, the L2 norm
 * over all calibration tokens of each of its input features. */
typedef struct dtm_calibration dtm_calibration;

/* Runs the session's model over the sequences (tokens / seq_lens as in
 * dtm_score) and records the input-feature norms of every decoder matrix. */
DTM_API int32_t dtm_calibrate(dtm_session * session, const int32_t * tokens, const int32_t * seq_lens,
                              int32_t n_seqs, dtm_calibration ** out);

DTM_API void dtm_calibration_free(dtm_calibration * calibration);

/* The indices of the components whose names match `pattern`: '*' matches any
 * run of characters, '?' one character, and "[a-b]" one decimal number from
 * a to b (layer ranges: "model.layers.[0-3].mlp.*"); a name without wildcards
 * matches itself. Two-call like dtm_tokenize (*n_found is always set).
 * INVALID_ARGUMENT, naming the components that exist, when nothing matches. */
DTM_API int32_t dtm_model_find_components(const dtm_model * model, const char * pattern,
                                          int32_t * indices, int32_t capacity, int32_t * n_found);

/* A candidate: `model` with the listed components compressed (component
 * indices as in dtm_model_component; each at most once). Every other
 * component, the norms and the tokenizer are shared with `model`, not copied;
 * the candidate stays valid after `model` is freed. `calibration` is needed
 * by PRUNE_WANDA and ignored otherwise. n_threads: 0 = all CPUs, at most
 * dtm_max_threads().
 * INVALID_ARGUMENT for a sparsity outside [0, 1], a bad n:m, a shape the
 * format cannot hold (q8_0/q4_0 need cols % 32 == 0), a missing calibration
 * or one from a model of another shape. */
DTM_API int32_t dtm_model_compress(const dtm_model * model, int32_t n, const int32_t * components,
                                   const dtm_compression * settings, const dtm_calibration * calibration,
                                   int32_t n_threads, dtm_model ** out);

/* The effective fp32 weights of a component (rows x cols, row-major):
 * dequantized, zeros where pruned. For tests, simulations and tools. */
DTM_API int32_t dtm_model_component_weights(const dtm_model * model, int32_t component, float * out,
                                            int64_t capacity);

/* Which RMSNorm weight vector dtm_model_norm_weights reads. */
typedef enum dtm_norm_kind {
    DTM_NORM_ATTENTION = 0, /* model.layers.N.input_layernorm */
    DTM_NORM_MLP       = 1, /* model.layers.N.post_attention_layernorm */
    DTM_NORM_FINAL     = 2  /* model.norm (layer is ignored) */
} dtm_norm_kind;

/* The dim weights of one RMSNorm (fp32, exact for 16-bit checkpoints): what
 * a training engine needs besides the components' weights to run the model
 * (recovery training, docs/recovery.md). INVALID_ARGUMENT for an unknown
 * kind or a layer outside [0, n_layers); BUFFER_TOO_SMALL below dim. */
DTM_API int32_t dtm_model_norm_weights(const dtm_model * model, int32_t kind, int32_t layer, float * out,
                                       int64_t capacity);

/* A candidate: `model` with the listed matrices replaced by the given fp32
 * weights (e.g. trained ones), `weights` holding each listed component's
 * rows x cols values row-major, one after another in the order listed
 * (n_weights their total). Each is stored as a pruned matrix is: sparse where
 * that is smaller, else dense with its zeros kept exactly. Everything else
 * is shared with `model`, as in dtm_model_compress. INVALID_ARGUMENT for a
 * component listed twice or out of range, or n_weights not the total;
 * UNSUPPORTED for the embedding (a lookup table); NON_FINITE, naming the
 * component, for a NaN or infinity. On failure *out is NULL. */
DTM_API int32_t dtm_model_with_weights(const dtm_model * model, int32_t n, const int32_t * components,
                                       const float * weights, int64_t n_weights, dtm_model ** out);

/* Writes the components of `model` that are not stored as in `base` (by
 * content) to a safetensors file, each in its storage format, with a header
 * naming the base (its fingerprint) and each component's compression. Written
 * to a temporary file and renamed. */
DTM_API int32_t dtm_candidate_export(const dtm_model * model, const dtm_model * base, const char * path);

/* Loads a file written by dtm_candidate_export onto `base`: the candidate it
 * describes, bitwise equal to the exported one. MODEL_FORMAT for a corrupt or
 * foreign file, INVALID_ARGUMENT when it was exported from another base. */
DTM_API int32_t dtm_candidate_load(const dtm_model * base, const char * path, dtm_model ** out);

/* ------------------------------------------------------------------------ */
/* Exports: a model (a base or a candidate) in the formats runtimes load      */
/* (docs/export.md)                                                          */
/* ------------------------------------------------------------------------ */

/* The content fingerprint of a model (16 hex digits: FNV-1a 64 over its
 * configuration, embedding, norms, biases and the effective weights of every
 * matrix; see model.h), as candidate files and plans name their base. Two-call like dtm_detokenize. */
DTM_API int32_t dtm_model_fingerprint(const dtm_model * model, char * text, int32_t capacity, int32_t * n_bytes);

typedef enum dtm_gguf_vocab_kind {
    DTM_GGUF_VOCAB_SENTENCEPIECE = 0, /* tokenizer.ggml.model "llama": merges by score */
    DTM_GGUF_VOCAB_BYTE_PAIRS    = 1  /* tokenizer.ggml.model "gpt2": byte-level BPE with merges */
} dtm_gguf_vocab_kind;

/* A tokenizer as GGUF stores it (tokenizer.ggml.*). Strings are given as one
 * buffer of UTF-8 bytes and n + 1 offsets into it (string i is bytes
 * [offsets[i], offsets[i + 1])). */
typedef struct dtm_gguf_vocab {
    int32_t kind;                  /* dtm_gguf_vocab_kind */
    int32_t n_tokens;              /* must be the model's vocab_size */
    const char * token_text;       /* the tokens, in id order; byte tokens as "<0xXX>" */
    const int64_t * token_offsets; /* n_tokens + 1 */
    const float * scores;          /* n_tokens merge scores, or NULL for none */
    const int32_t * token_types;   /* n_tokens: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte */
    int32_t n_merges;              /* byte pairs: the merges "left right" in rank order; 0 for SentencePiece */
    const char * merge_text;
    const int64_t * merge_offsets; /* n_merges + 1 */
    int32_t bos_id, eos_id, unk_id, pad_id; /* -1 = none */
    int32_t add_bos, add_eos;      /* tokenizer.ggml.add_bos_token / add_eos_token */
    int32_t add_space_prefix;      /* SentencePiece: prepend a space to the text (tokenizer.ggml.add_space_prefix) */
    const char * pre;              /* byte pairs: tokenizer.ggml.pre (llama.cpp's pre-tokenizer name); NULL = none */
} dtm_gguf_vocab;

/* Writes the model as a GGUF v3 file of llama.cpp's "llama" architecture
 * (temporary file + rename): each matrix in the GGUF type of its storage
 * format (fp32 and sparse: F32, dense with its zeros; fp16: F16; bf16: BF16;
 * q8_0 and q4_0: Q8_0 / Q4_0 with dtm's blocks bitwise; int8, int8-outlier
 * and int8-weight: Q8_0 quantized from the effective weights), the llama.*
 * metadata and the vocabulary. `name` (general.name) may be NULL.
 * INVALID_ARGUMENT for a vocabulary that does not fit the model, UNSUPPORTED
 * for what the format cannot hold (dynamic rope scaling), IO. */
DTM_API int32_t dtm_model_export_gguf(const dtm_model * model, const dtm_gguf_vocab * vocab, const char * name,
                                      const char * path);

/* Writes the model as a Hugging Face checkpoint into `dir` (created if
 * needed): config.json and model.safetensors in the checkpoint's dtype
 * (float tensors not exact in it stay F32), pruned matrices dense, naive
 * int8 matrices in compressed-tensors' int-quantized layout (I8 weight +
 * F32 weight_scale per output channel, quantization_config in config.json).
 * Tokenizer files are the Java API's. UNSUPPORTED, naming the component, for
 * int8-outlier, int8-weight, q8_0, q4_0, an int8 lm_head, or int8 on part of
 * a layer's q/k/v or gate/up; IO. */
DTM_API int32_t dtm_model_export_hf(const dtm_model * model, const char * dir);

#ifdef __cplusplus
}
#endif

#endif /* DTM_H */
