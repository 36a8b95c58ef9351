#include "runtime/session.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/cpu_backend.h"
#include "backend/devices.h"
#include "core/error.h"

namespace dtm {

namespace {
// Tokens whose logits are computed together when scoring: (kHeadBlock, vocab)
// floats of scratch, enough rows to keep the head's GEMM efficient.
constexpr int64_t kHeadBlock = 64;
}  // namespace

Session::Session(const Model & model, const dtm_session_params & params)
    : device_(backend::require_device(params.device)),
      model_(model),
      cfg_(model.config()),
      backend_(backend::make_backend(device_, params, model.config().max_seq_len)),
      rope_(model.config().max_seq_len, model.config().head_dim, model.config().rope_theta,
            model.config().rope_scaling),
      max_sequences_(params.max_sequences > 0 ? params.max_sequences : 1),
      max_batch_tokens_(params.max_batch_tokens > 0 ? params.max_batch_tokens : 512) {
    if (params.n_threads < 0) fail(DTM_ERR_INVALID_ARGUMENT, "n_threads must be >= 0 (0 = all CPUs), got %d", params.n_threads);
    if (params.max_sequences < 0) fail(DTM_ERR_INVALID_ARGUMENT, "max_sequences must be >= 0, got %d", params.max_sequences);
    if (params.max_batch_tokens < 0) fail(DTM_ERR_INVALID_ARGUMENT, "max_batch_tokens must be >= 0, got %d", params.max_batch_tokens);
}

dtm_isa Session::isa() const {
    const cpu::CpuBackend * cpu = backend_->cpu();
    return cpu ? cpu->kernels().isa : DTM_ISA_AUTO;
}

int Session::n_threads() const {
    const cpu::CpuBackend * cpu = backend_->cpu();
    return cpu ? cpu->pool().size() : 1;
}

void Session::grow(BufferPtr & b, size_t n) {
    if (!b || b->size() < n) b = backend_->allocate(n);
}

void Session::ensure_tokens(int64_t n) {
    if (n <= capacity_) return;
    const size_t c = size_t(n);
    grow(x_, c * cfg_.dim);
    grow(xn_, c * cfg_.dim);
    grow(q_, c * cfg_.q_dim());
    grow(k_, c * cfg_.kv_dim());
    grow(v_, c * cfg_.kv_dim());
    grow(att_, c * cfg_.q_dim());
    grow(delta_, c * cfg_.dim);
    grow(gate_, c * cfg_.hidden_dim);
    grow(up_, c * cfg_.hidden_dim);
    grow(hidden_, c * cfg_.dim);
    capacity_ = n;
}

void Session::ensure_kv_rows(int64_t n) {
    if (n <= kv_rows_) return;
    // The cache is (layer, rows, kv_dim): growing changes every layer's
    // offset, so it is allocated anew and the decoding stream starts over.
    // The new buffers replace the old ones only once both exist, so a failed
    // allocation leaves the cache and the stream as they were (the old and
    // the new cache are held together for that moment).
    const size_t total = size_t(cfg_.n_layers) * size_t(n) * size_t(cfg_.kv_dim());
    BufferPtr keys = backend_->allocate(total);
    BufferPtr values = backend_->allocate(total);
    key_cache_ = std::move(keys);
    value_cache_ = std::move(values);
    kv_rows_ = n;
    stream_pos_ = 0;
}

void Session::check_token(int32_t token, const char * where, int64_t index) const {
    if (token < 0 || token >= cfg_.vocab_size) {
        fail(DTM_ERR_TOKEN_OUT_OF_RANGE, "token id %d at %s %lld is outside the vocabulary [0, %d)",
             token, where, (long long)index, cfg_.vocab_size);
    }
}

void Session::decode(int32_t token, float * logits) {
    if (logits == nullptr) fail(DTM_ERR_INVALID_ARGUMENT, "logits buffer is NULL");
    check_token(token, "decoding position", stream_pos_);
    if (stream_pos_ >= cfg_.max_seq_len) {
        fail(DTM_ERR_CONTEXT_OVERFLOW, "the decoding stream is full: %d positions, the model's context",
             cfg_.max_seq_len);
    }
    // Where host memory is not the backend's, the logits go through logits_.
    const bool direct = backend_->host_is_device();
    if (!direct) grow(logits_, size_t(cfg_.vocab_size));
    ensure_tokens(1);
    ensure_kv_rows(cfg_.max_seq_len);
    const int32_t pos = stream_pos_;
    batch_.clear();
    batch_.add(token, pos, 0);
    forward_hidden(batch_);
    head_logits(hidden_->data(), 1, direct ? logits : logits_->data());
    if (!direct) backend_->download(logits, logits_->data(), size_t(cfg_.vocab_size));
    stream_pos_ = pos + 1;
}

void Session::generate_greedy(const int32_t * prompts, const int32_t * prompt_lens, int32_t n_prompts,
                              int32_t n_new, bool stop_at_eos, int32_t * out_tokens, int32_t * out_lens) {
    if (prompts == nullptr || prompt_lens == nullptr || out_tokens == nullptr || out_lens == nullptr) {
        fail(DTM_ERR_INVALID_ARGUMENT, "prompts, prompt_lens, out_tokens and out_lens must not be NULL");
    }
    if (n_prompts < 1) fail(DTM_ERR_INVALID_ARGUMENT, "no prompts to generate from (n_prompts = %d)", n_prompts);
    if (n_new < 0) fail(DTM_ERR_INVALID_ARGUMENT, "n_new must be >= 0, got %d", n_new);
    // Validate everything before computing anything.
    std::vector<int64_t> offset(size_t(n_prompts) + 1, 0);
    for (int32_t s = 0; s < n_prompts; ++s) {
        const int32_t len = prompt_lens[s];
        if (len < 1) fail(DTM_ERR_INVALID_ARGUMENT, "prompt %d is empty (every prompt needs at least one token, e.g. BOS)", s);
        if (int64_t(len) + n_new - 1 > cfg_.max_seq_len) {
            fail(DTM_ERR_CONTEXT_OVERFLOW, "prompt %d has %d tokens; with %d new tokens it needs %lld positions, "
                 "more than the context of %d", s, len, n_new, (long long)(int64_t(len) + n_new - 1), cfg_.max_seq_len);
        }
        offset[size_t(s) + 1] = offset[size_t(s)] + len;
        for (int32_t i = 0; i < len; ++i) check_token(prompts[offset[size_t(s)] + i], "prompt position", i);
    }
    if (n_new == 0) {
        std::fill(out_lens, out_lens + n_prompts, 0);
        return;
    }

    const int32_t vocab = cfg_.vocab_size;
    const int64_t slot_rows = cfg_.max_seq_len;
    const int32_t group_size = std::min(n_prompts, max_sequences_);
    // Every buffer before the first pass: prefill chunks of at most
    // max_batch_tokens, decoding steps of at most group_size tokens.
    BufferPtr last_hidden = backend_->allocate(size_t(group_size) * size_t(cfg_.dim));  // (group, dim)
    std::vector<cpu::RowStats> stats(static_cast<size_t>(group_size));
    grow(logits_, size_t(std::max<int64_t>(group_size, kHeadBlock)) * size_t(vocab));
    ensure_tokens(std::max<int64_t>(std::min(max_batch_tokens_, offset[size_t(n_prompts)]), group_size));
    ensure_kv_rows(int64_t(group_size) * slot_rows);
    stream_pos_ = 0;  // the passes below overwrite the stream's cache rows

    for (int32_t g0 = 0; g0 < n_prompts; g0 += group_size) {
        const int32_t gn = std::min(group_size, n_prompts - g0);
        // Batched prefill of all prompt tokens of the group, in chunks; keep
        // the final hidden state of each prompt's last token.
        batch_.clear();
        std::vector<int32_t> last_in_batch;  // (slot) of tokens that end a prompt, in batch order
        auto flush = [&]() {
            if (batch_.size() == 0) return;
            forward_hidden(batch_);
            for (int64_t t = 0; t < batch_.size(); ++t) {
                const int32_t slot = int32_t(batch_.seq_base[size_t(t)] / slot_rows);
                if (batch_.pos[size_t(t)] == prompt_lens[g0 + slot] - 1) {
                    backend_->copy(last_hidden->data() + size_t(slot) * cfg_.dim, hidden_->data() + size_t(t) * cfg_.dim,
                                   size_t(cfg_.dim));
                }
            }
            batch_.clear();
        };
        for (int32_t s = 0; s < gn; ++s) {
            const int32_t * p = prompts + offset[size_t(g0 + s)];
            for (int32_t i = 0; i < prompt_lens[g0 + s]; ++i) {
                batch_.add(p[i], i, int64_t(s) * slot_rows);
                if (batch_.size() >= max_batch_tokens_) flush();
            }
        }
        flush();

        // Decode step by step; every unfinished sequence advances by one token.
        std::vector<int32_t> active(static_cast<size_t>(gn));
        for (int32_t s = 0; s < gn; ++s) { active[size_t(s)] = s; out_lens[g0 + s] = 0; }
        head_logits(last_hidden->data(), gn, logits_->data());
        for (int32_t step = 0;; ++step) {
            std::vector<int32_t> still;
            batch_.clear();
            backend_->row_stats(logits_->data(), int64_t(active.size()), vocab, nullptr, stats.data());
            for (size_t a = 0; a < active.size(); ++a) {
                const int32_t s = active[a];
                const cpu::RowStats & st = stats[a];
                int32_t * out = out_tokens + int64_t(g0 + s) * n_new;
                out[step] = st.argmax;
                out_lens[g0 + s] = step + 1;
                // End of text: EOS, or BOS, which llama2.c's models write between
                // stories (run.c stops there) and no model writes inside a text.
                const bool end_of_text = st.argmax == cfg_.eos_id || st.argmax == cfg_.bos_id;
                const bool done = step + 1 == n_new || (stop_at_eos && end_of_text);
                if (!done) {
                    still.push_back(s);
                    batch_.add(st.argmax, prompt_lens[g0 + s] + step, int64_t(s) * slot_rows);
                }
            }
            if (still.empty()) break;
            active.swap(still);
            forward_hidden(batch_);
            head_logits(hidden_->data(), batch_.size(), logits_->data());
        }
    }
}

std::vector<int64_t> Session::check_sequences(const int32_t * tokens, const int32_t * seq_lens, int32_t n_seqs,
                                              int32_t * longest) const {
    if (tokens == nullptr || seq_lens == nullptr) fail(DTM_ERR_INVALID_ARGUMENT, "tokens and seq_lens must not be NULL");
    if (n_seqs < 1) fail(DTM_ERR_INVALID_ARGUMENT, "no sequences to score (n_seqs = %d)", n_seqs);
    std::vector<int64_t> offset(size_t(n_seqs) + 1, 0);
    *longest = 0;
    for (int32_t s = 0; s < n_seqs; ++s) {
        const int32_t len = seq_lens[s];
        if (len < 1) fail(DTM_ERR_INVALID_ARGUMENT, "sequence %d is empty", s);
        if (len > cfg_.max_seq_len) {
            fail(DTM_ERR_CONTEXT_OVERFLOW, "sequence %d has %d tokens, more than the context of %d", s, len, cfg_.max_seq_len);
        }
        *longest = std::max(*longest, len);
        offset[size_t(s) + 1] = offset[size_t(s)] + len;
        for (int32_t i = 0; i < len; ++i) check_token(tokens[offset[size_t(s)] + i], "sequence position", i);
    }
    return offset;
}

void Session::calibrate(const int32_t * tokens, const int32_t * seq_lens, int32_t n_seqs, InputNorms & norms) {
    int32_t longest = 0;
    const std::vector<int64_t> offset = check_sequences(tokens, seq_lens, n_seqs, &longest);
    const int64_t cap = std::max<int64_t>(max_batch_tokens_, longest);
    ensure_tokens(std::min(cap, offset[size_t(n_seqs)]));
    ensure_kv_rows(cap);
    stream_pos_ = 0;  // the passes below overwrite the stream's cache rows
    struct Reset {  // the recorder is unset however this returns
        InputNorms *& r;
        ~Reset() { r = nullptr; }
    } reset{recorder_};
    recorder_ = &norms;
    int32_t s = 0;
    while (s < n_seqs) {
        batch_.clear();
        while (s < n_seqs && batch_.size() + seq_lens[s] <= cap) {
            const int64_t base = batch_.size();
            for (int32_t i = 0; i < seq_lens[s]; ++i) batch_.add(tokens[offset[size_t(s)] + i], i, base);
            ++s;
        }
        forward_hidden(batch_);
    }
}

void Session::score(const int32_t * tokens, const int32_t * seq_lens, int32_t n_seqs,
                    const dtm_score_outputs & out) {
    int32_t longest = 0;
    const std::vector<int64_t> offset = check_sequences(tokens, seq_lens, n_seqs, &longest);

    // Chunks of whole sequences, each chunk at most max(max_batch_tokens, longest) tokens.
    const int64_t cap = std::max<int64_t>(max_batch_tokens_, longest);
    const int32_t vocab = cfg_.vocab_size;
    std::vector<int32_t> next_token;  // per batch row: the next token of its sequence, or -1
    next_token.reserve(size_t(std::min(cap, offset[size_t(n_seqs)])));
    std::vector<cpu::RowStats> stats(static_cast<size_t>(kHeadBlock));
    grow(logits_, size_t(kHeadBlock) * size_t(vocab));
    ensure_tokens(std::min(cap, offset[size_t(n_seqs)]));
    ensure_kv_rows(cap);
    stream_pos_ = 0;  // the passes below overwrite the stream's cache rows

    int32_t s = 0;
    while (s < n_seqs) {
        batch_.clear();
        next_token.clear();
        const int64_t first = offset[size_t(s)];
        while (s < n_seqs && batch_.size() + seq_lens[s] <= cap) {
            const int64_t base = batch_.size();
            const int32_t * seq = tokens + offset[size_t(s)];
            for (int32_t i = 0; i < seq_lens[s]; ++i) {
                batch_.add(seq[i], i, base);
                next_token.push_back(i + 1 < seq_lens[s] ? seq[i + 1] : -1);
            }
            ++s;
        }
        forward_hidden(batch_);

        for (int64_t t0 = 0; t0 < batch_.size(); t0 += kHeadBlock) {
            const int64_t nt = std::min(kHeadBlock, batch_.size() - t0);
            const float * logits = logits_->data();  // (nt, vocab)
            head_logits(hidden_->data() + size_t(t0) * cfg_.dim, nt, logits_->data());
            backend_->row_stats(logits, nt, vocab, &next_token[size_t(t0)], stats.data());
            for (int64_t i = 0; i < nt; ++i) {
                const int64_t g = first + t0 + i;  // index into the caller's arrays
                const cpu::RowStats & st = stats[size_t(i)];
                if (out.argmax) out.argmax[g] = st.argmax;
                if (out.logsumexp) out.logsumexp[g] = st.logsumexp;
                if (out.logprob_next) {
                    out.logprob_next[g] = next_token[size_t(t0 + i)] < 0 ? std::numeric_limits<float>::quiet_NaN()
                                                                         : st.target_logit - st.logsumexp;
                }
            }
            if (out.logits) backend_->download(out.logits + (first + t0) * vocab, logits, size_t(nt) * size_t(vocab));
        }
    }
}

}  // namespace dtm
