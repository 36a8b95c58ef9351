// test_hf_checkpoint.cpp - Hugging Face checkpoints: config.json parsing and
// its refusals, the q/k row permutation, llama2.c -> checkpoint -> model
// giving bitwise identical weights and logits (tiny models, and the default
// model when $DTM_MODEL_DIR is set), fp16/bf16 and sharded files, biases,
// damaged checkpoints, RoPE scaling tables, and the early out-of-memory error.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "api/handles.h"
#include "core/error.h"
#include "dtm/dtm.h"
#include "kernels/cpu/dispatch.h"
#include "model/hf_checkpoint.h"
#include "model/memory_check.h"
#include "model/model.h"
#include "model/safetensors_file.h"
#include "runtime/layer_ops.h"
#include "test_support.h"

namespace {

using dtm::test::bitwise_equal;
using dtm::test::fails_with;
using dtm::test::load_model;
using dtm::test::ModelHandle;
using dtm::test::SessionHandle;

using Json = nlohmann::json;

// ---------------------------------------------------------------------------
// A checkpoint held in memory, to be changed and written back.

struct Tensor {
    std::string dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
};

struct Checkpoint {
    Json config;
    std::map<std::string, Tensor> tensors;

    static Checkpoint read(const std::string & dir) {
        Checkpoint c;
        std::ifstream in(dir + "/config.json");
        c.config = Json::parse(in);
        dtm::SafetensorsFile file(dir + "/model.safetensors");
        for (const dtm::TensorView & t : file.tensors()) {
            c.tensors[t.name] = {t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.n_bytes)};
        }
        return c;
    }

    // Writes config.json and the tensors, into n_shards files with an index when n_shards > 1.
    std::string write(const std::string & dir, int n_shards = 1) const {
        std::filesystem::create_directories(dir);
        std::ofstream(dir + "/config.json") << config.dump(2);
        std::vector<std::vector<dtm::TensorView>> shards(static_cast<size_t>(n_shards));
        Json weight_map = Json::object();
        size_t i = 0;
        for (const auto & [name, t] : tensors) {
            const size_t s = i++ % size_t(n_shards);
            shards[s].push_back({name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
            weight_map[name] = "model-" + std::to_string(s + 1) + "-of-" + std::to_string(n_shards) + ".safetensors";
        }
        if (n_shards == 1) {
            dtm::write_safetensors(dir + "/model.safetensors", shards[0], {{"format", "pt"}});
        } else {
            for (size_t s = 0; s < shards.size(); ++s) {
                dtm::write_safetensors(dir + "/model-" + std::to_string(s + 1) + "-of-" + std::to_string(n_shards) + ".safetensors",
                                       shards[s], {{"format", "pt"}});
            }
            std::ofstream(dir + "/model.safetensors.index.json") << Json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump();
        }
        return dir;
    }

    std::vector<float> values(const std::string & name) const {
        const Tensor & t = tensors.at(name);
        std::vector<float> out(t.bytes.size() / 4);
        std::memcpy(out.data(), t.bytes.data(), t.bytes.size());
        return out;
    }
    void set(const std::string & name, std::vector<int64_t> shape, const std::vector<float> & v) {
        Tensor t{"F32", std::move(shape), std::vector<uint8_t>(v.size() * 4)};
        std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
        tensors[name] = std::move(t);
    }
};

uint16_t to_bf16(float f) {  // truncation: the test rounds values first, so this is exact
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return uint16_t(bits >> 16);
}

float round_to_bf16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    bits &= 0xffff0000u;
    std::memcpy(&f, &bits, 4);
    return f;
}

// IEEE half from a float that is exactly representable as a normal half (or zero).
uint16_t to_f16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    const uint32_t sign = (bits >> 16) & 0x8000u;
    const int32_t exponent = int32_t((bits >> 23) & 0xff) - 127 + 15;
    if ((bits & 0x7fffffffu) == 0) return uint16_t(sign);
    return uint16_t(sign | (uint32_t(exponent) << 10) | ((bits >> 13) & 0x3ffu));
}

float round_to_f16(float f) {  // to 11 significant bits, in the normal range of half
    if (f == 0.0f) return f;
    int e;
    const float m = std::frexp(f, &e);
    const float r = std::ldexp(std::nearbyint(std::ldexp(m, 11)), e - 11);
    return std::fabs(r) < 6.2e-5f ? 0.0f : r;
}

// Every weight tensor as `dtype` (BF16 or F16), its values rounded first;
// returns the F32 checkpoint of the same rounded values.
Checkpoint to_half(Checkpoint & c, const std::string & dtype) {
    Checkpoint rounded = c;
    for (auto & [name, t] : c.tensors) {
        std::vector<float> v = c.values(name);
        for (float & x : v) x = dtype == "BF16" ? round_to_bf16(x) : round_to_f16(x);
        rounded.set(name, t.shape, v);
        Tensor h{dtype, t.shape, std::vector<uint8_t>(v.size() * 2)};
        for (size_t i = 0; i < v.size(); ++i) {
            const uint16_t b = dtype == "BF16" ? to_bf16(v[i]) : to_f16(v[i]);
            std::memcpy(h.bytes.data() + 2 * i, &b, 2);
        }
        t = std::move(h);
    }
    return rounded;
}

// ---------------------------------------------------------------------------
// Models and logits

// All logits of one sequence, by batched scoring and by one-token decoding
// (checked equal bitwise here, as the forward pass promises).
std::vector<float> logits_of(dtm_model * m, const std::vector<int32_t> & seq) {
    dtm_model_config cfg;
    EXPECT_EQ(dtm_model_get_config(m, &cfg), DTM_OK);
    SessionHandle s{dtm::test::open_session(m, DTM_ISA_AUTO, 2)};
    const std::vector<float> scored = dtm::test::score_logits(s.s, {seq}, cfg.vocab_size);
    const std::vector<float> decoded = dtm::test::decode_logits(s.s, seq, cfg.vocab_size);
    EXPECT_TRUE(bitwise_equal(scored, decoded)) << "prefill and decode differ";
    return scored;
}

std::vector<int32_t> some_tokens(int32_t vocab, int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> out{1};
    for (int i = 1; i < n; ++i) out.push_back(int32_t(rng() % uint32_t(vocab)));
    return out;
}

// A tiny llama2.c model converted to a checkpoint directory; returns (llama2.c path, checkpoint dir).
std::pair<std::string, std::string> converted_tiny(const dtm::test::TinyModelSpec & spec) {
    const std::string dir = dtm::test::temp_dir();
    const std::string bin = dtm::test::write_tiny_model(dir, spec);
    ModelHandle m{load_model(bin)};
    EXPECT_EQ(dtm_model_save_hf(m.m, (dir + "/hf").c_str()), DTM_OK) << dtm_last_error();
    return {bin, dir + "/hf"};
}

std::string base_config_text() {
    return R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
               "intermediate_size": 172, "num_hidden_layers": 2, "num_attention_heads": 4,
               "vocab_size": 300, "max_position_embeddings": 64})";
}

dtm::ModelConfig parse_with(const Json & changes) {
    Json j = Json::parse(base_config_text());
    j.merge_patch(changes);
    return dtm::parse_hf_config(j.dump(), "test/config.json");
}

void expect_config_refused(const Json & changes, dtm_status status, std::initializer_list<std::string> fragments) {
    EXPECT_TRUE(fails_with([&] { parse_with(changes); }, status, fragments)) << changes.dump();
}

// ---------------------------------------------------------------------------

TEST(HfConfigTest, ReadsTheLlamaFamilyFields) {
    const dtm::ModelConfig c = parse_with(Json::object());
    EXPECT_EQ(c.dim, 64);
    EXPECT_EQ(c.n_kv_heads, 4);  // defaults to the query heads
    EXPECT_EQ(c.head_dim, 16);
    EXPECT_EQ(c.max_seq_len, 64);
    EXPECT_EQ(c.rope_theta, 10000.0f);
    EXPECT_EQ(c.norm_eps, 1e-6f);
    EXPECT_FALSE(c.shared_classifier);
    EXPECT_EQ(c.bos_id, -1);

    const dtm::ModelConfig g = parse_with({{"num_key_value_heads", 2}, {"head_dim", 32}, {"rope_theta", 500000.0},
                                           {"rms_norm_eps", 1e-5}, {"tie_word_embeddings", true},
                                           {"bos_token_id", 128000}, {"eos_token_id", {128001, 128009}},
                                           {"attention_bias", true}, {"mlp_bias", true}});
    EXPECT_EQ(g.n_kv_heads, 2);
    EXPECT_EQ(g.head_dim, 32);
    EXPECT_EQ(g.q_dim(), 128);
    EXPECT_EQ(g.rope_theta, 500000.0f);
    EXPECT_EQ(g.norm_eps, 1e-5f);
    EXPECT_TRUE(g.shared_classifier);
    EXPECT_EQ(g.bos_id, 128000);
    EXPECT_EQ(g.eos_id, 128001);
    EXPECT_TRUE(g.qkv_bias && g.o_bias && g.mlp_bias);

    const dtm::ModelConfig q = parse_with({{"architectures", {"Qwen2ForCausalLM"}}, {"model_type", "qwen2"},
                                           {"sliding_window", 32}, {"use_sliding_window", false}});
    EXPECT_TRUE(q.qkv_bias);
    EXPECT_FALSE(q.o_bias || q.mlp_bias);
    EXPECT_EQ(q.max_seq_len, 64);  // window not used
    const dtm::ModelConfig mistral = parse_with({{"architectures", {"MistralForCausalLM"}}, {"model_type", "mistral"},
                                                 {"sliding_window", 32}});
    EXPECT_EQ(mistral.max_seq_len, 32);  // context cut to the window
    EXPECT_FALSE(mistral.qkv_bias);
}

TEST(HfConfigTest, ReadsEveryRopeScaling) {
    const dtm::ModelConfig lin = parse_with({{"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}}});
    EXPECT_EQ(lin.rope_scaling.kind, dtm::RopeScalingKind::kLinear);
    EXPECT_EQ(lin.rope_scaling.factor, 2.0f);
    const dtm::ModelConfig dyn = parse_with({{"rope_scaling", {{"rope_type", "dynamic"}, {"factor", 4.0}}}});
    EXPECT_EQ(dyn.rope_scaling.kind, dtm::RopeScalingKind::kDynamic);
    EXPECT_EQ(dyn.rope_scaling.original_max_pos, 64);
    EXPECT_EQ(dyn.max_seq_len, 256);  // trained context x factor
    const dtm::ModelConfig l3 = parse_with({{"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                                                              {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 16}}}});
    EXPECT_EQ(l3.rope_scaling.kind, dtm::RopeScalingKind::kLlama3);
    EXPECT_EQ(l3.rope_scaling.original_max_pos, 16);
    EXPECT_EQ(l3.max_seq_len, 64);
    EXPECT_EQ(parse_with({{"rope_scaling", {{"rope_type", "default"}}}}).rope_scaling.kind, dtm::RopeScalingKind::kNone);
}

TEST(HfConfigTest, RefusesWhatDtmDoesNotRunByName) {
    expect_config_refused({{"architectures", {"GPTNeoXForCausalLM"}}}, DTM_ERR_UNSUPPORTED,
                          {"architecture 'GPTNeoXForCausalLM' is not supported", "LlamaForCausalLM"});
    expect_config_refused({{"architectures", nullptr}, {"model_type", "gemma"}}, DTM_ERR_UNSUPPORTED, {"model_type 'gemma'"});
    expect_config_refused({{"hidden_act", "gelu"}}, DTM_ERR_UNSUPPORTED, {"hidden_act 'gelu' is not supported"});
    expect_config_refused({{"rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}}}}, DTM_ERR_UNSUPPORTED,
                          {"rope_scaling type 'yarn' is not supported"});
    expect_config_refused({{"partial_rotary_factor", 0.5}}, DTM_ERR_UNSUPPORTED, {"partial_rotary_factor 0.5"});
    expect_config_refused({{"quantization_config", {{"quant_method", "gptq"}}}}, DTM_ERR_UNSUPPORTED, {"quantization_config"});
    expect_config_refused({{"hidden_size", nullptr}}, DTM_ERR_MODEL_FORMAT, {"missing \"hidden_size\""});
    expect_config_refused({{"num_key_value_heads", 3}}, DTM_ERR_MODEL_FORMAT, {"not a multiple of num_key_value_heads = 3"});
    expect_config_refused({{"head_dim", 15}}, DTM_ERR_MODEL_FORMAT, {"head_dim = 15 is odd"});
    expect_config_refused({{"vocab_size", -5}}, DTM_ERR_MODEL_FORMAT, {"\"vocab_size\" = -5"});
    expect_config_refused({{"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}}}}, DTM_ERR_MODEL_FORMAT, {"low_freq_factor"});
    expect_config_refused({{"model_type", "qwen2"}}, DTM_ERR_MODEL_FORMAT, {"disagree"});
    EXPECT_TRUE(fails_with([] { dtm::parse_hf_config("{", "x/config.json"); }, DTM_ERR_MODEL_FORMAT, {"not valid JSON"}));
}

// Numbers the engine keeps as floats must be positive and finite as floats:
// 1e300 is a finite double but an infinite float, 1e-50 a zero float.
TEST(HfConfigTest, RefusesNumbersThatAreNotPositiveFiniteFloats) {
    expect_config_refused({{"rms_norm_eps", 1e300}}, DTM_ERR_MODEL_FORMAT,
                          {"\"rms_norm_eps\" = 1e+300 is too large for a float"});
    expect_config_refused({{"rms_norm_eps", 1e-50}}, DTM_ERR_MODEL_FORMAT,
                          {"\"rms_norm_eps\" = 1e-50 is too small for a float"});
    expect_config_refused({{"rope_theta", 1e39}}, DTM_ERR_MODEL_FORMAT, {"\"rope_theta\" = 1e+39 is too large"});
    expect_config_refused({{"rope_theta", 0}}, DTM_ERR_MODEL_FORMAT, {"\"rope_theta\" must be a positive number, got 0"});
    expect_config_refused({{"rms_norm_eps", -1e-5}}, DTM_ERR_MODEL_FORMAT, {"\"rms_norm_eps\" must be a positive number"});
    expect_config_refused({{"rope_scaling", {{"rope_type", "linear"}, {"factor", 1e300}}}}, DTM_ERR_MODEL_FORMAT,
                          {"\"rope_scaling.factor\" = 1e+300 is too large for a float"});
    expect_config_refused({{"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1e-60},
                                             {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 16}}}},
                          DTM_ERR_MODEL_FORMAT, {"\"rope_scaling.low_freq_factor\" = 1e-60 is too small"});
    expect_config_refused({{"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                                             {"high_freq_factor", 1e40}, {"original_max_position_embeddings", 16}}}},
                          DTM_ERR_MODEL_FORMAT, {"\"rope_scaling.high_freq_factor\" = 1e+40 is too large"});
    expect_config_refused({{"rope_scaling", {{"rope_type", "linear"}}}}, DTM_ERR_MODEL_FORMAT,
                          {"missing \"rope_scaling.factor\""});
    // The largest float and the smallest normal float are fine.
    EXPECT_EQ(parse_with({{"rope_theta", 3.4028234663852886e38}}).rope_theta, std::numeric_limits<float>::max());
    EXPECT_EQ(parse_with({{"rms_norm_eps", 1.1754943508222875e-38}}).norm_eps, std::numeric_limits<float>::min());
}

TEST(HfConfigTest, WrittenConfigReadsBackTheSame) {
    const dtm::ModelConfig c = parse_with({{"num_key_value_heads", 2}, {"rms_norm_eps", 1e-5}, {"tie_word_embeddings", true},
                                           {"bos_token_id", 1}, {"eos_token_id", 2},
                                           {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                                                             {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 16}}}});
    const std::string text = dtm::hf_config_json(c);
    EXPECT_NE(text.find("\"rms_norm_eps\": 1e-05"), std::string::npos) << text;
    const dtm::ModelConfig back = dtm::parse_hf_config(text, "written");
    EXPECT_EQ(back.n_kv_heads, 2);
    EXPECT_EQ(back.norm_eps, c.norm_eps);
    EXPECT_EQ(back.rope_scaling.kind, dtm::RopeScalingKind::kLlama3);
    EXPECT_EQ(back.rope_scaling.high_freq_factor, 4.0f);
    EXPECT_TRUE(back.shared_classifier);
    EXPECT_EQ(back.eos_id, 2);
}

TEST(HfCheckpointTest, RopeRowPermutationIsHuggingFacesAndInvertible) {
    // 2 heads of head_dim 4, one column: engine rows (h, 2i + j) -> HF rows (h, j * 2 + i).
    const std::vector<float> engine = {0, 1, 2, 3, 4, 5, 6, 7};
    std::vector<float> hf(8), back(8);
    dtm::rope_rows_to_hf(engine.data(), hf.data(), 2, 4, 1);
    EXPECT_EQ(hf, (std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7}));
    dtm::rope_rows_from_hf(hf.data(), back.data(), 2, 4, 1);
    EXPECT_EQ(back, engine);
}

TEST(HfCheckpointTest, ConvertedTinyModelsGiveBitwiseIdenticalLogits) {
    for (const bool gqa : {false, true}) {
        for (const bool shared : {true, false}) {
            dtm::test::TinyModelSpec spec;
            spec.n_kv_heads = gqa ? 2 : 4;
            spec.shared_classifier = shared;
            const auto [bin, hf] = converted_tiny(spec);
            ModelHandle a{load_model(bin)}, b{load_model(hf)};
            ASSERT_TRUE(a.m && b.m);
            dtm_model_config ca, cb;
            dtm_model_get_config(a.m, &ca);
            dtm_model_get_config(b.m, &cb);
            EXPECT_EQ(cb.source, 1);
            EXPECT_EQ(ca.source, 0);
            EXPECT_EQ(cb.n_kv_heads, ca.n_kv_heads);
            EXPECT_EQ(cb.shared_classifier, ca.shared_classifier);
            EXPECT_EQ(cb.n_params, ca.n_params);
            EXPECT_EQ(cb.norm_eps, ca.norm_eps);
            // Every component's weights are the same bits.
            for (int32_t i = 0; i < dtm_model_n_components(a.m); ++i) {
                dtm_component_info info;
                dtm_model_component(a.m, i, &info);
                std::vector<float> wa(size_t(info.rows * info.cols)), wb(wa.size());
                ASSERT_EQ(dtm_model_component_weights(a.m, i, wa.data(), int64_t(wa.size())), DTM_OK) << dtm_last_error();
                ASSERT_EQ(dtm_model_component_weights(b.m, i, wb.data(), int64_t(wb.size())), DTM_OK) << dtm_last_error();
                EXPECT_TRUE(bitwise_equal(wa, wb)) << info.name;
            }
            const auto seq = some_tokens(spec.vocab_size, 40, 7);
            EXPECT_TRUE(bitwise_equal(logits_of(a.m, seq), logits_of(b.m, seq))) << "gqa " << gqa << " shared " << shared;
        }
    }
}

TEST(HfCheckpointTest, HalfPrecisionAndShardedCheckpointsLoadToTheSameModel) {
    dtm::test::TinyModelSpec spec;
    spec.n_kv_heads = 2;
    spec.shared_classifier = false;
    const auto [bin, hf] = converted_tiny(spec);
    const auto seq = some_tokens(spec.vocab_size, 30, 3);
    for (const std::string dtype : {"BF16", "F16"}) {
        Checkpoint half = Checkpoint::read(hf);
        const Checkpoint rounded = to_half(half, dtype);
        const std::string root = dtm::test::temp_dir();
        ModelHandle h{load_model(half.write(root + "/half"))}, f{load_model(rounded.write(root + "/f32"))};
        ASSERT_TRUE(h.m && f.m) << dtype;
        EXPECT_TRUE(bitwise_equal(logits_of(h.m, seq), logits_of(f.m, seq))) << dtype;
    }
    const Checkpoint whole = Checkpoint::read(hf);
    ModelHandle one{load_model(hf)}, three{load_model(whole.write(dtm::test::temp_dir() + "/sharded", 3))};
    ASSERT_TRUE(three.m);
    EXPECT_TRUE(bitwise_equal(logits_of(one.m, seq), logits_of(three.m, seq)));
}

// Logits of `seq` on one kernel path and thread count; batched prefill and
// one-token decoding must agree bitwise.
std::vector<float> logits_on(dtm_model * m, const std::vector<int32_t> & seq, dtm_isa isa, int threads) {
    dtm_model_config cfg;
    EXPECT_EQ(dtm_model_get_config(m, &cfg), DTM_OK);
    SessionHandle s{dtm::test::open_session(m, isa, threads)};
    const std::vector<float> scored = dtm::test::score_logits(s.s, {seq}, cfg.vocab_size);
    EXPECT_TRUE(bitwise_equal(scored, dtm::test::decode_logits(s.s, seq, cfg.vocab_size)))
        << "prefill and decode differ on " << dtm::cpu::isa_name(isa) << ", " << threads << " threads";
    return scored;
}

TEST(HfCheckpointTest, HalfPrecisionMatricesStayIn16BitsAndGiveTheFp32Logits) {
    for (const bool shared : {false, true}) {
        dtm::test::TinyModelSpec spec;
        spec.n_kv_heads = 2;
        spec.shared_classifier = shared;
        const auto [bin, hf] = converted_tiny(spec);
        const auto seq = some_tokens(spec.vocab_size, 30, 11);
        for (const std::string dtype : {"BF16", "F16"}) {
            Checkpoint half = Checkpoint::read(hf);
            const Checkpoint rounded = to_half(half, dtype);
            const std::string root = dtm::test::temp_dir();
            ModelHandle h{load_model(half.write(root + "/half"))}, f{load_model(rounded.write(root + "/f32"))};
            ASSERT_TRUE(h.m && f.m) << dtype;
            // Every matrix (the head too, tied or not) and the embedding are
            // kept in 16 bits, with the effective weights of the converted fp32
            // model (and so the same fingerprint).
            const int32_t want_format = dtype == "BF16" ? DTM_FORMAT_BF16 : DTM_FORMAT_FP16;
            const int32_t n = dtm_model_n_components(h.m);
            for (int32_t i = 0; i < n; ++i) {
                dtm_component_info hi, fi;
                ASSERT_EQ(dtm_model_component(h.m, i, &hi), DTM_OK);
                ASSERT_EQ(dtm_model_component(f.m, i, &fi), DTM_OK);
                EXPECT_EQ(hi.format, want_format) << hi.name;
                EXPECT_EQ(fi.format, DTM_FORMAT_FP32) << fi.name;
                EXPECT_EQ(hi.storage_bytes * 2, fi.storage_bytes) << hi.name;
                EXPECT_EQ(hi.sparsity, fi.sparsity) << hi.name;
                std::vector<float> hw(size_t(hi.rows * hi.cols)), fw(hw.size());
                ASSERT_EQ(dtm_model_component_weights(h.m, i, hw.data(), int64_t(hw.size())), DTM_OK) << dtm_last_error();
                ASSERT_EQ(dtm_model_component_weights(f.m, i, fw.data(), int64_t(fw.size())), DTM_OK);
                EXPECT_TRUE(bitwise_equal(hw, fw)) << hi.name;
            }
            EXPECT_EQ(h.m->impl->fingerprint(), f.m->impl->fingerprint()) << dtype;
            for (dtm_isa isa : {DTM_ISA_SCALAR, DTM_ISA_AVX2, DTM_ISA_AVX512}) {
                if (!dtm::cpu::isa_supported(isa)) continue;
                for (int threads : {1, 2}) {
                    EXPECT_TRUE(bitwise_equal(logits_on(h.m, seq, isa, threads), logits_on(f.m, seq, isa, threads)))
                        << dtype << " shared " << shared << " " << dtm::cpu::isa_name(isa) << ", " << threads << " threads";
                }
            }
            // Compressing a 16-bit component gives what compressing the
            // converted fp32 weights gives.
            for (const int32_t kind : {DTM_COMPRESS_PRUNE_MAGNITUDE, DTM_COMPRESS_INT8}) {
                dtm_compression settings{};
                settings.kind = kind;
                settings.sparsity = 0.5f;
                const int32_t components[] = {0, 6};  // q_proj and down_proj of layer 0
                const dtm_compression both[] = {settings, settings};
                ModelHandle hc, fc;
                ASSERT_EQ(dtm_model_compress(h.m, 2, components, both, nullptr, 1, &hc.m), DTM_OK) << dtm_last_error();
                ASSERT_EQ(dtm_model_compress(f.m, 2, components, both, nullptr, 1, &fc.m), DTM_OK) << dtm_last_error();
                EXPECT_TRUE(bitwise_equal(logits_on(hc.m, seq, DTM_ISA_AUTO, 2), logits_on(fc.m, seq, DTM_ISA_AUTO, 2)))
                    << dtype << " compression " << kind;
            }
        }
    }
}

TEST(HfCheckpointTest, BiasesAreAddedAfterTheProducts) {
    dtm::test::TinyModelSpec spec;
    spec.n_kv_heads = 2;
    const auto [bin, hf] = converted_tiny(spec);
    const auto seq = some_tokens(spec.vocab_size, 30, 5);
    Checkpoint c = Checkpoint::read(hf);
    c.config["attention_bias"] = true;
    c.config["mlp_bias"] = true;
    const dtm::ModelConfig cfg = dtm::parse_hf_config(c.config.dump(), "x");
    const std::pair<const char *, int64_t> biases[] = {
        {"self_attn.q_proj", cfg.q_dim()}, {"self_attn.k_proj", cfg.kv_dim()}, {"self_attn.v_proj", cfg.kv_dim()},
        {"self_attn.o_proj", cfg.dim},     {"mlp.gate_proj", cfg.hidden_dim},  {"mlp.up_proj", cfg.hidden_dim},
        {"mlp.down_proj", cfg.dim}};
    // Zero biases change nothing, bitwise.
    for (int32_t l = 0; l < cfg.n_layers; ++l) {
        for (const auto & [module, n] : biases) {
            c.set("model.layers." + std::to_string(l) + "." + module + ".bias", {n}, std::vector<float>(size_t(n), 0.0f));
        }
    }
    ModelHandle plain{load_model(hf)}, zero{load_model(c.write(dtm::test::temp_dir() + "/zero"))};
    ASSERT_TRUE(zero.m);
    dtm_model_config zc;
    dtm_model_get_config(zero.m, &zc);
    EXPECT_TRUE(zc.qkv_bias && zc.o_bias && zc.mlp_bias);
    const auto base_logits = logits_of(plain.m, seq);
    EXPECT_TRUE(bitwise_equal(base_logits, logits_of(zero.m, seq)));
    // Each non-zero bias changes the logits (and prefill == decode still holds in logits_of).
    for (const auto & [module, n] : biases) {
        Checkpoint one = c;
        one.set(std::string("model.layers.1.") + module + ".bias", {n}, std::vector<float>(size_t(n), 0.25f));
        ModelHandle m{load_model(one.write(dtm::test::temp_dir() + "/bias"))};
        ASSERT_TRUE(m.m) << module;
        EXPECT_FALSE(bitwise_equal(base_logits, logits_of(m.m, seq))) << module;
    }
    // A q bias written in Hugging Face's row order reaches the engine in its own:
    // the checkpoint written back from the loaded model has the same bias bytes.
    Checkpoint qb = c;
    std::vector<float> ramp(size_t(cfg.q_dim()));
    for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = float(i) * 0.01f;
    qb.set("model.layers.0.self_attn.q_proj.bias", {cfg.q_dim()}, ramp);
    ModelHandle qm{load_model(qb.write(dtm::test::temp_dir() + "/qb"))};
    const std::string again = dtm::test::temp_dir() + "/again";
    ASSERT_EQ(dtm_model_save_hf(qm.m, again.c_str()), DTM_OK) << dtm_last_error();
    EXPECT_EQ(Checkpoint::read(again).values("model.layers.0.self_attn.q_proj.bias"), ramp);
}

TEST(HfCheckpointTest, DamagedCheckpointsAreRefusedWithClearErrors) {
    dtm::test::TinyModelSpec spec;
    const auto [bin, hf] = converted_tiny(spec);
    const Checkpoint good = Checkpoint::read(hf);
    auto refused = [](const std::string & dir, dtm_status status, std::initializer_list<std::string> fragments) {
        return fails_with([&] { dtm::Model::load_hf(dir, true); }, status, fragments);
    };
    const std::string root = dtm::test::temp_dir();

    Checkpoint missing = good;
    missing.tensors.erase("model.layers.1.mlp.up_proj.weight");
    EXPECT_TRUE(refused(missing.write(root + "/missing"), DTM_ERR_MODEL_FORMAT, {"missing tensor 'model.layers.1.mlp.up_proj.weight'"}));

    Checkpoint ints = good;
    Tensor & norm = ints.tensors.at("model.norm.weight");
    norm = {"I32", norm.shape, norm.bytes};
    EXPECT_TRUE(refused(ints.write(root + "/ints"), DTM_ERR_MODEL_FORMAT,
                        {"tensor 'model.norm.weight'", "has dtype I32; dtm reads F32, F16 and BF16"}));

    Checkpoint shape = good;
    shape.tensors.at("model.layers.0.self_attn.k_proj.weight").shape = {32, 128};
    EXPECT_TRUE(refused(shape.write(root + "/shape"), DTM_ERR_MODEL_FORMAT,
                        {"'model.layers.0.self_attn.k_proj.weight'", "has shape [32, 128], but config.json implies [64, 64]"}));

    Checkpoint extra = good;
    extra.set("model.layers.7.mlp.up_proj.weight", {2}, {1.0f, 2.0f});
    EXPECT_TRUE(refused(extra.write(root + "/extra"), DTM_ERR_MODEL_FORMAT, {"'model.layers.7.mlp.up_proj.weight'", "not part of the model"}));

    Checkpoint nan = good;
    std::vector<float> v = nan.values("model.layers.0.mlp.down_proj.weight");
    v[5] = NAN;
    nan.set("model.layers.0.mlp.down_proj.weight", nan.tensors.at("model.layers.0.mlp.down_proj.weight").shape, v);
    EXPECT_TRUE(refused(nan.write(root + "/nan"), DTM_ERR_NON_FINITE, {"NaN in model.layers.0.mlp.down_proj.weight at index 5"}));

    Checkpoint arch = good;
    arch.config["architectures"] = {"PhiForCausalLM"};
    EXPECT_TRUE(refused(arch.write(root + "/arch"), DTM_ERR_UNSUPPORTED, {"architecture 'PhiForCausalLM' is not supported"}));

    // Damaged safetensors: header length past the end, offsets past the end.
    const std::string cut = good.write(root + "/cut");
    std::vector<uint8_t> bytes = dtm::test::read_file(cut + "/model.safetensors");
    bytes.resize(bytes.size() - 10);
    dtm::test::write_file(cut + "/model.safetensors", bytes);
    EXPECT_TRUE(refused(cut, DTM_ERR_MODEL_FORMAT, {"run past the end of the data"}));
    const uint64_t huge = uint64_t(1) << 40;
    std::memcpy(bytes.data(), &huge, 8);
    dtm::test::write_file(cut + "/model.safetensors", bytes);
    EXPECT_TRUE(refused(cut, DTM_ERR_MODEL_FORMAT, {"header length 1099511627776 runs past the end of the file"}));

    // Shards: an index naming a shard that does not exist, or one lacking a tensor.
    const std::string sharded = good.write(root + "/sharded", 2);
    std::filesystem::remove(sharded + "/model-2-of-2.safetensors");
    EXPECT_TRUE(refused(sharded, DTM_ERR_IO, {"model-2-of-2.safetensors"}));
    const std::string moved = good.write(root + "/moved", 2);
    std::ifstream index_in(moved + "/model.safetensors.index.json");
    Json index = Json::parse(index_in);
    const std::string some = index["weight_map"].begin().key();
    index["weight_map"][some] = index["weight_map"][some] == "model-1-of-2.safetensors" ? "model-2-of-2.safetensors" : "model-1-of-2.safetensors";
    std::ofstream(moved + "/model.safetensors.index.json") << index.dump();
    EXPECT_TRUE(refused(moved, DTM_ERR_MODEL_FORMAT, {"'" + some + "'", "is missing from it"}));

    const std::string empty = root + "/empty";
    std::filesystem::create_directories(empty);
    EXPECT_TRUE(refused(empty, DTM_ERR_IO, {"has no config.json"}));
    std::ofstream(empty + "/config.json") << good.config.dump();
    EXPECT_TRUE(refused(empty, DTM_ERR_IO, {"neither model.safetensors nor model.safetensors.index.json"}));
}

// Through the C API with its default parameters the finite check is on: a
// checkpoint with an infinite bias is refused; turned off, it loads.
TEST(HfCheckpointTest, NonFiniteWeightsAreRefusedByDefault) {
    dtm::test::TinyModelSpec spec;
    const auto [bin, hf] = converted_tiny(spec);
    Checkpoint c = Checkpoint::read(hf);
    c.config["mlp_bias"] = true;
    const dtm::ModelConfig cfg = dtm::parse_hf_config(c.config.dump(), "x");
    for (int32_t l = 0; l < cfg.n_layers; ++l) {
        for (const auto & [module, n] : {std::pair<const char *, int64_t>{"mlp.gate_proj", cfg.hidden_dim},
                                         {"mlp.up_proj", cfg.hidden_dim}, {"mlp.down_proj", cfg.dim}}) {
            c.set("model.layers." + std::to_string(l) + "." + module + ".bias", {n}, std::vector<float>(size_t(n), 0.0f));
        }
    }
    std::vector<float> bias(size_t(cfg.dim), 0.0f);
    bias[7] = INFINITY;
    c.set("model.layers.1.mlp.down_proj.bias", {cfg.dim}, bias);
    const std::string dir = c.write(dtm::test::temp_dir() + "/inf");
    dtm_model * m = reinterpret_cast<dtm_model *>(0x1);
    EXPECT_EQ(dtm_model_load(dir.c_str(), dtm_model_default_params(), &m), DTM_ERR_NON_FINITE);
    EXPECT_NE(std::string(dtm_last_error()).find("infinity in model.layers.1.mlp.down_proj.bias at index 7"), std::string::npos)
        << dtm_last_error();
    EXPECT_EQ(m, nullptr);
    dtm_model_params unchecked = dtm_model_default_params();
    unchecked.check_finite = 0;
    ASSERT_EQ(dtm_model_load(dir.c_str(), unchecked, &m), DTM_OK) << dtm_last_error();
    dtm_model_free(m);
}

// Models whose logits differ have different fingerprints, and a candidate
// file made for one is refused by the other: two checkpoints that differ only
// in one configuration number (rope_theta, the norms' eps, the RoPE scaling
// and each of its parameters), and two that differ only in one bias value.
TEST(HfCheckpointTest, TheFingerprintCoversTheConfigurationAndTheBiases) {
    dtm::test::TinyModelSpec spec;
    const auto [bin, hf] = converted_tiny(spec);
    Checkpoint c = Checkpoint::read(hf);
    c.config["attention_bias"] = true;
    const dtm::ModelConfig cfg = dtm::parse_hf_config(c.config.dump(), "x");
    std::mt19937 rng(17);
    std::uniform_real_distribution<float> small(-0.1f, 0.1f);
    for (int32_t l = 0; l < cfg.n_layers; ++l) {
        for (const auto & [module, n] : {std::pair<const char *, int64_t>{"self_attn.q_proj", cfg.q_dim()},
                                         {"self_attn.k_proj", cfg.kv_dim()}, {"self_attn.v_proj", cfg.kv_dim()},
                                         {"self_attn.o_proj", cfg.dim}}) {
            std::vector<float> b(static_cast<size_t>(n));
            for (float & x : b) x = small(rng);
            c.set("model.layers." + std::to_string(l) + "." + module + ".bias", {n}, b);
        }
    }
    const Json llama3 = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", 16}};
    auto with = [&](const Json & changes) {
        Checkpoint v = c;
        v.config.merge_patch(changes);
        return v;
    };
    auto llama3_with = [&](const char * key, const Json & value) {
        Json r = llama3;
        r[key] = value;
        return with({{"rope_scaling", r}});
    };
    Checkpoint one_bias = c;
    std::vector<float> b = one_bias.values("model.layers.1.self_attn.v_proj.bias");
    b[3] += 0.25f;
    one_bias.set("model.layers.1.self_attn.v_proj.bias", {cfg.kv_dim()}, b);

    struct Pair {
        const char * what;
        Checkpoint a, b;
    };
    const Pair pairs[] = {
        {"rope_theta", with({{"rope_theta", 10000.0}}), with({{"rope_theta", 20000.0}})},
        {"rms_norm_eps", with({{"rms_norm_eps", 1e-5}}), with({{"rms_norm_eps", 1e-2}})},
        {"rope_scaling or none", c, with({{"rope_scaling", {{"rope_type", "linear"}, {"factor", 2.0}}}})},
        {"rope_scaling type", with({{"rope_scaling", {{"rope_type", "linear"}, {"factor", 2.0}}}}),
         with({{"rope_scaling", {{"rope_type", "dynamic"}, {"factor", 2.0}, {"original_max_position_embeddings", 64}}}})},
        {"rope_scaling factor", with({{"rope_scaling", {{"rope_type", "linear"}, {"factor", 2.0}}}}),
         with({{"rope_scaling", {{"rope_type", "linear"}, {"factor", 3.0}}}})},
        {"llama3 low_freq_factor", with({{"rope_scaling", llama3}}), llama3_with("low_freq_factor", 2.0)},
        {"llama3 high_freq_factor", with({{"rope_scaling", llama3}}), llama3_with("high_freq_factor", 8.0)},
        {"llama3 original context", with({{"rope_scaling", llama3}}), llama3_with("original_max_position_embeddings", 32)},
        {"one bias value", c, one_bias},
    };
    const auto seq = some_tokens(spec.vocab_size, 40, 9);
    const std::string root = dtm::test::temp_dir();
    int index = 0;
    for (const Pair & p : pairs) {
        const std::string n = std::to_string(index++);
        ModelHandle a{load_model(p.a.write(root + "/a" + n))}, b2{load_model(p.b.write(root + "/b" + n))};
        ASSERT_TRUE(a.m && b2.m) << p.what;
        EXPECT_FALSE(bitwise_equal(logits_of(a.m, seq), logits_of(b2.m, seq))) << p.what << ": the models must differ";
        EXPECT_NE(a.m->impl->fingerprint(), b2.m->impl->fingerprint()) << p.what;

        // A candidate file exported from a loads onto a, and is refused by b.
        const int32_t component = 0;  // model.layers.0.self_attn.q_proj
        dtm_compression prune{};
        prune.kind = DTM_COMPRESS_PRUNE_MAGNITUDE;
        prune.sparsity = 0.5f;
        dtm_model * cand = nullptr;
        ASSERT_EQ(dtm_model_compress(a.m, 1, &component, &prune, nullptr, 2, &cand), DTM_OK) << dtm_last_error();
        const std::string file = root + "/cand" + n + ".safetensors";
        ASSERT_EQ(dtm_candidate_export(cand, a.m, file.c_str()), DTM_OK) << dtm_last_error();
        dtm_model_free(cand);
        dtm_model * back = nullptr;
        EXPECT_EQ(dtm_candidate_load(a.m, file.c_str(), &back), DTM_OK) << p.what << ": " << dtm_last_error();
        dtm_model_free(back);
        back = nullptr;
        EXPECT_EQ(dtm_candidate_load(b2.m, file.c_str(), &back), DTM_ERR_INVALID_ARGUMENT) << p.what;
        EXPECT_NE(std::string(dtm_last_error()).find("another base"), std::string::npos) << dtm_last_error();
        EXPECT_EQ(back, nullptr);
    }
}

TEST(HfCheckpointTest, TheEngineHasNoTokenizerForACheckpoint) {
    dtm::test::TinyModelSpec spec;
    const auto [bin, hf] = converted_tiny(spec);
    ModelHandle m{load_model(hf)};
    int32_t ids[8], n = 0;
    EXPECT_EQ(dtm_tokenize(m.m, "hi", 2, 1, ids, 8, &n), DTM_ERR_UNSUPPORTED);
    EXPECT_NE(std::string(dtm_last_error()).find("tokenizer.json is read by the Java API"), std::string::npos) << dtm_last_error();
    char text[8];
    EXPECT_EQ(dtm_detokenize(m.m, ids, 0, text, 8, &n), DTM_ERR_UNSUPPORTED);
    float score = 0;
    ModelHandle l{load_model(bin)};
    EXPECT_EQ(dtm_token_score(l.m, 300 - 1, &score), DTM_OK);
    EXPECT_EQ(dtm_token_score(m.m, 5, &score), DTM_ERR_UNSUPPORTED);
}

TEST(HfCheckpointTest, AModelLargerThanMemoryFailsBeforeLoading) {
    EXPECT_EQ(dtm::parse_mem_available("MemTotal: 100 kB\nMemAvailable:   2048 kB\n"), 2048 * 1024);
    EXPECT_EQ(dtm::parse_mem_available("MemTotal: 100 kB\n"), -1);
    const int64_t available = dtm::available_memory_bytes();
    ASSERT_GT(available, 0);
    // A BF16 checkpoint whose matrices (kept in 16 bits) need more than
    // MemAvailable: a sparse file with a valid header, so it costs no disk.
    const int64_t dim = 4096, hidden = 16384, vocab = 1024;
    const int64_t layer_bf16 = (4 * dim * dim + 3 * dim * hidden) * 2;
    const int64_t layers = available / layer_bf16 + 2;
    Json config = Json::parse(base_config_text());
    config.merge_patch({{"hidden_size", dim}, {"intermediate_size", hidden}, {"num_hidden_layers", layers},
                        {"num_attention_heads", 32}, {"vocab_size", vocab}, {"tie_word_embeddings", true}});
    const dtm::ModelConfig c = dtm::parse_hf_config(config.dump(), "big");
    Json header = Json::object();
    uint64_t offset = 0;
    auto add = [&](const std::string & name, std::vector<int64_t> shape) {
        uint64_t n = 2;
        for (int64_t d : shape) n *= uint64_t(d);
        header[name] = {{"dtype", "BF16"}, {"shape", shape}, {"data_offsets", {offset, offset + n}}};
        offset += n;
    };
    add("model.embed_tokens.weight", {vocab, dim});
    add("model.norm.weight", {dim});
    for (int64_t l = 0; l < layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        add(p + "input_layernorm.weight", {dim});
        add(p + "post_attention_layernorm.weight", {dim});
        add(p + "self_attn.q_proj.weight", {c.q_dim(), dim});
        add(p + "self_attn.k_proj.weight", {c.kv_dim(), dim});
        add(p + "self_attn.v_proj.weight", {c.kv_dim(), dim});
        add(p + "self_attn.o_proj.weight", {dim, c.q_dim()});
        add(p + "mlp.gate_proj.weight", {hidden, dim});
        add(p + "mlp.up_proj.weight", {hidden, dim});
        add(p + "mlp.down_proj.weight", {dim, hidden});
    }
    const std::string dir = dtm::test::temp_dir();
    std::ofstream(dir + "/config.json") << config.dump();
    const std::string text = header.dump();
    const uint64_t len = text.size();
    {
        std::ofstream out(dir + "/model.safetensors", std::ios::binary);
        out.write(reinterpret_cast<const char *>(&len), 8);
        out.write(text.data(), std::streamsize(text.size()));
    }
    ASSERT_EQ(::truncate((dir + "/model.safetensors").c_str(), off_t(8 + len + offset)), 0);
    EXPECT_TRUE(fails_with([&] { dtm::Model::load_hf(dir, false); }, DTM_ERR_OUT_OF_MEMORY,
                           {"needs about", "GiB of memory to load", "MemAvailable"}));
}

TEST(HfCheckpointTest, RopeScalingTables) {
    const int32_t max_pos = 64, head_dim = 16;
    const dtm::RopeTable plain(max_pos, head_dim, 10000.0f);
    // Linear: position p with factor 2 is position p/2 unscaled (for even p: the same bits).
    dtm::RopeScaling linear;
    linear.kind = dtm::RopeScalingKind::kLinear;
    linear.factor = 2.0f;
    const dtm::RopeTable lin(max_pos, head_dim, 10000.0f, linear);
    for (int32_t i = 0; i < head_dim / 2; ++i) EXPECT_NEAR(lin.cos_[size_t(10 * 8 + i)], plain.cos_[size_t(5 * 8 + i)], 1e-6f);
    // Dynamic: unchanged inside the trained context, a larger theta beyond it.
    dtm::RopeScaling dynamic;
    dynamic.kind = dtm::RopeScalingKind::kDynamic;
    dynamic.factor = 2.0f;
    dynamic.original_max_pos = 32;
    const dtm::RopeTable dyn(max_pos, head_dim, 10000.0f, dynamic);
    EXPECT_EQ(std::memcmp(dyn.cos_.data(), plain.cos_.data(), 32 * 8 * 4), 0);
    const double grown = 2.0 * 40 / 32 - 1.0;
    const double theta = 10000.0 * std::pow(grown, 16.0 / 14.0);
    EXPECT_NEAR(dyn.cos_[size_t(39 * 8 + 3)], std::cos(39.0 / std::pow(theta, 6.0 / 16.0)), 1e-5);
    // Llama 3: the highest frequencies are kept, the lowest divided by the factor.
    dtm::RopeScaling l3;
    l3.kind = dtm::RopeScalingKind::kLlama3;
    l3.factor = 8.0f;
    l3.low_freq_factor = 1.0f;
    l3.high_freq_factor = 4.0f;
    l3.original_max_pos = 64;
    const dtm::RopeTable scaled(max_pos, head_dim, 10000.0f, l3);
    EXPECT_EQ(scaled.sin_[size_t(7 * 8 + 0)], plain.sin_[size_t(7 * 8 + 0)]);  // freq 1: wavelength 2*pi < 64/4
    const double low = 1.0 / std::pow(10000.0, 14.0 / 16.0) / 8.0;            // wavelength far above 64
    EXPECT_NEAR(scaled.sin_[size_t(40 * 8 + 7)], std::sin(40.0 * low), 1e-6);
}

TEST(HfCheckpointTest, ConvertedDefaultModelGivesBitwiseIdenticalLogits) {
    const std::string dir = dtm::test::default_model_dir();
    if (dir.empty()) GTEST_SKIP() << "DTM_MODEL_DIR is not set";
    ModelHandle original{load_model(dir + "/stories15M.bin")};
    const std::string hf = dtm::test::temp_dir() + "/stories15M-hf";
    ASSERT_EQ(dtm_model_save_hf(original.m, hf.c_str()), DTM_OK) << dtm_last_error();
    ModelHandle converted{load_model(hf)};
    ASSERT_TRUE(converted.m);
    const std::vector<int32_t> seq = {1, 9038, 2501, 263, 931, 29892, 727, 471, 263, 2217, 7826, 4257, 365, 2354, 29889};
    EXPECT_TRUE(bitwise_equal(logits_of(original.m, seq), logits_of(converted.m, seq)));
    // The same greedy continuation.
    dtm_session * a = nullptr, * b = nullptr;
    ASSERT_EQ(dtm_session_create(original.m, dtm_session_default_params(), &a), DTM_OK);
    ASSERT_EQ(dtm_session_create(converted.m, dtm_session_default_params(), &b), DTM_OK);
    const int32_t len = int32_t(seq.size());
    std::vector<int32_t> ga(100), gb(100);
    int32_t la = 0, lb = 0;
    ASSERT_EQ(dtm_generate_greedy(a, seq.data(), &len, 1, 100, 0, ga.data(), &la), DTM_OK);
    ASSERT_EQ(dtm_generate_greedy(b, seq.data(), &len, 1, 100, 0, gb.data(), &lb), DTM_OK);
    EXPECT_EQ(ga, gb);
    dtm_session_free(a);
    dtm_session_free(b);
}

}  // namespace
