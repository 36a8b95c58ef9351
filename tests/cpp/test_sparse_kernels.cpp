// test_sparse_kernels.cpp - sliced ELL storage, the sparse kernels on every
// path, SparseLinear against DenseLinear, export/restore and corrupt tensors.
//
// The sparse products must be BITWISE equal to the scalar reference and to
// DenseLinear on the same weights (see kernels/cpu/sparse_matmul.h for why);
// outputs are compared by bit pattern. A path this CPU lacks is reported as
// skipped (GTEST_SKIP), never as passed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "compress/prune.h"
#include "compress/sparse_linear.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/sparse_matmul.h"
#include "kernels/cpu/sparse_matrix.h"
#include "model/linear.h"
#include "test_support.h"

namespace dtm::compress {
namespace {

using test::bits_of;
using test::kSentinelBits;
using test::random_floats;
using test::sentinel;

constexpr float kInf = std::numeric_limits<float>::infinity();



// Random weights pruned by magnitude to `sparsity`.
std::vector<float> pruned_weights(int64_t rows, int64_t cols, float sparsity, uint32_t seed) {
    std::vector<float> w = random_floats(size_t(rows * cols), seed);
    dtm_compression spec{};
    spec.kind = DTM_COMPRESS_PRUNE_MAGNITUDE;
    spec.sparsity = sparsity;
    prune(w.data(), rows, cols, spec, nullptr);
    return w;
}

::testing::AssertionResult same_bits(const std::vector<float> & got, const std::vector<float> & want) {
    if (got.size() != want.size()) return ::testing::AssertionFailure() << "sizes differ";
    for (size_t i = 0; i < got.size(); ++i) {
        if (bits_of(got[i]) != bits_of(want[i])) {
            return ::testing::AssertionFailure() << "element " << i << ": " << got[i] << " (0x" << std::hex
                                                 << bits_of(got[i]) << "), want " << std::dec << want[i] << " (0x"
                                                 << std::hex << bits_of(want[i]) << ")";
        }
    }
    return ::testing::AssertionSuccess();
}

// y (n_tokens, ldy) filled with the sentinel, plus a guard zone after it.
struct Output {
    int64_t n_tokens, rows, ldy;
    std::vector<float> y;
    Output(int64_t n_tokens_, int64_t rows_, int64_t ldy_)
        : n_tokens(n_tokens_), rows(rows_), ldy(ldy_), y(static_cast<size_t>(n_tokens_ * ldy_ + 64), sentinel()) {}

    // The written part (n_tokens, rows); fails if anything outside was touched.
    std::vector<float> written() const {
        std::vector<float> out;
        for (int64_t t = 0; t < n_tokens; ++t) {
            for (int64_t o = 0; o < ldy; ++o) {
                const float v = y[size_t(t * ldy + o)];
                if (o < rows) {
                    out.push_back(v);
                } else {
                    EXPECT_EQ(bits_of(v), kSentinelBits) << "wrote y[" << t << "][" << o << "] past the rows";
                }
            }
        }
        for (size_t i = size_t(n_tokens * ldy); i < y.size(); ++i) {
            EXPECT_EQ(bits_of(y[i]), kSentinelBits) << "wrote past the end of y";
        }
        return out;
    }
};

const cpu::KernelTable & best_kernels() { return cpu::kernels(cpu::best_isa()); }

// ---------------------------------------------------------------------------
// Storage

TEST(SparseMatrix, LayoutRoundTripAndPadding) {
    // One window: rows with 2, 0 and 3 nonzeros -> one block of 3 slots.
    const std::vector<float> w = {0, 1, 0, 2, /**/ 0, 0, 0, 0, /**/ 3, -0.0f, 4, 5};
    const cpu::SparseMatrix m = cpu::SparseMatrix::from_dense(w.data(), 3, 4);
    EXPECT_EQ(m.nonzeros(), 5);
    EXPECT_EQ(m.n_panels(), 1);
    EXPECT_EQ(m.n_windows(), 1);
    EXPECT_EQ(m.n_slots(), 3);
    const cpu::SparseView v = m.view();
    EXPECT_EQ(v.window_slots[0], 3);
    EXPECT_EQ(v.values[0 * 16 + 0], 1.0f);
    EXPECT_EQ(v.local[0 * 16 + 0], 1);
    EXPECT_EQ(v.values[1 * 16 + 0], 2.0f);
    EXPECT_EQ(v.local[1 * 16 + 0], 3);
    EXPECT_EQ(v.values[0 * 16 + 2], 3.0f);
    EXPECT_EQ(v.local[0 * 16 + 2], 0);
    EXPECT_EQ(v.values[2 * 16 + 2], 5.0f);
    EXPECT_EQ(v.local[2 * 16 + 2], 3);
    EXPECT_EQ(bits_of(v.values[2 * 16 + 0]), 0u);  // padding: +0 at local index 32
    EXPECT_EQ(v.local[2 * 16 + 0], cpu::kSparsePad);
    EXPECT_EQ(v.local[0 * 16 + 1], cpu::kSparsePad);  // the empty row
    EXPECT_EQ(v.local[0 * 16 + 15], cpu::kSparsePad);  // rows past `rows`
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.values) % 64, 0u);

    std::vector<float> back(12, sentinel());
    m.to_dense(back.data());
    std::vector<float> want = w;
    want[9] = 0.0f;  // -0 is not stored: it comes back as +0
    EXPECT_TRUE(same_bits(back, want));
}

TEST(SparseMatrix, BlocksPerPanelAndWindow) {
    // 17 rows (2 panels) x 70 columns (3 windows, the last one partial).
    const int64_t rows = 17, cols = 70;
    std::vector<float> w(static_cast<size_t>(rows * cols), 0.0f);
    for (int64_t k : {0, 5, 31, 32, 69}) w[size_t(2 * cols + k)] = float(k + 1);  // row 2
    for (int64_t k : {33, 34, 35}) w[size_t(3 * cols + k)] = -1.0f;              // row 3
    w[size_t(16 * cols + 64)] = 7.0f;                                            // row 16, panel 1
    const cpu::SparseMatrix m = cpu::SparseMatrix::from_dense(w.data(), rows, cols);
    EXPECT_EQ(m.n_windows(), 3);
    const cpu::SparseView v = m.view();
    const std::vector<int> want_slots = {3, 3, 1, /* panel 1 */ 0, 0, 1};
    for (size_t i = 0; i < want_slots.size(); ++i) EXPECT_EQ(v.window_slots[i], want_slots[i]) << "block " << i;
    EXPECT_EQ(v.panel_start[1], 7);
    EXPECT_EQ(v.panel_start[2], 8);
    EXPECT_EQ(v.local[(3 + 2) * 16 + 3], 3);  // row 3's third weight of window 1: column 35
    EXPECT_EQ(v.local[(3 + 3) * 16 + 2], 69 - 64);
    EXPECT_EQ(v.values[7 * 16 + 0], 7.0f);
    std::vector<float> back(w.size());
    m.to_dense(back.data());
    EXPECT_TRUE(same_bits(back, w));

    std::vector<int64_t> offsets(static_cast<size_t>(rows + 1));
    std::vector<uint32_t> columns(9);
    std::vector<float> values(9);
    m.to_csr(offsets.data(), columns.data(), values.data());
    EXPECT_EQ(offsets, (std::vector<int64_t>{0, 0, 0, 5, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 9}));
    EXPECT_EQ(columns, (std::vector<uint32_t>{0, 5, 31, 32, 69, 33, 34, 35, 64}));
}

TEST(SparseKernelTable, TransposeAndDispatch) {
    // 3 tokens of 40 features (row stride 41): 2 windows of 33 rows.
    const int64_t cols = 40, ldx = 41;
    const std::vector<float> x = random_floats(size_t(3 * ldx), 1);
    ASSERT_EQ(cpu::sparse_tile_floats(cols), 2 * 33 * 16);
    std::vector<float> xt(static_cast<size_t>(cpu::sparse_tile_floats(cols) + 16), sentinel());
    cpu::transpose_token_tile(x.data(), ldx, 3, cols, xt.data());
    for (int64_t c = 0; c < 2; ++c) {
        for (int64_t j = 0; j < 33; ++j) {
            for (int64_t t = 0; t < 16; ++t) {
                const int64_t k = c * 32 + j;
                const float want = (j < 32 && k < cols && t < 3) ? x[size_t(t * ldx + k)] : 0.0f;
                EXPECT_EQ(bits_of(xt[size_t((c * 33 + j) * 16 + t)]), bits_of(want)) << c << ", " << j << ", " << t;
            }
        }
    }
    EXPECT_EQ(bits_of(xt[2 * 33 * 16]), kSentinelBits);  // nothing past the tile

    EXPECT_EQ(cpu::sparse_kernels(DTM_ISA_SCALAR).gemv, &cpu::sparse_gemv_ref);
    try {
        cpu::sparse_kernels(DTM_ISA_AUTO);
        FAIL() << "an unresolved ISA was accepted";
    } catch (const Error & e) {
        EXPECT_EQ(e.status(), DTM_ERR_INVALID_ARGUMENT);
    }
}

// ---------------------------------------------------------------------------
// Every path against the reference and against DenseLinear

struct Case {
    int64_t rows, cols;
    float sparsity;
};

// Odd shapes: rows not a multiple of 16, 1 column, 1 row, partial windows.
const Case kCases[] = {{1, 1, 0.0f},     {1, 1, 1.0f},     {15, 7, 0.5f},   {16, 16, 0.0f},  {17, 33, 0.9f},
                       {33, 1, 0.5f},    {40, 300, 0.95f}, {300, 70, 0.7f}, {64, 64, 1.0f},  {20, 513, 0.6f},
                       {18, 32, 0.0f},   {31, 96, 0.3f}};

class SparsePath : public ::testing::TestWithParam<dtm_isa> {
protected:
    void SetUp() override {
        if (!cpu::isa_supported(GetParam())) {
            GTEST_SKIP() << cpu::isa_name(GetParam()) << " is not supported by this CPU";
        }
        sk_ = &cpu::sparse_kernels(GetParam());
        kt_ = &cpu::kernels(GetParam());
    }
    const cpu::SparseKernels * sk_ = nullptr;
    const cpu::KernelTable * kt_ = nullptr;
};

// The kernels themselves (gemv and tile) against the scalar reference, over
// panel sub-ranges, with strides wider than the rows.
TEST_P(SparsePath, KernelsEqualTheReference) {
    for (const Case & c : kCases) {
        const std::vector<float> w = pruned_weights(c.rows, c.cols, c.sparsity, uint32_t(c.rows * 31 + c.cols));
        const cpu::SparseMatrix m = cpu::SparseMatrix::from_dense(w.data(), c.rows, c.cols);
        const cpu::SparseView v = m.view();
        for (int64_t n_tokens : {1, 2, 3, 4, 5, 9, 16}) {
            const int64_t ldx = c.cols + 3, ldy = c.rows + 5;
            const std::vector<float> x = random_floats(size_t(n_tokens * ldx), uint32_t(n_tokens + 100));
            const int64_t p_mid = v.n_panels / 2;
            for (auto [p0, p1] : {std::pair<int64_t, int64_t>{0, v.n_panels}, {p_mid, v.n_panels}}) {
                Output ref(n_tokens, c.rows, ldy), gemv(n_tokens, c.rows, ldy), tile(n_tokens, c.rows, ldy);
                cpu::sparse_gemv_ref(v, x.data(), ldx, ref.y.data(), ldy, n_tokens, p0, p1);
                sk_->gemv(v, x.data(), ldx, gemv.y.data(), ldy, n_tokens, p0, p1);
                std::vector<float> xt(static_cast<size_t>(cpu::sparse_tile_floats(c.cols)));
                cpu::transpose_token_tile(x.data(), ldx, n_tokens, c.cols, xt.data());
                // The tile kernel wants a 64-byte aligned tile.
                cpu::AlignedArray<float> aligned = cpu::aligned_array<float>(xt.size(), "a test tile");
                std::copy(xt.begin(), xt.end(), aligned.get());
                sk_->tile(v, aligned.get(), n_tokens, tile.y.data(), ldy, p0, p1);
                const std::vector<float> want = ref.written();
                EXPECT_TRUE(same_bits(gemv.written(), want))
                    << "gemv " << c.rows << "x" << c.cols << " @" << c.sparsity << ", " << n_tokens << " tokens";
                EXPECT_TRUE(same_bits(tile.written(), want))
                    << "tile " << c.rows << "x" << c.cols << " @" << c.sparsity << ", " << n_tokens << " tokens";
                // Panels outside [p0, p1) are not written.
                for (int64_t t = 0; t < n_tokens; ++t) {
                    for (int64_t o = 0; o < std::min(c.rows, p0 * 16); ++o) {
                        EXPECT_EQ(bits_of(gemv.y[size_t(t * ldy + o)]), kSentinelBits);
                        EXPECT_EQ(bits_of(tile.y[size_t(t * ldy + o)]), kSentinelBits);
                    }
                }
            }
        }
    }
}

// SparseLinear::forward against DenseLinear::forward on the same weights,
// token counts 1..70, 1 and 2 threads.
TEST_P(SparsePath, ForwardBitwiseEqualsDense) {
    ThreadPool one(1), two(2);
    for (const Case & c : kCases) {
        const std::vector<float> w = pruned_weights(c.rows, c.cols, c.sparsity, uint32_t(c.rows * 7 + c.cols));
        const auto dense = DenseLinear::from_rows(w.data(), c.rows, c.cols);
        const auto sparse = SparseLinear::from_rows(w.data(), c.rows, c.cols);
        const bool all_counts = c.rows * c.cols <= 2000;
        for (int64_t n_tokens = 1; n_tokens <= 70; ++n_tokens) {
            if (!all_counts && n_tokens % 7 != 1 && n_tokens != 16 && n_tokens != 17 && n_tokens != 70) continue;
            const int64_t ldx = c.cols + 1, ldy = c.rows + 2;
            std::vector<float> x = random_floats(size_t(n_tokens * ldx), uint32_t(n_tokens));
            if (n_tokens > 2) x[size_t(ldx)] = 0.0f, x[size_t(2 * ldx)] = -0.0f;  // products of +-0
            Output want(n_tokens, c.rows, ldy);
            dense->forward(x.data(), ldx, want.y.data(), ldy, n_tokens, cpu::CpuBackend(one, *kt_));
            for (ThreadPool * pool : {&one, &two}) {
                Output got(n_tokens, c.rows, ldy);
                sparse->forward(x.data(), ldx, got.y.data(), ldy, n_tokens, cpu::CpuBackend(*pool, *kt_));
                ASSERT_TRUE(same_bits(got.written(), want.written()))
                    << c.rows << "x" << c.cols << " @" << c.sparsity << ", " << n_tokens << " tokens, "
                    << pool->size() << " threads";
            }
        }
    }
}

// Empty rows, an all-zero matrix and a matrix too wide for 16-bit indices.
TEST_P(SparsePath, EmptyRowsAllZeroAndWideMatrix) {
    ThreadPool pool(2);
    std::vector<float> w = random_floats(size_t(35 * 20), 3);
    for (int64_t r : {0, 5, 16, 17, 34}) std::fill(w.begin() + r * 20, w.begin() + (r + 1) * 20, 0.0f);
    const std::vector<float> zeros(static_cast<size_t>(35 * 20), 0.0f);
    const int64_t wide_cols = 66000;
    std::vector<float> wide(static_cast<size_t>(19 * wide_cols), 0.0f);
    std::mt19937 rng(5);
    for (int i = 0; i < 400; ++i) wide[rng() % wide.size()] = float(int(rng() % 200) - 100) / 64.0f;
    struct Matrix {
        const std::vector<float> * w;
        int64_t rows, cols;
    };
    for (const Matrix & mx : {Matrix{&w, 35, 20}, Matrix{&zeros, 35, 20}, Matrix{&wide, 19, wide_cols}}) {
        const auto dense = DenseLinear::from_rows(mx.w->data(), mx.rows, mx.cols);
        const auto sparse = SparseLinear::from_rows(mx.w->data(), mx.rows, mx.cols);
        EXPECT_EQ(sparse->nonzeros(), dense->nonzeros());
        for (int64_t n_tokens : {1, 3, 4, 20}) {
            const std::vector<float> x = random_floats(size_t(n_tokens * mx.cols), uint32_t(n_tokens));
            Output want(n_tokens, mx.rows, mx.rows), got(n_tokens, mx.rows, mx.rows);
            dense->forward(x.data(), mx.cols, want.y.data(), mx.rows, n_tokens, cpu::CpuBackend(pool, *kt_));
            sparse->forward(x.data(), mx.cols, got.y.data(), mx.rows, n_tokens, cpu::CpuBackend(pool, *kt_));
            EXPECT_TRUE(same_bits(got.written(), want.written())) << mx.rows << "x" << mx.cols << ", " << n_tokens;
        }
    }
}

// The documented difference: a non-finite activation in a pruned column is
// skipped (dense gives NaN there); in a stored column it propagates.
TEST_P(SparsePath, NonFiniteActivationsInPrunedColumnsAreSkipped) {
    ThreadPool pool(1);
    const int64_t rows = 18, cols = 9;
    std::vector<float> w = random_floats(size_t(rows * cols), 4);
    for (int64_t r = 0; r < rows; ++r) w[size_t(r * cols + 4)] = 0.0f;  // column 4 pruned everywhere
    w[size_t(3 * cols)] = w[size_t(17 * cols)] = 0.0f;                   // column 0 in rows 3 and 17
    const auto dense = DenseLinear::from_rows(w.data(), rows, cols);
    const auto sparse = SparseLinear::from_rows(w.data(), rows, cols);
    for (int64_t n_tokens : {1, 5}) {
        std::vector<float> x = random_floats(size_t(n_tokens * cols), 9);
        std::vector<float> x_zero = x;
        for (int64_t t = 0; t < n_tokens; ++t) x[size_t(t * cols + 4)] = kInf, x_zero[size_t(t * cols + 4)] = 0.0f;
        Output got(n_tokens, rows, rows), want(n_tokens, rows, rows), dense_inf(n_tokens, rows, rows);
        sparse->forward(x.data(), cols, got.y.data(), rows, n_tokens, cpu::CpuBackend(pool, *kt_));
        dense->forward(x_zero.data(), cols, want.y.data(), rows, n_tokens, cpu::CpuBackend(pool, *kt_));
        dense->forward(x.data(), cols, dense_inf.y.data(), rows, n_tokens, cpu::CpuBackend(pool, *kt_));
        EXPECT_TRUE(same_bits(got.written(), want.written()));
        for (float v : dense_inf.written()) EXPECT_TRUE(std::isnan(v));

        // Column 0 is stored in every row but 3 and 17: inf or NaN there, and
        // rows 3 and 17 (whose padding lanes must not read x) as if x[0] were 0.
        x[0] = kInf;
        x_zero[0] = 0.0f;
        Output got_inf(n_tokens, rows, rows), want_zero(n_tokens, rows, rows);
        sparse->forward(x.data(), cols, got_inf.y.data(), rows, n_tokens, cpu::CpuBackend(pool, *kt_));
        dense->forward(x_zero.data(), cols, want_zero.y.data(), rows, n_tokens, cpu::CpuBackend(pool, *kt_));
        const std::vector<float> y = got_inf.written(), y_zero = want_zero.written();
        for (int64_t o = 0; o < rows; ++o) {
            if (w[size_t(o * cols)] != 0.0f) {
                EXPECT_FALSE(std::isfinite(y[size_t(o)])) << "row " << o;
            } else {
                EXPECT_EQ(bits_of(y[size_t(o)]), bits_of(y_zero[size_t(o)])) << "row " << o;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Isa, SparsePath, ::testing::Values(DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512),
                         [](const ::testing::TestParamInfo<dtm_isa> & info) {
                             return std::string(cpu::isa_name(info.param));
                         });

// ---------------------------------------------------------------------------
// Export and restore

TEST(SparseLinearStorage, StoredTensorsRestoreBitwise) {
    ThreadPool pool(1);
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{37, 50}, {3, 70000}, {0, 5}, {4, 0}}) {
        const std::vector<float> w = pruned_weights(rows, cols, 0.9f, 3);
        const auto sparse = SparseLinear::from_rows(w.data(), rows, cols);
        EXPECT_EQ(sparse->format(), DTM_FORMAT_SPARSE);
        const std::vector<StoredTensor> tensors = sparse->stored_tensors();
        ASSERT_EQ(tensors.size(), 3u);
        const int64_t nnz = sparse->nonzeros();
        EXPECT_EQ(find_stored(tensors, "values", "F32", {nnz}).bytes.size(), size_t(nnz) * 4);
        find_stored(tensors, "col_indices", cols > 65535 ? "I32" : "U16", {nnz});
        find_stored(tensors, "row_offsets", "I64", {rows + 1});

        const auto back = restore_sparse(rows, cols, tensors);
        EXPECT_EQ(back->format(), DTM_FORMAT_SPARSE);
        EXPECT_EQ(back->nonzeros(), nnz);
        EXPECT_EQ(back->storage_bytes(), sparse->storage_bytes());
        std::vector<float> a(w.size()), b(w.size());
        sparse->dense_weights(a.data());
        back->dense_weights(b.data());
        EXPECT_TRUE(same_bits(a, w));
        EXPECT_TRUE(same_bits(b, w));
        const std::vector<StoredTensor> again = back->stored_tensors();
        for (size_t i = 0; i < tensors.size(); ++i) {
            EXPECT_EQ(again[i].name, tensors[i].name);
            EXPECT_EQ(again[i].dtype, tensors[i].dtype);
            EXPECT_EQ(again[i].shape, tensors[i].shape);
            EXPECT_EQ(again[i].bytes, tensors[i].bytes);
        }
        if (rows > 0 && cols > 0) {
            const std::vector<float> x = random_floats(size_t(5 * cols), 2);
            Output y1(5, rows, rows), y2(5, rows, rows);
            sparse->forward(x.data(), cols, y1.y.data(), rows, 5, cpu::CpuBackend(pool, best_kernels()));
            back->forward(x.data(), cols, y2.y.data(), rows, 5, cpu::CpuBackend(pool, best_kernels()));
            EXPECT_TRUE(same_bits(y2.written(), y1.written()));
        }
    }
}

StoredTensor & tensor_named(std::vector<StoredTensor> & tensors, const std::string & name) {
    for (StoredTensor & t : tensors) {
        if (t.name == name) return t;
    }
    throw std::runtime_error("no tensor " + name);
}

template <typename T>
void poke(StoredTensor & t, size_t i, T value) {
    std::memcpy(t.bytes.data() + i * sizeof(T), &value, sizeof(T));
}

TEST(SparseLinearStorage, CorruptTensorsAreRejected) {
    // 3 x 4: row 0 = {1: 1.5, 3: -2}, row 1 empty, row 2 = {0: 4}.
    const std::vector<float> w = {0, 1.5f, 0, -2, 0, 0, 0, 0, 4, 0, 0, 0};
    const std::vector<StoredTensor> good = SparseLinear::from_rows(w.data(), 3, 4)->stored_tensors();
    ASSERT_NO_THROW(restore_sparse(3, 4, good));

    struct Corruption {
        const char * what;
        void (*apply)(std::vector<StoredTensor> &);
    };
    const Corruption corruptions[] = {
        {"offsets not starting at 0", [](std::vector<StoredTensor> & t) { poke<int64_t>(tensor_named(t, "row_offsets"), 0, 1); }},
        {"decreasing offsets", [](std::vector<StoredTensor> & t) { poke<int64_t>(tensor_named(t, "row_offsets"), 2, 1); }},
        {"last offset beyond the values", [](std::vector<StoredTensor> & t) { poke<int64_t>(tensor_named(t, "row_offsets"), 3, 4); }},
        {"last offset short of the values", [](std::vector<StoredTensor> & t) { poke<int64_t>(tensor_named(t, "row_offsets"), 3, 2); }},
        {"negative last offset", [](std::vector<StoredTensor> & t) { poke<int64_t>(tensor_named(t, "row_offsets"), 3, -1); }},
        {"a column >= cols", [](std::vector<StoredTensor> & t) { poke<uint16_t>(tensor_named(t, "col_indices"), 2, 4); }},
        {"columns not increasing", [](std::vector<StoredTensor> & t) { poke<uint16_t>(tensor_named(t, "col_indices"), 1, 1); }},
        {"a stored zero", [](std::vector<StoredTensor> & t) { poke<float>(tensor_named(t, "values"), 0, 0.0f); }},
        {"a missing tensor", [](std::vector<StoredTensor> & t) { t.erase(t.begin()); }},
        {"a wrong index dtype", [](std::vector<StoredTensor> & t) { tensor_named(t, "col_indices").dtype = "I32"; }},
        {"a short values buffer", [](std::vector<StoredTensor> & t) { tensor_named(t, "values").bytes.pop_back(); }},
        {"a wrong offsets shape", [](std::vector<StoredTensor> & t) { tensor_named(t, "row_offsets").shape = {3}; }},
    };
    for (const Corruption & c : corruptions) {
        std::vector<StoredTensor> bad = good;
        c.apply(bad);
        try {
            restore_sparse(3, 4, bad);
            ADD_FAILURE() << c.what << " was accepted";
        } catch (const Error & e) {
            EXPECT_EQ(e.status(), DTM_ERR_MODEL_FORMAT) << c.what;
        }
    }
    try {
        restore_sparse(4, 4, good);  // the tensors of another shape (row_offsets of 4 rows)
        ADD_FAILURE() << "another shape was accepted";
    } catch (const Error & e) {
        EXPECT_EQ(e.status(), DTM_ERR_MODEL_FORMAT);
    }
    try {
        restore_sparse(3, 2, good);  // columns 3 >= 2, and row 0 has 2 of 2 columns
        ADD_FAILURE() << "columns beyond cols were accepted";
    } catch (const Error & e) {
        EXPECT_EQ(e.status(), DTM_ERR_MODEL_FORMAT);
    }
}

}  // namespace
}  // namespace dtm::compress
