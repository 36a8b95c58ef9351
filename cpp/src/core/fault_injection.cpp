// fault_injection.cpp - the countdowns of fault_injection.h.
#include "core/fault_injection.h"

#include <atomic>
#include <new>
#include <system_error>

namespace dtm::fault {

namespace {

// Operations left before the one that fails; 0 = disarmed.
std::atomic<int64_t> allocations_left{0};
std::atomic<int64_t> thread_starts_left{0};

// True for exactly one caller: the one that takes the countdown from 1 to 0.
bool reached(std::atomic<int64_t> & left) {
    int64_t n = left.load(std::memory_order_relaxed);
    while (n > 0) {
        if (left.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) return n == 1;
    }
    return false;
}

}  // namespace

void fail_nth_allocation(int64_t n) { allocations_left.store(n > 0 ? n : 0); }

void allocation_point() {
    if (reached(allocations_left)) throw std::bad_alloc();
}

void fail_nth_thread_start(int64_t n) { thread_starts_left.store(n > 0 ? n : 0); }

void thread_start_point() {
    if (reached(thread_starts_left)) {
        throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                                "injected thread start failure");
    }
}

}  // namespace dtm::fault
