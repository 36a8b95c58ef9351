// run_state.h - the memory a session computes in, apart from the drivers
// that use it: the token batch of a pass, the activations of that batch (one
// buffer per role), the KV cache, the logits of a block of positions and the
// position of the one-token decoding stream. Buffers are in the session's
// backend memory (backend/backend.h) and only grow: each driver grows them
// before its first pass, so that running out of memory
// (DTM_ERR_OUT_OF_MEMORY) refuses the call with the state as it was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "model/model_config.h"

namespace dtm {

// The tokens of one forward pass: each with its position in its sequence and
// the KV-cache row where its sequence's position 0 lives (seq_base); a
// token's keys and values go to row seq_base + pos. Host memory.
struct TokenBatch {
    std::vector<int32_t> token;     // token id
    std::vector<int32_t> pos;       // position in its sequence
    std::vector<int64_t> seq_base;  // KV row of its sequence's position 0
    void clear() { token.clear(); pos.clear(); seq_base.clear(); }
    void add(int32_t t, int32_t p, int64_t base) { token.push_back(t); pos.push_back(p); seq_base.push_back(base); }
    int64_t size() const { return int64_t(token.size()); }
};

// Grows b to at least n floats of the backend's memory (its contents are not
// kept); on failure (DTM_ERR_OUT_OF_MEMORY) b is as it was.
void grow(Backend & backend, BufferPtr & b, size_t n);

// The activations of a batch of up to capacity() tokens, one row per token.
class Activations {
public:
    // Grows every buffer to n tokens of the model's widths. A failed
    // allocation leaves capacity() as it was (some buffers may have grown).
    void ensure(Backend & backend, const ModelConfig & cfg, int64_t n);
    int64_t capacity() const { return capacity_; }

    float * x() { return x_->data(); }            // (n, dim)     the residual stream
    float * xn() { return xn_->data(); }          // (n, dim)     rmsnorm(x): input of q, k, v and of gate, up
    float * q() { return q_->data(); }            // (n, q_dim)   queries (RoPE'd in place)
    float * k() { return k_->data(); }            // (n, kv_dim)  keys of the batch (RoPE'd in place)
    float * v() { return v_->data(); }            // (n, kv_dim)  values of the batch
    float * att() { return att_->data(); }        // (n, q_dim)   attention output: input of o
    float * delta() { return delta_->data(); }    // (n, dim)     output of o, then of down: added to x
    float * gate() { return gate_->data(); }      // (n, hidden)  x Wgate^T, then silu(gate) * up: input of down
    float * up() { return up_->data(); }          // (n, hidden)  x Wup^T
    float * hidden() { return hidden_->data(); }  // (n, dim)     rmsnorm(x, final_norm): input of the head

private:
    int64_t capacity_ = 0;
    BufferPtr x_, xn_, q_, k_, v_, att_, delta_, gate_, up_, hidden_;
};

// Keys and values of every layer, (layer, rows, kv_dim) each.
class KvCache {
public:
    // Grows the cache to at least `rows` rows per layer. Growing changes
    // every layer's offset, so the cache is allocated anew and its contents
    // are lost: returns true then. The new buffers replace the old ones only
    // once both exist, so a failed allocation leaves the cache as it was.
    bool ensure(Backend & backend, const ModelConfig & cfg, int64_t rows);
    int64_t rows() const { return rows_; }
    float * keys(int32_t layer) { return keys_->data() + size_t(layer) * size_t(rows_) * size_t(kv_dim_); }
    float * values(int32_t layer) { return values_->data() + size_t(layer) * size_t(rows_) * size_t(kv_dim_); }

private:
    int64_t rows_ = 0;
    int32_t kv_dim_ = 0;
    BufferPtr keys_, values_;
};

struct RunState {
    TokenBatch batch;
    Activations act;
    KvCache kv;
    BufferPtr logits;        // (rows, vocab): logits of a block of positions; grown by the drivers that use it
    int32_t stream_pos = 0;  // the decoding stream's next position (its sequence is slot 0 of the cache)
};

}  // namespace dtm
