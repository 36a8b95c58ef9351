#include "runtime/input_norms.h"

#include "core/error.h"
#include "model/architecture.h"

namespace dtm {

InputNorms::InputNorms(const ModelConfig & c) : config_(c) {
    for (int32_t l = 0; l < c.n_layers; ++l) {
        sums_.emplace_back(size_t(c.dim), 0.0);         // kAttnIn
        sums_.emplace_back(size_t(c.q_dim()), 0.0);     // kAttnOut
        sums_.emplace_back(size_t(c.dim), 0.0);         // kMlpIn
        sums_.emplace_back(size_t(c.hidden_dim), 0.0);  // kMlpHidden
    }
    sums_.emplace_back(size_t(c.dim), 0.0);  // head
}

namespace {

// Adds the squares of n rows of `width` features to the sums, row by row.
void add_squares(std::vector<double> & s, const float * rows, int64_t n, int64_t width) {
    for (int64_t t = 0; t < n; ++t) {
        const float * r = rows + t * width;
        for (int64_t i = 0; i < width; ++i) s[size_t(i)] += double(r[i]) * double(r[i]);
    }
}

}  // namespace

void InputNorms::add(int32_t layer, Slot slot, const float * rows, int64_t n, int64_t width) {
    add_squares(sums_[size_t(layer * kSlotsPerLayer + slot)], rows, n, width);
}

void InputNorms::add_head(const float * rows, int64_t n, int64_t width) { add_squares(sums_.back(), rows, n, width); }

std::vector<float> InputNorms::norms(dtm_component_kind kind, int32_t layer) const {
    const std::vector<double> * s = nullptr;
    if (kind == DTM_COMPONENT_LM_HEAD) {
        s = &sums_.back();
    } else if (kind == DTM_COMPONENT_EMBEDDING || layer < 0 || layer >= config_.n_layers) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "no calibration norms for this component");
    } else {
        const Slot slot = Slot(layer_matrix(kind).input);  // what the matrix reads (architecture.h)
        s = &sums_[size_t(layer * kSlotsPerLayer + slot)];
    }
    std::vector<float> out(s->size());
    for (size_t i = 0; i < s->size(); ++i) out[i] = float(std::sqrt((*s)[i]));
    return out;
}

}  // namespace dtm
