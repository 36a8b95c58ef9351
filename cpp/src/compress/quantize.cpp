// quantize.cpp - from a compression kind to the quantized Linear that runs it,
// and from stored tensors back to that Linear (quantize.h). The formats and
// their arithmetic are documented in int8_linear.h, int8_weight_linear.h and
// block_quant_linear.h.
#include "compress/quantize.h"

#include <string>

#include "compress/block_quant_linear.h"
#include "compress/int8_linear.h"
#include "compress/int8_weight_linear.h"
#include "core/error.h"

namespace dtm::compress {

std::shared_ptr<const Linear> quantize(const float * w, int64_t rows, int64_t cols, const dtm_compression & spec) {
    switch (spec.kind) {
        case DTM_COMPRESS_INT8: return Int8Linear::quantize(DTM_FORMAT_INT8, w, rows, cols, 0.0f);
        case DTM_COMPRESS_INT8_OUTLIER:
            return Int8Linear::quantize(DTM_FORMAT_INT8_OUTLIER, w, rows, cols, spec.outlier_threshold);
        case DTM_COMPRESS_INT8_WEIGHT: return Int8WeightLinear::quantize(w, rows, cols);
        case DTM_COMPRESS_Q8_0: return BlockQuantLinear::quantize(DTM_FORMAT_Q8_0, w, rows, cols);
        case DTM_COMPRESS_Q4_0: return BlockQuantLinear::quantize(DTM_FORMAT_Q4_0, w, rows, cols);
        default:
            throw Error(DTM_ERR_INVALID_ARGUMENT, "compression kind " + std::to_string(spec.kind) + " is not a quantization");
    }
}

std::shared_ptr<const Linear> restore_quantized(dtm_weight_format format, int64_t rows, int64_t cols,
                                                const std::vector<StoredTensor> & tensors) {
    switch (format) {
        case DTM_FORMAT_INT8:
        case DTM_FORMAT_INT8_OUTLIER: return Int8Linear::restore(format, rows, cols, tensors);
        case DTM_FORMAT_INT8_WEIGHT: return Int8WeightLinear::restore(rows, cols, tensors);
        case DTM_FORMAT_Q8_0:
        case DTM_FORMAT_Q4_0: return BlockQuantLinear::restore(format, rows, cols, tensors);
        default:
            throw Error(DTM_ERR_MODEL_FORMAT, "weight format " + std::to_string(int(format)) + " is not a quantized format");
    }
}

}  // namespace dtm::compress
