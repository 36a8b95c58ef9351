// TRANSIENT: waiting for model/safetensors_file (being written); replaced before commit.
#include "compress/candidate_file.h"
#include "core/error.h"
namespace dtm::compress {
std::string model_fingerprint(const Model &) { throw Error(DTM_ERR_UNSUPPORTED, "candidate files are not built yet"); }
void export_candidate(const Model &, const Model &, const std::string &) { throw Error(DTM_ERR_UNSUPPORTED, "candidate files are not built yet"); }
std::unique_ptr<Model> load_candidate(const Model &, const std::string &) { throw Error(DTM_ERR_UNSUPPORTED, "candidate files are not built yet"); }
}
