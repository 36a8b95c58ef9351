// model.h - a loaded model as the engine runs it.
//
// The file stays mapped (norm weights and the token embedding are read from
// the mapping; norms converted once for fp16/bf16 Hugging Face checkpoints,
// whose embedding is looked up in 16 bits); the matrices are packed once into
// the kernels' panel layout (16-bit panels for fp16/bf16 checkpoints).
// A Model is immutable after loading and shared by every session using it.
// Its matrices are held through shared_ptr so that a candidate (a model with
// some components compressed) shares all unchanged matrices with its base.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/lazy.h"
#include "model/architecture.h"
#include "model/linear.h"
#include "model/llama2c_file.h"
#include "model/model_config.h"
#include "tokenizer/bpe_tokenizer.h"

namespace dtm {

struct ComponentInfo {
    std::string name;  // Hugging Face name, e.g. "model.layers.0.self_attn.q_proj"
    dtm_component_kind kind;
    int32_t layer;     // -1 for embedding and head
    int64_t rows, cols;
};

// The matrices of one decoder layer.
struct LayerLinears {
    std::shared_ptr<const Linear> q, k, v, o, gate, up, down;

    // The matrix of the layer's component of kind k (DTM_COMPONENT_Q_PROJ = 0
    // .. DTM_COMPONENT_DOWN_PROJ = 6, which is also the component order:
    // q, k, v, o, gate, up, down); k must be in [0, 7).
    std::shared_ptr<const Linear> & slot(int32_t k);
    const std::shared_ptr<const Linear> & slot(int32_t k) const;
};

class Model {
public:
    // Components of a decoder layer, in component order: q, k, v, o, gate, up, down.
    static constexpr int32_t kComponentsPerLayer = kLayerMatrices;  // architecture.h

    // Loads a llama2.c model and its tokenizer; throws dtm::Error.
    static std::unique_ptr<Model> load_llama2c(const std::string & model_path,
                                               const std::string & tokenizer_path,
                                               bool check_finite);

    // Loads a Hugging Face checkpoint directory (model/hf_checkpoint.h);
    // throws dtm::Error. Its tokenizer.json is read by the Java API: the
    // model has no native tokenizer.
    static std::unique_ptr<Model> load_hf(const std::string & dir, bool check_finite);

    // Where the model was loaded from.
    enum class Source { kLlama2c, kHuggingFace };
    Source source() const { return source_; }

    const ModelConfig & config() const { return config_; }
    // The llama2.c tokenizer; throws dtm::Error(DTM_ERR_UNSUPPORTED) for a
    // Hugging Face model, which has none in the engine.
    const BpeTokenizer & tokenizer() const;
    const WeightViews & views() const { return views_; }
    const LayerLinears & layer(int32_t l) const { return layers_[size_t(l)]; }
    const Linear & classifier() const { return *classifier_; }
    const std::vector<ComponentInfo> & components() const { return components_; }
    int64_t n_params() const { return n_params_; }

    // The matrix of component `index` (order of components()); nullptr for
    // the embedding, which is a lookup table and not a Linear.
    std::shared_ptr<const Linear> linear(int32_t index) const;

    // A candidate: this model with the given components' matrices replaced
    // (same shapes; throws dtm::Error otherwise). Everything else is shared.
    std::unique_ptr<Model> with_linears(
        const std::vector<std::pair<int32_t, std::shared_ptr<const Linear>>> & replacements) const;

    // Hex fingerprint of everything the logits depend on (core/fnv.h
    // fnv1a_words over, in this order): every field of the configuration
    // (shapes and head_dim, rope_theta, the whole RoPE scaling, norm eps,
    // tied head, special tokens, which biases exist), the embedding's fp32
    // values, per layer its two norms and its biases, the final norm, and the
    // effective fp32 weights of every matrix (head included). So two models
    // whose logits can differ get different fingerprints (but for a 64-bit
    // hash collision); the storage width of equal values (fp32 or 16-bit
    // panels) does not count. Names a
    // candidate file's base (compress/candidate_file.h), so it changes only
    // with what it covers: a change of what is hashed makes earlier files
    // name another base (as when the configuration and biases were added).
    // Computed on the first call, once per model (thread-safe).
    const std::string & fingerprint() const;

    // Entries of the token embedding that are not exactly zero; counted on
    // the first call, once per embedding table (candidates share their
    // base's table and its count); thread-safe.
    int64_t embedding_nonzeros() const;

    // Device backends' copies of the views (norm weights, biases, the
    // embedding), one per device: one slot per loaded file, shared with every
    // candidate made from it (backend/prepared.h).
    const PreparedSlot & prepared_views() const { return *prepared_views_; }

private:
    Model() = default;
    Model(const Model &) = default;
    // Fills components_ and n_params_ from the config and layers_.
    void list_components();

    // What views_ point into (the llama2.c file, or the Hugging Face
    // checkpoint's mappings and converted tensors), kept alive with the model.
    std::shared_ptr<const void> weights_owner_;
    ModelConfig config_;
    WeightViews views_;
    Source source_ = Source::kLlama2c;
    std::shared_ptr<const BpeTokenizer> tokenizer_;
    std::vector<LayerLinears> layers_;
    std::shared_ptr<const Linear> classifier_;
    std::vector<ComponentInfo> components_;
    int64_t n_params_ = 0;
    // Computed late: the fingerprint of this model (a candidate gets a fresh
    // one), the nonzero count of the embedding (shared with candidates).
    std::shared_ptr<Lazy<std::string>> fingerprint_ = std::make_shared<Lazy<std::string>>();
    std::shared_ptr<Lazy<int64_t>> embedding_nonzeros_ = std::make_shared<Lazy<int64_t>>();
    std::shared_ptr<PreparedSlot> prepared_views_ = std::make_shared<PreparedSlot>();  // shared with candidates
};

}  // namespace dtm
