// sparse_linear.cpp - SparseLinear: building, export/restore (CSR tensors), forward.
#include "backend/cpu/cpu_backend.h"
#include "compress/sparse_linear.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/sparse_matmul.h"

namespace dtm::compress {

namespace {

constexpr int64_t kPanelsPerTask = 8;  // 128 outputs per task at most

// Panels per task: at most kPanelsPerTask, fewer when that leaves a thread idle.
int64_t panels_per_task(int64_t n_panels, int64_t token_blocks, int n_threads) {
    int64_t per_task = kPanelsPerTask;
    while (per_task > 1 && ((n_panels + per_task - 1) / per_task) * token_blocks < 4 * int64_t(n_threads)) {
        per_task /= 2;
    }
    return per_task;
}

// The calling thread's scratch for transposed token tiles, kept between calls
// (one forward pass calls this for every matrix; allocating each time would
// fault in fresh pages every time). 64-byte aligned.
float * tile_scratch(int64_t floats) {
    struct Scratch {
        cpu::AlignedArray<float> data;
        int64_t capacity = 0;
    };
    thread_local Scratch scratch;
    if (floats > scratch.capacity) {
        scratch.data = cpu::aligned_array<float>(size_t(floats), "sparse scratch");
        scratch.capacity = floats;
    }
    return scratch.data.get();
}

template <typename T>
std::vector<T> copy_out(const StoredTensor & t) {
    std::vector<T> v(t.bytes.size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), t.bytes.data(), v.size() * sizeof(T));
    return v;
}

template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T> & v) {
    std::vector<uint8_t> b(v.size() * sizeof(T));
    if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
    return b;
}

// Stored column indices are U16 up to this many columns, I32 beyond.
constexpr int64_t kMaxCols16 = 65536;

const char * index_dtype(int64_t cols) { return cols > kMaxCols16 ? "I32" : "U16"; }

}  // namespace

std::shared_ptr<const SparseLinear> SparseLinear::from_rows(const float * w, int64_t rows, int64_t cols) {
    return std::make_shared<SparseLinear>(cpu::SparseMatrix::from_dense(w, rows, cols));
}

std::vector<StoredTensor> SparseLinear::stored_tensors() const {
    const int64_t rows = w_.rows(), cols = w_.cols(), nnz = w_.nonzeros();
    std::vector<int64_t> offsets(static_cast<size_t>(rows + 1));
    std::vector<uint32_t> columns(static_cast<size_t>(nnz));
    std::vector<float> values(static_cast<size_t>(nnz));
    w_.to_csr(offsets.data(), columns.data(), values.data());

    StoredTensor v{"values", "F32", {nnz}, bytes_of(values)};
    StoredTensor c{"col_indices", index_dtype(cols), {nnz}, {}};
    if (cols > kMaxCols16) {
        std::vector<int32_t> wide(columns.begin(), columns.end());
        c.bytes = bytes_of(wide);
    } else {
        std::vector<uint16_t> narrow(columns.begin(), columns.end());
        c.bytes = bytes_of(narrow);
    }
    StoredTensor o{"row_offsets", "I64", {rows + 1}, bytes_of(offsets)};
    return {std::move(v), std::move(c), std::move(o)};
}

std::shared_ptr<const SparseLinear> SparseLinear::restore(int64_t rows, int64_t cols,
                                                          const std::vector<StoredTensor> & tensors) {
    if (rows < 0 || cols < 0 || cols > int64_t(std::numeric_limits<int32_t>::max())) {
        throw Error(DTM_ERR_MODEL_FORMAT, "sparse matrix of " + std::to_string(rows) + " x " + std::to_string(cols) +
                                              " cannot be stored");
    }
    const std::vector<int64_t> offsets = copy_out<int64_t>(find_stored(tensors, "row_offsets", "I64", {rows + 1}));
    if (offsets[0] != 0) throw Error(DTM_ERR_MODEL_FORMAT, "sparse row_offsets must start at 0");
    for (int64_t r = 0; r < rows; ++r) {
        if (offsets[size_t(r) + 1] < offsets[size_t(r)]) {
            throw Error(DTM_ERR_MODEL_FORMAT, "sparse row_offsets decrease at row " + std::to_string(r));
        }
        if (offsets[size_t(r) + 1] - offsets[size_t(r)] > cols) {
            throw Error(DTM_ERR_MODEL_FORMAT, "sparse row " + std::to_string(r) + " has more weights than columns");
        }
    }
    const int64_t nnz = offsets[size_t(rows)];
    const std::vector<float> values = copy_out<float>(find_stored(tensors, "values", "F32", {nnz}));
    const StoredTensor & ct = find_stored(tensors, "col_indices", index_dtype(cols), {nnz});
    std::vector<uint32_t> columns(static_cast<size_t>(nnz));
    if (cols > kMaxCols16) {
        const std::vector<int32_t> wide = copy_out<int32_t>(ct);
        for (size_t i = 0; i < wide.size(); ++i) {
            if (wide[i] < 0) throw Error(DTM_ERR_MODEL_FORMAT, "sparse col_indices holds a negative column");
            columns[i] = uint32_t(wide[i]);
        }
    } else {
        const std::vector<uint16_t> narrow = copy_out<uint16_t>(ct);
        for (size_t i = 0; i < narrow.size(); ++i) columns[i] = narrow[i];
    }
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t i = offsets[size_t(r)]; i < offsets[size_t(r) + 1]; ++i) {
            if (int64_t(columns[size_t(i)]) >= cols) {
                throw Error(DTM_ERR_MODEL_FORMAT, "sparse column " + std::to_string(columns[size_t(i)]) + " in row " +
                                                      std::to_string(r) + " is not below cols = " + std::to_string(cols));
            }
            if (i > offsets[size_t(r)] && columns[size_t(i)] <= columns[size_t(i) - 1]) {
                throw Error(DTM_ERR_MODEL_FORMAT, "sparse columns of row " + std::to_string(r) + " do not increase");
            }
            if (values[size_t(i)] == 0.0f) {
                throw Error(DTM_ERR_MODEL_FORMAT, "sparse row " + std::to_string(r) + " stores a zero weight");
            }
        }
    }
    return std::make_shared<SparseLinear>(
        cpu::SparseMatrix::from_csr(rows, cols, offsets.data(), columns.data(), values.data()));
}

void SparseLinear::forward(const float * x, int64_t ldx, float * y, int64_t ldy, int64_t n_tokens,
                           const Backend & backend) const {
    const cpu::CpuBackend & cpu = cpu::require_cpu(backend, "sparse");
    ThreadPool & pool = cpu.pool();
    const cpu::KernelTable & kernels = cpu.kernels();
    const cpu::SparseKernels & sk = kernels.sparse;
    const cpu::SparseView w = w_.view();
    const int64_t n_panels = w.n_panels;
    if (n_tokens <= 0 || n_panels == 0) return;

    if (n_tokens < sk.tile_min_tokens) {
        const int64_t per_task = panels_per_task(n_panels, 1, pool.size());
        const int64_t n_tasks = (n_panels + per_task - 1) / per_task;
        const auto gemv = sk.gemv;
        pool.parallel_for(n_tasks, [&](int64_t task, int) {
            const int64_t p0 = task * per_task;
            const int64_t p1 = std::min(n_panels, p0 + per_task);
            gemv(w, x, ldx, y, ldy, n_tokens, p0, p1);
        });
        return;
    }

    const int64_t n_tiles = (n_tokens + cpu::kSparseTileTokens - 1) / cpu::kSparseTileTokens;
    const int64_t tile_floats = cpu::sparse_tile_floats(w.cols);
    float * xt = tile_scratch(std::max<int64_t>(1, n_tiles * tile_floats));
    pool.parallel_for(n_tiles, [&](int64_t t, int) {
        const int64_t t0 = t * cpu::kSparseTileTokens;
        cpu::transpose_token_tile(x + t0 * ldx, ldx, std::min(cpu::kSparseTileTokens, n_tokens - t0), w.cols,
                                  xt + t * tile_floats);
    });
    const int64_t per_task = panels_per_task(n_panels, n_tiles, pool.size());
    const int64_t panel_blocks = (n_panels + per_task - 1) / per_task;
    const auto tile = sk.tile;
    pool.parallel_for(panel_blocks * n_tiles, [&](int64_t task, int) {
        const int64_t pb = task % panel_blocks;
        const int64_t t = task / panel_blocks;
        const int64_t p0 = pb * per_task;
        const int64_t p1 = std::min(n_panels, p0 + per_task);
        const int64_t t0 = t * cpu::kSparseTileTokens;
        tile(w, xt + t * tile_floats, std::min(cpu::kSparseTileTokens, n_tokens - t0), y + t0 * ldy, ldy, p0, p1);
    });
}

}  // namespace dtm::compress
