// test_attention.cpp - one head's attention, every path bit for bit against
// attend_ref (attention.h: all paths perform the reference's operations, so
// no tolerance). Two NaNs count as equal whatever their payloads.
//
// Inputs sit at the very end of a mapping followed by an inaccessible page,
// so a path that reads past the last row's head_dim floats crashes the
// test; guard values around out and past scores[n_keys) catch stray writes.
// A path this CPU lacks is reported as skipped (GTEST_SKIP).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/dispatch.h"
#include "test_support.h"

namespace dtm::cpu {
namespace {

using test::bits_of;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kGuard = -12345.5f;  // written around out and past the scores; must survive
constexpr int kGuardFloats = 40;


bool same_bits(float a, float b) { return bits_of(a) == bits_of(b) || (std::isnan(a) && std::isnan(b)); }

// n floats that end exactly where an inaccessible page begins.
class GuardedFloats {
public:
    explicit GuardedFloats(size_t n) : n_(n) {
        const size_t page = size_t(sysconf(_SC_PAGESIZE));
        data_bytes_ = (n * sizeof(float) + page - 1) / page * page;
        map_bytes_ = data_bytes_ + page;
        void * m = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) throw std::runtime_error("mmap failed");
        base_ = static_cast<char *>(m);
        if (mprotect(base_ + data_bytes_, page, PROT_NONE) != 0) throw std::runtime_error("mprotect failed");
        data_ = reinterpret_cast<float *>(base_ + data_bytes_) - n;
    }
    ~GuardedFloats() { munmap(base_, map_bytes_); }
    GuardedFloats(const GuardedFloats &) = delete;
    GuardedFloats & operator=(const GuardedFloats &) = delete;

    float * data() { return data_; }
    float & operator[](size_t i) { return data_[i]; }
    size_t size() const { return n_; }

private:
    size_t n_;
    size_t data_bytes_ = 0, map_bytes_ = 0;
    char * base_ = nullptr;
    float * data_ = nullptr;
};

// One head's inputs: q (head_dim floats), keys and values (n_keys rows of
// `stride` floats, of which the head uses head_dim starting at `offset`).
struct Case {
    int32_t head_dim, n_keys;
    int64_t stride, offset;
    GuardedFloats q, keys, values;

    Case(int32_t hd, int32_t nk, int64_t st, int64_t off)
        : head_dim(hd), n_keys(nk), stride(st), offset(off), q(size_t(hd)),
          keys(rows_floats(hd, nk, st, off)), values(rows_floats(hd, nk, st, off)) {}

    // The floats from the first row's start to the end of the last row's head.
    static size_t rows_floats(int32_t hd, int32_t nk, int64_t st, int64_t off) {
        return nk == 0 ? size_t(1) : size_t(int64_t(nk - 1) * st + off + hd);
    }
    const float * key_rows() { return keys.data() + offset; }
    const float * value_rows() { return values.data() + offset; }

    void fill_normal(uint32_t seed, float q_scale, float kv_scale) {
        std::mt19937 rng(seed);
        std::normal_distribution<float> dist(0.0f, 1.0f);
        for (size_t i = 0; i < q.size(); ++i) q[i] = q_scale * dist(rng);
        // The floats between heads get NaN: a path that reads them breaks the result.
        for (size_t i = 0; i < keys.size(); ++i) keys[i] = kNaN;
        for (size_t i = 0; i < values.size(); ++i) values[i] = kNaN;
        for (int32_t j = 0; j < n_keys; ++j) {
            for (int32_t i = 0; i < head_dim; ++i) {
                keys[size_t(j * stride + offset + i)] = kv_scale * dist(rng);
                values[size_t(j * stride + offset + i)] = kv_scale * dist(rng);
            }
        }
    }
    float & key(int32_t j, int32_t i) { return keys[size_t(j * stride + offset + i)]; }
    float & value(int32_t j, int32_t i) { return values[size_t(j * stride + offset + i)]; }
};

// Runs fn on c with guard values around out and past scores[n_keys).
std::vector<float> run(AttendFn fn, Case & c) {
    std::vector<float> out(size_t(c.head_dim) + 2 * kGuardFloats, kGuard);
    std::vector<float> scores(size_t(c.n_keys) + kGuardFloats, kGuard);
    fn(out.data() + kGuardFloats, c.q.data(), c.key_rows(), c.value_rows(), c.stride, c.n_keys, c.head_dim,
       scores.data());
    for (int g = 0; g < kGuardFloats; ++g) {
        EXPECT_EQ(bits_of(out[size_t(g)]), bits_of(kGuard)) << "write before out[0]";
        EXPECT_EQ(bits_of(out[size_t(kGuardFloats + c.head_dim + g)]), bits_of(kGuard)) << "write past out";
        EXPECT_EQ(bits_of(scores[size_t(c.n_keys + g)]), bits_of(kGuard)) << "write past scores[n_keys)";
    }
    return std::vector<float>(out.begin() + kGuardFloats, out.begin() + kGuardFloats + c.head_dim);
}

class AttendPath : public ::testing::TestWithParam<dtm_isa> {
protected:
    void SetUp() override {
        if (!isa_supported(GetParam())) {
            GTEST_SKIP() << isa_name(GetParam()) << " is not supported by this CPU";
        }
        fn_ = kernels(GetParam()).attend;
    }

    // The path and the reference agree bit for bit; returns the result.
    std::vector<float> check(Case & c, const std::string & what) {
        const std::vector<float> got = run(fn_, c);
        const std::vector<float> want = run(&attend_ref, c);
        int mismatches = 0;
        for (int32_t i = 0; i < c.head_dim; ++i) {
            if (!same_bits(got[size_t(i)], want[size_t(i)]) && ++mismatches <= 5) {
                ADD_FAILURE() << what << ": head_dim " << c.head_dim << ", n_keys " << c.n_keys << ", stride "
                              << c.stride << ": out[" << i << "] = " << got[size_t(i)] << " (0x" << std::hex
                              << bits_of(got[size_t(i)]) << "), reference " << want[size_t(i)] << " (0x"
                              << bits_of(want[size_t(i)]) << std::dec << ")";
            }
        }
        return got;
    }

    AttendFn fn_ = nullptr;
};

const int32_t kHeadDims[] = {1, 2, 7, 8, 9, 15, 16, 17, 48, 64, 65, 128, 129, 200};
const int32_t kKeyCounts[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 256};

TEST_P(AttendPath, AgreesWithTheReferenceOnAwkwardShapes) {
    uint32_t seed = 1;
    for (int32_t hd : kHeadDims) {
        for (int32_t nk : kKeyCounts) {
            // Packed rows, a few floats apart, and the model's layout (one head of several).
            for (int64_t extra : {int64_t(0), int64_t(3), int64_t(5) * hd}) {
                const int64_t offset = extra >= hd ? 2 * hd : extra / 2;
                Case c(hd, nk, hd + extra, offset);
                c.fill_normal(++seed, 1.0f, 1.0f);
                check(c, "random");
            }
        }
    }
}

TEST_P(AttendPath, AgreesOnTheDefaultModelShape) {
    // stories15M: 6 heads of 48 in rows of 288, up to 256 positions; every head.
    for (int32_t nk : {1, 3, 64, 100, 255, 256}) {
        for (int64_t head = 0; head < 6; ++head) {
            Case c(48, nk, 288, head * 48);
            c.fill_normal(uint32_t(nk * 7 + head), 2.0f, 1.5f);
            check(c, "head " + std::to_string(head));
        }
    }
}

TEST_P(AttendPath, AgreesOnSharpAndFlatSoftmax) {
    for (int32_t hd : {8, 9, 48, 64}) {
        for (int32_t nk : {2, 17, 256}) {
            for (float qs : {0.0f, 1e-20f, 1e-3f, 30.0f, 1e3f}) {  // q = 0: every score 0, uniform p
                Case c(hd, nk, hd + 1, 1);
                c.fill_normal(uint32_t(hd + nk), qs, 1.0f);
                check(c, "q scale " + std::to_string(qs));
            }
        }
    }
}

TEST_P(AttendPath, AgreesOnExtremeValues) {
    const float specials[] = {0.0f, -0.0f, 1e-45f, -1e-40f, 1e-38f, 3e38f, -3e38f, 1e19f, -1e19f, kInf, -kInf, kNaN};
    uint32_t seed = 100;
    for (int32_t hd : {1, 7, 9, 48}) {
        for (int32_t nk : {1, 2, 17, 40}) {
            for (int where = 0; where < 4; ++where) {  // 0: q, 1: a key, 2: a value, 3: everywhere
                for (float special : specials) {
                    Case c(hd, nk, hd + 2, 1);
                    c.fill_normal(++seed, 1.0f, 1.0f);
                    std::mt19937 rng(seed);
                    const int32_t j = int32_t(rng() % uint32_t(nk)), i = int32_t(rng() % uint32_t(hd));
                    if (where == 0 || where == 3) c.q[size_t(i)] = special;
                    if (where == 1 || where == 3) c.key(j, i) = special;
                    if (where == 2 || where == 3) c.value(nk - 1 - j, hd - 1 - i) = special;
                    check(c, "special " + std::to_string(special) + " at " + std::to_string(where));
                }
            }
        }
    }
}

TEST_P(AttendPath, AgreesWhenProductsOverflowOrScoresTie) {
    for (int32_t hd : {8, 48}) {
        for (int32_t nk : {3, 16, 33}) {
            Case c(hd, nk, hd, 0);
            c.fill_normal(uint32_t(hd * nk), 1e20f, 1e20f);  // products overflow to +-inf, sums to NaN
            check(c, "overflow");
            Case t(hd, nk, hd, 0);
            t.fill_normal(1, 1.0f, 1.0f);
            for (int32_t j = 1; j < nk; ++j) {  // every key equal to key 0: one tied maximum
                for (int32_t i = 0; i < hd; ++i) t.key(j, i) = t.key(0, i);
            }
            check(t, "tied scores");
            Case z(hd, nk, hd, 0);
            z.fill_normal(2, 1.0f, 1.0f);
            for (int32_t i = 0; i < hd; ++i) z.q[size_t(i)] = (i % 2) ? -0.0f : 0.0f;
            for (int32_t j = 0; j < nk; ++j) z.key(j, 0) = (j % 2) ? -1.0f : 1.0f;  // scores of +0 and -0
            check(z, "signed zero scores");
            Case m(hd, nk, hd, 0);
            m.fill_normal(3, 1.0f, 1.0f);
            m.q[0] = -kInf;  // every score -inf or NaN: the maximum stays -inf
            check(m, "no finite score");
        }
    }
}

TEST_P(AttendPath, NoKeysGivesZero) {
    Case c(48, 0, 48, 0);
    c.fill_normal(1, 1.0f, 1.0f);
    const std::vector<float> out = check(c, "n_keys 0");
    for (float v : out) EXPECT_EQ(bits_of(v), bits_of(0.0f));
}

TEST_P(AttendPath, OneKeyReturnsItsValue) {
    // p = 1 exactly, so out = 0 + 1 * v = v (but -0 + ... gives +0 for a -0 entry).
    Case c(9, 1, 9, 0);
    c.fill_normal(5, 1.0f, 1.0f);
    const std::vector<float> out = check(c, "one key");
    for (int32_t i = 0; i < 9; ++i) EXPECT_EQ(out[size_t(i)], c.value(0, i));
}

TEST_P(AttendPath, IsReproducible) {
    Case c(48, 200, 288, 96);
    c.fill_normal(11, 1.0f, 1.0f);
    const std::vector<float> first = run(fn_, c);
    const std::vector<float> again = run(fn_, c);
    for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(bits_of(first[i]), bits_of(again[i]));
}

INSTANTIATE_TEST_SUITE_P(AllPaths, AttendPath, ::testing::Values(DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512),
                         [](const ::testing::TestParamInfo<dtm_isa> & info) {
                             return std::string(isa_name(info.param));
                         });

}  // namespace
}  // namespace dtm::cpu
