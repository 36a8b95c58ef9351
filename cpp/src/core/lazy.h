// lazy.h - a value computed on first use, exactly once, safe to ask for
// from many threads at once (objects such as a loaded model are shared
// across threads and immutable, so what they compute late must be too).
#pragma once

#include <mutex>

namespace dtm {

template <typename T>
class Lazy {
public:
    // The value; the first call computes it with compute() (later calls,
    // and calls racing with the first, wait for it and get the same value).
    template <typename Compute>
    const T & get(Compute && compute) const {
        std::call_once(once_, [&] { value_ = compute(); });
        return value_;
    }

private:
    mutable std::once_flag once_;
    mutable T value_{};
};

}  // namespace dtm
