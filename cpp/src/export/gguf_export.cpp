#include "export/gguf_export.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "compress/block_quant_linear.h"
#include "core/error.h"
#include "core/version.h"
#include "export/tied_head.h"
#include "model/architecture.h"
#include "model/model.h"

namespace dtm {

namespace {

using gguf::TensorType;

std::vector<uint8_t> float_bytes(const float * p, int64_t n) {
    std::vector<uint8_t> out(size_t(n) * sizeof(float));
    if (n > 0) std::memcpy(out.data(), p, out.size());
    return out;
}

const StoredTensor & stored(const std::vector<StoredTensor> & tensors, const char * name) {
    for (const StoredTensor & t : tensors) {
        if (t.name == name) return t;
    }
    fail(DTM_ERR_INTERNAL, "a stored matrix has no '%s' tensor", name);
}

// The bytes of a matrix in gguf_type_of(its format), rows in the engine's order.
std::vector<uint8_t> matrix_bytes(const Linear & lin) {
    const int64_t rows = lin.rows(), cols = lin.cols();
    switch (lin.format()) {
        case DTM_FORMAT_Q8_0:
        case DTM_FORMAT_Q4_0:
            return stored(lin.stored_tensors(), "blocks").bytes;  // ggml's block layout already
        case DTM_FORMAT_FP16:
        case DTM_FORMAT_BF16:
            return stored(lin.stored_tensors(), "weight").bytes;
        case DTM_FORMAT_INT8:
        case DTM_FORMAT_INT8_OUTLIER:
        case DTM_FORMAT_INT8_WEIGHT: {
            std::vector<float> w(size_t(rows * cols));
            lin.dense_weights(w.data());
            auto q8 = compress::BlockQuantLinear::quantize(DTM_FORMAT_Q8_0, w.data(), rows, cols);
            return stored(q8->stored_tensors(), "blocks").bytes;
        }
        case DTM_FORMAT_FP32:
        case DTM_FORMAT_SPARSE: {
            std::vector<float> w(size_t(rows * cols));
            lin.dense_weights(w.data());
            return float_bytes(w.data(), rows * cols);
        }
    }
    fail(DTM_ERR_INTERNAL, "unknown weight format %d", int(lin.format()));
}

// llama3 rope scaling as llama.cpp takes it: rope_freqs[i] divides the
// frequency theta^(-2i/head_dim) (Hugging Face's _compute_llama3_parameters).
std::vector<float> llama3_frequency_divisors(const ModelConfig & c) {
    const RopeScaling & s = c.rope_scaling;
    const double pi = std::acos(-1.0);
    const double low_wavelen = double(s.original_max_pos) / s.low_freq_factor;
    const double high_wavelen = double(s.original_max_pos) / s.high_freq_factor;
    std::vector<float> out(size_t(c.head_dim / 2));
    for (int32_t i = 0; i < c.head_dim / 2; ++i) {
        const double freq = std::pow(double(c.rope_theta), -2.0 * i / c.head_dim);
        const double wavelen = 2.0 * pi / freq;
        double divisor;
        if (wavelen < high_wavelen) {
            divisor = 1.0;
        } else if (wavelen > low_wavelen) {
            divisor = s.factor;
        } else {
            const double smooth = (s.original_max_pos / wavelen - s.low_freq_factor) /
                                  (s.high_freq_factor - s.low_freq_factor);
            divisor = 1.0 / ((1.0 - smooth) / s.factor + smooth);
        }
        out[size_t(i)] = float(divisor);
    }
    return out;
}

void check_vocabulary(const GgufVocabulary & v, const ModelConfig & c) {
    const size_t n = size_t(c.vocab_size);
    if (v.tokens.size() != n) {
        fail(DTM_ERR_INVALID_ARGUMENT, "the GGUF vocabulary has %zu tokens, the model %d", v.tokens.size(), c.vocab_size);
    }
    if (!v.scores.empty() && v.scores.size() != n) {
        fail(DTM_ERR_INVALID_ARGUMENT, "the GGUF vocabulary has %zu scores for %zu tokens", v.scores.size(), n);
    }
    if (v.types.size() != n) {
        fail(DTM_ERR_INVALID_ARGUMENT, "the GGUF vocabulary has %zu token types for %zu tokens", v.types.size(), n);
    }
    for (size_t i = 0; i < n; ++i) {
        if (v.types[i] < 1 || v.types[i] > 6) {
            fail(DTM_ERR_INVALID_ARGUMENT, "token %zu has type %d; GGUF token types are 1 to 6", i, v.types[i]);
        }
    }
    const int32_t ids[] = {v.bos_id, v.eos_id, v.unk_id, v.pad_id};
    const char * what[] = {"BOS", "EOS", "unknown", "padding"};
    for (int k = 0; k < 4; ++k) {
        if (ids[k] < -1 || ids[k] >= c.vocab_size) {
            fail(DTM_ERR_INVALID_ARGUMENT, "the %s token id %d is outside the vocabulary [0, %d)", what[k], ids[k],
                 c.vocab_size);
        }
    }
    if (v.kind == GgufVocabulary::Kind::kSentencePiece && !v.merges.empty()) {
        fail(DTM_ERR_INVALID_ARGUMENT, "a SentencePiece vocabulary merges by score and takes no merges (%zu given)",
             v.merges.size());
    }
    if (v.kind == GgufVocabulary::Kind::kBytePairs && v.merges.empty()) {
        fail(DTM_ERR_INVALID_ARGUMENT, "a byte-pair vocabulary needs its merges (none given)");
    }
}

void add_vocabulary(gguf::Writer & w, const GgufVocabulary & v) {
    const bool spm = v.kind == GgufVocabulary::Kind::kSentencePiece;
    w.add_string("tokenizer.ggml.model", spm ? "llama" : "gpt2");
    if (!spm && !v.pre.empty()) w.add_string("tokenizer.ggml.pre", v.pre);
    w.add_string_array("tokenizer.ggml.tokens", v.tokens);
    if (!v.scores.empty()) w.add_float32_array("tokenizer.ggml.scores", v.scores);
    w.add_int32_array("tokenizer.ggml.token_type", v.types);
    if (!spm) w.add_string_array("tokenizer.ggml.merges", v.merges);
    if (v.bos_id >= 0) w.add_uint32("tokenizer.ggml.bos_token_id", uint32_t(v.bos_id));
    if (v.eos_id >= 0) w.add_uint32("tokenizer.ggml.eos_token_id", uint32_t(v.eos_id));
    if (v.unk_id >= 0) w.add_uint32("tokenizer.ggml.unknown_token_id", uint32_t(v.unk_id));
    if (v.pad_id >= 0) w.add_uint32("tokenizer.ggml.padding_token_id", uint32_t(v.pad_id));
    w.add_bool("tokenizer.ggml.add_bos_token", v.add_bos);
    w.add_bool("tokenizer.ggml.add_eos_token", v.add_eos);
    if (spm) w.add_bool("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
}

}  // namespace

gguf::TensorType gguf_type_of(dtm_weight_format format) {
    switch (format) {
        case DTM_FORMAT_FP16: return TensorType::kF16;
        case DTM_FORMAT_BF16: return TensorType::kBF16;
        case DTM_FORMAT_Q8_0:
        case DTM_FORMAT_INT8:
        case DTM_FORMAT_INT8_OUTLIER:
        case DTM_FORMAT_INT8_WEIGHT: return TensorType::kQ8_0;
        case DTM_FORMAT_Q4_0: return TensorType::kQ4_0;
        case DTM_FORMAT_FP32:
        case DTM_FORMAT_SPARSE: return TensorType::kF32;
    }
    fail(DTM_ERR_INTERNAL, "unknown weight format %d", int(format));
}

uint64_t export_gguf(const Model & model, const GgufVocabulary & vocabulary, const std::string & name,
                     const std::string & path) {
    const ModelConfig & c = model.config();
    check_vocabulary(vocabulary, c);
    if (c.rope_scaling.kind == RopeScalingKind::kDynamic) {
        fail(DTM_ERR_UNSUPPORTED, "dynamic (NTK) rope scaling has no GGUF form: llama.cpp's llama architecture "
                                  "knows linear, yarn and llama3-style frequency factors only");
    }
    // Matrices that become Q8_0 need whole blocks: check before anything is written.
    for (int32_t i = 0; i < int32_t(model.components().size()); ++i) {
        std::shared_ptr<const Linear> lin = model.linear(i);
        if (!lin) continue;
        const TensorType t = gguf_type_of(lin->format());
        if ((t == TensorType::kQ8_0 || t == TensorType::kQ4_0) && lin->cols() % 32 != 0) {
            fail(DTM_ERR_UNSUPPORTED, "%s: GGUF's %s needs rows of a multiple of 32 values, this matrix has %lld",
                 model.components()[size_t(i)].name.c_str(), gguf::type_name(t), static_cast<long long>(lin->cols()));
        }
    }

    gguf::Writer w;
    w.add_string("general.architecture", "llama");
    w.add_string(kWriterKey, kWriterValue);
    if (!name.empty()) w.add_string("general.name", name);
    w.add_uint32("llama.context_length", uint32_t(c.max_seq_len));
    w.add_uint32("llama.embedding_length", uint32_t(c.dim));
    w.add_uint32("llama.block_count", uint32_t(c.n_layers));
    w.add_uint32("llama.feed_forward_length", uint32_t(c.hidden_dim));
    w.add_uint32("llama.attention.head_count", uint32_t(c.n_heads));
    w.add_uint32("llama.attention.head_count_kv", uint32_t(c.n_kv_heads));
    if (int64_t(c.head_dim) * c.n_heads != c.dim) {
        w.add_uint32("llama.attention.key_length", uint32_t(c.head_dim));
        w.add_uint32("llama.attention.value_length", uint32_t(c.head_dim));
    }
    w.add_uint32("llama.rope.dimension_count", uint32_t(c.head_dim));
    w.add_float32("llama.rope.freq_base", c.rope_theta);
    if (c.rope_scaling.kind == RopeScalingKind::kLinear) {
        w.add_string("llama.rope.scaling.type", "linear");
        w.add_float32("llama.rope.scaling.factor", c.rope_scaling.factor);
    }
    w.add_float32("llama.attention.layer_norm_rms_epsilon", c.norm_eps);
    w.add_uint32("llama.vocab_size", uint32_t(c.vocab_size));
    add_vocabulary(w, vocabulary);

    const WeightViews & v = model.views();
    const int64_t vocab = c.vocab_size, dim = c.dim;
    if (v.token_embedding) {
        w.add_tensor("token_embd.weight", TensorType::kF32, {dim, vocab},
                     [&] { return float_bytes(v.token_embedding, vocab * dim); });
    } else {
        const TensorType t = v.token_embedding_kind == cpu::HalfKind::kBf16 ? TensorType::kBF16 : TensorType::kF16;
        w.add_tensor("token_embd.weight", t, {dim, vocab}, [&] {
            const uint8_t * p = reinterpret_cast<const uint8_t *>(v.token_embedding_half);
            return std::vector<uint8_t>(p, p + vocab * dim * 2);
        });
    }
    w.add_tensor("output_norm.weight", TensorType::kF32, {dim}, [&] { return float_bytes(v.final_norm, dim); });
    if (!head_is_embedding(model)) {
        const Linear & head = model.classifier();
        w.add_tensor("output.weight", gguf_type_of(head.format()), {dim, vocab}, [&head] { return matrix_bytes(head); });
    }
    if (c.rope_scaling.kind == RopeScalingKind::kLlama3) {
        std::vector<float> divisors = llama3_frequency_divisors(c);
        w.add_tensor("rope_freqs.weight", TensorType::kF32, {int64_t(divisors.size())},
                     [divisors] { return float_bytes(divisors.data(), int64_t(divisors.size())); });
    }
    for (int32_t l = 0; l < c.n_layers; ++l) {
        const LayerWeightViews & lw = v.layers[size_t(l)];
        const std::string blk = "blk." + std::to_string(l) + ".";
        const float * biases[Model::kComponentsPerLayer] = {lw.bq, lw.bk, lw.bv, lw.bo, lw.b_gate, lw.b_up, lw.b_down};
        w.add_tensor(blk + "attn_norm.weight", TensorType::kF32, {dim}, [&lw, dim] { return float_bytes(lw.attn_norm, dim); });
        w.add_tensor(blk + "ffn_norm.weight", TensorType::kF32, {dim}, [&lw, dim] { return float_bytes(lw.mlp_norm, dim); });
        for (int32_t k = 0; k < Model::kComponentsPerLayer; ++k) {
            std::shared_ptr<const Linear> lin = model.layer(l).slot(k);
            w.add_tensor(blk + kLlamaLayer[k].gguf + ".weight", gguf_type_of(lin->format()), {lin->cols(), lin->rows()},
                         [lin] { return matrix_bytes(*lin); });
            if (biases[k]) {
                const float * b = biases[k];
                const int64_t rows = lin->rows();
                w.add_tensor(blk + kLlamaLayer[k].gguf + ".bias", TensorType::kF32, {rows}, [b, rows] { return float_bytes(b, rows); });
            }
        }
    }
    w.write(path);
    return w.file_bytes();
}

}  // namespace dtm
