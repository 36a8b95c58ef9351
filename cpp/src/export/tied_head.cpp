#include "export/tied_head.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "model/model.h"

namespace dtm {

bool head_is_embedding(const Model & model) {
    const ModelConfig & c = model.config();
    if (!c.shared_classifier) return false;
    const Linear & head = model.classifier();
    const dtm_weight_format f = head.format();
    if (f != DTM_FORMAT_FP32 && f != DTM_FORMAT_FP16 && f != DTM_FORMAT_BF16) return false;
    std::vector<float> w(size_t(int64_t(c.vocab_size) * c.dim));
    head.dense_weights(w.data());
    constexpr int64_t kRows = 256;
    std::vector<float> e(size_t(kRows * c.dim));
    for (int64_t r = 0; r < c.vocab_size; r += kRows) {
        const int64_t n = std::min<int64_t>(kRows, c.vocab_size - r);
        embedding_rows(model.views(), r, n, c.dim, e.data());
        if (std::memcmp(e.data(), w.data() + r * c.dim, size_t(n * c.dim) * sizeof(float)) != 0) return false;
    }
    return true;
}

}  // namespace dtm
