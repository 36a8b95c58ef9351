// dtm_api.cpp - the C boundary. Every entry point runs its body inside
// guarded(), which turns dtm::Error, std::bad_alloc and any other exception
// into a status code and a thread-local message. Nothing throws past here.
#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "api/handles.h"
#include "backend/devices.h"
#include "compress/candidate_file.h"
#include "compress/component_match.h"
#include "compress/compress.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "core/version.h"
#include "dtm/dtm.h"
#include "export/gguf_export.h"
#include "export/hf_export.h"
#include "kernels/cpu/dispatch.h"
#include "model/architecture.h"
#include "model/hf_checkpoint.h"
#include "model/model.h"
#include "runtime/session.h"


namespace {

thread_local std::string g_last_error;

template <typename Body>
int32_t guarded(Body && body) {
    try {
        body();
        g_last_error.clear();
        return DTM_OK;
    } catch (const dtm::Error & e) {
        g_last_error = e.what();
        return e.status();
    } catch (const std::bad_alloc &) {
        g_last_error = "out of memory";
        return DTM_ERR_OUT_OF_MEMORY;
    } catch (const std::exception & e) {
        g_last_error = std::string("internal error: ") + e.what();
        return DTM_ERR_INTERNAL;
    } catch (...) {
        g_last_error = "internal error: unknown exception";
        return DTM_ERR_INTERNAL;
    }
}

void require(const void * p, const char * what) {
    if (p == nullptr) dtm::fail(DTM_ERR_INVALID_ARGUMENT, "%s must not be NULL", what);
}

// Copies bytes into a caller buffer with the two-call convention.
void copy_out(const std::string & s, char * text, int32_t capacity, int32_t * n_bytes) {
    require(n_bytes, "n_bytes");
    if (s.size() > size_t(INT32_MAX)) dtm::fail(DTM_ERR_INVALID_ARGUMENT, "text too long");
    *n_bytes = int32_t(s.size());
    if (capacity < 0) dtm::fail(DTM_ERR_INVALID_ARGUMENT, "capacity must be >= 0, got %d", capacity);
    if (int64_t(s.size()) > capacity || (text == nullptr && !s.empty())) {
        dtm::fail(DTM_ERR_BUFFER_TOO_SMALL, "need %zu bytes, buffer has %d", s.size(), capacity);
    }
    if (!s.empty()) std::memcpy(text, s.data(), s.size());
}

void check_token(const dtm::Model & m, int32_t token) {
    if (token < 0 || token >= m.config().vocab_size) {
        dtm::fail(DTM_ERR_TOKEN_OUT_OF_RANGE, "token id %d is outside the vocabulary [0, %d)", token,
                  m.config().vocab_size);
    }
}

std::string sibling_tokenizer(const std::string & model_path) {
    const size_t slash = model_path.find_last_of('/');
    return (slash == std::string::npos ? std::string() : model_path.substr(0, slash + 1)) + "tokenizer.bin";
}

}  // namespace

extern "C" {

const char * dtm_last_error(void) { return g_last_error.c_str(); }

const char * dtm_status_name(int32_t status) {
    switch (status) {
        case DTM_OK: return "OK";
        case DTM_ERR_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
        case DTM_ERR_IO: return "IO";
        case DTM_ERR_MODEL_FORMAT: return "MODEL_FORMAT";
        case DTM_ERR_TOKENIZER_FORMAT: return "TOKENIZER_FORMAT";
        case DTM_ERR_TOKEN_OUT_OF_RANGE: return "TOKEN_OUT_OF_RANGE";
        case DTM_ERR_CONTEXT_OVERFLOW: return "CONTEXT_OVERFLOW";
        case DTM_ERR_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
        case DTM_ERR_BUFFER_TOO_SMALL: return "BUFFER_TOO_SMALL";
        case DTM_ERR_UNSUPPORTED: return "UNSUPPORTED";
        case DTM_ERR_NON_FINITE: return "NON_FINITE";
        case DTM_ERR_INTERNAL: return "INTERNAL";
        default: return "UNKNOWN";
    }
}

const char * dtm_version(void) { return dtm::kVersion; }

int32_t dtm_cpu_best_isa(void) { return dtm::cpu::best_isa(); }

int32_t dtm_cpu_supports_isa(int32_t isa) {
    if (isa < DTM_ISA_SCALAR || isa > DTM_ISA_AVX512) return 0;
    return dtm::cpu::isa_supported(dtm_isa(isa)) ? 1 : 0;
}

const char * dtm_isa_name(int32_t isa) { return dtm::cpu::isa_name(isa); }

const char * dtm_component_kind_hf_name(int32_t kind) {
    if (kind >= 0 && kind < dtm::kLayerMatrices) return dtm::kLlamaLayer[kind].module;
    if (kind == DTM_COMPONENT_EMBEDDING) return dtm::kEmbeddingModule;
    if (kind == DTM_COMPONENT_LM_HEAD) return dtm::kHeadModule;
    return nullptr;
}

int32_t dtm_n_devices(void) { return int32_t(dtm::backend::devices().size()); }

int32_t dtm_device(int32_t index, dtm_device_info * out) {
    return guarded([&] {
        require(out, "out");
        const auto & list = dtm::backend::devices();
        if (index < 0 || size_t(index) >= list.size()) {
            dtm::fail(DTM_ERR_INVALID_ARGUMENT, "device index %d is outside [0, %zu)", index, list.size());
        }
        *out = list[size_t(index)];
    });
}

dtm_model_params dtm_model_default_params(void) {
    dtm_model_params p;
    p.tokenizer_path = nullptr;
    p.check_finite = 1;
    return p;
}

int32_t dtm_model_load(const char * path, dtm_model_params params, dtm_model ** out) {
    if (out != nullptr) *out = nullptr;
    return guarded([&] {
        require(out, "out");
        require(path, "path");
        const std::string model_path(path);
        const std::string tok_path = params.tokenizer_path ? std::string(params.tokenizer_path)
                                                           : sibling_tokenizer(model_path);
        auto m = std::make_unique<dtm_model>();
        if (dtm::is_directory(model_path)) {
            m->impl = dtm::Model::load_hf(model_path, params.check_finite != 0);
        } else {
            m->impl = dtm::Model::load_llama2c(model_path, tok_path, params.check_finite != 0);
        }
        *out = m.release();
    });
}

int32_t dtm_model_save_hf(const dtm_model * model, const char * dir) {
    return guarded([&] {
        require(model, "model");
        require(dir, "dir");
        dtm::save_hf_checkpoint(*model->impl, dir);
    });
}

void dtm_model_free(dtm_model * model) { delete model; }

int32_t dtm_model_get_config(const dtm_model * model, dtm_model_config * out) {
    return guarded([&] {
        require(model, "model");
        require(out, "out");
        const dtm::ModelConfig & c = model->impl->config();
        out->dim = c.dim;
        out->hidden_dim = c.hidden_dim;
        out->n_layers = c.n_layers;
        out->n_heads = c.n_heads;
        out->n_kv_heads = c.n_kv_heads;
        out->head_dim = c.head_dim;
        out->vocab_size = c.vocab_size;
        out->max_seq_len = c.max_seq_len;
        out->rope_theta = c.rope_theta;
        out->norm_eps = c.norm_eps;
        out->shared_classifier = c.shared_classifier ? 1 : 0;
        out->bos_id = c.bos_id;
        out->eos_id = c.eos_id;
        out->n_params = model->impl->n_params();
        out->source = model->impl->source() == dtm::Model::Source::kHuggingFace ? 1 : 0;
        out->rope_scaling = int32_t(c.rope_scaling.kind);
        out->rope_scaling_factor = c.rope_scaling.factor;
        out->rope_low_freq_factor = c.rope_scaling.low_freq_factor;
        out->rope_high_freq_factor = c.rope_scaling.high_freq_factor;
        out->rope_original_max_pos = c.rope_scaling.original_max_pos;
        out->qkv_bias = c.qkv_bias ? 1 : 0;
        out->o_bias = c.o_bias ? 1 : 0;
        out->mlp_bias = c.mlp_bias ? 1 : 0;
    });
}

int32_t dtm_model_n_components(const dtm_model * model) {
    return model == nullptr ? 0 : int32_t(model->impl->components().size());
}

int32_t dtm_model_component(const dtm_model * model, int32_t index, dtm_component_info * out) {
    return guarded([&] {
        require(model, "model");
        require(out, "out");
        const auto & comps = model->impl->components();
        if (index < 0 || size_t(index) >= comps.size()) {
            dtm::fail(DTM_ERR_INVALID_ARGUMENT, "component index %d is outside [0, %zu)", index, comps.size());
        }
        const dtm::ComponentInfo & ci = comps[size_t(index)];
        std::memset(out->name, 0, sizeof(out->name));
        std::strncpy(out->name, ci.name.c_str(), sizeof(out->name) - 1);
        out->kind = ci.kind;
        out->layer = ci.layer;
        out->rows = ci.rows;
        out->cols = ci.cols;
        const int64_t n_weights = ci.rows * ci.cols;
        if (std::shared_ptr<const dtm::Linear> lin = model->impl->linear(index)) {
            out->format = lin->format();
            out->sparsity = n_weights == 0 ? 0.0f : float(double(n_weights - lin->nonzeros()) / double(n_weights));
            out->storage_bytes = int64_t(lin->storage_bytes());
        } else {  // the embedding: the table in the model file (fp32, or 16 bits)
            const dtm::WeightViews & v = model->impl->views();
            const int64_t zeros = n_weights - model->impl->embedding_nonzeros();
            out->format = v.token_embedding ? DTM_FORMAT_FP32
                          : v.token_embedding_kind == dtm::cpu::HalfKind::kBf16 ? DTM_FORMAT_BF16
                                                                               : DTM_FORMAT_FP16;
            out->sparsity = n_weights == 0 ? 0.0f : float(double(zeros) / double(n_weights));
            out->storage_bytes = n_weights * v.embedding_value_bytes();
        }
    });
}

int32_t dtm_tokenize(const dtm_model * model, const char * text, int32_t text_len, int32_t add_bos,
                     int32_t * tokens, int32_t capacity, int32_t * n_tokens) {
    return guarded([&] {
        require(model, "model");
        require(n_tokens, "n_tokens");
        if (text_len < 0) dtm::fail(DTM_ERR_INVALID_ARGUMENT, "text_len must be >= 0, got %d", text_len);
        if (text_len > 0) require(text, "text");
        if (capacity < 0) dtm::fail(DTM_ERR_INVALID_ARGUMENT, "capacity must be >= 0, got %d", capacity);
        const std::vector<int32_t> ids =
            model->impl->tokenizer().encode(std::string_view(text ? text : "", size_t(text_len)), add_bos != 0);
        *n_tokens = int32_t(ids.size());
        if (int64_t(ids.size()) > capacity || (tokens == nullptr && !ids.empty())) {
            dtm::fail(DTM_ERR_BUFFER_TOO_SMALL, "need room for %zu tokens, buffer has %d", ids.size(), capacity);
        }
        if (!ids.empty()) std::memcpy(tokens, ids.data(), ids.size() * sizeof(int32_t));
    });
}

int32_t dtm_detokenize(const dtm_model * model, const int32_t * tokens, int32_t n_tokens, char * text,
                       int32_t capacity, int32_t * n_bytes) {
    return guarded([&] {
        require(model, "model");
        if (n_tokens < 0) dtm::fail(DTM_ERR_INVALID_ARGUMENT, "n_tokens must be >= 0, got %d", n_tokens);
        if (n_tokens > 0) require(tokens, "tokens");
        for (int32_t i = 0; i < n_tokens; ++i) check_token(*model->impl, tokens[i]);
        const std::vector<int32_t> ids(tokens, tokens + n_tokens);
        copy_out(model->impl->tokenizer().decode(ids), text, capacity, n_bytes);
    });
}

int32_t dtm_token_piece(const dtm_model * model, int32_t token, char * text, int32_t capacity, int32_t * n_bytes) {
    return guarded([&] {
        require(model, "model");
        check_token(*model->impl, token);
        copy_out(model->impl->tokenizer().piece(token), text, capacity, n_bytes);
    });
}

int32_t dtm_token_score(const dtm_model * model, int32_t token, float * out) {
    return guarded([&] {
        require(model, "model");
        require(out, "out");
        check_token(*model->impl, token);
        *out = model->impl->tokenizer().score(token);
    });
}

dtm_session_params dtm_session_default_params(void) {
    dtm_session_params p;
    p.n_threads = 0;
    p.isa = DTM_ISA_AUTO;
    p.max_sequences = 0;
    p.max_batch_tokens = 0;
    p.device = "cpu";
    return p;
}

int32_t dtm_session_create(const dtm_model * model, dtm_session_params params, dtm_session ** out) {
    if (out != nullptr) *out = nullptr;
    return guarded([&] {
        require(model, "model");
        require(out, "out");
        auto s = std::make_unique<dtm_session>();
        s->impl = std::make_unique<dtm::Session>(*model->impl, params);
        *out = s.release();
    });
}

void dtm_session_free(dtm_session * session) { delete session; }

int32_t dtm_session_isa(const dtm_session * session) {
    return session == nullptr ? DTM_ISA_AUTO : int32_t(session->impl->isa());
}

const char * dtm_session_device(const dtm_session * session) {
    return session == nullptr ? nullptr : session->impl->device().c_str();
}

int32_t dtm_max_threads(void) { return dtm::ThreadPool::max_threads(); }

int32_t dtm_session_n_threads(const dtm_session * session) {
    return session == nullptr ? 0 : session->impl->n_threads();
}

int32_t dtm_session_reset(dtm_session * session) {
    return guarded([&] {
        require(session, "session");
        session->impl->reset();
    });
}

int32_t dtm_session_decode(dtm_session * session, int32_t token, float * logits) {
    return guarded([&] {
        require(session, "session");
        session->impl->decode(token, logits);
    });
}

int32_t dtm_session_position(const dtm_session * session) {
    return session == nullptr ? 0 : session->impl->position();
}

int32_t dtm_generate_greedy(dtm_session * session, const int32_t * prompts, const int32_t * prompt_lens,
                            int32_t n_prompts, int32_t n_new, int32_t stop_at_eos, int32_t * out_tokens,
                            int32_t * out_lens) {
    return guarded([&] {
        require(session, "session");
        session->impl->generate_greedy(prompts, prompt_lens, n_prompts, n_new, stop_at_eos != 0, out_tokens,
                                       out_lens);
    });
}

int32_t dtm_score(dtm_session * session, const int32_t * tokens, const int32_t * seq_lens, int32_t n_seqs,
                  dtm_score_outputs outputs) {
    return guarded([&] {
        require(session, "session");
        session->impl->score(tokens, seq_lens, n_seqs, outputs);
    });
}

}  // extern "C"

extern "C" int32_t dtm_evaluate(dtm_session * candidate, dtm_session * base, dtm_eval_inputs inputs,
                                dtm_eval_outputs outputs) {
    return guarded([&] {
        require(candidate, "candidate");
        candidate->impl->evaluate(base ? base->impl.get() : nullptr, inputs, outputs);
    });
}

int32_t dtm_capture_layer_inputs(dtm_session * session, dtm_eval_inputs inputs, int32_t layer,
                                 const dtm_layer_inputs * from, dtm_layer_inputs ** out) {
    if (out) *out = nullptr;
    return guarded([&] {
        require(session, "session");
        require(out, "out");
        auto cache = std::make_unique<dtm_layer_inputs>();
        cache->rows = session->impl->capture_layer_inputs(inputs, layer, from ? from->rows.get() : nullptr);
        *out = cache.release();
    });
}

void dtm_layer_inputs_free(dtm_layer_inputs * inputs) { delete inputs; }

int64_t dtm_layer_inputs_bytes(const dtm_layer_inputs * inputs) {
    return inputs == nullptr ? 0 : int64_t(inputs->rows->x.size() * sizeof(float));
}

int32_t dtm_evaluate_from(dtm_session * candidate, dtm_session * base, dtm_eval_inputs inputs,
                          const dtm_layer_inputs * from, dtm_eval_outputs outputs) {
    return guarded([&] {
        require(candidate, "candidate");
        require(from, "from");
        candidate->impl->evaluate(base ? base->impl.get() : nullptr, inputs, outputs, from->rows.get());
    });
}

/* ------------------------------------------------------------------------ */
/* Compression                                                                */
/* ------------------------------------------------------------------------ */

int32_t dtm_calibrate(dtm_session * session, const int32_t * tokens, const int32_t * seq_lens, int32_t n_seqs,
                      dtm_calibration ** out) {
    if (out) *out = nullptr;
    return guarded([&] {
        require(session, "session");
        require(out, "out");
        auto calib = std::make_unique<dtm_calibration>();
        calib->norms = std::make_unique<dtm::InputNorms>(session->impl->model().config());
        session->impl->calibrate(tokens, seq_lens, n_seqs, *calib->norms);
        *out = calib.release();
    });
}

void dtm_calibration_free(dtm_calibration * calibration) { delete calibration; }

int32_t dtm_model_find_components(const dtm_model * model, const char * pattern, int32_t * indices, int32_t capacity,
                                  int32_t * n_found) {
    return guarded([&] {
        require(model, "model");
        require(pattern, "pattern");
        require(n_found, "n_found");
        if (capacity < 0) dtm::fail(DTM_ERR_INVALID_ARGUMENT, "capacity must be >= 0, got %d", capacity);
        std::vector<std::string> names;
        for (const dtm::ComponentInfo & ci : model->impl->components()) names.push_back(ci.name);
        const std::vector<int32_t> found = dtm::compress::find_matching(pattern, names);
        *n_found = int32_t(found.size());
        if (int32_t(found.size()) > capacity) {
            dtm::fail(DTM_ERR_BUFFER_TOO_SMALL, "%zu components match, capacity is %d", found.size(), capacity);
        }
        require(indices, "indices");
        std::copy(found.begin(), found.end(), indices);
    });
}

int32_t dtm_model_compress(const dtm_model * model, int32_t n, const int32_t * components,
                           const dtm_compression * settings, const dtm_calibration * calibration, int32_t n_threads,
                           dtm_model ** out) {
    if (out) *out = nullptr;
    return guarded([&] {
        require(model, "model");
        require(out, "out");
        if (n < 0) dtm::fail(DTM_ERR_INVALID_ARGUMENT, "n must be >= 0, got %d", n);
        if (n > 0) {
            require(components, "components");
            require(settings, "settings");
        }
        std::vector<dtm::compress::ComponentCompression> requests;
        for (int32_t i = 0; i < n; ++i) requests.push_back({components[i], settings[i]});
        auto candidate = std::make_unique<dtm_model>();
        candidate->impl = dtm::compress::compress_model(*model->impl, requests,
                                                        calibration ? calibration->norms.get() : nullptr, n_threads);
        *out = candidate.release();
    });
}

int32_t dtm_model_component_weights(const dtm_model * model, int32_t component, float * out, int64_t capacity) {
    return guarded([&] {
        require(model, "model");
        require(out, "out");
        const auto & comps = model->impl->components();
        if (component < 0 || size_t(component) >= comps.size()) {
            dtm::fail(DTM_ERR_INVALID_ARGUMENT, "component index %d is outside [0, %zu)", component, comps.size());
        }
        const dtm::ComponentInfo & ci = comps[size_t(component)];
        if (capacity < ci.rows * ci.cols) {
            dtm::fail(DTM_ERR_BUFFER_TOO_SMALL, "%s has %lld weights, capacity is %lld", ci.name.c_str(),
                      (long long)(ci.rows * ci.cols), (long long)capacity);
        }
        if (std::shared_ptr<const dtm::Linear> lin = model->impl->linear(component)) {
            lin->dense_weights(out);
        } else {
            dtm::embedding_rows(model->impl->views(), 0, ci.rows, ci.cols, out);
        }
    });
}

int32_t dtm_model_norm_weights(const dtm_model * model, int32_t kind, int32_t layer, float * out, int64_t capacity) {
    return guarded([&] {
        require(model, "model");
        require(out, "out");
        const dtm::WeightViews & w = model->impl->views();
        const int64_t dim = model->impl->config().dim;
        const float * norm = nullptr;
        if (kind == DTM_NORM_FINAL) {
            norm = w.final_norm;
        } else if (kind == DTM_NORM_ATTENTION || kind == DTM_NORM_MLP) {
            if (layer < 0 || size_t(layer) >= w.layers.size()) {
                dtm::fail(DTM_ERR_INVALID_ARGUMENT, "layer %d is outside [0, %zu)", layer, w.layers.size());
            }
            norm = kind == DTM_NORM_ATTENTION ? w.layers[size_t(layer)].attn_norm : w.layers[size_t(layer)].mlp_norm;
        } else {
            dtm::fail(DTM_ERR_INVALID_ARGUMENT, "norm kind %d is none of DTM_NORM_ATTENTION, DTM_NORM_MLP, DTM_NORM_FINAL",
                      kind);
        }
        if (capacity < dim) {
            dtm::fail(DTM_ERR_BUFFER_TOO_SMALL, "a norm has %lld weights, capacity is %lld", (long long)dim,
                      (long long)capacity);
        }
        std::memcpy(out, norm, size_t(dim) * sizeof(float));
    });
}

int32_t dtm_model_with_weights(const dtm_model * model, int32_t n, const int32_t * components, const float * weights,
                               int64_t n_weights, dtm_model ** out) {
    if (out) *out = nullptr;
    return guarded([&] {
        require(model, "model");
        require(out, "out");
        if (n < 0) dtm::fail(DTM_ERR_INVALID_ARGUMENT, "n must be >= 0, got %d", n);
        if (n > 0) {
            require(components, "components");
            require(weights, "weights");
        }
        auto candidate = std::make_unique<dtm_model>();
        candidate->impl = dtm::compress::with_weights(*model->impl, {components, components + n}, weights, n_weights);
        *out = candidate.release();
    });
}

int32_t dtm_candidate_export(const dtm_model * model, const dtm_model * base, const char * path) {
    return guarded([&] {
        require(model, "model");
        require(base, "base");
        require(path, "path");
        dtm::compress::export_candidate(*model->impl, *base->impl, path);
    });
}

int32_t dtm_candidate_load(const dtm_model * base, const char * path, dtm_model ** out) {
    if (out) *out = nullptr;
    return guarded([&] {
        require(base, "base");
        require(path, "path");
        require(out, "out");
        auto candidate = std::make_unique<dtm_model>();
        candidate->impl = dtm::compress::load_candidate(*base->impl, path);
        *out = candidate.release();
    });
}

namespace {

// n strings from one byte buffer and n + 1 offsets into it.
std::vector<std::string> strings_of(const char * text, const int64_t * offsets, int32_t n, const char * what) {
    std::vector<std::string> out;
    if (n == 0) return out;
    require(text, what);
    require(offsets, what);
    out.reserve(size_t(n));
    for (int32_t i = 0; i < n; ++i) {
        if (offsets[i] < 0 || offsets[i + 1] < offsets[i]) {
            dtm::fail(DTM_ERR_INVALID_ARGUMENT, "%s: offsets %d and %d (%lld, %lld) are out of order", what, i, i + 1,
                      static_cast<long long>(offsets[i]), static_cast<long long>(offsets[i + 1]));
        }
        out.emplace_back(text + offsets[i], size_t(offsets[i + 1] - offsets[i]));
    }
    return out;
}

dtm::GgufVocabulary vocabulary_of(const dtm_gguf_vocab & v) {
    if (v.kind != DTM_GGUF_VOCAB_SENTENCEPIECE && v.kind != DTM_GGUF_VOCAB_BYTE_PAIRS) {
        dtm::fail(DTM_ERR_INVALID_ARGUMENT, "unknown GGUF vocabulary kind %d", v.kind);
    }
    if (v.n_tokens < 0 || v.n_merges < 0) {
        dtm::fail(DTM_ERR_INVALID_ARGUMENT, "negative token (%d) or merge (%d) count", v.n_tokens, v.n_merges);
    }
    dtm::GgufVocabulary out;
    out.kind = v.kind == DTM_GGUF_VOCAB_SENTENCEPIECE ? dtm::GgufVocabulary::Kind::kSentencePiece
                                                      : dtm::GgufVocabulary::Kind::kBytePairs;
    out.tokens = strings_of(v.token_text, v.token_offsets, v.n_tokens, "the vocabulary's tokens");
    if (v.scores) out.scores.assign(v.scores, v.scores + v.n_tokens);
    require(v.token_types, "token_types");
    out.types.assign(v.token_types, v.token_types + v.n_tokens);
    out.merges = strings_of(v.merge_text, v.merge_offsets, v.n_merges, "the vocabulary's merges");
    out.bos_id = v.bos_id;
    out.eos_id = v.eos_id;
    out.unk_id = v.unk_id;
    out.pad_id = v.pad_id;
    out.add_bos = v.add_bos != 0;
    out.add_eos = v.add_eos != 0;
    out.add_space_prefix = v.add_space_prefix != 0;
    if (v.pre) out.pre = v.pre;
    return out;
}

}  // namespace

int32_t dtm_model_fingerprint(const dtm_model * model, char * text, int32_t capacity, int32_t * n_bytes) {
    return guarded([&] {
        require(model, "model");
        copy_out(model->impl->fingerprint(), text, capacity, n_bytes);
    });
}

int32_t dtm_model_export_gguf(const dtm_model * model, const dtm_gguf_vocab * vocab, const char * name,
                              const char * path) {
    return guarded([&] {
        require(model, "model");
        require(vocab, "vocab");
        require(path, "path");
        dtm::export_gguf(*model->impl, vocabulary_of(*vocab), name ? name : "", path);
    });
}

int32_t dtm_model_export_hf(const dtm_model * model, const char * dir) {
    return guarded([&] {
        require(model, "model");
        require(dir, "dir");
        dtm::export_hf(*model->impl, dir);
    });
}
