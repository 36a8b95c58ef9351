// thread_pool.h - the worker threads of one session.
//
// parallel_for(n, fn) runs fn(task, worker) for every task in [0, n) on the
// pool's threads (the calling thread is worker 0) and returns when all are
// done. Tasks are handed out dynamically, so which thread runs a task varies;
// dtm's kernels make each output the work of exactly one task, so results
// never depend on that.
//
// Workers spin briefly before sleeping: one-token decoding issues dozens of
// small parallel regions per token, and waking a sleeping thread costs more
// than the work.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dtm {

class ThreadPool {
public:
    // n_threads threads in all, the caller included (values below 1 mean 1).
    // Throws dtm::Error: DTM_ERR_INVALID_ARGUMENT when n_threads exceeds
    // max_threads(); DTM_ERR_OUT_OF_MEMORY when the system cannot start a
    // thread, after stopping and joining the ones already started.
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool &) = delete;
    ThreadPool & operator=(const ThreadPool &) = delete;

    int size() const { return int(workers_.size()) + 1; }

    using TaskFn = std::function<void(int64_t task, int worker)>;

    // Runs all tasks; rethrows the first exception a task threw.
    void parallel_for(int64_t n_tasks, const TaskFn & fn);

    // Number of online CPUs (at least 1).
    static int hardware_threads();

    // The most threads a pool may have: kThreadsPerCpu x hardware_threads(),
    // at least kMinMaxThreads (dtm_max_threads() in dtm.h). More threads than
    // CPUs never compute faster; the bound keeps a mistyped count from
    // exhausting the system's threads.
    static constexpr int kThreadsPerCpu = 4;
    static constexpr int kMinMaxThreads = 64;
    static int max_threads();
    // Throws dtm::Error(DTM_ERR_INVALID_ARGUMENT) naming the limit when
    // n_threads > max_threads().
    static void check_thread_count(int n_threads);

private:
    // Tells every started worker to return, and joins them.
    void stop_workers();
    void worker_loop(int worker);
    void run_tasks(int worker);

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int64_t> next_task_{0};
    std::atomic<int> busy_workers_{0};
    std::atomic<bool> stop_{false};
    int64_t n_tasks_ = 0;
    const TaskFn * fn_ = nullptr;
    std::mutex error_mutex_;
    std::exception_ptr error_;
};

}  // namespace dtm
