// memory_check.h - refusing early to load a model that does not fit in memory.
//
// A load packs every matrix into panels (fp32, or 16-bit for F16/BF16
// checkpoint tensors) and converts small fp16/bf16 tensors (norms, biases)
// to fp32: that memory is anonymous and must be resident. Both loaders (a
// llama2.c file and a Hugging Face checkpoint) estimate it. Before any of it
// is allocated, the loader compares its estimate with MemAvailable of
// /proc/meminfo (which counts reclaimable page cache, so the mapped file
// itself does not compete) and fails with DTM_ERR_OUT_OF_MEMORY rather than
// letting the process be killed half way.
#pragma once

#include <cstdint>
#include <string>

namespace dtm {

// Bytes of the panels a rows x cols matrix of `element`-byte weights is
// packed into (kernels/cpu/packed_matrix.h: rows padded to whole panels).
int64_t packed_bytes(int64_t rows, int64_t cols, int64_t element);

// MemAvailable in bytes from the text of /proc/meminfo, or -1 when absent.
int64_t parse_mem_available(const std::string & meminfo);

// MemAvailable of this machine, or -1 when it cannot be read.
int64_t available_memory_bytes();

// Throws dtm::Error(DTM_ERR_OUT_OF_MEMORY) when `needed` bytes exceed
// `available` (skipped when available < 0), naming the model and both sizes.
void require_memory(int64_t needed, int64_t available, const std::string & model, const std::string & what);

}  // namespace dtm
