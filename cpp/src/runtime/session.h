// session.h - everything one caller needs to run a model: its backend
// (backend/backend.h: on the CPU the worker threads and the kernel path) and
// its run state (runtime/run_state.h: the activations and the KV cache in the
// backend's memory). The drivers are apart, one file each: score.cpp,
// generate.cpp, evaluate.cpp, calibrate.cpp; the forward pass is forward.cpp.
//
// Token batches. Every forward call processes a batch of tokens (TokenBatch,
// run_state.h), each with its position in its sequence and the KV-cache row
// where its sequence's position 0 lives (seq_base). Scoring packs whole sequences one after another into a
// chunk (seq_base = the sequence's offset in the chunk); generation gives
// each sequence a slot of max_seq_len rows (seq_base = slot * max_seq_len).
// The same per-token code runs in both, so a position's logits are bitwise
// the same however it was batched.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "dtm/dtm.h"
#include "model/model.h"
#include "runtime/input_norms.h"
#include "runtime/layer_inputs.h"
#include "runtime/layer_ops.h"
#include "runtime/run_state.h"

namespace dtm {

// Where a forward pass starts and stops. By default it embeds the
// tokens and runs every layer. With start_rows it takes the residual
// stream of the batch's tokens from there (batch.size() rows of dim) and
// starts at first_layer. With stop_layer >= 0 it stops before that layer
// (n_layers: before the final norm) and copies the residual stream
// entering it to stop_rows. start_rows and stop_rows are host memory.
struct LayerRange {
    int32_t first_layer = 0;
    const float * start_rows = nullptr;
    int32_t stop_layer = -1;     // -1: run to the end (final norm into hidden_)
    float * stop_rows = nullptr;
};

class Session {
public:
    Session(const Model & model, const dtm_session_params & params);

    const Model & model() const { return model_; }
    const std::string & device() const { return device_; }
    dtm_isa isa() const;   // the CPU backend's kernel path
    int n_threads() const;

    // One-token decoding stream (sequence slot 0).
    void reset() { run_.stream_pos = 0; }
    int32_t position() const { return run_.stream_pos; }
    void decode(int32_t token, float * logits);

    void generate_greedy(const int32_t * prompts, const int32_t * prompt_lens, int32_t n_prompts,
                         int32_t n_new, bool stop_at_eos, int32_t * out_tokens, int32_t * out_lens);

    void score(const int32_t * tokens, const int32_t * seq_lens, int32_t n_seqs,
               const dtm_score_outputs & out);

    // Teacher-forced evaluation against a reference (see dtm_evaluate in
    // dtm.h); `base` may be null. With `from`, the pass starts at from->layer
    // with the cached rows instead of running the layers before it (both
    // models must share those layers). Implemented in evaluate.cpp.
    void evaluate(Session * base, const dtm_eval_inputs & in, const dtm_eval_outputs & out,
                  const LayerInputs * from = nullptr);

    // The residual stream entering `layer` for every fed token of the
    // evaluation inputs, computed by this session's model (starting from
    // `from` when given and from->layer <= layer). Implemented in evaluate.cpp.
    std::unique_ptr<LayerInputs> capture_layer_inputs(const dtm_eval_inputs & in, int32_t layer,
                                                      const LayerInputs * from);

    // Runs the sequences through the model (no logits) and adds the input
    // norms of every matrix product to `norms` (Wanda calibration).
    void calibrate(const int32_t * tokens, const int32_t * seq_lens, int32_t n_seqs, InputNorms & norms);

private:
    // Tokens whose logits are computed together when scoring, evaluating and
    // generating: (kHeadBlock, vocab) floats of scratch (32 MB for a 32000
    // vocabulary), enough rows that the head's weights, the largest GEMM of a
    // small model, are read once per 256 positions (output_blocks.h).
    static constexpr int64_t kHeadBlock = 256;

    // Runs the layers over the batch; leaves the final-normed hidden states
    // in run_.act.hidden() (batch.size(), dim) unless it stops early (forward.cpp).
    void forward_hidden(const TokenBatch & batch, const LayerRange & range = LayerRange());
    // One decoder layer over the batch's n rows of run_.act.x() (forward.cpp).
    void decoder_layer(int32_t l, const TokenBatch & batch);
    // Calibration's hook: the input rows (n, width) of a matrix product, in
    // backend memory, to the recorder when one is set.
    void record(int32_t layer, int slot, const float * rows, int64_t n, int32_t width);
    // Logits (n, vocab) of hidden rows (n, dim), both in backend memory.
    void head_logits(const float * hidden, int64_t n, float * logits);
    // Grow the activations to n tokens and the KV cache to n rows (a cache
    // allocated anew restarts the decoding stream). Each driver grows them
    // before its first pass, so that running out of memory
    // (DTM_ERR_OUT_OF_MEMORY) refuses it with the session as it was; a call
    // that computes into the cache resets the decoding stream only after that.
    void ensure_tokens(int64_t n) { run_.act.ensure(*backend_, cfg_, n); }
    void ensure_kv_rows(int64_t n) {
        if (run_.kv.ensure(*backend_, cfg_, n)) run_.stream_pos = 0;
    }
    void check_token(int32_t token, const char * where, int64_t index) const;
    // Offsets of the evaluation samples' tokens, continuation tokens and fed
    // tokens (prompt + continuation - 1), n_samples + 1 each; validates them
    // as dtm_evaluate documents.
    struct SampleLayout {
        std::vector<int64_t> tok_off, cont_off, fed_off;
        int32_t longest = 0;
    };
    SampleLayout check_samples(const dtm_eval_inputs & in) const;
    // Checks cached layer inputs before a pass starts from them: made for
    // these samples (`hash` = hash_eval_tokens(in)), entering a layer at or
    // before `up_to_layer` (INT32_MAX: any), and made with the same matrices
    // before that layer as this session's model (and base's, when given).
    void check_layer_inputs(const LayerInputs & from, uint64_t hash, const SampleLayout & layout, int32_t up_to_layer,
                            const Session * base) const;
    // The one sequence packer (scoring, calibration, evaluation): fills
    // run_.batch with whole sequences [first, ...) while they fit in cap tokens
    // (at least one: cap >= the longest), each sequence at the KV rows from
    // its offset in the batch. Sequence s is tokens[start[s] .. start[s] +
    // len_off[s + 1] - len_off[s]). Returns the end of the chunk.
    int32_t pack_sequences(const int32_t * tokens, const int64_t * start, const int64_t * len_off, int32_t n_seqs,
                           int32_t first, int64_t cap);
    // The fed tokens of evaluation samples [first, ...) (prompt + continuation
    // - 1 each): sample s starts at batch row layout.fed_off[s] - layout.fed_off[first].
    int32_t pack_samples(const dtm_eval_inputs & in, const SampleLayout & layout, int32_t first, int64_t cap) {
        return pack_sequences(in.tokens, layout.tok_off.data(), layout.fed_off.data(), in.n_samples, first, cap);
    }
    // The pass over a chunk that starts at sample `first`: from the cached
    // rows of `from` when given, else from the embedding; runs to the end.
    LayerRange chunk_range(const LayerInputs * from, const SampleLayout & layout, int32_t first) const;
    // Validates sequences as dtm_score documents; returns their offsets (n_seqs + 1).
    std::vector<int64_t> check_sequences(const int32_t * tokens, const int32_t * seq_lens, int32_t n_seqs,
                                         int32_t * longest) const;

    std::string device_;  // checked first: a device this build lacks refuses the session
    const Model & model_;
    const ModelConfig & cfg_;
    std::unique_ptr<Backend> backend_;  // made for device_; holds the threads and kernels
    RopeTable rope_;
    int32_t max_sequences_;
    int64_t max_batch_tokens_;

    RunState run_;
    InputNorms * recorder_ = nullptr;  // set only during calibrate()
};

}  // namespace dtm
