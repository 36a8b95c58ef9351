// test_loader.cpp - the llama2.c model loader and the file mapping: good
// files load with the right config and views; every kind of bad file is
// rejected with the right status and a message that says what is wrong.
#include <gtest/gtest.h>

#include <unistd.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "model/llama2c_file.h"
#include "model/mapped_file.h"
#include "model/memory_check.h"
#include "test_support.h"

namespace {

using dtm::test::fails_with;
using dtm::test::TinyModelSpec;

const std::string & scratch() {
    static const std::string dir = dtm::test::temp_dir();
    return dir;
}

std::string write_bytes(const std::string & name, const std::vector<uint8_t> & bytes) {
    const std::string path = scratch() + "/" + name;
    dtm::test::write_file(path, bytes);
    return path;
}

std::vector<uint8_t> header_bytes(std::initializer_list<int32_t> values) {
    std::vector<uint8_t> out;
    for (int32_t v : values) {
        uint8_t b[4];
        std::memcpy(b, &v, 4);
        out.insert(out.end(), b, b + 4);
    }
    return out;
}

void put_float(std::vector<uint8_t> & bytes, uint64_t float_index, float value) {
    std::memcpy(bytes.data() + 28 + 4 * float_index, &value, 4);
}

// Offsets (in floats after the header) of each tensor, computed here
// independently of the loader from the layout in llama2c_file.h.
struct ExpectedLayout {
    uint64_t embed, attn_norm, wq, wk, wv, wo, mlp_norm, w1, w2, w3, final_norm, freq_real,
        freq_imag, wcls, end;
    uint64_t q_dim, kv_dim;

    explicit ExpectedLayout(const TinyModelSpec & s) {
        const uint64_t D = s.dim, H = s.hidden_dim, L = s.n_layers, V = s.vocab_size;
        const uint64_t hd = D / s.n_heads;
        q_dim = s.n_heads * hd;
        kv_dim = s.n_kv_heads * hd;
        embed = 0;
        attn_norm = embed + V * D;
        wq = attn_norm + L * D;
        wk = wq + L * q_dim * D;
        wv = wk + L * kv_dim * D;
        wo = wv + L * kv_dim * D;
        mlp_norm = wo + L * D * q_dim;
        w1 = mlp_norm + L * D;
        w2 = w1 + L * H * D;
        w3 = w2 + L * D * H;
        final_norm = w3 + L * H * D;
        freq_real = final_norm + D;
        freq_imag = freq_real + s.seq_len * hd / 2;
        wcls = freq_imag + s.seq_len * hd / 2;
        end = wcls + (s.shared_classifier ? 0 : V * D);
    }
};

void expect_views_match(const dtm::Llama2cFile & m, const TinyModelSpec & spec) {
    const ExpectedLayout x(spec);
    const float * base = reinterpret_cast<const float *>(m.file->data() + 28);
    EXPECT_EQ(m.file->size(), 28 + 4 * x.end);
    EXPECT_EQ(m.weights.token_embedding, base + x.embed);
    ASSERT_EQ(m.weights.layers.size(), size_t(spec.n_layers));
    const uint64_t D = spec.dim, H = spec.hidden_dim;
    for (uint64_t l = 0; l < uint64_t(spec.n_layers); ++l) {
        const dtm::LayerWeightViews & v = m.weights.layers[l];
        EXPECT_EQ(v.attn_norm, base + x.attn_norm + l * D) << "layer " << l;
        EXPECT_EQ(v.wq, base + x.wq + l * x.q_dim * D) << "layer " << l;
        EXPECT_EQ(v.wk, base + x.wk + l * x.kv_dim * D) << "layer " << l;
        EXPECT_EQ(v.wv, base + x.wv + l * x.kv_dim * D) << "layer " << l;
        EXPECT_EQ(v.wo, base + x.wo + l * D * x.q_dim) << "layer " << l;
        EXPECT_EQ(v.mlp_norm, base + x.mlp_norm + l * D) << "layer " << l;
        EXPECT_EQ(v.w_gate, base + x.w1 + l * H * D) << "layer " << l;
        EXPECT_EQ(v.w_down, base + x.w2 + l * D * H) << "layer " << l;
        EXPECT_EQ(v.w_up, base + x.w3 + l * H * D) << "layer " << l;
    }
    EXPECT_EQ(m.weights.final_norm, base + x.final_norm);
    EXPECT_EQ(m.weights.freq_cis_real, base + x.freq_real);
    EXPECT_EQ(m.weights.freq_cis_imag, base + x.freq_imag);
    if (spec.shared_classifier) {
        EXPECT_EQ(m.weights.classifier, m.weights.token_embedding);
    } else {
        EXPECT_EQ(m.weights.classifier, base + x.wcls);
    }
}

void expect_config(const dtm::ModelConfig & c, const TinyModelSpec & s) {
    EXPECT_EQ(c.dim, s.dim);
    EXPECT_EQ(c.hidden_dim, s.hidden_dim);
    EXPECT_EQ(c.n_layers, s.n_layers);
    EXPECT_EQ(c.n_heads, s.n_heads);
    EXPECT_EQ(c.n_kv_heads, s.n_kv_heads);
    EXPECT_EQ(c.head_dim, s.dim / s.n_heads);
    EXPECT_EQ(c.vocab_size, s.vocab_size);
    EXPECT_EQ(c.max_seq_len, s.seq_len);
    EXPECT_EQ(c.shared_classifier, s.shared_classifier);
    EXPECT_EQ(c.bos_id, 1);
    EXPECT_EQ(c.eos_id, 2);
}

// ---------------------------------------------------------------------------
// MappedFile

TEST(MappedFile, MapsTheWholeFile) {
    const std::vector<uint8_t> bytes = {1, 2, 3, 4, 5, 6, 7};
    const std::string path = write_bytes("seven.bin", bytes);
    dtm::MappedFile f(path);
    ASSERT_EQ(f.size(), bytes.size());
    EXPECT_EQ(std::memcmp(f.data(), bytes.data(), bytes.size()), 0);
    EXPECT_EQ(f.path(), path);
}

TEST(MappedFile, EmptyFileIsAnEmptyView) {
    dtm::MappedFile f(write_bytes("empty-map.bin", {}));
    EXPECT_EQ(f.size(), 0u);
    EXPECT_EQ(f.data(), nullptr);
}

TEST(MappedFile, MissingFileIsAnIoError) {
    const std::string path = scratch() + "/does-not-exist.bin";
    EXPECT_TRUE(fails_with([&] { dtm::MappedFile f(path); }, DTM_ERR_IO,
                           {"cannot open", path, "No such file"}));
}

TEST(MappedFile, DirectoryIsAnIoError) {
    EXPECT_TRUE(fails_with([&] { dtm::MappedFile f(scratch()); }, DTM_ERR_IO,
                           {"not a regular file"}));
}

// ---------------------------------------------------------------------------
// Good tiny models

TEST(Llama2cLoader, SharedClassifierModelLoads) {
    TinyModelSpec spec;
    const std::string path = dtm::test::write_tiny_model(dtm::test::temp_dir(), spec);
    const dtm::Llama2cFile m = dtm::load_llama2c(path, true);
    expect_config(m.config, spec);
    expect_views_match(m, spec);
}

TEST(Llama2cLoader, SeparateClassifierModelLoads) {
    TinyModelSpec spec;
    spec.shared_classifier = false;
    spec.seed = 7;
    const std::string path = write_bytes("separate.bin", dtm::test::tiny_model_bytes(spec));
    const dtm::Llama2cFile m = dtm::load_llama2c(path, true);
    expect_config(m.config, spec);
    expect_views_match(m, spec);
    EXPECT_NE(m.weights.classifier, m.weights.token_embedding);
}

TEST(Llama2cLoader, GroupedQueryAttentionModelLoads) {
    for (int32_t kv : {2, 1}) {
        TinyModelSpec spec;
        spec.n_heads = 4;
        spec.n_kv_heads = kv;
        spec.shared_classifier = kv == 1;
        const std::string path = write_bytes("gqa" + std::to_string(kv) + ".bin",
                                             dtm::test::tiny_model_bytes(spec));
        const dtm::Llama2cFile m = dtm::load_llama2c(path, true);
        expect_config(m.config, spec);
        EXPECT_EQ(m.config.kv_dim(), kv * 16);
        EXPECT_EQ(m.config.q_dim(), 64);
        expect_views_match(m, spec);
    }
}

TEST(Llama2cLoader, ViewsSeeTheFileContents) {
    TinyModelSpec spec;
    spec.shared_classifier = false;
    std::vector<uint8_t> bytes = dtm::test::tiny_model_bytes(spec);
    const ExpectedLayout x(spec);
    // Mark the first element of a few tensors with values the writer never makes.
    put_float(bytes, x.wk + 1 * x.kv_dim * spec.dim, 101.0f);       // layer 1 wk
    put_float(bytes, x.w2 + 1 * spec.dim * spec.hidden_dim, 102.0f);  // layer 1 w2 (down)
    put_float(bytes, x.wcls, 103.0f);
    const dtm::Llama2cFile m = dtm::load_llama2c(write_bytes("marked.bin", bytes), true);
    EXPECT_EQ(m.weights.layers[1].wk[0], 101.0f);
    EXPECT_EQ(m.weights.layers[1].w_down[0], 102.0f);
    EXPECT_EQ(m.weights.classifier[0], 103.0f);
    // The RoPE tables: cos/sin of pos * 10000^(-2i/head_dim).
    const int half = m.config.head_dim / 2;
    EXPECT_EQ(m.weights.freq_cis_real[0], 1.0f);
    EXPECT_EQ(m.weights.freq_cis_imag[0], 0.0f);
    EXPECT_FLOAT_EQ(m.weights.freq_cis_real[half], std::cos(1.0f));
    EXPECT_FLOAT_EQ(m.weights.freq_cis_imag[half], std::sin(1.0f));
}

// ---------------------------------------------------------------------------
// Rejected files

TEST(Llama2cLoader, RejectsEmptyFile) {
    const std::string path = write_bytes("empty.bin", {});
    EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(path, false); }, DTM_ERR_MODEL_FORMAT,
                           {path, "is empty"}));
}

TEST(Llama2cLoader, RejectsGarbage) {
    const std::string text = "This is not a model file at all, just some words.";
    const std::string path = write_bytes("garbage.bin", std::vector<uint8_t>(text.begin(), text.end()));
    EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(path, false); }, DTM_ERR_MODEL_FORMAT,
                           {path, "dim = 1936287828 exceeds the limit"}));
}

TEST(Llama2cLoader, RejectsFileShorterThanHeader) {
    const std::string path = write_bytes("short.bin", std::vector<uint8_t>(27, 1));
    EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(path, false); }, DTM_ERR_MODEL_FORMAT,
                           {path, "27 bytes, shorter than the 28-byte"}));
}

TEST(Llama2cLoader, RejectsHeaderOnly) {
    TinyModelSpec spec;
    const std::vector<uint8_t> full = dtm::test::tiny_model_bytes(spec);
    const std::string path = write_bytes("header-only.bin", std::vector<uint8_t>(full.begin(), full.begin() + 28));
    const std::string expected = std::to_string(full.size());
    EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(path, false); }, DTM_ERR_MODEL_FORMAT,
                           {path, "has 28 bytes", "implies " + expected + " bytes",
                            "truncated, " + std::to_string(full.size() - 28) + " bytes missing"}));
}

TEST(Llama2cLoader, RejectsTruncationByOneByte) {
    TinyModelSpec spec;
    std::vector<uint8_t> bytes = dtm::test::tiny_model_bytes(spec);
    const std::string expected = std::to_string(bytes.size());
    bytes.pop_back();
    const std::string path = write_bytes("truncated.bin", bytes);
    EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(path, false); }, DTM_ERR_MODEL_FORMAT,
                           {path, "implies " + expected, "truncated, 1 byte missing"}));
}

TEST(Llama2cLoader, RejectsOneTrailingByte) {
    TinyModelSpec spec;
    std::vector<uint8_t> bytes = dtm::test::tiny_model_bytes(spec);
    const std::string expected = std::to_string(bytes.size());
    bytes.push_back(0);
    const std::string path = write_bytes("trailing.bin", bytes);
    EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(path, false); }, DTM_ERR_MODEL_FORMAT,
                           {path, "has " + std::to_string(bytes.size()) + " bytes",
                            "implies " + expected + " bytes", "1 unexpected trailing byte"}));
}

TEST(Llama2cLoader, NamesTheClassifierMixUp) {
    TinyModelSpec spec;  // shared, but the header says separate
    std::vector<uint8_t> bytes = dtm::test::tiny_model_bytes(spec);
    const int32_t negative = -spec.vocab_size;
    std::memcpy(bytes.data() + 20, &negative, 4);
    EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(write_bytes("mixup1.bin", bytes), false); },
                           DTM_ERR_MODEL_FORMAT, {"fits a shared classifier"}));
    spec.shared_classifier = false;  // separate, but the header says shared
    bytes = dtm::test::tiny_model_bytes(spec);
    std::memcpy(bytes.data() + 20, &spec.vocab_size, 4);
    EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(write_bytes("mixup2.bin", bytes), false); },
                           DTM_ERR_MODEL_FORMAT, {"fits a separate classifier"}));
}

// Header fields: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len.
struct BadHeader {
    const char * name;
    std::initializer_list<int32_t> header;
    const char * fragment;
};

TEST(Llama2cLoader, RejectsBadHeaderValues) {
    const int32_t kMax = INT32_MAX, kMin = INT32_MIN;
    const BadHeader cases[] = {
        {"zero dim", {0, 172, 2, 4, 4, 300, 64}, "dim = 0 must be positive"},
        {"negative dim", {-64, 172, 2, 4, 4, 300, 64}, "dim = -64 must be positive"},
        {"negative hidden", {64, -1, 2, 4, 4, 300, 64}, "hidden_dim = -1 must be positive"},
        {"zero layers", {64, 172, 0, 4, 4, 300, 64}, "n_layers = 0 must be positive"},
        {"zero heads", {64, 172, 2, 0, 4, 300, 64}, "n_heads = 0 must be positive"},
        {"negative kv heads", {64, 172, 2, 4, -4, 300, 64}, "n_kv_heads = -4 must be positive"},
        {"zero vocab", {64, 172, 2, 4, 4, 0, 64}, "|vocab_size| = 0 must be positive"},
        {"zero seq_len", {64, 172, 2, 4, 4, 300, 0}, "seq_len = 0 must be positive"},
        {"dim not divisible", {64, 172, 2, 5, 5, 300, 64}, "dim = 64 is not divisible by n_heads = 5"},
        {"more heads than dim", {64, 172, 2, 128, 128, 300, 64}, "dim = 64 is not divisible by n_heads = 128"},
        {"kv not dividing", {64, 172, 2, 4, 3, 300, 64}, "n_heads = 4 is not a multiple of n_kv_heads = 3"},
        {"more kv than heads", {64, 172, 2, 4, 8, 300, 64}, "n_heads = 4 is not a multiple of n_kv_heads = 8"},
        {"odd head_dim", {12, 172, 2, 4, 4, 300, 64}, "head_dim = dim / n_heads = 3 is odd"},
        {"huge dim", {kMax, 172, 2, 4, 4, 300, 64}, "dim = 2147483647 exceeds the limit 1048576"},
        {"huge hidden", {64, kMax, 2, 4, 4, 300, 64}, "hidden_dim = 2147483647 exceeds the limit"},
        {"huge layers", {64, 172, 1 << 20, 4, 4, 300, 64}, "n_layers = 1048576 exceeds the limit 4096"},
        {"huge vocab", {64, 172, 2, 4, 4, (1 << 24) + 1, 64}, "|vocab_size| = 16777217 exceeds the limit"},
        {"INT32_MIN vocab", {64, 172, 2, 4, 4, kMin, 64}, "|vocab_size| = 2147483648 exceeds the limit"},
        {"huge seq_len", {64, 172, 2, 4, 4, 300, kMax}, "seq_len = 2147483647 exceeds the limit"},
    };
    for (const BadHeader & c : cases) {
        std::vector<uint8_t> bytes = header_bytes(c.header);
        bytes.resize(4096, 0);  // some data after the header
        const std::string path = write_bytes("bad-header.bin", bytes);
        EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(path, false); }, DTM_ERR_MODEL_FORMAT,
                               {path, c.fragment}))
            << c.name;
    }
}

TEST(Llama2cLoader, LargestHeaderSizesDoNotOverflow) {
    // Every value at its limit: ~2^56 bytes, computed exactly in 64 bits.
    const int32_t w = 1 << 20;
    const uint64_t D = w, H = w, L = 1 << 12, V = 1 << 24, S = w, hd = D / 16;
    const uint64_t floats = 2 * V * D + L * (2 * D + 4 * D * D + 3 * H * D) + D + 2 * S * hd / 2;
    const std::string expected = std::to_string(28 + 4 * floats);
    const std::string path =
        write_bytes("largest.bin", header_bytes({w, w, 1 << 12, 16, 16, -(1 << 24), w}));
    EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(path, false); }, DTM_ERR_MODEL_FORMAT,
                           {"implies " + expected + " bytes", "truncated"}));
}

TEST(Llama2cLoader, AModelLargerThanMemoryFailsBeforeLoading) {
    const int64_t available = dtm::available_memory_bytes();
    ASSERT_GT(available, 0);
    // A header that fits its file but describes more matrices than
    // MemAvailable holds; the file is sparse (a header, then a hole), so it
    // costs no disk. Each layer holds 4 dim x dim and 3 dim x hidden fp32
    // matrices: 1 GiB.
    const int32_t dim = 4096, hidden = 16384, vocab = 512, seq = 256, heads = 32;
    const uint64_t layer_floats = 2 * uint64_t(dim) + 4 * uint64_t(dim) * dim + 3 * uint64_t(dim) * hidden;
    const int32_t layers = int32_t(uint64_t(available) / (4 * layer_floats) + 2);
    const uint64_t floats = 2 * uint64_t(vocab) * dim + layers * layer_floats + dim + uint64_t(seq) * (dim / heads);
    const std::string path =
        write_bytes("larger-than-memory.bin", header_bytes({dim, hidden, layers, heads, heads, -vocab, seq}));
    ASSERT_EQ(::truncate(path.c_str(), off_t(28 + 4 * floats)), 0);
    // With check_finite too: refused before a weight is read, not after a pass over the hole.
    for (bool check_finite : {false, true}) {
        EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(path, check_finite); }, DTM_ERR_OUT_OF_MEMORY,
                               {path, "needs about", "GiB of memory to load", "matrices packed in fp32", "MemAvailable"}))
            << check_finite;
    }
    dtm_model_params params = dtm_model_default_params();
    params.check_finite = 1;
    dtm_model * m = reinterpret_cast<dtm_model *>(0x1);
    EXPECT_EQ(dtm_model_load(path.c_str(), params, &m), DTM_ERR_OUT_OF_MEMORY) << dtm_last_error();
    EXPECT_EQ(m, nullptr);
    ::unlink(path.c_str());
}

TEST(Llama2cLoader, MissingFileIsAnIoError) {
    const std::string path = scratch() + "/no-such-model.bin";
    EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(path, false); }, DTM_ERR_IO,
                           {"cannot open", path}));
}

// ---------------------------------------------------------------------------
// Non-finite weights

TEST(Llama2cLoader, CheckFiniteNamesTheTensorAndIndex) {
    TinyModelSpec spec;
    std::vector<uint8_t> bytes = dtm::test::tiny_model_bytes(spec);
    const ExpectedLayout x(spec);
    // model.layers.1.mlp.down_proj is (dim, hidden): element (3, 5).
    const uint64_t index = 3 * spec.hidden_dim + 5;
    put_float(bytes, x.w2 + 1 * spec.dim * spec.hidden_dim + index,
              std::numeric_limits<float>::quiet_NaN());
    const std::string path = write_bytes("nan.bin", bytes);
    EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(path, true); }, DTM_ERR_NON_FINITE,
                           {path, "NaN in model.layers.1.mlp.down_proj",
                            "index " + std::to_string(index), "row 3, column 5", "64 x 172"}));
    // Without the check the file loads and the NaN is there to see.
    const dtm::Llama2cFile m = dtm::load_llama2c(path, false);
    EXPECT_TRUE(std::isnan(m.weights.layers[1].w_down[index]));
}

TEST(Llama2cLoader, CheckFiniteCoversEveryTensorKind) {
    TinyModelSpec spec;
    spec.shared_classifier = false;
    const ExpectedLayout x(spec);
    const float inf = std::numeric_limits<float>::infinity();
    const uint64_t D = spec.dim, H = spec.hidden_dim;
    const struct {
        uint64_t at;
        const char * name;
    } cases[] = {
        {x.embed + 7, "model.embed_tokens"},
        {x.attn_norm + 1 * D, "model.layers.1.input_layernorm"},
        {x.wq + 5, "model.layers.0.self_attn.q_proj"},
        {x.wk + 1 * x.kv_dim * D, "model.layers.1.self_attn.k_proj"},
        {x.wv + 3, "model.layers.0.self_attn.v_proj"},
        {x.wo + 1 * D * x.q_dim + 2, "model.layers.1.self_attn.o_proj"},
        {x.mlp_norm, "model.layers.0.post_attention_layernorm"},
        {x.w1 + 1 * H * D, "model.layers.1.mlp.gate_proj"},
        {x.w3 + 9, "model.layers.0.mlp.up_proj"},
        {x.final_norm + 1, "model.norm"},
        {x.wcls + 11, "lm_head"},
    };
    for (const auto & c : cases) {
        std::vector<uint8_t> bytes = dtm::test::tiny_model_bytes(spec);
        put_float(bytes, c.at, -inf);
        const std::string path = write_bytes("inf.bin", bytes);
        EXPECT_TRUE(fails_with([&] { dtm::load_llama2c(path, true); }, DTM_ERR_NON_FINITE,
                               {std::string("infinity in ") + c.name + " at"}))
            << c.name;
    }
}

// ---------------------------------------------------------------------------
// The default model (stories15M), when $DTM_MODEL_DIR is set

TEST(Llama2cLoader, DefaultModelConfig) {
    const std::string dir = dtm::test::default_model_dir();
    if (dir.empty()) GTEST_SKIP() << "DTM_MODEL_DIR not set (or without stories15M.bin)";
    const dtm::Llama2cFile m = dtm::load_llama2c(dir + "/stories15M.bin", true);
    TinyModelSpec spec;  // reused as a plain description of the expected config
    spec.dim = 288;
    spec.hidden_dim = 768;
    spec.n_layers = 6;
    spec.n_heads = 6;
    spec.n_kv_heads = 6;
    spec.vocab_size = 32000;
    spec.seq_len = 256;
    spec.shared_classifier = true;
    expect_config(m.config, spec);
    expect_views_match(m, spec);
    EXPECT_EQ(m.file->size(), 60816028u);
    EXPECT_EQ(m.weights.freq_cis_real[0], 1.0f);
    EXPECT_EQ(m.weights.freq_cis_imag[0], 0.0f);
}

}  // namespace
