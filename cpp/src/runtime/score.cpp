// score.cpp - teacher-forced scoring (dtm_score): chunks of whole sequences
// through the model, every position's logits through the head in blocks,
// and only each position's statistics (and, when asked, its logits) out.
#include <algorithm>
#include <limits>

#include "backend/cpu/cpu_backend.h"
#include "runtime/session.h"

namespace dtm {

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
    grow(*backend_, run_.logits, size_t(kHeadBlock) * size_t(vocab));
    ensure_tokens(std::min(cap, offset[size_t(n_seqs)]));
    ensure_kv_rows(cap);
    run_.stream_pos = 0;  // the passes below overwrite the stream's cache rows

    for (int32_t s = 0; s < n_seqs;) {
        const int64_t first = offset[size_t(s)];
        const int32_t end = pack_sequences(tokens, offset.data(), offset.data(), n_seqs, s, cap);
        next_token.clear();
        for (; s < end; ++s) {
            const int32_t * seq = tokens + offset[size_t(s)];
            for (int32_t i = 0; i < seq_lens[s]; ++i) next_token.push_back(i + 1 < seq_lens[s] ? seq[i + 1] : -1);
        }
        forward_hidden(run_.batch);

        for (int64_t t0 = 0; t0 < run_.batch.size(); t0 += kHeadBlock) {
            const int64_t nt = std::min(kHeadBlock, run_.batch.size() - t0);
            const float * logits = run_.logits->data();  // (nt, vocab)
            head_logits(run_.act.hidden() + size_t(t0) * cfg_.dim, nt, run_.logits->data());
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
