// input_norms.h - calibration for Wanda pruning: the L2 norm over all
// calibration tokens of every input feature of every matrix product.
//
// Matrices that read the same activations share one record: q, k and v read
// the attention-normed stream; gate and up the MLP-normed stream; o reads the
// attention output; down the SwiGLU output; the head the final-normed stream.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "dtm/dtm.h"
#include "model/model_config.h"

namespace dtm {

class InputNorms {
public:
    enum Slot { kAttnIn = 0, kAttnOut = 1, kMlpIn = 2, kMlpHidden = 3, kSlotsPerLayer = 4 };

    explicit InputNorms(const ModelConfig & c);

    // Adds the squares of n rows of `width` features (row stride = width).
    // Sums run in double, row by row in order, so a record does not depend
    // on the batch split or the thread count.
    void add(int32_t layer, Slot slot, const float * rows, int64_t n, int64_t width);
    // The same for the output head's input (the final-normed stream).
    void add_head(const float * rows, int64_t n, int64_t width);

    // The norms (sqrt of the sums) for a component of the given kind and
    // layer; `cols` features.
    std::vector<float> norms(dtm_component_kind kind, int32_t layer) const;

    int64_t tokens() const { return tokens_; }
    void count_tokens(int64_t n) { tokens_ += n; }
    const ModelConfig & config() const { return config_; }

private:
    ModelConfig config_;
    std::vector<std::vector<double>> sums_;  // (layer * kSlotsPerLayer + slot) then the head
    int64_t tokens_ = 0;
};

}  // namespace dtm
