// session.cpp - the session: its backend, the decoding stream, input
// validation and the one sequence packer (its buffers: run_state.h). The drivers are
// apart: score.cpp, generate.cpp, evaluate.cpp (and layer inputs),
// calibrate.cpp; the forward pass is forward.cpp.
#include "runtime/session.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/cpu_backend.h"
#include "backend/devices.h"
#include "core/error.h"

namespace dtm {

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
    backend_->prepare(model_);
}

dtm_isa Session::isa() const {
    const cpu::CpuBackend * cpu = backend_->cpu();
    return cpu ? cpu->kernels().isa : DTM_ISA_AUTO;
}

int Session::n_threads() const {
    const cpu::CpuBackend * cpu = backend_->cpu();
    return cpu ? cpu->pool().size() : 1;
}

void Session::check_token(int32_t token, const char * where, int64_t index) const {
    if (token < 0 || token >= cfg_.vocab_size) {
        fail(DTM_ERR_TOKEN_OUT_OF_RANGE, "token id %d at %s %lld is outside the vocabulary [0, %d)",
             token, where, (long long)index, cfg_.vocab_size);
    }
}

void Session::decode(int32_t token, float * logits) {
    if (logits == nullptr) fail(DTM_ERR_INVALID_ARGUMENT, "logits buffer is NULL");
    check_token(token, "decoding position", run_.stream_pos);
    if (run_.stream_pos >= cfg_.max_seq_len) {
        fail(DTM_ERR_CONTEXT_OVERFLOW, "the decoding stream is full: %d positions, the model's context",
             cfg_.max_seq_len);
    }
    // Where host memory is not the backend's, the logits go through run_.logits.
    const bool direct = backend_->host_is_device();
    if (!direct) grow(*backend_, run_.logits, size_t(cfg_.vocab_size));
    ensure_tokens(1);
    ensure_kv_rows(cfg_.max_seq_len);
    const int32_t pos = run_.stream_pos;
    run_.batch.clear();
    run_.batch.add(token, pos, 0);
    forward_hidden(run_.batch);
    head_logits(run_.act.hidden(), 1, direct ? logits : run_.logits->data());
    if (!direct) backend_->download(logits, run_.logits->data(), size_t(cfg_.vocab_size));
    run_.stream_pos = pos + 1;
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

int32_t Session::pack_sequences(const int32_t * tokens, const int64_t * start, const int64_t * len_off,
                                int32_t n_seqs, int32_t first, int64_t cap) {
    run_.batch.clear();
    int32_t s = first;
    while (s < n_seqs && run_.batch.size() + (len_off[s + 1] - len_off[s]) <= cap) {
        const int64_t base = run_.batch.size();
        const int32_t * seq = tokens + start[s];
        const int32_t len = int32_t(len_off[s + 1] - len_off[s]);
        for (int32_t i = 0; i < len; ++i) run_.batch.add(seq[i], i, base);
        ++s;
    }
    return s;
}

}  // namespace dtm
