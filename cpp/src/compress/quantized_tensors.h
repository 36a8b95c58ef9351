// quantized_tensors.h - what the quantized Linears share around their
// storage: checks of the weights they are given, the per-row int8
// quantization of INT8 / INT8_OUTLIER / INT8_WEIGHT, and building and reading
// their stored tensors (model/linear.h, StoredTensor).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/linear.h"

namespace dtm::compress {

// Throws dtm::Error(DTM_ERR_INVALID_ARGUMENT) naming the format, the shape
// and the first position, when a weight is NaN or infinite; or when rows or
// cols are negative.
void require_finite_weights(const float * w, int64_t rows, int64_t cols, const char * format);

// Per-row absmax int8 (quantize_int8_absmax): q (rows x cols), scale (rows).
void quantize_rows_int8(const float * w, int64_t rows, int64_t cols, int8_t * q, float * scale);

// A stored tensor holding a copy of `bytes` bytes at data.
StoredTensor make_tensor(const std::string & name, const std::string & dtype, std::vector<int64_t> shape,
                         const void * data, size_t bytes);

// The int8 weights and per-row scales of a restored INT8 / INT8_OUTLIER /
// INT8_WEIGHT Linear ("weight" I8 (rows, cols), "weight_scale" F32 (rows)).
// Throws dtm::Error(DTM_ERR_MODEL_FORMAT) for a missing or misshapen tensor,
// a weight of -128 (outside the format's [-127, 127]) or a scale that is
// negative, NaN or infinite.
void read_int8_tensors(const std::vector<StoredTensor> & tensors, int64_t rows, int64_t cols, std::vector<int8_t> & q,
                       std::vector<float> & scale);

}  // namespace dtm::compress
