// model.cpp - loading a model (llama2.c file or Hugging Face checkpoint),
// its components, candidates that replace some of its matrices, and what is
// computed from a model's content late and once (fingerprint, embedding
// sparsity).
#include "model/model.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "core/fnv.h"
#include "model/architecture.h"
#include "model/hf_checkpoint.h"

namespace dtm {

namespace {

std::shared_ptr<const Linear> pack_dense(const float * w, int64_t rows, int64_t cols) {
    return DenseLinear::from_rows(w, rows, cols);
}


std::string layer_name(int32_t l, const char * suffix) {
    return "model.layers." + std::to_string(l) + "." + suffix;
}

}  // namespace

std::shared_ptr<const Linear> & LayerLinears::slot(int32_t k) {
    static_assert(DTM_COMPONENT_Q_PROJ == 0 && DTM_COMPONENT_K_PROJ == 1 && DTM_COMPONENT_V_PROJ == 2 &&
                      DTM_COMPONENT_O_PROJ == 3 && DTM_COMPONENT_GATE_PROJ == 4 && DTM_COMPONENT_UP_PROJ == 5 &&
                      DTM_COMPONENT_DOWN_PROJ == 6,
                  "slot k is the component of kind k");
    static std::shared_ptr<const Linear> LayerLinears::* const kSlots[Model::kComponentsPerLayer] = {
        &LayerLinears::q, &LayerLinears::k, &LayerLinears::v, &LayerLinears::o,
        &LayerLinears::gate, &LayerLinears::up, &LayerLinears::down};
    return this->*kSlots[k];
}

const std::shared_ptr<const Linear> & LayerLinears::slot(int32_t k) const {
    return const_cast<LayerLinears *>(this)->slot(k);
}

std::unique_ptr<Model> Model::load_llama2c(const std::string & model_path,
                                           const std::string & tokenizer_path,
                                           bool check_finite) {
    std::unique_ptr<Model> m(new Model());
    auto file = std::make_shared<Llama2cFile>(dtm::load_llama2c(model_path, check_finite));
    m->weights_owner_ = file;
    m->config_ = file->config;
    m->views_ = file->weights;
    const ModelConfig & c = m->config_;
    m->tokenizer_ = std::make_shared<BpeTokenizer>(BpeTokenizer::load(tokenizer_path, c.vocab_size));

    const WeightViews & w = m->views_;
    const int64_t dim = c.dim, hidden = c.hidden_dim, qd = c.q_dim(), kvd = c.kv_dim();
    m->layers_.resize(size_t(c.n_layers));
    for (int32_t l = 0; l < c.n_layers; ++l) {
        const LayerWeightViews & lw = w.layers[size_t(l)];
        LayerLinears & L = m->layers_[size_t(l)];
        L.q = pack_dense(lw.wq, qd, dim);
        L.k = pack_dense(lw.wk, kvd, dim);
        L.v = pack_dense(lw.wv, kvd, dim);
        L.o = pack_dense(lw.wo, dim, qd);
        L.gate = pack_dense(lw.w_gate, hidden, dim);
        L.up = pack_dense(lw.w_up, hidden, dim);
        L.down = pack_dense(lw.w_down, dim, hidden);
    }
    m->classifier_ = pack_dense(w.classifier, c.vocab_size, dim);
    m->list_components();
    return m;
}

std::unique_ptr<Model> Model::load_hf(const std::string & dir, bool check_finite) {
    std::unique_ptr<Model> m(new Model());
    std::shared_ptr<HfCheckpoint> checkpoint = HfCheckpoint::open(dir, check_finite);
    m->weights_owner_ = checkpoint;
    m->config_ = checkpoint->config();
    m->views_ = checkpoint->views();
    m->source_ = Source::kHuggingFace;
    const ModelConfig & c = m->config_;
    m->layers_.resize(size_t(c.n_layers));
    for (int32_t l = 0; l < c.n_layers; ++l) {
        LayerLinears & L = m->layers_[size_t(l)];
        for (int32_t k = 0; k < kComponentsPerLayer; ++k) L.slot(k) = checkpoint->linear(l, dtm_component_kind(k));
    }
    m->classifier_ = checkpoint->linear(-1, DTM_COMPONENT_LM_HEAD);  // the embedding's values when tied
    m->list_components();
    return m;
}

void Model::list_components() {
    const ModelConfig & c = config_;
    const int64_t dim = c.dim, hidden = c.hidden_dim, qd = c.q_dim(), kvd = c.kv_dim();
    components_.clear();
    for (int32_t l = 0; l < c.n_layers; ++l) {
        for (const LayerMatrix & m : kLlamaLayer) {
            components_.push_back({layer_name(l, m.module), m.kind, l, extent(c, m.rows), extent(c, m.cols)});
        }
    }
    components_.push_back({kEmbeddingModule, DTM_COMPONENT_EMBEDDING, -1, c.vocab_size, dim});
    components_.push_back({kHeadModule, DTM_COMPONENT_LM_HEAD, -1, c.vocab_size, dim});

    // Parameters: every matrix, bias and norm once; a tied head is the embedding.
    int64_t n = 0;
    for (const ComponentInfo & ci : components_) {
        if (ci.kind == DTM_COMPONENT_LM_HEAD && c.shared_classifier) continue;
        n += ci.rows * ci.cols;
    }
    n += int64_t(c.n_layers) * 2 * dim + dim;  // attention and MLP norms, final norm
    if (c.qkv_bias) n += int64_t(c.n_layers) * (qd + 2 * kvd);
    if (c.o_bias) n += int64_t(c.n_layers) * dim;
    if (c.mlp_bias) n += int64_t(c.n_layers) * (2 * hidden + dim);
    n_params_ = n;
}

const BpeTokenizer & Model::tokenizer() const {
    if (!tokenizer_) {
        throw Error(DTM_ERR_UNSUPPORTED,
                    "this model is a Hugging Face checkpoint: its tokenizer.json is read by the Java API "
                    "(dtm.model.Tokenizer), the engine has no tokenizer for it");
    }
    return *tokenizer_;
}

std::shared_ptr<const Linear> Model::linear(int32_t index) const {
    const int32_t n_layer_components = config().n_layers * Model::kComponentsPerLayer;
    if (index < 0 || index >= int32_t(components_.size())) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "component index " + std::to_string(index) + " out of range [0, " +
                                                  std::to_string(components_.size()) + ")");
    }
    if (index >= n_layer_components) {
        return components_[size_t(index)].kind == DTM_COMPONENT_LM_HEAD ? classifier_ : nullptr;
    }
    return layers_[size_t(index / Model::kComponentsPerLayer)].slot(index % Model::kComponentsPerLayer);
}

std::unique_ptr<Model> Model::with_linears(
    const std::vector<std::pair<int32_t, std::shared_ptr<const Linear>>> & replacements) const {
    std::unique_ptr<Model> m(new Model(*this));
    m->fingerprint_ = std::make_shared<Lazy<std::string>>();  // other matrices, other content
    const int32_t n_layer_components = config().n_layers * Model::kComponentsPerLayer;
    for (const auto & [index, lin] : replacements) {
        std::shared_ptr<const Linear> old = linear(index);
        if (!old) throw Error(DTM_ERR_UNSUPPORTED, components_[size_t(index)].name + " cannot be replaced (not a matrix product)");
        if (!lin || lin->rows() != old->rows() || lin->cols() != old->cols()) {
            throw Error(DTM_ERR_INVALID_ARGUMENT, "replacement for " + components_[size_t(index)].name + " has the wrong shape");
        }
        if (index >= n_layer_components) {
            m->classifier_ = lin;
            continue;
        }
        m->layers_[size_t(index / Model::kComponentsPerLayer)].slot(index % Model::kComponentsPerLayer) = lin;
    }
    return m;
}

namespace {

// The 32-bit words of a float's bits or of an integer, for hashing.
uint32_t word_of(float v) {
    uint32_t w;
    std::memcpy(&w, &v, sizeof(w));
    return w;
}
uint32_t word_of(int32_t v) { return uint32_t(v); }
uint32_t word_of(bool v) { return v ? 1u : 0u; }

// Every field of the configuration, in a fixed order: shapes, RoPE (theta
// and the whole scaling), the norms' eps, tied head, special tokens, which
// biases exist. A field added to ModelConfig or RopeScaling belongs here; the
// size checks catch an added field that grows the struct.
std::vector<uint32_t> config_words(const ModelConfig & c) {
    static_assert(sizeof(RopeScaling) == 5 * 4, "a RopeScaling field was added: hash it in config_words");
    static_assert(sizeof(ModelConfig) == 13 * 4 + sizeof(RopeScaling) + 4,
                  "a ModelConfig field was added: hash it in config_words");
    const RopeScaling & r = c.rope_scaling;
    return {word_of(c.dim), word_of(c.hidden_dim), word_of(c.n_layers), word_of(c.n_heads),
            word_of(c.n_kv_heads), word_of(c.head_dim), word_of(c.vocab_size), word_of(c.max_seq_len),
            word_of(c.rope_theta), word_of(c.norm_eps), word_of(c.shared_classifier), word_of(c.bos_id),
            word_of(c.eos_id), word_of(int32_t(r.kind)), word_of(r.factor), word_of(r.low_freq_factor),
            word_of(r.high_freq_factor), word_of(r.original_max_pos), word_of(c.qkv_bias), word_of(c.o_bias),
            word_of(c.mlp_bias)};
}

}  // namespace

const std::string & Model::fingerprint() const {
    return fingerprint_->get([this] {
        const ModelConfig & c = config_;
        uint64_t h = kFnvOffsetBasis;
        const std::vector<uint32_t> config = config_words(c);
        h = fnv1a_words(h, config.data(), config.size() * sizeof(uint32_t));
        const WeightViews & v = views_;
        {  // the embedding's fp32 values (widened when kept in 16 bits), in blocks of whole words
            const int64_t n = int64_t(c.vocab_size) * c.dim;
            if (v.token_embedding) {
                h = fnv1a_words(h, v.token_embedding, sizeof(float) * size_t(n));
            } else {
                constexpr int64_t kBlock = 1 << 14;  // values; a multiple of 2, so blocks end on 8-byte words
                std::vector<float> block(static_cast<size_t>(kBlock));
                for (int64_t i = 0; i < n; i += kBlock) {
                    const int64_t m = std::min(kBlock, n - i);
                    for (int64_t j = 0; j < m; ++j) block[size_t(j)] = cpu::widen_half(v.token_embedding_half[i + j], v.token_embedding_kind);
                    h = fnv1a_words(h, block.data(), sizeof(float) * size_t(m));
                }
            }
        }
        // Per layer: the norms, then the biases the model has (the config
        // above says which), each (rows) floats.
        const size_t dim = size_t(c.dim), hidden = size_t(c.hidden_dim), qd = size_t(c.q_dim()), kvd = size_t(c.kv_dim());
        for (int32_t l = 0; l < c.n_layers; ++l) {
            const LayerWeightViews & lw = v.layers[size_t(l)];
            h = fnv1a_words(h, lw.attn_norm, sizeof(float) * dim);
            h = fnv1a_words(h, lw.mlp_norm, sizeof(float) * dim);
            const std::pair<const float *, size_t> biases[] = {
                {lw.bq, qd}, {lw.bk, kvd}, {lw.bv, kvd}, {lw.bo, dim}, {lw.b_gate, hidden}, {lw.b_up, hidden}, {lw.b_down, dim}};
            for (const auto & [bias, n] : biases) {
                if (bias) h = fnv1a_words(h, bias, sizeof(float) * n);
            }
        }
        h = fnv1a_words(h, v.final_norm, sizeof(float) * dim);
        std::vector<float> w;
        for (int32_t i = 0; i < int32_t(components_.size()); ++i) {
            std::shared_ptr<const Linear> lin = linear(i);
            if (!lin) continue;
            w.resize(size_t(lin->rows() * lin->cols()));
            lin->dense_weights(w.data());
            h = fnv1a_words(h, w.data(), w.size() * sizeof(float));
        }
        char hex[17];
        std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
        return std::string(hex);
    });
}

int64_t Model::embedding_nonzeros() const {
    return embedding_nonzeros_->get([this] {
        const int64_t n = int64_t(config_.vocab_size) * config_.dim;
        int64_t nonzeros = 0;
        if (views_.token_embedding) {
            for (int64_t i = 0; i < n; ++i) nonzeros += views_.token_embedding[i] != 0.0f;
        } else {  // +0 and -0 are the 16-bit values with no bit set but the sign
            for (int64_t i = 0; i < n; ++i) nonzeros += (views_.token_embedding_half[i] & 0x7fffu) != 0;
        }
        return nonzeros;
    });
}

}  // namespace dtm
