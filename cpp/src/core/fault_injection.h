// fault_injection.h - making chosen allocations and thread starts fail, for
// tests of what a failure leaves behind.
//
// The engine calls the *_point() functions just before the operations that
// tests need to see fail: a session buffer allocation (runtime/session.cpp)
// and the start of a worker thread (core/thread_pool.cpp). Unarmed, each is
// one relaxed atomic load. Tests arm a countdown: the n-th such operation
// from then on (1 = the next one) fails as the real one would (std::bad_alloc,
// std::system_error), once; the countdown then disarms itself. Not part of
// the C API: only the C++ tests link against these.
#pragma once

#include <cstdint>

namespace dtm::fault {

// Arms the countdown for session buffer allocations; n <= 0 disarms it.
void fail_nth_allocation(int64_t n);
// Throws std::bad_alloc when the armed countdown reaches this allocation.
void allocation_point();

// Arms the countdown for worker thread starts; n <= 0 disarms it.
void fail_nth_thread_start(int64_t n);
// Throws std::system_error (resource_unavailable_try_again, as
// std::thread does when the system has no threads left) when the armed
// countdown reaches this thread start.
void thread_start_point();

}  // namespace dtm::fault
