// forward.cpp - the Llama forward pass over a batch of tokens.
//
// For every token t of the batch (x: residual stream, one row per token):
//   x  = embedding[token]
//   for each layer l:
//     xb   = rmsnorm(x, attn_norm_l)
//     q    = xb Wq^T,  k = xb Wk^T,  v = xb Wv^T          (batched GEMM)
//            (+ bq, bk, bv when the model has biases, here and below)
//     rotate q, k by position (RoPE); store k, v in the KV cache
//     att  = softmax(q k_j / sqrt(head_dim)) v_j over j <= pos, per head
//     x   += att Wo^T
//     xb   = rmsnorm(x, mlp_norm_l)
//     x   += (silu(xb Wgate^T) * (xb Wup^T)) Wdown^T
//   xb = rmsnorm(x, final_norm)          -> logits = xb Wcls^T
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "runtime/session.h"

namespace dtm {

namespace {
// Below this many tokens the cheap per-token steps run on the calling thread.
constexpr int64_t kParallelTokens = 4;
}  // namespace

void Session::forward_hidden(const TokenBatch & batch, const LayerRange & range) {
    const int64_t n = batch.size();
    ensure_tokens(n);
    const int32_t dim = cfg_.dim, hidden = cfg_.hidden_dim, qd = cfg_.q_dim(), kvd = cfg_.kv_dim();
    const int32_t hd = cfg_.head_dim, n_heads = cfg_.n_heads;
    const int32_t group = cfg_.n_heads / cfg_.n_kv_heads;
    const WeightViews & w = model_.views();

    auto per_token = [&](const ThreadPool::TaskFn & fn) {
        if (n < kParallelTokens) {
            for (int64_t t = 0; t < n; ++t) fn(t, 0);
        } else {
            pool_.parallel_for(n, fn);
        }
    };

    if (range.start_rows) {
        std::memcpy(x_.data(), range.start_rows, sizeof(float) * size_t(n) * size_t(dim));
    } else {
        per_token([&](int64_t t, int) {
            embedding_rows(w, int64_t(batch.token[size_t(t)]), 1, dim, &x_[size_t(t * dim)]);
        });
    }

    for (int32_t l = range.first_layer; l < cfg_.n_layers; ++l) {
        if (l == range.stop_layer) {
            std::memcpy(range.stop_rows, x_.data(), sizeof(float) * size_t(n) * size_t(dim));
            return;
        }
        const LayerWeightViews & lw = w.layers[size_t(l)];
        const LayerLinears & L = model_.layer(l);
        float * key_cache = key_cache_.data() + size_t(l) * size_t(kv_rows_) * kvd;
        float * value_cache = value_cache_.data() + size_t(l) * size_t(kv_rows_) * kvd;

        per_token([&](int64_t t, int) {
            rmsnorm(&xb_[size_t(t * dim)], &x_[size_t(t * dim)], lw.attn_norm, dim, cfg_.norm_eps);
        });
        if (recorder_) recorder_->add(l, InputNorms::kAttnIn, xb_.data(), n, dim);
        L.q->forward(xb_.data(), dim, q_.data(), qd, n, pool_, *kernels_);
        L.k->forward(xb_.data(), dim, k_.data(), kvd, n, pool_, *kernels_);
        L.v->forward(xb_.data(), dim, v_.data(), kvd, n, pool_, *kernels_);

        // RoPE, then this batch's keys and values into the cache. All of the
        // batch's rows are stored before any token attends, so a token sees
        // the earlier positions of its sequence from this batch as well.
        per_token([&](int64_t t, int) {
            const int32_t pos = batch.pos[size_t(t)];
            if (lw.bq) add_bias(&q_[size_t(t * qd)], lw.bq, qd);
            if (lw.bk) add_bias(&k_[size_t(t * kvd)], lw.bk, kvd);
            if (lw.bv) add_bias(&v_[size_t(t * kvd)], lw.bv, kvd);
            rope_rotate(&q_[size_t(t * qd)], n_heads, hd, pos, rope_);
            rope_rotate(&k_[size_t(t * kvd)], cfg_.n_kv_heads, hd, pos, rope_);
            const int64_t row = batch.seq_base[size_t(t)] + pos;
            std::memcpy(key_cache + row * kvd, &k_[size_t(t * kvd)], sizeof(float) * size_t(kvd));
            std::memcpy(value_cache + row * kvd, &v_[size_t(t * kvd)], sizeof(float) * size_t(kvd));
        });

        per_token([&](int64_t t, int worker) {
            const int32_t pos = batch.pos[size_t(t)];
            const int64_t base = batch.seq_base[size_t(t)];
            float * scores = &scores_[size_t(worker) * size_t(cfg_.max_seq_len)];
            for (int32_t h = 0; h < n_heads; ++h) {
                const int64_t kv_off = base * kvd + int64_t(h / group) * hd;
                kernels_->attend(&att_[size_t(t * qd + h * hd)], &q_[size_t(t * qd + h * hd)],
                                 key_cache + kv_off, value_cache + kv_off, kvd, pos + 1, hd, scores);
            }
        });

        // x += att Wo^T  (through xb as scratch, then added in order)
        if (recorder_) recorder_->add(l, InputNorms::kAttnOut, att_.data(), n, qd);
        L.o->forward(att_.data(), qd, xb_.data(), dim, n, pool_, *kernels_);
        per_token([&](int64_t t, int) {
            float * x = &x_[size_t(t * dim)];
            float * d = &xb_[size_t(t * dim)];
            if (lw.bo) add_bias(d, lw.bo, dim);
            for (int32_t i = 0; i < dim; ++i) x[i] += d[i];
            rmsnorm(&xb_[size_t(t * dim)], x, lw.mlp_norm, dim, cfg_.norm_eps);
        });

        if (recorder_) recorder_->add(l, InputNorms::kMlpIn, xb_.data(), n, dim);
        L.gate->forward(xb_.data(), dim, hb_.data(), hidden, n, pool_, *kernels_);
        L.up->forward(xb_.data(), dim, hb2_.data(), hidden, n, pool_, *kernels_);
        per_token([&](int64_t t, int) {
            if (lw.b_gate) add_bias(&hb_[size_t(t * hidden)], lw.b_gate, hidden);
            if (lw.b_up) add_bias(&hb2_[size_t(t * hidden)], lw.b_up, hidden);
            swiglu(&hb_[size_t(t * hidden)], &hb2_[size_t(t * hidden)], hidden);
        });
        if (recorder_) recorder_->add(l, InputNorms::kMlpHidden, hb_.data(), n, hidden);
        L.down->forward(hb_.data(), hidden, xb_.data(), dim, n, pool_, *kernels_);
        per_token([&](int64_t t, int) {
            float * x = &x_[size_t(t * dim)];
            float * d = &xb_[size_t(t * dim)];
            if (lw.b_down) add_bias(d, lw.b_down, dim);
            for (int32_t i = 0; i < dim; ++i) x[i] += d[i];
        });
    }

    if (range.stop_layer == cfg_.n_layers) {
        std::memcpy(range.stop_rows, x_.data(), sizeof(float) * size_t(n) * size_t(dim));
        return;
    }
    per_token([&](int64_t t, int) {
        rmsnorm(&xb_[size_t(t * dim)], &x_[size_t(t * dim)], w.final_norm, dim, cfg_.norm_eps);
    });
    if (recorder_) {
        recorder_->add_head(xb_.data(), n, dim);
        recorder_->count_tokens(n);
    }
}

void Session::head_logits(const float * hidden, int64_t n, float * logits) {
    model_.classifier().forward(hidden, cfg_.dim, logits, cfg_.vocab_size, n, pool_, *kernels_);
}

}  // namespace dtm
