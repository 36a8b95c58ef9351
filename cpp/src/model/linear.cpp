#include "model/linear.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "model/safetensors_file.h"

namespace dtm {

namespace {
// Work split of one product: blocks of panels x blocks of tokens. A block of
// 8 panels (128 outputs) keeps its weights in L2 while a block of tokens
// streams through; small token counts (decoding) split over panels only.
constexpr int64_t kPanelsPerTask = 8;
constexpr int64_t kTokensPerTask = 64;
}  // namespace

DenseLinear::DenseLinear(cpu::PackedMatrix weights) : w_(std::move(weights)) {
    int64_t n = 0;
    for (int64_t p = 0; p < w_.n_panels(); ++p) {
        const float * panel = w_.panel(p);
        // Padding rows of the last panel are zero and do not count.
        for (int64_t i = 0; i < w_.cols() * cpu::kPanelRows; ++i) n += panel[i] != 0.0f;
    }
    nonzeros_ = n;
}

std::shared_ptr<const DenseLinear> DenseLinear::from_rows(const float * w, int64_t rows, int64_t cols) {
    return std::make_shared<DenseLinear>(cpu::PackedMatrix::pack(w, rows, cols, cols));
}

void DenseLinear::dense_weights(float * out) const { w_.unpack(out, w_.cols()); }

std::vector<StoredTensor> DenseLinear::stored_tensors() const {
    StoredTensor t{"weight", "F32", {w_.rows(), w_.cols()}, {}};
    t.bytes.resize(size_t(w_.rows() * w_.cols()) * sizeof(float));
    dense_weights(reinterpret_cast<float *>(t.bytes.data()));
    return {std::move(t)};
}

std::shared_ptr<const DenseLinear> DenseLinear::restore(int64_t rows, int64_t cols,
                                                        const std::vector<StoredTensor> & tensors) {
    const StoredTensor & w = find_stored(tensors, "weight", "F32", {rows, cols});
    return from_rows(reinterpret_cast<const float *>(w.bytes.data()), rows, cols);
}

const StoredTensor & find_stored(const std::vector<StoredTensor> & tensors, const std::string & name,
                                 const std::string & dtype, const std::vector<int64_t> & shape) {
    for (const StoredTensor & t : tensors) {
        if (t.name != name) continue;
        if (t.dtype != dtype) {
            throw Error(DTM_ERR_MODEL_FORMAT, "stored tensor '" + name + "' has dtype " + t.dtype +
                                                  ", expected " + dtype);
        }
        if (t.shape != shape) throw Error(DTM_ERR_MODEL_FORMAT, "stored tensor '" + name + "' has the wrong shape");
        int64_t elements = 1;
        for (int64_t d : shape) elements *= d;
        const int64_t width = int64_t(safetensors_dtype_size(dtype));
        if (int64_t(t.bytes.size()) != elements * width) {
            throw Error(DTM_ERR_MODEL_FORMAT, "stored tensor '" + name + "' has " + std::to_string(t.bytes.size()) +
                                                  " bytes, its shape needs " + std::to_string(elements * width));
        }
        return t;
    }
    throw Error(DTM_ERR_MODEL_FORMAT, "stored tensor '" + name + "' is missing");
}

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
