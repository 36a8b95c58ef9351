// test_prune.cpp - choosing the pruned weights: magnitude, N:M, Wanda, bad
// input, and make_pruned_linear's choice of storage.
//
// Selections are checked against a plain full sort of (score, index) keys
// (the definition), and on small hand-computed examples.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "compress/prune.h"
#include "compress/sparse_linear.h"
#include "core/error.h"
#include "test_support.h"

namespace dtm::compress {
namespace {

using test::bitwise_equal;
using test::random_floats;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();


int64_t zeros_in(const std::vector<float> & w) {
    return std::count(w.begin(), w.end(), 0.0f);
}

dtm_compression magnitude(float sparsity) {
    dtm_compression s{};
    s.kind = DTM_COMPRESS_PRUNE_MAGNITUDE;
    s.sparsity = sparsity;
    return s;
}
dtm_compression wanda(float sparsity) {
    dtm_compression s{};
    s.kind = DTM_COMPRESS_PRUNE_WANDA;
    s.sparsity = sparsity;
    return s;
}
dtm_compression n_of_m(int32_t n, int32_t m) {
    dtm_compression s{};
    s.kind = DTM_COMPRESS_PRUNE_N_M;
    s.n = n;
    s.m = m;
    return s;
}


// The definition of magnitude pruning: sort all weights by (|w|, index) and
// zero the first `target`.
std::vector<float> magnitude_by_full_sort(std::vector<float> w, int64_t target) {
    std::vector<int64_t> order(w.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        const float fa = std::fabs(w[size_t(a)]), fb = std::fabs(w[size_t(b)]);
        return fa != fb ? fa < fb : a < b;
    });
    for (int64_t i = 0; i < target; ++i) w[size_t(order[size_t(i)])] = 0.0f;
    return w;
}

void expect_invalid(std::vector<float> w, int64_t rows, int64_t cols, const dtm_compression & spec,
                    const float * norms, const char * what) {
    try {
        prune(w.data(), rows, cols, spec, norms);
        ADD_FAILURE() << what << " was accepted";
    } catch (const Error & e) {
        EXPECT_EQ(e.status(), DTM_ERR_INVALID_ARGUMENT) << what;
        EXPECT_NE(std::string(e.what()), "") << what;
    }
}

// ---------------------------------------------------------------------------
// Magnitude

TEST(PruneMagnitude, ZeroesExactlyTheSmallestWeights) {
    const int64_t rows = 37, cols = 53, n = rows * cols;
    const std::vector<float> base = random_floats(size_t(n), 1);
    for (float s : {0.0f, 0.1f, 0.33f, 0.5f, 0.9f, 0.999f, 1.0f}) {
        std::vector<float> w = base;
        prune(w.data(), rows, cols, magnitude(s), nullptr);
        const int64_t target = std::llround(double(s) * double(n));
        EXPECT_EQ(zeros_in(w), target) << "sparsity " << s;
        EXPECT_TRUE(bitwise_equal(w, magnitude_by_full_sort(base, target))) << "sparsity " << s;
    }
}

TEST(PruneMagnitude, TiesGoToTheLowestRowMajorIndex) {
    // |w| = 1 everywhere: pruning 5 of 12 zeroes the first 5 in row-major order.
    std::vector<float> w = {1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1};
    prune(w.data(), 3, 4, magnitude(5.0f / 12.0f), nullptr);
    const std::vector<float> want = {0, 0, 0, 0, 0, -1, 1, -1, 1, -1, 1, -1};
    EXPECT_TRUE(bitwise_equal(w, want));

    // A tie straddling the cut: values 0.5 (x3) after a smaller 0.25.
    std::vector<float> v = {0.5f, 2.0f, 0.5f, 0.25f, -0.5f, 3.0f};
    prune(v.data(), 2, 3, magnitude(0.5f), nullptr);  // 3 zeros: 0.25, then the 0.5s at 0 and 2
    const std::vector<float> want_v = {0.0f, 2.0f, 0.0f, 0.0f, -0.5f, 3.0f};
    EXPECT_TRUE(bitwise_equal(v, want_v));
}

TEST(PruneMagnitude, AddsSparsityOnTopOfAnExistingMask) {
    const int64_t rows = 24, cols = 40, n = rows * cols;
    const std::vector<float> base = random_floats(size_t(n), 2);
    std::vector<float> stepped = base;
    prune(stepped.data(), rows, cols, magnitude(0.5f), nullptr);
    const std::vector<float> half = stepped;
    prune(stepped.data(), rows, cols, magnitude(0.7f), nullptr);
    EXPECT_EQ(zeros_in(stepped), std::llround(0.7 * double(n)));
    for (size_t i = 0; i < half.size(); ++i) {
        if (half[i] == 0.0f) { ASSERT_EQ(stepped[i], 0.0f) << "weight " << i << " came back"; }
    }
    std::vector<float> direct = base;
    prune(direct.data(), rows, cols, magnitude(0.7f), nullptr);
    EXPECT_TRUE(bitwise_equal(stepped, direct));

    // Zeros that are not the smallest by any other measure (here: placed at
    // the end, among large weights) are still pruned first.
    std::vector<float> w(static_cast<size_t>(n), 0.0f);
    for (int64_t i = 0; i < n; ++i) w[size_t(i)] = i < n / 2 ? 0.01f * float(i + 1) : 0.0f;
    prune(w.data(), rows, cols, magnitude(0.75f), nullptr);
    EXPECT_EQ(zeros_in(w), n * 3 / 4);
    for (int64_t i = 0; i < n / 4; ++i) EXPECT_EQ(w[size_t(i)], 0.0f);
    for (int64_t i = n / 4; i < n / 2; ++i) EXPECT_NE(w[size_t(i)], 0.0f);
}

TEST(PruneMagnitude, TargetBelowTheCurrentSparsityLeavesTheMatrixUnchanged) {
    const int64_t rows = 10, cols = 10;
    std::vector<float> w = random_floats(size_t(rows * cols), 3);
    prune(w.data(), rows, cols, magnitude(0.6f), nullptr);
    const std::vector<float> before = w;
    prune(w.data(), rows, cols, magnitude(0.3f), nullptr);
    EXPECT_TRUE(bitwise_equal(w, before));
    prune(w.data(), rows, cols, magnitude(0.6f), nullptr);
    EXPECT_TRUE(bitwise_equal(w, before));
}

TEST(PruneMagnitude, NegativeZeroCountsAsZero) {
    std::vector<float> w = {0.1f, -0.0f, 0.3f, 0.2f};
    prune(w.data(), 1, 4, magnitude(0.5f), nullptr);  // -0 first, then 0.1
    EXPECT_EQ(w[0], 0.0f);
    EXPECT_EQ(w[1], 0.0f);
    EXPECT_EQ(w[2], 0.3f);
    EXPECT_EQ(w[3], 0.2f);
}

TEST(PruneMagnitude, InfiniteWeightsAreTheLargest) {
    std::vector<float> w = {kInf, 1.0f, -kInf, 2.0f};
    prune(w.data(), 2, 2, magnitude(0.5f), nullptr);
    EXPECT_EQ(w[0], kInf);
    EXPECT_EQ(w[1], 0.0f);
    EXPECT_EQ(w[2], -kInf);
    EXPECT_EQ(w[3], 0.0f);
}

// ---------------------------------------------------------------------------
// N:M

TEST(PruneNM, TwoOfFourKeepsTheTwoLargestOfEveryGroup) {
    const int64_t rows = 9, cols = 32;
    const std::vector<float> base = random_floats(size_t(rows * cols), 4);
    std::vector<float> w = base;
    prune(w.data(), rows, cols, n_of_m(0, 0), nullptr);  // (0, 0) = 2:4
    for (int64_t g = 0; g < rows * cols; g += 4) {
        int kept = 0;
        float smallest_kept = kInf, largest_pruned = 0.0f;
        for (int64_t j = g; j < g + 4; ++j) {
            if (w[size_t(j)] != 0.0f) {
                ++kept;
                EXPECT_EQ(w[size_t(j)], base[size_t(j)]);
                smallest_kept = std::min(smallest_kept, std::fabs(base[size_t(j)]));
            } else {
                largest_pruned = std::max(largest_pruned, std::fabs(base[size_t(j)]));
            }
        }
        EXPECT_EQ(kept, 2) << "group at " << g;
        EXPECT_GE(smallest_kept, largest_pruned) << "group at " << g;
    }
    std::vector<float> explicit_24 = base;
    prune(explicit_24.data(), rows, cols, n_of_m(2, 4), nullptr);
    EXPECT_TRUE(bitwise_equal(w, explicit_24));
}

TEST(PruneNM, TiesExistingZerosAndOtherRatios) {
    // Ties: the lower index is pruned first. Existing zeros are pruned first
    // and a group with fewer than n nonzeros keeps what it has.
    std::vector<float> w = {1, -1, 1, -1, /**/ 0, 0, 0, 5, /**/ 3, 0, 2, 1};
    prune(w.data(), 1, 12, n_of_m(2, 4), nullptr);
    const std::vector<float> want = {0, 0, 1, -1, /**/ 0, 0, 0, 5, /**/ 3, 0, 2, 0};
    EXPECT_TRUE(bitwise_equal(w, want));

    const std::vector<float> base = random_floats(size_t(4 * 16), 5);
    for (auto [n, m] : {std::pair{1, 4}, std::pair{3, 8}, std::pair{0, 4}, std::pair{4, 4}, std::pair{1, 1},
                        std::pair{5, 16}}) {
        std::vector<float> v = base;
        prune(v.data(), 4, 16, n_of_m(n, m), nullptr);
        for (int64_t g = 0; g < 64; g += m) {
            int kept = 0;
            for (int64_t j = g; j < g + m; ++j) kept += v[size_t(j)] != 0.0f;
            EXPECT_EQ(kept, n) << n << ":" << m << " group at " << g;
        }
        EXPECT_EQ(zeros_in(v), 64 / m * (m - n)) << n << ":" << m;
    }
}

// ---------------------------------------------------------------------------
// Wanda

TEST(PruneWanda, HandComputedExample) {
    // W = [[1, -2, 3, 0.5], [4, 1, -1, 2]], norms = [1, 0.5, 2, 4]
    // scores: row 0 = [1, 1, 6, 2], row 1 = [4, 0.5, 2, 8]
    const std::vector<float> base = {1, -2, 3, 0.5f, 4, 1, -1, 2};
    const float norms[] = {1, 0.5f, 2, 4};

    std::vector<float> w = base;
    prune(w.data(), 2, 4, wanda(0.5f), norms);  // 2 per row
    EXPECT_TRUE(bitwise_equal(w, {0, 0, 3, 0.5f, 4, 0, 0, 2}));

    w = base;
    prune(w.data(), 2, 4, wanda(0.25f), norms);  // 1 per row; row 0 ties (1, 1): column 0 goes
    EXPECT_TRUE(bitwise_equal(w, {0, -2, 3, 0.5f, 4, 0, -1, 2}));

    w = base;
    prune(w.data(), 2, 4, wanda(0.75f), norms);  // 3 per row
    EXPECT_TRUE(bitwise_equal(w, {0, 0, 3, 0, 0, 0, 0, 2}));
}

TEST(PruneWanda, ExistingZerosFirstThenPerRowExactCounts) {
    // Scores (0, 0, 0): the zero weight at column 2 goes before the tied
    // nonzero ones, so the row has exactly 2 zeros afterwards.
    std::vector<float> w = {5, 6, 0};
    const float norms[] = {0, 0, 1};
    prune(w.data(), 1, 3, wanda(2.0f / 3.0f), norms);
    EXPECT_TRUE(bitwise_equal(w, {0, 6, 0}));

    const int64_t rows = 12, cols = 30;
    std::vector<float> v = random_floats(size_t(rows * cols), 6);
    std::vector<float> nv = random_floats(size_t(cols), 7);
    for (float & f : nv) f = std::fabs(f);
    prune(v.data(), rows, cols, wanda(0.4f), nv.data());
    const std::vector<float> at_40 = v;
    prune(v.data(), rows, cols, wanda(0.6f), nv.data());
    for (int64_t r = 0; r < rows; ++r) {
        int64_t z = 0;
        for (int64_t j = 0; j < cols; ++j) {
            z += v[size_t(r * cols + j)] == 0.0f;
            if (at_40[size_t(r * cols + j)] == 0.0f) { EXPECT_EQ(v[size_t(r * cols + j)], 0.0f); }
        }
        EXPECT_EQ(z, 18) << "row " << r;
    }
    const std::vector<float> at_60 = v;
    prune(v.data(), rows, cols, wanda(0.2f), nv.data());  // below: unchanged
    EXPECT_TRUE(bitwise_equal(v, at_60));
}

// ---------------------------------------------------------------------------
// Bad input

TEST(Prune, RejectsBadInput) {
    const std::vector<float> w = random_floats(size_t(8), 8);
    const float norms[] = {1, 1, 1, 1};
    for (float s : {kNaN, -0.01f, 1.01f, kInf, -kInf}) {
        expect_invalid(w, 2, 4, magnitude(s), nullptr, "a magnitude sparsity outside [0, 1]");
        expect_invalid(w, 2, 4, wanda(s), norms, "a Wanda sparsity outside [0, 1]");
    }
    std::vector<float> with_nan = w;
    with_nan[5] = kNaN;
    expect_invalid(with_nan, 2, 4, magnitude(0.5f), nullptr, "a NaN weight (magnitude)");
    expect_invalid(with_nan, 2, 4, n_of_m(2, 4), nullptr, "a NaN weight (N:M)");
    expect_invalid(with_nan, 2, 4, wanda(0.5f), norms, "a NaN weight (Wanda)");
    std::vector<float> with_inf = w;
    with_inf[2] = kInf;
    expect_invalid(with_inf, 2, 4, wanda(0.5f), norms, "an infinite weight (Wanda)");

    expect_invalid(w, 2, 4, n_of_m(-1, 4), nullptr, "n < 0");
    expect_invalid(w, 2, 4, n_of_m(2, 0), nullptr, "m = 0");
    expect_invalid(w, 2, 4, n_of_m(0, -4), nullptr, "m < 0");
    expect_invalid(w, 2, 4, n_of_m(5, 4), nullptr, "n > m");
    expect_invalid(w, 2, 4, n_of_m(1, 3), nullptr, "cols not a multiple of m");
    expect_invalid(w, 1, 8, n_of_m(2, 16), nullptr, "m > cols");

    expect_invalid(w, 2, 4, wanda(0.5f), nullptr, "missing Wanda norms");
    for (float bad : {kNaN, kInf, -1.0f}) {
        const float bad_norms[] = {1, bad, 1, 1};
        expect_invalid(w, 2, 4, wanda(0.5f), bad_norms, "a bad Wanda norm");
    }
    dtm_compression not_pruning{};
    not_pruning.kind = DTM_COMPRESS_INT8;
    expect_invalid(w, 2, 4, not_pruning, nullptr, "a compression that is not pruning");
    expect_invalid(w, -2, 4, magnitude(0.5f), nullptr, "negative rows");
}

TEST(Prune, EmptyMatricesAreFine) {
    std::vector<float> w;
    EXPECT_NO_THROW(prune(w.data(), 0, 5, magnitude(0.5f), nullptr));
    EXPECT_NO_THROW(prune(w.data(), 3, 0, n_of_m(2, 4), nullptr));
    const float norm = 1.0f;
    EXPECT_NO_THROW(prune(w.data(), 3, 0, wanda(1.0f), &norm));
}

// ---------------------------------------------------------------------------
// make_pruned_linear

TEST(MakePrunedLinear, SparseFromTheThresholdOnDenseBelowSameWeights) {
    const int64_t rows = 40, cols = 64, n = rows * cols;
    const std::vector<float> base = random_floats(size_t(n), 9);
    const double below = std::max(0.0, kSparseMinSparsity - 0.1);
    const double at = kSparseMinSparsity;
    for (double s : {0.0, below, at, std::min(1.0, at + 0.2), 1.0}) {
        std::vector<float> w = base;
        prune(w.data(), rows, cols, magnitude(float(s)), nullptr);
        const auto lin = make_pruned_linear(w.data(), rows, cols);
        const bool sparse = double(zeros_in(w)) >= kSparseMinSparsity * double(n);
        EXPECT_EQ(lin->format(), sparse ? DTM_FORMAT_SPARSE : DTM_FORMAT_FP32) << "sparsity " << s;
        EXPECT_EQ(lin->rows(), rows);
        EXPECT_EQ(lin->cols(), cols);
        EXPECT_EQ(lin->nonzeros(), n - zeros_in(w));
        std::vector<float> back(static_cast<size_t>(n), kNaN);
        lin->dense_weights(back.data());
        EXPECT_TRUE(bitwise_equal(back, w)) << "sparsity " << s;
    }
}

}  // namespace
}  // namespace dtm::compress
