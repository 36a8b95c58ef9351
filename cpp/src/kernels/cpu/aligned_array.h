// aligned_array.h - the 64-byte aligned buffers of the kernels' storage
// (packed, quantized and sparse weights, scratch): every cache line, and
// every AVX-512 vector that starts on one, is aligned.
//
// Kernel files compiled with instruction-set flags include this header (via
// the layouts), so nothing here is an inline function the linker could merge
// with such a file's copy: the functions are defined in aligned_array.cpp,
// and aligned_array<T> is only called from baseline code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace dtm::cpu {

constexpr size_t kBufferAlignment = 64;

// Buffers of at least kHugeBufferBytes (the output head's panels, the logits
// of a batch) start on a 2 MiB boundary and are advised to the kernel as
// transparent huge pages: a product that writes rows 128 KB apart (32000
// logits per token) touches a new 4 KiB page with almost every store, and
// the TLB misses cost about 5 % of the head's time.
constexpr size_t kHugePageBytes = size_t(2) << 20;
constexpr size_t kHugeBufferBytes = size_t(4) << 20;

struct AlignedFree {
    void operator()(void * p) const;
};

template <typename T>
using AlignedArray = std::unique_ptr<T[], AlignedFree>;

// Bytes allocated for `bytes`: whole cache lines, at least one (so an empty
// array still owns a valid pointer).
size_t aligned_size(size_t bytes);

// Uninitialised storage for `count` elements of `size` bytes
// (aligned_size(count * size) bytes), 64-byte aligned, 2 MiB aligned and
// advised as huge pages from kHugeBufferBytes. Throws
// dtm::Error(DTM_ERR_OUT_OF_MEMORY) naming `what` ("a packed matrix") when
// the size overflows or the allocation fails.
void * aligned_alloc_or_throw(size_t count, size_t size, const char * what);

template <typename T>
AlignedArray<T> aligned_array(size_t count, const char * what) {
    return AlignedArray<T>(static_cast<T *>(aligned_alloc_or_throw(count, sizeof(T), what)));
}

}  // namespace dtm::cpu
