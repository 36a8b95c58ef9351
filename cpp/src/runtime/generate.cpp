// generate.cpp - greedy generation (dtm_generate_greedy): batched prefill of
// a group of prompts, then one decoding step for all unfinished sequences at
// a time, each in its own slot of max_seq_len KV rows.
#include <algorithm>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "runtime/session.h"

namespace dtm {

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
    grow(*backend_, run_.logits, size_t(std::max<int64_t>(group_size, kHeadBlock)) * size_t(vocab));
    ensure_tokens(std::max<int64_t>(std::min(max_batch_tokens_, offset[size_t(n_prompts)]), group_size));
    ensure_kv_rows(int64_t(group_size) * slot_rows);
    run_.stream_pos = 0;  // the passes below overwrite the stream's cache rows

    for (int32_t g0 = 0; g0 < n_prompts; g0 += group_size) {
        const int32_t gn = std::min(group_size, n_prompts - g0);
        // Batched prefill of all prompt tokens of the group, in chunks; keep
        // the final hidden state of each prompt's last token.
        run_.batch.clear();
        std::vector<int32_t> last_in_batch;  // (slot) of tokens that end a prompt, in batch order
        auto flush = [&]() {
            if (run_.batch.size() == 0) return;
            forward_hidden(run_.batch);
            for (int64_t t = 0; t < run_.batch.size(); ++t) {
                const int32_t slot = int32_t(run_.batch.seq_base[size_t(t)] / slot_rows);
                if (run_.batch.pos[size_t(t)] == prompt_lens[g0 + slot] - 1) {
                    backend_->copy(last_hidden->data() + size_t(slot) * cfg_.dim, run_.act.hidden() + size_t(t) * cfg_.dim,
                                   size_t(cfg_.dim));
                }
            }
            run_.batch.clear();
        };
        for (int32_t s = 0; s < gn; ++s) {
            const int32_t * p = prompts + offset[size_t(g0 + s)];
            for (int32_t i = 0; i < prompt_lens[g0 + s]; ++i) {
                run_.batch.add(p[i], i, int64_t(s) * slot_rows);
                if (run_.batch.size() >= max_batch_tokens_) flush();
            }
        }
        flush();

        // Decode step by step; every unfinished sequence advances by one token.
        std::vector<int32_t> active(static_cast<size_t>(gn));
        for (int32_t s = 0; s < gn; ++s) { active[size_t(s)] = s; out_lens[g0 + s] = 0; }
        head_logits(last_hidden->data(), gn, run_.logits->data());
        for (int32_t step = 0;; ++step) {
            std::vector<int32_t> still;
            run_.batch.clear();
            backend_->row_stats(run_.logits->data(), int64_t(active.size()), vocab, nullptr, stats.data());
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
                    run_.batch.add(st.argmax, prompt_lens[g0 + s] + step, int64_t(s) * slot_rows);
                }
            }
            if (still.empty()) break;
            active.swap(still);
            forward_hidden(run_.batch);
            head_logits(run_.act.hidden(), run_.batch.size(), run_.logits->data());
        }
    }
}

}  // namespace dtm
