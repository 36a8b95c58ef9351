// aligned_array.cpp - the kernels' aligned allocation (aligned_array.h).
#include "kernels/cpu/aligned_array.h"

#include <sys/mman.h>

#include <cstdlib>
#include <limits>

#include "core/error.h"

namespace dtm::cpu {

void AlignedFree::operator()(void * p) const { std::free(p); }

size_t aligned_size(size_t bytes) {
    const size_t lines = (bytes + kBufferAlignment - 1) / kBufferAlignment;
    return (lines == 0 ? 1 : lines) * kBufferAlignment;
}

void * aligned_alloc_or_throw(size_t count, size_t size, const char * what) {
    if (size != 0 && count > (std::numeric_limits<size_t>::max() - kBufferAlignment) / size) {
        fail(DTM_ERR_OUT_OF_MEMORY, "%s of %zu elements is too large", what, count);
    }
    const size_t bytes = aligned_size(count * size);  // aligned_alloc wants a multiple of the alignment
    if (bytes >= kHugeBufferBytes) {
        // Start on a huge-page boundary and ask for transparent huge pages
        // (the advice is only advice: where the kernel declines, 4 KiB pages).
        void * p = nullptr;
        if (posix_memalign(&p, kHugePageBytes, bytes) != 0 || p == nullptr) {
            fail(DTM_ERR_OUT_OF_MEMORY, "could not allocate %zu bytes for %s", bytes, what);
        }
        madvise(p, bytes, MADV_HUGEPAGE);
        return p;
    }
    void * p = std::aligned_alloc(kBufferAlignment, bytes);
    if (p == nullptr) fail(DTM_ERR_OUT_OF_MEMORY, "could not allocate %zu bytes for %s", bytes, what);
    return p;
}

}  // namespace dtm::cpu
