#include "compress/compress.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "compress/prune.h"
#include "compress/quantize.h"
#include "core/error.h"
#include "core/thread_pool.h"

namespace dtm::compress {

namespace {

bool is_pruning(int32_t kind) {
    return kind == DTM_COMPRESS_PRUNE_MAGNITUDE || kind == DTM_COMPRESS_PRUNE_N_M || kind == DTM_COMPRESS_PRUNE_WANDA;
}

}  // namespace

void validate(const dtm_compression & spec) {
    if (spec.kind < DTM_COMPRESS_PRUNE_MAGNITUDE || spec.kind > DTM_COMPRESS_Q4_0) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "unknown compression kind " + std::to_string(spec.kind));
    }
    if ((spec.kind == DTM_COMPRESS_PRUNE_MAGNITUDE || spec.kind == DTM_COMPRESS_PRUNE_WANDA) &&
        !(spec.sparsity >= 0.0f && spec.sparsity <= 1.0f)) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "sparsity must be in [0, 1], got " + std::to_string(spec.sparsity));
    }
    if (spec.kind == DTM_COMPRESS_INT8_OUTLIER && !(spec.outlier_threshold >= 0.0f && std::isfinite(spec.outlier_threshold))) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "outlier threshold must be a finite number >= 0 (0 = 6.0), got " +
                                                  std::to_string(spec.outlier_threshold));
    }
}

std::shared_ptr<const Linear> compress_linear(const Linear & current, const dtm_compression & spec,
                                              const float * input_norms) {
    validate(spec);
    const int64_t rows = current.rows(), cols = current.cols();
    std::vector<float> w(static_cast<size_t>(rows * cols));
    current.dense_weights(w.data());
    if (is_pruning(spec.kind)) {
        prune(w.data(), rows, cols, spec, input_norms);
        return make_pruned_linear(w.data(), rows, cols);
    }
    return quantize(w.data(), rows, cols, spec);
}

std::unique_ptr<Model> compress_model(const Model & model, const std::vector<ComponentCompression> & requests,
                                      const InputNorms * norms, int n_threads) {
    ThreadPool::check_thread_count(n_threads);  // before any work, though fewer threads may do it
    const auto & comps = model.components();
    std::vector<bool> seen(comps.size(), false);
    for (const ComponentCompression & r : requests) {
        if (r.component < 0 || size_t(r.component) >= comps.size()) {
            throw Error(DTM_ERR_INVALID_ARGUMENT, "component index " + std::to_string(r.component) + " out of range [0, " +
                                                      std::to_string(comps.size()) + ")");
        }
        const ComponentInfo & ci = comps[size_t(r.component)];
        if (seen[size_t(r.component)]) throw Error(DTM_ERR_INVALID_ARGUMENT, ci.name + " is listed twice");
        seen[size_t(r.component)] = true;
        if (!model.linear(r.component)) {
            throw Error(DTM_ERR_UNSUPPORTED, ci.name + " is a lookup table, not a matrix product, and cannot be compressed");
        }
        try {
            validate(r.spec);
        } catch (const Error & e) {
            throw Error(e.status(), ci.name + ": " + e.what());
        }
        if (r.spec.kind == DTM_COMPRESS_PRUNE_WANDA) {
            if (!norms) throw Error(DTM_ERR_INVALID_ARGUMENT, ci.name + ": Wanda pruning needs a calibration (dtm_calibrate)");
            const ModelConfig & a = norms->config();
            const ModelConfig & b = model.config();
            if (a.dim != b.dim || a.hidden_dim != b.hidden_dim || a.n_layers != b.n_layers || a.q_dim() != b.q_dim()) {
                throw Error(DTM_ERR_INVALID_ARGUMENT, "the calibration was made on a model of another shape");
            }
        }
    }

    std::vector<std::pair<int32_t, std::shared_ptr<const Linear>>> replaced(requests.size());
    std::vector<std::string> errors(requests.size());
    std::vector<dtm_status> statuses(requests.size(), DTM_OK);
    const int threads = n_threads > 0 ? n_threads : ThreadPool::hardware_threads();
    ThreadPool pool(std::min<int>(threads, int(std::max<size_t>(1, requests.size()))));
    pool.parallel_for(int64_t(requests.size()), [&](int64_t i, int) {
        const ComponentCompression & r = requests[size_t(i)];
        const ComponentInfo & ci = comps[size_t(r.component)];
        try {
            std::vector<float> n;
            if (r.spec.kind == DTM_COMPRESS_PRUNE_WANDA) n = norms->norms(ci.kind, ci.layer);
            replaced[size_t(i)] = {r.component, compress_linear(*model.linear(r.component), r.spec,
                                                                n.empty() ? nullptr : n.data())};
        } catch (const Error & e) {
            statuses[size_t(i)] = e.status();
            errors[size_t(i)] = ci.name + ": " + e.what();
        } catch (const std::bad_alloc &) {
            statuses[size_t(i)] = DTM_ERR_OUT_OF_MEMORY;
            errors[size_t(i)] = ci.name + ": out of memory";
        }
    });
    for (size_t i = 0; i < requests.size(); ++i) {
        if (statuses[i] != DTM_OK) throw Error(statuses[i], errors[i]);
    }
    return model.with_linears(replaced);
}

}  // namespace dtm::compress

namespace dtm::compress {

std::unique_ptr<Model> with_weights(const Model & model, const std::vector<int32_t> & components,
                                    const float * weights, int64_t n_weights) {
    const auto & comps = model.components();
    std::vector<bool> seen(comps.size(), false);
    int64_t total = 0;
    for (int32_t c : components) {
        if (c < 0 || size_t(c) >= comps.size()) {
            throw Error(DTM_ERR_INVALID_ARGUMENT, "component index " + std::to_string(c) + " out of range [0, " +
                                                      std::to_string(comps.size()) + ")");
        }
        const ComponentInfo & ci = comps[size_t(c)];
        if (seen[size_t(c)]) throw Error(DTM_ERR_INVALID_ARGUMENT, ci.name + " is listed twice");
        seen[size_t(c)] = true;
        if (!model.linear(c)) {
            throw Error(DTM_ERR_UNSUPPORTED, ci.name + " is a lookup table, not a matrix product: its weights cannot be replaced");
        }
        total += ci.rows * ci.cols;
    }
    if (n_weights != total) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "the listed components have " + std::to_string(total) + " weights, got " +
                                                  std::to_string(n_weights));
    }
    std::vector<std::pair<int32_t, std::shared_ptr<const Linear>>> replaced;
    replaced.reserve(components.size());
    const float * w = weights;
    for (int32_t c : components) {
        const ComponentInfo & ci = comps[size_t(c)];
        const int64_t n = ci.rows * ci.cols;
        for (int64_t i = 0; i < n; ++i) {
            if (!std::isfinite(w[i])) {
                throw Error(DTM_ERR_NON_FINITE, ci.name + ": weight " + std::to_string(i) + " is not finite");
            }
        }
        replaced.emplace_back(c, make_pruned_linear(w, ci.rows, ci.cols));
        w += n;
    }
    return model.with_linears(replaced);
}

}  // namespace dtm::compress
