// evaluate.cpp - one teacher-forced pass of a candidate over reference
// samples, giving the divergent token metrics (DESIGN.md §1) per sample.
//
// Sample s = prompt x (P tokens) + continuation y_1..y_N. The model reads
// x + y_1..y_{N-1}; the row of position P-2+i predicts y_i (i = 1..N):
//   d_i = [argmax_v F'(v | x, y_<i) != y_i]
//   FDT = (first i with d_i = 1) - 1, or N;   SDT = sum_i d_i
// Only those N rows go through the output head (the prompt's rows need no
// logits). Per-position values are kept and reduced per sample in order i =
// 1..N, in double, so the results do not depend on the batching.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "runtime/position_stats.h"
#include "runtime/sample_metrics.h"
#include "runtime/session.h"

namespace dtm {

namespace {
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
}  // namespace

Session::SampleLayout Session::check_samples(const dtm_eval_inputs & in) const {
    if (in.tokens == nullptr || in.prompt_lens == nullptr || in.cont_lens == nullptr) {
        fail(DTM_ERR_INVALID_ARGUMENT, "tokens, prompt_lens and cont_lens must not be NULL");
    }
    if (in.n_samples < 1) fail(DTM_ERR_INVALID_ARGUMENT, "no samples to evaluate (n_samples = %d)", in.n_samples);
    const int32_t n = in.n_samples;
    SampleLayout L;
    L.tok_off.assign(size_t(n) + 1, 0);
    L.cont_off.assign(size_t(n) + 1, 0);
    L.fed_off.assign(size_t(n) + 1, 0);
    for (int32_t s = 0; s < n; ++s) {
        const int32_t P = in.prompt_lens[s], N = in.cont_lens[s];
        if (P < 1) fail(DTM_ERR_INVALID_ARGUMENT, "sample %d has an empty prompt (it needs at least BOS)", s);
        if (N < 1) fail(DTM_ERR_INVALID_ARGUMENT, "sample %d has an empty continuation", s);
        const int64_t fed = int64_t(P) + N - 1;
        if (fed > cfg_.max_seq_len) {
            fail(DTM_ERR_CONTEXT_OVERFLOW, "sample %d: prompt of %d tokens + continuation of %d needs %lld positions, "
                 "more than the context of %d", s, P, N, (long long)fed, cfg_.max_seq_len);
        }
        L.longest = std::max<int32_t>(L.longest, int32_t(fed));
        L.tok_off[size_t(s) + 1] = L.tok_off[size_t(s)] + P + N;
        L.cont_off[size_t(s) + 1] = L.cont_off[size_t(s)] + N;
        L.fed_off[size_t(s) + 1] = L.fed_off[size_t(s)] + fed;
        for (int64_t i = 0; i < P + N; ++i) check_token(in.tokens[L.tok_off[size_t(s)] + i], "sample token", i);
    }
    return L;
}

void Session::check_layer_inputs(const LayerInputs & from, uint64_t hash, const SampleLayout & layout,
                                 int32_t up_to_layer, const Session * base) const {
    if (from.tokens_hash != hash || from.n_tokens != layout.fed_off.back()) {
        fail(DTM_ERR_INVALID_ARGUMENT, "the cached layer inputs were made for other samples");
    }
    if (from.layer > up_to_layer) {
        fail(DTM_ERR_INVALID_ARGUMENT, "cannot go back from layer %d's inputs to layer %d's", from.layer, up_to_layer);
    }
    from.require_same_prefix(model_);
    if (base) from.require_same_prefix(base->model_);
}

LayerRange Session::chunk_range(const LayerInputs * from, const SampleLayout & layout, int32_t first) const {
    LayerRange range;
    if (from) {
        range.first_layer = from->layer;
        range.start_rows = from->x.data() + layout.fed_off[size_t(first)] * cfg_.dim;
    }
    return range;
}

std::unique_ptr<LayerInputs> Session::capture_layer_inputs(const dtm_eval_inputs & in, int32_t layer,
                                                           const LayerInputs * from) {
    if (layer < 0 || layer > cfg_.n_layers) {
        fail(DTM_ERR_INVALID_ARGUMENT, "layer must be in [0, %d], got %d", cfg_.n_layers, layer);
    }
    const SampleLayout layout = check_samples(in);
    const uint64_t hash = hash_eval_tokens(in);
    if (from) check_layer_inputs(*from, hash, layout, layer, nullptr);
    auto cache = std::make_unique<LayerInputs>();
    cache->layer = layer;
    cache->dim = cfg_.dim;
    cache->tokens_hash = hash;
    cache->n_tokens = layout.fed_off.back();
    cache->x.resize(size_t(cache->n_tokens) * size_t(cfg_.dim));
    for (int32_t i = 0; i < layer * Model::kComponentsPerLayer; ++i) cache->producers.push_back(model_.linear(i));
    cache->embedding = model_.views().embedding_table();

    const int64_t cap = std::max<int64_t>(max_batch_tokens_, layout.longest);
    ensure_tokens(std::min(cap, layout.fed_off.back()));
    ensure_kv_rows(cap);
    run_.stream_pos = 0;  // the passes below overwrite the stream's cache rows
    for (int32_t s = 0; s < in.n_samples;) {
        const int32_t first = s;
        s = pack_samples(in, layout, first, cap);
        LayerRange range = chunk_range(from, layout, first);
        range.stop_layer = layer;
        range.stop_rows = cache->x.data() + layout.fed_off[size_t(first)] * cfg_.dim;
        forward_hidden(run_.batch, range);
    }
    return cache;
}

void Session::evaluate(Session * base, const dtm_eval_inputs & in, const dtm_eval_outputs & out,
                       const LayerInputs * from) {
    // ---- validation: everything before any work ----
    if (base == this) fail(DTM_ERR_INVALID_ARGUMENT, "the base session must be a different session than the candidate's");
    if (base != nullptr && base->cfg_.vocab_size != cfg_.vocab_size) {
        fail(DTM_ERR_INVALID_ARGUMENT, "base and candidate vocabularies differ (%d vs %d tokens)",
             base->cfg_.vocab_size, cfg_.vocab_size);
    }
    const int32_t vocab = cfg_.vocab_size;
    if (in.base_top_k < 0 || in.base_top_k > vocab) {
        fail(DTM_ERR_INVALID_ARGUMENT, "base_top_k must be in [0, %d], got %d", vocab, in.base_top_k);
    }
    if (in.base_top_k > 0 && (in.base_topk_ids == nullptr || in.base_topk_logprobs == nullptr)) {
        fail(DTM_ERR_INVALID_ARGUMENT, "base_top_k = %d but base_topk_ids or base_topk_logprobs is NULL", in.base_top_k);
    }
    if (out.top_k < 0 || out.top_k > vocab) fail(DTM_ERR_INVALID_ARGUMENT, "top_k must be in [0, %d], got %d", vocab, out.top_k);
    if (out.top_k > 0 && (out.topk_ids == nullptr || out.topk_logprobs == nullptr)) {
        fail(DTM_ERR_INVALID_ARGUMENT, "top_k = %d but topk_ids or topk_logprobs is NULL", out.top_k);
    }
    const int32_t n = in.n_samples;
    const SampleLayout layout = check_samples(in);
    const std::vector<int64_t> & tok_off = layout.tok_off;
    const std::vector<int64_t> & cont_off = layout.cont_off;
    const int32_t longest = layout.longest;
    if (from) check_layer_inputs(*from, hash_eval_tokens(in), layout, std::numeric_limits<int32_t>::max(), base);
    const int64_t n_cont = cont_off[size_t(n)];

    // ---- per-position values of the whole run ----
    std::vector<int32_t> diverged(static_cast<size_t>(n_cont));
    std::vector<float> lp(static_cast<size_t>(n_cont)), base_lp(size_t(n_cont), kNaN), kl(size_t(n_cont), kNaN);
    if (base == nullptr && in.base_logprobs != nullptr) {
        std::memcpy(base_lp.data(), in.base_logprobs, sizeof(float) * size_t(n_cont));
    }

    // The scored rows of a block and their logits, in each session's backend
    // memory: hid (kHeadBlock, dim), logits (kHeadBlock, vocab) in the
    // sessions' logits scratch (kept between calls: a scan evaluates once per cell).
    BufferPtr hid_c = backend_->allocate(size_t(kHeadBlock) * cfg_.dim);
    grow(*backend_, run_.logits, size_t(kHeadBlock) * vocab);
    Buffer * logits_c = run_.logits.get();
    BufferPtr hid_b;
    Buffer * logits_b = nullptr;
    if (base) {
        hid_b = base->backend_->allocate(hid_c->size());
        grow(*base->backend_, base->run_.logits, size_t(kHeadBlock) * vocab);
        logits_b = base->run_.logits.get();
    }
    // Per scored row of a block: the statistics of both models' logits.
    std::vector<cpu::RowStats> stats_c(static_cast<size_t>(kHeadBlock)), stats_b(static_cast<size_t>(kHeadBlock));
    std::vector<float> lse_c(static_cast<size_t>(kHeadBlock)), lse_b(static_cast<size_t>(kHeadBlock));
    // The sessions' buffers before the first pass, which overwrites their
    // streams' cache rows.
    const int64_t cap = std::max<int64_t>(max_batch_tokens_, longest);
    const int64_t chunk_tokens = std::min(cap, layout.fed_off.back());
    ensure_tokens(chunk_tokens);
    ensure_kv_rows(cap);
    if (base) {
        base->ensure_tokens(chunk_tokens);
        base->ensure_kv_rows(cap);
        base->run_.stream_pos = 0;
    }
    run_.stream_pos = 0;
    // Per scored row of the current chunk: its batch row, its index among
    // all continuation tokens, and its target y_i.
    std::vector<int64_t> row_batch, row_cont;
    std::vector<int32_t> row_target;

    for (int32_t s = 0; s < n;) {
        const int32_t first = s;
        s = pack_samples(in, layout, first, cap);
        row_batch.clear();
        row_cont.clear();
        row_target.clear();
        for (int32_t smp = first; smp < s; ++smp) {
            const int64_t start = layout.fed_off[size_t(smp)] - layout.fed_off[size_t(first)];
            const int32_t P = in.prompt_lens[smp], N = in.cont_lens[smp];
            const int32_t * t = in.tokens + tok_off[size_t(smp)];
            for (int32_t i = 1; i <= N; ++i) {
                row_batch.push_back(start + P - 2 + i);
                row_cont.push_back(cont_off[size_t(smp)] + i - 1);
                row_target.push_back(t[P - 1 + i]);
            }
        }
        const LayerRange range = chunk_range(from, layout, first);
        forward_hidden(run_.batch, range);
        if (base) base->forward_hidden(run_.batch, range);

        for (size_t r0 = 0; r0 < row_batch.size(); r0 += kHeadBlock) {
            const int64_t nr = std::min<int64_t>(kHeadBlock, int64_t(row_batch.size() - r0));
            for (int64_t r = 0; r < nr; ++r) {
                const size_t src = size_t(row_batch[r0 + size_t(r)]) * cfg_.dim;
                backend_->copy(hid_c->data() + size_t(r) * cfg_.dim, run_.act.hidden() + src, size_t(cfg_.dim));
                if (base) {
                    base->backend_->copy(hid_b->data() + size_t(r) * cfg_.dim, base->run_.act.hidden() + src,
                                         size_t(cfg_.dim));
                }
            }
            head_logits(hid_c->data(), nr, logits_c->data());
            if (base) base->head_logits(hid_b->data(), nr, logits_b->data());

            // The block's rows are consecutive continuation tokens c0 .. c0 + nr - 1
            // (samples are packed in order, each continuation whole).
            const size_t c0 = size_t(row_cont[r0]);
            const int32_t * targets = &row_target[r0];
            backend_->row_stats(logits_c->data(), nr, vocab, targets, stats_c.data());
            for (int64_t r = 0; r < nr; ++r) {
                const size_t c = c0 + size_t(r);
                const cpu::RowStats & sc = stats_c[size_t(r)];
                diverged[c] = sc.argmax != targets[r] ? 1 : 0;
                lp[c] = sc.target_logit - sc.logsumexp;
                lse_c[size_t(r)] = sc.logsumexp;
                if (out.argmax) out.argmax[c] = sc.argmax;
            }
            if (base) {
                base->backend_->row_stats(logits_b->data(), nr, vocab, targets, stats_b.data());
                for (int64_t r = 0; r < nr; ++r) {
                    const cpu::RowStats & sb = stats_b[size_t(r)];
                    base_lp[c0 + size_t(r)] = sb.target_logit - sb.logsumexp;
                    lse_b[size_t(r)] = sb.logsumexp;
                }
                backend_->kl_exact(logits_b->data(), lse_b.data(), logits_c->data(), lse_c.data(), nr, vocab, &kl[c0]);
            } else if (in.base_top_k > 0) {
                const size_t k = size_t(in.base_top_k);
                backend_->kl_top_k(in.base_topk_ids + c0 * k, in.base_topk_logprobs + c0 * k, in.base_top_k,
                                   logits_c->data(), lse_c.data(), nr, vocab, &kl[c0]);
            }
            if (out.top_k > 0) {
                const size_t k = size_t(out.top_k);
                backend_->top_k(logits_c->data(), lse_c.data(), nr, vocab, out.top_k, out.topk_ids + c0 * k,
                                out.topk_logprobs + c0 * k);
            }
        }
    }

    // ---- per-sample reductions, in order i = 1..N ----
    for (int32_t smp = 0; smp < n; ++smp) {
        const size_t c0 = size_t(cont_off[size_t(smp)]);
        const SampleMetrics m = reduce_sample(&diverged[c0], &lp[c0], &base_lp[c0], &kl[c0], in.cont_lens[smp]);
        if (out.fdt) out.fdt[smp] = m.fdt;
        if (out.sdt) out.sdt[smp] = m.sdt;
        if (out.nll) out.nll[smp] = m.nll;
        if (out.delta_p) out.delta_p[smp] = m.delta_p;  // NaN without base log-probs
        if (out.kl) out.kl[smp] = m.kl;                 // NaN without a base
    }
    if (out.logprob) std::memcpy(out.logprob, lp.data(), sizeof(float) * size_t(n_cont));
    if (out.base_logprob) std::memcpy(out.base_logprob, base_lp.data(), sizeof(float) * size_t(n_cont));
    if (out.position_kl) std::memcpy(out.position_kl, kl.data(), sizeof(float) * size_t(n_cont));
}

}  // namespace dtm
