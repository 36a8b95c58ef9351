// forward.cpp - the Llama forward pass over a batch of n tokens, as steps of
// the session's backend (backend/backend.h). Buffers are the session's run
// state, one per role with its shape (run_state.h's Activations); every step
// works on all n rows.
//
//   x  = embedding[token]                                   x (n, dim)
//   for each layer l:
//     xn   = rmsnorm(x) * attn_norm_l                       xn (n, dim)
//     q    = xn Wq^T,  k = xn Wk^T,  v = xn Wv^T            q (n, q_dim), k, v (n, kv_dim)
//            (+ bq, bk, bv when the model has biases, here and below)
//     rotate q, k by position (RoPE); store k, v in the KV cache
//     att  = softmax(q k_j / sqrt(head_dim)) v_j over j <= pos, per head     att (n, q_dim)
//     x   += att Wo^T                                       (through delta (n, dim))
//     xn   = rmsnorm(x) * mlp_norm_l
//     gate = silu(xn Wgate^T) * (xn Wup^T)                  gate, up (n, hidden)
//     x   += gate Wdown^T                                   (through delta)
//   hidden = rmsnorm(x) * final_norm                        hidden (n, dim) -> logits = hidden Wcls^T
//
// Where a pass starts and stops (LayerRange) and the calibration recorder
// stay outside the layer's math: forward_hidden handles the first, record()
// the second.
#include "core/error.h"
#include "runtime/session.h"

namespace dtm {

void Session::forward_hidden(const TokenBatch & batch, const LayerRange & range) {
    const int64_t n = batch.size();
    ensure_tokens(n);
    const int32_t dim = cfg_.dim;
    Backend & be = *backend_;
    float * x = run_.act.x();

    if (range.start_rows) {
        be.upload(x, range.start_rows, size_t(n) * size_t(dim));
    } else {
        be.embed(model_.views(), batch.token.data(), n, dim, x);
    }
    const int32_t end = range.stop_layer >= 0 ? range.stop_layer : cfg_.n_layers;
    for (int32_t l = range.first_layer; l < end; ++l) decoder_layer(l, batch);
    if (range.stop_layer >= 0) {
        be.download(range.stop_rows, x, size_t(n) * size_t(dim));
        return;
    }
    be.rmsnorm(run_.act.hidden(), x, model_.views().final_norm, n, dim, cfg_.norm_eps);
    if (recorder_) {
        record(-1, 0, run_.act.hidden(), n, dim);
        recorder_->count_tokens(n);
    }
}

void Session::decoder_layer(int32_t l, const TokenBatch & batch) {
    const int64_t n = batch.size();
    const int32_t dim = cfg_.dim, hidden = cfg_.hidden_dim, qd = cfg_.q_dim(), kvd = cfg_.kv_dim();
    const float eps = cfg_.norm_eps;
    const LayerWeightViews & lw = model_.views().layers[size_t(l)];
    const LayerLinears & L = model_.layer(l);
    const AttentionShape shape{cfg_.n_heads, cfg_.n_kv_heads, cfg_.head_dim, cfg_.max_seq_len};
    Backend & be = *backend_;
    Activations & a = run_.act;
    float * x = a.x(), * xn = a.xn(), * q = a.q(), * k = a.k(), * v = a.v(), * att = a.att();
    float * delta = a.delta(), * gate = a.gate(), * up = a.up();
    float * key_cache = run_.kv.keys(l);      // (kv_rows, kv_dim)
    float * value_cache = run_.kv.values(l);  // (kv_rows, kv_dim)

    // ---- attention ----
    be.rmsnorm(xn, x, lw.attn_norm, n, dim, eps);
    record(l, InputNorms::kAttnIn, xn, n, dim);
    be.linear(*L.q, xn, dim, q, qd, n);
    be.linear(*L.k, xn, dim, k, kvd, n);
    be.linear(*L.v, xn, dim, v, kvd, n);
    if (lw.bq) be.add_bias(q, lw.bq, n, qd);
    if (lw.bk) be.add_bias(k, lw.bk, n, kvd);
    if (lw.bv) be.add_bias(v, lw.bv, n, kvd);
    // All of the batch's keys and values are stored before any token
    // attends, so a token sees the earlier positions of its sequence from
    // this batch as well.
    be.rope_store_kv(q, k, v, batch.pos.data(), batch.seq_base.data(), n, shape, rope_, key_cache, value_cache);
    be.attention(att, q, key_cache, value_cache, batch.pos.data(), batch.seq_base.data(), n, shape);
    record(l, InputNorms::kAttnOut, att, n, qd);
    be.linear(*L.o, att, qd, delta, dim, n);
    if (lw.bo) be.add_bias(delta, lw.bo, n, dim);
    be.add_residual(x, delta, n, dim);

    // ---- MLP ----
    be.rmsnorm(xn, x, lw.mlp_norm, n, dim, eps);
    record(l, InputNorms::kMlpIn, xn, n, dim);
    be.linear(*L.gate, xn, dim, gate, hidden, n);
    be.linear(*L.up, xn, dim, up, hidden, n);
    if (lw.b_gate) be.add_bias(gate, lw.b_gate, n, hidden);
    if (lw.b_up) be.add_bias(up, lw.b_up, n, hidden);
    be.swiglu(gate, up, n, hidden);
    record(l, InputNorms::kMlpHidden, gate, n, hidden);
    be.linear(*L.down, gate, hidden, delta, dim, n);
    if (lw.b_down) be.add_bias(delta, lw.b_down, n, dim);
    be.add_residual(x, delta, n, dim);
}

void Session::record(int32_t layer, int slot, const float * rows, int64_t n, int32_t width) {
    if (recorder_ == nullptr) return;
    std::vector<float> host;
    if (!backend_->host_is_device()) {
        host.resize(size_t(n) * size_t(width));
        backend_->download(host.data(), rows, host.size());
        rows = host.data();
    }
    if (layer < 0) {
        recorder_->add_head(rows, n, width);
    } else {
        recorder_->add(layer, InputNorms::Slot(slot), rows, n, width);
    }
}

void Session::head_logits(const float * hidden, int64_t n, float * logits) {
    backend_->linear(model_.classifier(), hidden, cfg_.dim, logits, cfg_.vocab_size, n);
}

}  // namespace dtm
