// TRANSIENT (being written by the sparsity work; replaced before commit).
#include "compress/prune.h"
#include "core/error.h"
namespace dtm::compress {
void prune(float *, int64_t, int64_t, const dtm_compression &, const float *) { throw Error(DTM_ERR_UNSUPPORTED, "pruning is not built yet"); }
std::shared_ptr<const Linear> make_pruned_linear(const float *, int64_t, int64_t) { throw Error(DTM_ERR_UNSUPPORTED, "pruning is not built yet"); }
std::shared_ptr<const Linear> restore_sparse(int64_t, int64_t, const std::vector<StoredTensor> &) { throw Error(DTM_ERR_UNSUPPORTED, "pruning is not built yet"); }
}
