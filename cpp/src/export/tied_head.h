// tied_head.h - whether a model's output head is its token embedding.
#pragma once

namespace dtm {

class Model;

// True when the head is tied to the embedding and still is the embedding: a
// tied head compressed in a candidate (pruned, quantized) is a matrix of its
// own, which an export must write. Compares the head's effective weights with
// the embedding's values, bitwise.
bool head_is_embedding(const Model & model);

}  // namespace dtm
