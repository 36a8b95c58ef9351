// output_blocks.h - how the Linears (DenseLinear and the quantized ones)
// split one product over the session's threads: blocks of panels x blocks of
// tokens. Every output belongs to exactly one block, and a block's kernel
// call computes each of its outputs in an order that does not depend on the
// block, so results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"

namespace dtm {

// Runs fn(panel_begin, panel_end, token_begin, n_tokens) for every block of
// the product of n_panels panels with n_tokens tokens on the pool.
template <typename BlockFn>
void for_each_output_block(ThreadPool & pool, int64_t n_panels, int64_t n_tokens, const BlockFn & fn) {
    constexpr int64_t kPanelsPerTask = 8;   // 128 outputs: their weights stay in L2 while tokens stream
    // 256 tokens: a block's weights come from memory once per 256 tokens (the
    // output head's are the largest stream, 37 MB for stories15M; 64 tokens
    // per task cost the whole engine ~4 % of its scoring speed), and 256 rows
    // of x over one k block (cols <= 1024, else k_block) stay in L2.
    constexpr int64_t kTokensPerTask = 256;
    // Products of fewer tokens (decoding) are memory-bound: each task streams
    // one long run of panels, kDecodeTasksPerThread runs per thread (one on
    // one thread), in multiples of the 4-panel one-token tile. Tasks of 8
    // panels made every weight stream short (the fp32 kernels' strided walk,
    // matmul_walk.h, needs a long run to make long streams of it) and cost
    // ~10 % of one-thread decoding even before that walk.
    constexpr int64_t kDecodeTokens = 4;
    constexpr int64_t kDecodeTasksPerThread = 2;
    constexpr int64_t kDecodePanelGrain = 4;
    if (n_panels <= 0 || n_tokens <= 0) return;
    const int64_t token_blocks = (n_tokens + kTokensPerTask - 1) / kTokensPerTask;
    int64_t panels_per_task = kPanelsPerTask;
    if (n_tokens < kDecodeTokens) {
        const int64_t tasks = pool.size() == 1 ? 1 : kDecodeTasksPerThread * pool.size();
        const int64_t grains = (n_panels + kDecodePanelGrain - 1) / kDecodePanelGrain;
        panels_per_task = std::max<int64_t>(1, (grains + tasks - 1) / tasks) * kDecodePanelGrain;
    } else {
        // With few panels, smaller blocks so that every thread gets work.
        const int64_t min_tasks = 4 * pool.size();
        while (panels_per_task > 1 && (n_panels / panels_per_task) * token_blocks < min_tasks) panels_per_task /= 2;
    }
    const int64_t panel_blocks = (n_panels + panels_per_task - 1) / panels_per_task;
    pool.parallel_for(panel_blocks * token_blocks, [&](int64_t task, int) {
        const int64_t p0 = (task % panel_blocks) * panels_per_task;
        const int64_t t0 = (task / panel_blocks) * kTokensPerTask;
        fn(p0, std::min(n_panels, p0 + panels_per_task), t0, std::min(kTokensPerTask, n_tokens - t0));
    });
}

}  // namespace dtm
