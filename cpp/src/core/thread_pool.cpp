#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <new>
#include <string>
#include <system_error>
#include <unistd.h>

#include "core/error.h"
#include "core/fault_injection.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DTM_CPU_RELAX() _mm_pause()
#else
#define DTM_CPU_RELAX() ((void)0)
#endif

namespace dtm {

namespace {
// How long an idle worker spins before it sleeps on the condition variable.
constexpr auto kSpinTime = std::chrono::microseconds(200);
}  // namespace

int ThreadPool::hardware_threads() {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? int(n) : 1;
}

int ThreadPool::max_threads() {
    return std::max(kMinMaxThreads, kThreadsPerCpu * hardware_threads());
}

void ThreadPool::check_thread_count(int n_threads) {
    if (n_threads > max_threads()) {
        fail(DTM_ERR_INVALID_ARGUMENT,
             "n_threads = %d exceeds the limit of %d threads (%d per online CPU, at least %d; this machine has %d CPUs)",
             n_threads, max_threads(), kThreadsPerCpu, kMinMaxThreads, hardware_threads());
    }
}

ThreadPool::ThreadPool(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    check_thread_count(n_threads);
    workers_.reserve(size_t(n_threads - 1));
    // A constructor that throws runs no destructor: the workers started so
    // far are stopped and joined here (a joinable std::thread destroyed
    // would terminate the process).
    const char * why = nullptr;
    std::string detail;
    try {
        for (int w = 1; w < n_threads; ++w) {
            fault::thread_start_point();
            workers_.emplace_back([this, w] { worker_loop(w); });
        }
        return;
    } catch (const std::system_error & e) {
        why = "the system refused a new thread";
        detail = e.code().message();
    } catch (const std::bad_alloc &) {
        why = "out of memory";
        detail = "std::bad_alloc";
    }
    const int started = int(workers_.size()) + 1;
    stop_workers();
    fail(DTM_ERR_OUT_OF_MEMORY, "cannot start thread %d of %d: %s (%s); use fewer threads", started + 1, n_threads,
         why, detail.c_str());
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::stop_workers() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto & t : workers_) t.join();
    workers_.clear();
}

void ThreadPool::run_tasks(int worker) {
    for (;;) {
        int64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
        if (task >= n_tasks_) break;
        try {
            (*fn_)(task, worker);
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex_);
            if (!error_) error_ = std::current_exception();
        }
    }
}

void ThreadPool::worker_loop(int worker) {
    uint64_t seen = 0;
    for (;;) {
        // Spin for a while, then sleep until the generation changes.
        auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
        uint64_t gen = generation_.load(std::memory_order_acquire);
        while (gen == seen && std::chrono::steady_clock::now() < spin_until) {
            for (int i = 0; i < 64; ++i) DTM_CPU_RELAX();
            gen = generation_.load(std::memory_order_acquire);
        }
        if (gen == seen) {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return generation_.load() != seen; });
            gen = generation_.load();
        }
        seen = gen;
        if (stop_.load()) return;
        run_tasks(worker);
        busy_workers_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

void ThreadPool::parallel_for(int64_t n_tasks, const TaskFn & fn) {
    if (n_tasks <= 0) return;
    if (workers_.empty() || n_tasks == 1) {
        for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
        return;
    }
    error_ = nullptr;
    fn_ = &fn;
    n_tasks_ = n_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    busy_workers_.store(int(workers_.size()), std::memory_order_relaxed);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    wake_.notify_all();
    run_tasks(0);
    while (busy_workers_.load(std::memory_order_acquire) != 0) DTM_CPU_RELAX();
    fn_ = nullptr;
    if (error_) {
        std::exception_ptr e = error_;
        error_ = nullptr;
        std::rethrow_exception(e);
    }
}

}  // namespace dtm
