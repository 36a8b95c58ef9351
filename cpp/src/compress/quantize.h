// quantize.h - quantized storage of a weight matrix and the Linears that run it.
//
// Formats (dtm.h, dtm_weight_format): INT8 (W8A8 naive), INT8_OUTLIER
// (LLM.int8()), INT8_WEIGHT (weight-only), Q8_0 and Q4_0 (llama.cpp blocks).
// The kernels live in kernels/cpu/ per instruction set.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "dtm/dtm.h"
#include "model/linear.h"

namespace dtm::compress {

// Quantizes w (rows x cols, row-major: a component's effective weights) as
// spec.kind says (DTM_COMPRESS_INT8, _INT8_OUTLIER, _INT8_WEIGHT, _Q8_0,
// _Q4_0). Throws dtm::Error(DTM_ERR_INVALID_ARGUMENT) for a shape the format
// cannot hold (q8_0 / q4_0 need cols % 32 == 0) or a bad threshold.
std::shared_ptr<const Linear> quantize(const float * w, int64_t rows, int64_t cols, const dtm_compression & spec);

// Rebuilds a quantized Linear of the given format from its stored tensors,
// bitwise. Throws dtm::Error(DTM_ERR_MODEL_FORMAT) for missing or
// inconsistent tensors.
std::shared_ptr<const Linear> restore_quantized(dtm_weight_format format, int64_t rows, int64_t cols,
                                                const std::vector<StoredTensor> & tensors);

}  // namespace dtm::compress
