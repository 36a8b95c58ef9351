#include "model/linear.h"

#include <algorithm>

#include "core/thread_pool.h"

namespace dtm {

namespace {
// Work split of one product: blocks of panels x blocks of tokens. A block of
// 8 panels (128 outputs) keeps its weights in L2 while a block of tokens
// streams through; small token counts (decoding) split over panels only.
constexpr int64_t kPanelsPerTask = 8;
constexpr int64_t kTokensPerTask = 64;
}  // namespace

void DenseLinear::forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                          ThreadPool & pool, const cpu::KernelTable & kernels) const {
    const int64_t n_panels = w_.n_panels();
    int64_t panels_per_task = kPanelsPerTask;
    // With few panels, smaller blocks so every thread gets work.
    const int64_t min_tasks = 4 * pool.size();
    while (panels_per_task > 1 && (n_panels / panels_per_task) * ((n_tokens + kTokensPerTask - 1) / kTokensPerTask) < min_tasks) {
        panels_per_task /= 2;
    }
    const int64_t panel_blocks = (n_panels + panels_per_task - 1) / panels_per_task;
    const int64_t token_blocks = (n_tokens + kTokensPerTask - 1) / kTokensPerTask;
    const auto matmul = kernels.matmul;
    pool.parallel_for(panel_blocks * token_blocks, [&](int64_t task, int) {
        const int64_t pb = task % panel_blocks;
        const int64_t tb = task / panel_blocks;
        const int64_t p0 = pb * panels_per_task;
        const int64_t p1 = std::min(n_panels, p0 + panels_per_task);
        const int64_t t0 = tb * kTokensPerTask;
        const int64_t nt = std::min(n_tokens - t0, kTokensPerTask);
        matmul(w_, x + t0 * ldx, ldx, y + t0 * ldy, ldy, nt, p0, p1);
    });
}

}  // namespace dtm
