// calibrate.cpp - Wanda calibration (dtm_calibrate): the sequences through
// the model with the input-norm recorder set; no logits.
#include <algorithm>

#include "runtime/session.h"

namespace dtm {

void Session::calibrate(const int32_t * tokens, const int32_t * seq_lens, int32_t n_seqs, InputNorms & norms) {
    int32_t longest = 0;
    const std::vector<int64_t> offset = check_sequences(tokens, seq_lens, n_seqs, &longest);
    const int64_t cap = std::max<int64_t>(max_batch_tokens_, longest);
    ensure_tokens(std::min(cap, offset[size_t(n_seqs)]));
    ensure_kv_rows(cap);
    run_.stream_pos = 0;  // the passes below overwrite the stream's cache rows
    struct Reset {  // the recorder is unset however this returns
        InputNorms *& r;
        ~Reset() { r = nullptr; }
    } reset{recorder_};
    recorder_ = &norms;
    for (int32_t s = 0; s < n_seqs;) {
        s = pack_sequences(tokens, offset.data(), offset.data(), n_seqs, s, cap);
        forward_hidden(run_.batch);
    }
}

}  // namespace dtm
