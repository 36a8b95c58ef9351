// candidate_file.h - a compressed candidate on disk, relative to its base.
//
// A candidate file is a safetensors file holding only the components whose
// matrices differ from the base's, each in its storage format
// (Linear::stored_tensors, keys "<component name>.<tensor name>"). Its
// metadata says what it is:
//   "dtm.candidate"             "1"   (format version)
//   "dtm.base"                  fingerprint of the base model (Model::fingerprint)
//   "dtm.format.<component>"    storage format name (fp32, sparse, int8, ...)
// Loading it onto the same base rebuilds every component bitwise.
#pragma once

#include <string>

#include "model/model.h"
#include "model/safetensors_file.h"

namespace dtm::compress {

// Writes the components of `candidate` whose matrices are not the base's.
// Written to a temporary file next to `path`, then renamed.
void export_candidate(const Model & candidate, const Model & base, const std::string & path);

// The candidate described by the file, on `base`. Throws dtm::Error:
// DTM_ERR_IO, DTM_ERR_MODEL_FORMAT (corrupt or foreign file), and
// DTM_ERR_INVALID_ARGUMENT when the file was made from another base.
std::unique_ptr<Model> load_candidate(const Model & base, const std::string & path);
// The same for a safetensors file already read (its path() names it in messages).
std::unique_ptr<Model> load_candidate(const Model & base, const SafetensorsFile & file);

}  // namespace dtm::compress
