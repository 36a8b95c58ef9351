#include "compress/candidate_file.h"

#include <cstring>
#include <map>

#include "compress/prune.h"
#include "compress/quantize.h"
#include "core/error.h"
#include "model/safetensors_file.h"

namespace dtm::compress {

namespace {

constexpr const char * kVersionKey = "dtm.candidate";
constexpr const char * kVersion = "1";
constexpr const char * kBaseKey = "dtm.base";
const std::string kFormatPrefix = "dtm.format.";

const char * format_name(dtm_weight_format f) {
    switch (f) {
        case DTM_FORMAT_FP32: return "fp32";
        case DTM_FORMAT_SPARSE: return "sparse";
        case DTM_FORMAT_INT8: return "int8";
        case DTM_FORMAT_INT8_OUTLIER: return "int8-outlier";
        case DTM_FORMAT_INT8_WEIGHT: return "int8-weight";
        case DTM_FORMAT_Q8_0: return "q8_0";
        case DTM_FORMAT_Q4_0: return "q4_0";
        case DTM_FORMAT_FP16: return "fp16";
        case DTM_FORMAT_BF16: return "bf16";
    }
    return "unknown";
}

bool parse_format(const std::string & name, dtm_weight_format * out) {
    for (int f = DTM_FORMAT_FP32; f <= DTM_FORMAT_BF16; ++f) {
        if (name == format_name(dtm_weight_format(f))) {
            *out = dtm_weight_format(f);
            return true;
        }
    }
    return false;
}

}  // namespace

void export_candidate(const Model & candidate, const Model & base, const std::string & path) {
    if (candidate.components().size() != base.components().size() || candidate.config().dim != base.config().dim) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, "the candidate is not a model of the base's shape");
    }
    std::map<std::string, std::string> metadata;
    metadata[kVersionKey] = kVersion;
    metadata[kBaseKey] = base.fingerprint();
    std::vector<std::vector<StoredTensor>> stored;  // keeps the bytes alive while writing
    std::vector<TensorView> views;
    for (int32_t i = 0; i < int32_t(candidate.components().size()); ++i) {
        std::shared_ptr<const Linear> lin = candidate.linear(i);
        if (!lin || lin == base.linear(i)) continue;
        const std::string & name = candidate.components()[size_t(i)].name;
        metadata[kFormatPrefix + name] = format_name(lin->format());
        stored.push_back(lin->stored_tensors());
        for (const StoredTensor & t : stored.back()) {
            views.push_back(TensorView{name + "." + t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
        }
    }
    write_safetensors(path, views, metadata);
}

std::unique_ptr<Model> load_candidate(const Model & base, const std::string & path) {
    return load_candidate(base, SafetensorsFile(path));
}

std::unique_ptr<Model> load_candidate(const Model & base, const SafetensorsFile & file) {
    const std::string & path = file.path();
    const auto & meta = file.metadata();
    auto version = meta.find(kVersionKey);
    if (version == meta.end()) {
        throw Error(DTM_ERR_MODEL_FORMAT, path + " is not a dtm candidate file (no '" + kVersionKey + "' metadata)");
    }
    if (version->second != kVersion) {
        throw Error(DTM_ERR_MODEL_FORMAT, path + " is a dtm candidate file of version " + version->second +
                                              "; this dtm reads version " + kVersion);
    }
    auto base_fp = meta.find(kBaseKey);
    if (base_fp == meta.end()) throw Error(DTM_ERR_MODEL_FORMAT, path + " does not name its base model");
    const std::string & ours = base.fingerprint();
    if (base_fp->second != ours) {
        throw Error(DTM_ERR_INVALID_ARGUMENT, path + " was made from another base model (fingerprint " +
                                                  base_fp->second + ", this base is " + ours + ")");
    }
    std::map<std::string, int32_t> index_of;
    for (int32_t i = 0; i < int32_t(base.components().size()); ++i) index_of[base.components()[size_t(i)].name] = i;

    std::vector<std::pair<int32_t, std::shared_ptr<const Linear>>> replacements;
    size_t claimed = 0;
    for (const auto & [key, value] : meta) {
        if (key.rfind(kFormatPrefix, 0) != 0) continue;
        const std::string name = key.substr(kFormatPrefix.size());
        auto it = index_of.find(name);
        if (it == index_of.end() || !base.linear(it->second)) {
            throw Error(DTM_ERR_MODEL_FORMAT, path + " holds component '" + name + "', which the base has no matrix for");
        }
        dtm_weight_format format;
        if (!parse_format(value, &format)) {
            throw Error(DTM_ERR_MODEL_FORMAT, path + ": unknown storage format '" + value + "' of " + name);
        }
        std::vector<StoredTensor> tensors;
        const std::string prefix = name + ".";
        for (const TensorView & t : file.tensors()) {
            if (t.name.rfind(prefix, 0) != 0) continue;
            tensors.push_back(StoredTensor{t.name.substr(prefix.size()), t.dtype, t.shape,
                                           std::vector<uint8_t>(t.data, t.data + t.n_bytes)});
        }
        claimed += tensors.size();
        const ComponentInfo & ci = base.components()[size_t(it->second)];
        std::shared_ptr<const Linear> lin;
        try {
            if (format == DTM_FORMAT_FP32) lin = DenseLinear::restore(ci.rows, ci.cols, tensors);
            else if (format == DTM_FORMAT_SPARSE) lin = restore_sparse(ci.rows, ci.cols, tensors);
            else if (format == DTM_FORMAT_FP16 || format == DTM_FORMAT_BF16) lin = HalfLinear::restore(format, ci.rows, ci.cols, tensors);
            else lin = restore_quantized(format, ci.rows, ci.cols, tensors);
        } catch (const Error & e) {
            throw Error(e.status(), path + ": " + name + ": " + e.what());
        }
        replacements.emplace_back(it->second, std::move(lin));
    }
    if (claimed != file.tensors().size()) {
        throw Error(DTM_ERR_MODEL_FORMAT, path + " holds tensors that belong to no listed component");
    }
    return base.with_linears(replacements);
}

}  // namespace dtm::compress
