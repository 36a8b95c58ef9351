// quantized_tensors.cpp - weight checks, per-row int8 quantization and the
// stored tensors shared by the quantized Linears (quantized_tensors.h).
#include "compress/quantized_tensors.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "kernels/cpu/quantize_values.h"

namespace dtm::compress {

void require_finite_weights(const float * w, int64_t rows, int64_t cols, const char * format) {
    if (rows < 0 || cols < 0) {
        fail(DTM_ERR_INVALID_ARGUMENT, "%s: cannot quantize a %lld x %lld matrix", format,
             static_cast<long long>(rows), static_cast<long long>(cols));
    }
    if (w == nullptr && rows > 0 && cols > 0) fail(DTM_ERR_INVALID_ARGUMENT, "%s: NULL weights", format);
    for (int64_t i = 0; i < rows * cols; ++i) {
        if (!std::isfinite(w[i])) {
            fail(DTM_ERR_INVALID_ARGUMENT, "%s: weight (%lld, %lld) of the %lld x %lld matrix is %g", format,
                 static_cast<long long>(i / cols), static_cast<long long>(i % cols), static_cast<long long>(rows),
                 static_cast<long long>(cols), double(w[i]));
        }
    }
}

void quantize_rows_int8(const float * w, int64_t rows, int64_t cols, int8_t * q, float * scale) {
    const float no_outliers = INFINITY;
    for (int64_t r = 0; r < rows; ++r) {
        scale[r] = cpu::quantize_int8_absmax(w + r * cols, cols, no_outliers, q + r * cols, nullptr);
    }
}

StoredTensor make_tensor(const std::string & name, const std::string & dtype, std::vector<int64_t> shape,
                         const void * data, size_t bytes) {
    StoredTensor t{name, dtype, std::move(shape), {}};
    t.bytes.resize(bytes);
    if (bytes > 0) std::memcpy(t.bytes.data(), data, bytes);
    return t;
}

void read_int8_tensors(const std::vector<StoredTensor> & tensors, int64_t rows, int64_t cols, std::vector<int8_t> & q,
                       std::vector<float> & scale) {
    const StoredTensor & wt = find_stored(tensors, "weight", "I8", {rows, cols});
    const StoredTensor & st = find_stored(tensors, "weight_scale", "F32", {rows});
    q.resize(wt.bytes.size());
    if (!q.empty()) std::memcpy(q.data(), wt.bytes.data(), q.size());
    scale.resize(static_cast<size_t>(rows));
    if (rows > 0) std::memcpy(scale.data(), st.bytes.data(), scale.size() * sizeof(float));
    for (size_t i = 0; i < q.size(); ++i) {
        if (q[i] == -128) {
            fail(DTM_ERR_MODEL_FORMAT, "stored tensor 'weight' holds -128 at (%lld, %lld): int8 weights are in [-127, 127]",
                 static_cast<long long>(int64_t(i) / cols), static_cast<long long>(int64_t(i) % cols));
        }
    }
    for (int64_t r = 0; r < rows; ++r) {
        if (!(std::isfinite(scale[size_t(r)]) && scale[size_t(r)] >= 0.0f)) {
            fail(DTM_ERR_MODEL_FORMAT, "stored tensor 'weight_scale' of row %lld is %g: scales are finite and >= 0",
                 static_cast<long long>(r), double(scale[size_t(r)]));
        }
    }
}

}  // namespace dtm::compress
