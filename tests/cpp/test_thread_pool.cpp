// test_thread_pool.cpp - the worker threads: every task runs once, the bound
// on the thread count, and a pool whose thread start fails half way (made to
// fail through core/fault_injection.h) stops the threads it started.
#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <string>
#include <vector>

#include "core/fault_injection.h"
#include "core/thread_pool.h"
#include "dtm/dtm.h"
#include "test_support.h"

namespace {

using dtm::ThreadPool;
using dtm::test::fails_with;

// Threads of this process (entries of /proc/self/task).
int process_threads() {
    DIR * dir = opendir("/proc/self/task");
    if (dir == nullptr) return -1;
    int n = 0;
    while (const dirent * e = readdir(dir)) {
        if (e->d_name[0] != '.') ++n;
    }
    closedir(dir);
    return n;
}

struct DisarmThreadStarts {
    ~DisarmThreadStarts() { dtm::fault::fail_nth_thread_start(0); }
};

// Every task of a parallel_for runs exactly once.
void expect_runs_every_task(ThreadPool & pool) {
    std::vector<std::atomic<int>> runs(1000);
    pool.parallel_for(int64_t(runs.size()), [&](int64_t t, int worker) {
        EXPECT_GE(worker, 0);
        EXPECT_LT(worker, pool.size());
        runs[size_t(t)].fetch_add(1);
    });
    for (size_t t = 0; t < runs.size(); ++t) ASSERT_EQ(runs[t].load(), 1) << t;
}

TEST(ThreadPool, RunsEveryTaskOnce) {
    ThreadPool pool(3);
    EXPECT_EQ(pool.size(), 3);
    expect_runs_every_task(pool);
}

TEST(ThreadPool, TheLimitIsFourPerCpuAndAtLeast64) {
    EXPECT_EQ(ThreadPool::max_threads(), std::max(64, 4 * ThreadPool::hardware_threads()));
    EXPECT_EQ(dtm_max_threads(), ThreadPool::max_threads());
    const std::string limit = "limit of " + std::to_string(ThreadPool::max_threads()) + " threads";
    EXPECT_TRUE(fails_with([] { ThreadPool pool(ThreadPool::max_threads() + 1); }, DTM_ERR_INVALID_ARGUMENT,
                           {"n_threads = " + std::to_string(ThreadPool::max_threads() + 1), limit}));
    EXPECT_TRUE(fails_with([] { ThreadPool pool(INT_MAX); }, DTM_ERR_INVALID_ARGUMENT,
                           {"n_threads = 2147483647", limit}));
}

TEST(ThreadPool, AFailedThreadStartStopsTheStartedThreads) {
    DisarmThreadStarts disarm;
    const int before = process_threads();
    ASSERT_GT(before, 0);
    // Workers 1 and 2 start, worker 3 (the 4th thread with the caller) fails.
    dtm::fault::fail_nth_thread_start(3);
    EXPECT_TRUE(fails_with([] { ThreadPool pool(8); }, DTM_ERR_OUT_OF_MEMORY,
                           {"cannot start thread 4 of 8", "the system refused a new thread", "use fewer threads"}));
    EXPECT_EQ(process_threads(), before);  // joined, not left running
    // The first thread start fails too: nothing to stop.
    dtm::fault::fail_nth_thread_start(1);
    EXPECT_TRUE(fails_with([] { ThreadPool pool(2); }, DTM_ERR_OUT_OF_MEMORY, {"cannot start thread 2 of 2"}));
    EXPECT_EQ(process_threads(), before);
    // Disarmed after firing: the next pool starts all its threads and works.
    ThreadPool pool(4);
    EXPECT_EQ(process_threads(), before + 3);
    expect_runs_every_task(pool);
}

TEST(ThreadPool, SessionsAndCompressionRefuseTooManyThreads) {
    dtm::test::ModelHandle m{dtm::test::load_model(dtm::test::write_tiny_model(dtm::test::temp_dir(), {}))};
    ASSERT_NE(m.m, nullptr);
    const std::string limit = "limit of " + std::to_string(dtm_max_threads()) + " threads";
    for (int32_t n : {dtm_max_threads() + 1, INT32_MAX}) {
        dtm_session_params p = dtm_session_default_params();
        p.n_threads = n;
        dtm_session * s = reinterpret_cast<dtm_session *>(0x1);
        EXPECT_EQ(dtm_session_create(m.m, p, &s), DTM_ERR_INVALID_ARGUMENT) << n;
        EXPECT_EQ(s, nullptr);
        EXPECT_NE(std::string(dtm_last_error()).find(limit), std::string::npos) << dtm_last_error();

        dtm_compression c{};
        c.kind = DTM_COMPRESS_PRUNE_MAGNITUDE;
        c.sparsity = 0.5f;
        const int32_t component = 0;
        dtm_model * out = nullptr;
        EXPECT_EQ(dtm_model_compress(m.m, 1, &component, &c, nullptr, n, &out), DTM_ERR_INVALID_ARGUMENT) << n;
        EXPECT_EQ(out, nullptr);
        EXPECT_NE(std::string(dtm_last_error()).find(limit), std::string::npos) << dtm_last_error();
    }
}

TEST(ThreadPool, ASessionWhoseThreadStartFailsIsNotCreated) {
    DisarmThreadStarts disarm;
    dtm::test::ModelHandle m{dtm::test::load_model(dtm::test::write_tiny_model(dtm::test::temp_dir(), {}))};
    ASSERT_NE(m.m, nullptr);
    const int before = process_threads();
    dtm_session_params p = dtm_session_default_params();
    p.n_threads = 4;
    dtm_session * s = reinterpret_cast<dtm_session *>(0x1);
    dtm::fault::fail_nth_thread_start(2);
    EXPECT_EQ(dtm_session_create(m.m, p, &s), DTM_ERR_OUT_OF_MEMORY);
    EXPECT_EQ(s, nullptr);
    EXPECT_NE(std::string(dtm_last_error()).find("cannot start thread 3 of 4"), std::string::npos) << dtm_last_error();
    EXPECT_EQ(process_threads(), before);
    ASSERT_EQ(dtm_session_create(m.m, p, &s), DTM_OK) << dtm_last_error();
    EXPECT_EQ(dtm_session_n_threads(s), 4);
    dtm_session_free(s);
}

}  // namespace
