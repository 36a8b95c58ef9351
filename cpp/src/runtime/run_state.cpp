#include "runtime/run_state.h"

namespace dtm {

void grow(Backend & backend, BufferPtr & b, size_t n) {
    if (!b || b->size() < n) b = backend.allocate(n);
}

void Activations::ensure(Backend & backend, const ModelConfig & cfg, int64_t n) {
    if (n <= capacity_) return;
    const size_t c = size_t(n);
    grow(backend, x_, c * size_t(cfg.dim));
    grow(backend, xn_, c * size_t(cfg.dim));
    grow(backend, q_, c * size_t(cfg.q_dim()));
    grow(backend, k_, c * size_t(cfg.kv_dim()));
    grow(backend, v_, c * size_t(cfg.kv_dim()));
    grow(backend, att_, c * size_t(cfg.q_dim()));
    grow(backend, delta_, c * size_t(cfg.dim));
    grow(backend, gate_, c * size_t(cfg.hidden_dim));
    grow(backend, up_, c * size_t(cfg.hidden_dim));
    grow(backend, hidden_, c * size_t(cfg.dim));
    capacity_ = n;
}

bool KvCache::ensure(Backend & backend, const ModelConfig & cfg, int64_t rows) {
    if (rows <= rows_) return false;
    // The old and the new cache are held together for a moment.
    const size_t total = size_t(cfg.n_layers) * size_t(rows) * size_t(cfg.kv_dim());
    BufferPtr keys = backend.allocate(total);
    BufferPtr values = backend.allocate(total);
    keys_ = std::move(keys);
    values_ = std::move(values);
    rows_ = rows;
    kv_dim_ = cfg.kv_dim();
    return true;
}

}  // namespace dtm
