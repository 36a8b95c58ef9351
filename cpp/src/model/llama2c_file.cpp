// llama2c_file.cpp - validating and viewing a llama2.c model file.
//
// The file is trusted for nothing: every size is checked against the file's
// length, in 64-bit arithmetic with overflow checks, before any weight is
// touched. The layout (see llama2c_file.h) has no padding and no trailer, so
// a consistent file has exactly the size its header implies.
#include "model/llama2c_file.h"

#include <array>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/error.h"
#include "model/architecture.h"
#include "model/memory_check.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "llama2.c files are little-endian and are viewed in place");

namespace dtm {

namespace {

constexpr uint64_t kHeaderBytes = 7 * sizeof(int32_t);

// Sizes beyond these are not a model dtm can run; a header with such values is
// almost certainly not a llama2.c file (or a corrupt one).
constexpr int64_t kMaxWidth = int64_t(1) << 20;   // dim, hidden_dim, seq_len
constexpr int64_t kMaxLayers = int64_t(1) << 12;
constexpr int64_t kMaxVocab = int64_t(1) << 24;

// The seven int32 at the start of the file, in file order.
struct Header {
    int32_t dim;
    int32_t hidden_dim;
    int32_t n_layers;
    int32_t n_heads;
    int32_t n_kv_heads;
    int32_t vocab_size;  // negative: the classifier is stored separately
    int32_t seq_len;
};

Header read_header(const MappedFile & file) {
    const char * path = file.path().c_str();
    if (file.size() == 0) {
        fail(DTM_ERR_MODEL_FORMAT, "model file '%s' is empty", path);
    }
    if (file.size() < kHeaderBytes) {
        fail(DTM_ERR_MODEL_FORMAT,
             "model file '%s' is %zu bytes, shorter than the %" PRIu64 "-byte llama2.c header",
             path, file.size(), kHeaderBytes);
    }
    Header h;
    static_assert(sizeof(Header) == kHeaderBytes, "header is seven packed int32");
    std::memcpy(&h, file.data(), sizeof(h));
    return h;
}

void check_range(const char * path, const char * name, int64_t value, int64_t limit) {
    if (value <= 0) {
        fail(DTM_ERR_MODEL_FORMAT, "model file '%s': %s = %" PRId64 " must be positive", path,
             name, value);
    }
    if (value > limit) {
        fail(DTM_ERR_MODEL_FORMAT,
             "model file '%s': %s = %" PRId64 " exceeds the limit %" PRId64
             " (not a llama2.c model, or a corrupt header)",
             path, name, value, limit);
    }
}

// Checks the header's values one by one and derives the config.
ModelConfig config_from_header(const Header & h, const char * path) {
    check_range(path, "dim", h.dim, kMaxWidth);
    check_range(path, "hidden_dim", h.hidden_dim, kMaxWidth);
    check_range(path, "n_layers", h.n_layers, kMaxLayers);
    // n_heads > dim and n_kv_heads > n_heads fail the divisibility checks below.
    check_range(path, "n_heads", h.n_heads, kMaxWidth);
    check_range(path, "n_kv_heads", h.n_kv_heads, kMaxWidth);
    // |vocab_size| in 64 bits: abs(INT32_MIN) overflows int32.
    check_range(path, "|vocab_size|", h.vocab_size < 0 ? -int64_t(h.vocab_size) : h.vocab_size,
                kMaxVocab);
    check_range(path, "seq_len", h.seq_len, kMaxWidth);
    if (h.dim % h.n_heads != 0) {
        fail(DTM_ERR_MODEL_FORMAT, "model file '%s': dim = %d is not divisible by n_heads = %d",
             path, h.dim, h.n_heads);
    }
    if (h.n_heads % h.n_kv_heads != 0) {
        fail(DTM_ERR_MODEL_FORMAT,
             "model file '%s': n_heads = %d is not a multiple of n_kv_heads = %d", path,
             h.n_heads, h.n_kv_heads);
    }
    int32_t head_dim = h.dim / h.n_heads;
    if (head_dim % 2 != 0) {
        fail(DTM_ERR_MODEL_FORMAT,
             "model file '%s': head_dim = dim / n_heads = %d is odd (RoPE rotates pairs)", path,
             head_dim);
    }
    ModelConfig c;
    c.dim = h.dim;
    c.hidden_dim = h.hidden_dim;
    c.n_layers = h.n_layers;
    c.n_heads = h.n_heads;
    c.n_kv_heads = h.n_kv_heads;
    c.head_dim = head_dim;
    c.vocab_size = h.vocab_size < 0 ? -h.vocab_size : h.vocab_size;
    c.max_seq_len = h.seq_len;
    c.shared_classifier = h.vocab_size > 0;
    return c;
}

// 64-bit arithmetic that refuses to wrap. With the limits above no product
// can overflow, but the checks keep that true if the limits ever change.
uint64_t checked_mul(uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) {
        fail(DTM_ERR_MODEL_FORMAT, "model size overflows 64 bits (%" PRIu64 " x %" PRIu64 ")", a,
             b);
    }
    return r;
}

uint64_t checked_add(uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) {
        fail(DTM_ERR_MODEL_FORMAT, "model size overflows 64 bits (%" PRIu64 " + %" PRIu64 ")", a,
             b);
    }
    return r;
}

// The tensors in file order. Per-layer tensors are stored as `copies`
// consecutive (rows, cols) matrices, one per layer.
enum Section {
    kEmbed, kAttnNorm, kWq, kWk, kWv, kWo, kMlpNorm, kW1, kW2, kW3,
    kFinalNorm, kFreqReal, kFreqImag, kClassifier, kNumSections
};

struct TensorBlock {
    std::string name;   // Hugging Face name; %d = layer for per-layer blocks
    uint64_t copies;    // n_layers for per-layer tensors, 1 for global ones, 0 if absent
    uint64_t rows;
    uint64_t cols;
    uint64_t offset;    // in floats from the end of the header
};

struct Layout {
    std::array<TensorBlock, kNumSections> blocks;
    uint64_t total_floats;
};

// The n_layers matrices of one decoder component, named and shaped as the
// architecture table says (model/architecture.h).
TensorBlock matrices(const ModelConfig & c, dtm_component_kind kind) {
    const LayerMatrix & m = layer_matrix(kind);
    return {std::string("model.layers.%d.") + m.module, uint64_t(c.n_layers), uint64_t(extent(c, m.rows)),
            uint64_t(extent(c, m.cols)), 0};
}

Layout layout_of(const ModelConfig & c) {
    const uint64_t L = uint64_t(c.n_layers);
    const uint64_t dim = uint64_t(c.dim);
    const uint64_t vocab = uint64_t(c.vocab_size);
    const uint64_t half_head = uint64_t(c.head_dim) / 2;
    const uint64_t seq = uint64_t(c.max_seq_len);
    Layout out{{{
        {"model.embed_tokens", 1, vocab, dim, 0},
        {"model.layers.%d.input_layernorm", L, 1, dim, 0},
        matrices(c, DTM_COMPONENT_Q_PROJ),
        matrices(c, DTM_COMPONENT_K_PROJ),
        matrices(c, DTM_COMPONENT_V_PROJ),
        matrices(c, DTM_COMPONENT_O_PROJ),
        {"model.layers.%d.post_attention_layernorm", L, 1, dim, 0},
        matrices(c, DTM_COMPONENT_GATE_PROJ),  // w1
        matrices(c, DTM_COMPONENT_DOWN_PROJ),  // w2
        matrices(c, DTM_COMPONENT_UP_PROJ),    // w3
        {"model.norm", 1, 1, dim, 0},
        {"freq_cis_real", 1, seq, half_head, 0},
        {"freq_cis_imag", 1, seq, half_head, 0},
        {"lm_head", c.shared_classifier ? 0u : 1u, vocab, dim, 0},
    }}, 0};
    uint64_t offset = 0;
    for (TensorBlock & b : out.blocks) {
        b.offset = offset;
        offset = checked_add(offset, checked_mul(b.copies, checked_mul(b.rows, b.cols)));
    }
    out.total_floats = offset;
    return out;
}

uint64_t file_bytes(const Layout & layout) {
    return checked_add(kHeaderBytes, checked_mul(layout.total_floats, sizeof(float)));
}

// The file must have exactly the size the header implies. When the other
// classifier convention would fit, say so: that is the likely mix-up.
void check_file_size(const MappedFile & file, const ModelConfig & c, const Layout & layout) {
    const uint64_t expected = file_bytes(layout);
    const uint64_t actual = file.size();
    if (actual == expected) return;

    ModelConfig other = c;
    other.shared_classifier = !c.shared_classifier;
    const bool other_fits = file_bytes(layout_of(other)) == actual;
    const char * hint = !other_fits ? ""
                        : c.shared_classifier
                            ? " (the size fits a separate classifier: vocab_size should be negative)"
                            : " (the size fits a shared classifier: vocab_size should be positive)";
    char what[96];
    const uint64_t diff = actual < expected ? expected - actual : actual - expected;
    const char * plural = diff == 1 ? "" : "s";
    if (actual < expected) {
        std::snprintf(what, sizeof(what), "truncated, %" PRIu64 " byte%s missing", diff, plural);
    } else {
        std::snprintf(what, sizeof(what), "%" PRIu64 " unexpected trailing byte%s", diff, plural);
    }
    fail(DTM_ERR_MODEL_FORMAT,
         "model file '%s' has %" PRIu64 " bytes but its header (dim=%d hidden_dim=%d n_layers=%d "
         "n_heads=%d n_kv_heads=%d vocab_size=%d seq_len=%d, %s classifier) implies %" PRIu64
         " bytes: %s%s",
         file.path().c_str(), actual, c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
         c.vocab_size, c.max_seq_len, c.shared_classifier ? "shared" : "separate", expected,
         what, hint);
}

// Anonymous memory a load needs: every matrix packed into fp32 panels, the
// classifier included (also when it shares the embedding, which itself is
// looked up in the mapping). The file's size has been checked, so none of
// this can overflow; the checks keep that true.
uint64_t load_bytes(const ModelConfig & c) {
    const int64_t f = int64_t(sizeof(float));
    const int64_t dim = c.dim, hidden = c.hidden_dim, qd = c.q_dim(), kvd = c.kv_dim();
    const uint64_t layer = uint64_t(packed_bytes(qd, dim, f)) + 2 * uint64_t(packed_bytes(kvd, dim, f)) +
                           uint64_t(packed_bytes(dim, qd, f)) + 2 * uint64_t(packed_bytes(hidden, dim, f)) +
                           uint64_t(packed_bytes(dim, hidden, f));
    return checked_add(checked_mul(layer, uint64_t(c.n_layers)), uint64_t(packed_bytes(c.vocab_size, dim, f)));
}

// Index of the first NaN or infinity in p[0, n), or n when all are finite.
// Looks at the exponent bits, so it is exact whatever the FP environment.
uint64_t first_non_finite(const float * p, uint64_t n) {
    constexpr uint32_t kExponent = 0x7f800000u;
    constexpr uint64_t kChunk = 4096;
    for (uint64_t start = 0; start < n; start += kChunk) {
        const uint64_t end = start + kChunk < n ? start + kChunk : n;
        bool any = false;  // branch-free over the chunk so it vectorizes
        for (uint64_t i = start; i < end; ++i) {
            uint32_t bits;
            std::memcpy(&bits, p + i, sizeof(bits));
            any |= (bits & kExponent) == kExponent;
        }
        if (!any) continue;
        for (uint64_t i = start; i < end; ++i) {
            uint32_t bits;
            std::memcpy(&bits, p + i, sizeof(bits));
            if ((bits & kExponent) == kExponent) return i;
        }
    }
    return n;
}

void check_finite_weights(const float * base, const Layout & layout, const std::string & path) {
    for (const TensorBlock & b : layout.blocks) {
        const uint64_t per_copy = b.rows * b.cols;
        for (uint64_t copy = 0; copy < b.copies; ++copy) {
            const float * p = base + b.offset + copy * per_copy;
            const uint64_t i = first_non_finite(p, per_copy);
            if (i == per_copy) continue;
            char name[128];
            std::snprintf(name, sizeof(name), b.name.c_str(), int(copy));
            fail(DTM_ERR_NON_FINITE,
                 "model file '%s': %s in %s at index %" PRIu64 " (row %" PRIu64 ", column %" PRIu64
                 " of %" PRIu64 " x %" PRIu64 ")",
                 path.c_str(), p[i] != p[i] ? "NaN" : "infinity", name, i, i / b.cols,
                 i % b.cols, b.rows, b.cols);
        }
    }
}

WeightViews views_of(const float * base, const Layout & layout, const ModelConfig & c) {
    auto at = [&](Section s, uint64_t layer) {
        const TensorBlock & b = layout.blocks[s];
        return base + b.offset + layer * b.rows * b.cols;
    };
    WeightViews w;
    w.token_embedding = at(kEmbed, 0);
    w.layers.resize(size_t(c.n_layers));
    for (uint64_t l = 0; l < uint64_t(c.n_layers); ++l) {
        LayerWeightViews & v = w.layers[l];
        v.attn_norm = at(kAttnNorm, l);
        v.wq = at(kWq, l);
        v.wk = at(kWk, l);
        v.wv = at(kWv, l);
        v.wo = at(kWo, l);
        v.mlp_norm = at(kMlpNorm, l);
        v.w_gate = at(kW1, l);
        v.w_down = at(kW2, l);
        v.w_up = at(kW3, l);
    }
    w.final_norm = at(kFinalNorm, 0);
    w.freq_cis_real = at(kFreqReal, 0);
    w.freq_cis_imag = at(kFreqImag, 0);
    w.classifier = c.shared_classifier ? w.token_embedding : at(kClassifier, 0);
    return w;
}

}  // namespace

void embedding_rows(const WeightViews & w, int64_t first, int64_t n, int64_t dim, float * out) {
    if (w.token_embedding) {
        std::memcpy(out, w.token_embedding + first * dim, sizeof(float) * size_t(n * dim));
        return;
    }
    const uint16_t * src = w.token_embedding_half + first * dim;
    for (int64_t i = 0; i < n * dim; ++i) out[i] = cpu::widen_half(src[i], w.token_embedding_kind);
}

Llama2cFile load_llama2c(const std::string & path, bool check_finite) {
    return load_llama2c(std::make_unique<MappedFile>(path), check_finite);
}

Llama2cFile load_llama2c(std::unique_ptr<MappedFile> file, bool check_finite) {
    Llama2cFile out;
    out.file = std::move(file);
    const std::string & path = out.file->path();
    const Header header = read_header(*out.file);
    out.config = config_from_header(header, path.c_str());
    const Layout layout = layout_of(out.config);
    check_file_size(*out.file, out.config, layout);
    // Before anything is allocated or read: a header that fits its (perhaps
    // sparse) file can still describe more than this machine holds.
    const uint64_t needed = load_bytes(out.config);
    require_memory(needed > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(needed), available_memory_bytes(), path,
                   "matrices packed in fp32");

    // The mapping is page-aligned and the header is 28 bytes, so the floats
    // are 4-byte aligned.
    const float * base = reinterpret_cast<const float *>(out.file->data() + kHeaderBytes);
    if (check_finite) {
        check_finite_weights(base, layout, path);
    }
    out.weights = views_of(base, layout, out.config);
    return out;
}

}  // namespace dtm
