// test_export.cpp - the GGUF writer's layout and the export entry points'
// errors (the files' contents are checked from Java, tests/junit/dtm/export,
// against llama.cpp itself).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "dtm/dtm.h"
#include "export/gguf_file.h"
#include "test_support.h"

namespace {

using dtm::gguf::TensorType;

uint64_t u64_at(const std::vector<uint8_t> & b, size_t at) {
    uint64_t v;
    std::memcpy(&v, b.data() + at, 8);
    return v;
}

TEST(GgufFile, TensorBytesFollowTheBlockTypes) {
    EXPECT_EQ(dtm::gguf::tensor_bytes(TensorType::kF32, {288, 32000}), 288ull * 32000 * 4);
    EXPECT_EQ(dtm::gguf::tensor_bytes(TensorType::kBF16, {3, 5}), 30u);
    EXPECT_EQ(dtm::gguf::tensor_bytes(TensorType::kQ8_0, {64, 3}), 2u * 3 * 34);
    EXPECT_EQ(dtm::gguf::tensor_bytes(TensorType::kQ4_0, {288, 768}), 9u * 768 * 18);
    try {
        dtm::gguf::tensor_bytes(TensorType::kQ4_0, {33, 2});
        FAIL() << "33 values cannot be split into blocks of 32";
    } catch (const dtm::Error & e) {
        EXPECT_EQ(e.status(), DTM_ERR_INVALID_ARGUMENT);
        EXPECT_NE(std::string(e.what()).find("Q4_0 needs rows of a multiple of 32 values, got 33"), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(dtm::gguf::tensor_bytes(TensorType::kF32, {4, 0}), dtm::Error);
}

TEST(GgufFile, HeaderMetadataAndAlignedData) {
    const std::string path = dtm::test::temp_dir() + "/small.gguf";
    dtm::gguf::Writer w;
    w.add_string("general.architecture", "llama");
    w.add_float32_array("xs", {1.0f, 2.0f});
    w.add_tensor("a", TensorType::kF32, {3}, [] { return std::vector<uint8_t>(12, 0xab); });
    w.add_tensor("b", TensorType::kQ8_0, {32, 1}, [] { return std::vector<uint8_t>(34, 0x11); });
    w.write(path);
    const std::vector<uint8_t> f = dtm::test::read_file(path);
    ASSERT_EQ(f.size(), w.file_bytes());
    ASSERT_GE(f.size(), 24u);
    EXPECT_EQ(std::string(f.begin(), f.begin() + 4), "GGUF");
    EXPECT_EQ(f[4], 3);        // version
    EXPECT_EQ(u64_at(f, 8), 2u);   // tensors
    EXPECT_EQ(u64_at(f, 16), 3u);  // metadata: general.alignment (always), architecture, xs
    // The data section starts aligned; tensor a's 12 bytes are padded to 32, then b's 34 bytes.
    ASSERT_EQ(f.size() % 32, 0u);
    const size_t data = f.size() - 32 - 64;
    EXPECT_EQ(data % 32, 0u);
    EXPECT_EQ(f[data], 0xab);
    EXPECT_EQ(f[data + 11], 0xab);
    EXPECT_EQ(f[data + 12], 0);
    EXPECT_EQ(f[data + 32], 0x11);
    EXPECT_EQ(f[data + 65], 0x11);
    EXPECT_EQ(f[data + 66], 0);
}

TEST(GgufFile, ATensorOfTheWrongSizeLeavesNoFile) {
    const std::string path = dtm::test::temp_dir() + "/bad.gguf";
    dtm::gguf::Writer w;
    w.add_tensor("a", TensorType::kF32, {4}, [] { return std::vector<uint8_t>(12, 0); });
    try {
        w.write(path);
        FAIL() << "16 bytes were due";
    } catch (const dtm::Error & e) {
        EXPECT_EQ(e.status(), DTM_ERR_INTERNAL);
    }
    EXPECT_FALSE(std::filesystem::exists(path));
    for (const auto & entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
        EXPECT_EQ(entry.path().string().find("bad.gguf.tmp"), std::string::npos) << entry.path();
    }
    EXPECT_THROW(w.add_string("general.alignment", "twice"), dtm::Error);
}

TEST(ExportApi, BadArgumentsAreErrorsNotCrashes) {
    dtm::test::ModelHandle m;
    m.m = dtm::test::load_model(dtm::test::write_tiny_model(dtm::test::temp_dir(), {}));
    ASSERT_NE(m.m, nullptr);
    const std::string dir = dtm::test::temp_dir();
    EXPECT_EQ(dtm_model_export_gguf(m.m, nullptr, nullptr, (dir + "/x.gguf").c_str()), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(dtm_model_export_hf(nullptr, dir.c_str()), DTM_ERR_INVALID_ARGUMENT);

    const int32_t n = 300;
    std::string text;
    std::vector<int64_t> offsets{0};
    for (int32_t i = 0; i < n; ++i) {
        text += "t" + std::to_string(i);
        offsets.push_back(int64_t(text.size()));
    }
    std::vector<int32_t> types(n, 1);
    dtm_gguf_vocab v{};
    v.kind = DTM_GGUF_VOCAB_SENTENCEPIECE;
    v.n_tokens = n;
    v.token_text = text.data();
    v.token_offsets = offsets.data();
    v.token_types = types.data();
    v.bos_id = v.eos_id = v.unk_id = v.pad_id = -1;
    EXPECT_EQ(dtm_model_export_gguf(m.m, &v, "tiny", (dir + "/ok.gguf").c_str()), DTM_OK) << dtm_last_error();
    EXPECT_TRUE(std::filesystem::exists(dir + "/ok.gguf"));

    v.kind = 7;
    EXPECT_EQ(dtm_model_export_gguf(m.m, &v, nullptr, (dir + "/k.gguf").c_str()), DTM_ERR_INVALID_ARGUMENT);
    v.kind = DTM_GGUF_VOCAB_BYTE_PAIRS;
    EXPECT_EQ(dtm_model_export_gguf(m.m, &v, nullptr, (dir + "/m.gguf").c_str()), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(dtm_last_error()).find("needs its merges"), std::string::npos) << dtm_last_error();
    v.kind = DTM_GGUF_VOCAB_SENTENCEPIECE;
    std::swap(offsets[3], offsets[4]);
    EXPECT_EQ(dtm_model_export_gguf(m.m, &v, nullptr, (dir + "/o.gguf").c_str()), DTM_ERR_INVALID_ARGUMENT);
    std::swap(offsets[3], offsets[4]);
    types[5] = 9;
    EXPECT_EQ(dtm_model_export_gguf(m.m, &v, nullptr, (dir + "/t.gguf").c_str()), DTM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(dtm_last_error()).find("token 5 has type 9"), std::string::npos) << dtm_last_error();
    types[5] = 1;
    v.bos_id = n;
    EXPECT_EQ(dtm_model_export_gguf(m.m, &v, nullptr, (dir + "/b.gguf").c_str()), DTM_ERR_INVALID_ARGUMENT);
    for (const char * f : {"/k.gguf", "/m.gguf", "/o.gguf", "/t.gguf", "/b.gguf"}) {
        EXPECT_FALSE(std::filesystem::exists(dir + f)) << f;
    }

    char fingerprint[32];
    int32_t len = 0;
    EXPECT_EQ(dtm_model_fingerprint(m.m, fingerprint, 4, &len), DTM_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(len, 16);
    EXPECT_EQ(dtm_model_fingerprint(m.m, fingerprint, sizeof fingerprint, &len), DTM_OK);
    EXPECT_EQ(len, 16);
}

}  // namespace
