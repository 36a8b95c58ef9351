// test_safetensors.cpp - the generic safetensors reader and writer: files
// round-trip with every dtype, shape and metadata; every kind of damaged
// file (header length, JSON, dtype, shape, offsets, gaps, overlaps, trailing
// bytes) is refused with DTM_ERR_MODEL_FORMAT and a message naming the fault.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/safetensors_file.h"
#include "test_support.h"

namespace {

using dtm::test::fails_with;

const std::string & scratch() {
    static const std::string dir = dtm::test::temp_dir();
    return dir;
}

// A file of an 8-byte length, the given header text and `data_bytes` zero bytes.
std::string write_raw(const std::string & name, const std::string & header, size_t data_bytes,
                      uint64_t header_len_override = UINT64_MAX) {
    std::vector<uint8_t> bytes(8);
    const uint64_t len = header_len_override == UINT64_MAX ? header.size() : header_len_override;
    std::memcpy(bytes.data(), &len, 8);
    bytes.insert(bytes.end(), header.begin(), header.end());
    bytes.resize(bytes.size() + data_bytes, 0);
    const std::string path = scratch() + "/" + name;
    dtm::test::write_file(path, bytes);
    return path;
}

void expect_refused(const std::string & path, std::initializer_list<std::string> fragments) {
    EXPECT_TRUE(fails_with([&] { dtm::SafetensorsFile f(path); }, DTM_ERR_MODEL_FORMAT, fragments)) << path;
}

TEST(SafetensorsTest, RoundTripsEveryDtypeShapeAndMetadata) {
    std::vector<float> f32 = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -8.5f};
    std::vector<uint16_t> bf16 = {0x3f80, 0xc000, 0x7f80};
    std::vector<int8_t> i8 = {-128, 0, 127, 5, 6};
    std::vector<uint8_t> empty;
    const std::vector<dtm::TensorView> tensors = {
        {"b.weight", "F32", {2, 3}, reinterpret_cast<const uint8_t *>(f32.data()), f32.size() * 4},
        {"a.bias", "BF16", {3}, reinterpret_cast<const uint8_t *>(bf16.data()), bf16.size() * 2},
        {"c.scale", "I8", {5}, reinterpret_cast<const uint8_t *>(i8.data()), i8.size()},
        {"d.empty", "F16", {0, 4}, empty.data(), 0},
        {"e.scalar", "F32", {}, reinterpret_cast<const uint8_t *>(f32.data()), 4},
    };
    const std::string path = scratch() + "/round.safetensors";
    dtm::write_safetensors(path, tensors, {{"format", "pt"}, {"dtm.note", "héllo"}});

    dtm::SafetensorsFile file(path);
    EXPECT_EQ(file.metadata().at("format"), "pt");
    EXPECT_EQ(file.metadata().at("dtm.note"), "héllo");
    ASSERT_EQ(file.tensors().size(), tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        // Read back in order of their offsets, which is the order written.
        const dtm::TensorView & got = file.tensors()[i];
        EXPECT_EQ(got.name, tensors[i].name);
        EXPECT_EQ(got.dtype, tensors[i].dtype);
        EXPECT_EQ(got.shape, tensors[i].shape);
        ASSERT_EQ(got.n_bytes, tensors[i].n_bytes);
        if (got.n_bytes) {
            EXPECT_EQ(std::memcmp(got.data, tensors[i].data, got.n_bytes), 0);
        }
    }
    // The data buffer starts 8-byte aligned, so the first F32 tensor can be viewed in place.
    EXPECT_EQ(reinterpret_cast<uintptr_t>(file.require("b.weight").data) % 8, 0u);
    EXPECT_EQ(file.find("nope"), nullptr);
    EXPECT_TRUE(fails_with([&] { file.require("nope"); }, DTM_ERR_MODEL_FORMAT, {"missing tensor 'nope'", path}));
    // Releasing pages keeps the mapping readable.
    file.release(file.require("b.weight"));
    EXPECT_EQ(std::memcmp(file.require("b.weight").data, f32.data(), 24), 0);
    // No temporary file is left next to the target.
    int n_files = 0;
    for (const auto & entry : std::filesystem::directory_iterator(scratch())) {
        n_files += entry.path().filename().string().rfind("round.safetensors", 0) == 0;
    }
    EXPECT_EQ(n_files, 1);
}

TEST(SafetensorsTest, OverwritesAnExistingFileWhole) {
    const std::string path = scratch() + "/over.safetensors";
    float one = 1.0f, two[2] = {2.0f, 3.0f};
    dtm::write_safetensors(path, {{"x", "F32", {1}, reinterpret_cast<const uint8_t *>(&one), 4}}, {});
    dtm::write_safetensors(path, {{"y", "F32", {2}, reinterpret_cast<const uint8_t *>(two), 8}}, {});
    dtm::SafetensorsFile file(path);
    ASSERT_EQ(file.tensors().size(), 1u);
    EXPECT_EQ(file.tensors()[0].name, "y");
    EXPECT_TRUE(file.metadata().empty());
}

TEST(SafetensorsTest, WriterRefusesInconsistentTensors) {
    const std::string path = scratch() + "/bad-write.safetensors";
    float v[4] = {};
    auto bytes = reinterpret_cast<const uint8_t *>(v);
    EXPECT_TRUE(fails_with([&] { dtm::write_safetensors(path, {{"x", "F32", {3}, bytes, 16}}, {}); },
                           DTM_ERR_INVALID_ARGUMENT, {"'x'", "needs 12 bytes, got 16"}));
    EXPECT_TRUE(fails_with([&] { dtm::write_safetensors(path, {{"x", "Q4", {4}, bytes, 16}}, {}); },
                           DTM_ERR_INVALID_ARGUMENT, {"unknown dtype 'Q4'"}));
    EXPECT_TRUE(fails_with([&] { dtm::write_safetensors(path, {{"x", "F32", {1}, bytes, 4}, {"x", "F32", {1}, bytes, 4}}, {}); },
                           DTM_ERR_INVALID_ARGUMENT, {"listed twice"}));
    EXPECT_TRUE(fails_with([&] { dtm::write_safetensors(path, {{"__metadata__", "F32", {1}, bytes, 4}}, {}); },
                           DTM_ERR_INVALID_ARGUMENT, {"__metadata__"}));
    EXPECT_TRUE(fails_with([&] { dtm::write_safetensors(scratch() + "/no/such/dir/x.safetensors", {}, {}); },
                           DTM_ERR_IO, {"no/such/dir"}));
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(SafetensorsTest, RefusesBadHeaderLengths) {
    const std::string tiny = scratch() + "/tiny.safetensors";
    dtm::test::write_file(tiny, {1, 2, 3});
    expect_refused(tiny, {"3 bytes, fewer than the 8-byte header length"});
    expect_refused(write_raw("past.safetensors", "{}", 0, 1000), {"header length 1000 runs past the end of the file (10 bytes)"});
    expect_refused(write_raw("huge.safetensors", "{}", 0, UINT64_MAX - 1), {"runs past the end"});
    // A header longer than 100 MB in a file that has that many bytes (sparse).
    const std::string big = scratch() + "/bighdr.safetensors";
    write_raw("bighdr.safetensors", "{}", 0, 100'000'001);
    ASSERT_EQ(::truncate(big.c_str(), 8 + 100'000'001), 0);
    expect_refused(big, {"exceeds the limit of 100000000 bytes"});
}

TEST(SafetensorsTest, RefusesHeadersThatAreNotTheFormat) {
    expect_refused(write_raw("json.safetensors", "{\"a\": ", 0), {"not valid JSON"});
    expect_refused(write_raw("array.safetensors", "[1, 2]", 0), {"not a JSON object"});
    expect_refused(write_raw("entry.safetensors", "{\"w\": 3}", 0), {"tensor 'w' is not described by an object"});
    expect_refused(write_raw("fields.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4),
                   {"'w' lacks one of"});
    expect_refused(write_raw("dtype.safetensors", R"({"w": {"dtype": "F31", "shape": [1], "data_offsets": [0, 4]}})", 4),
                   {"tensor 'w' has unknown dtype 'F31'"});
    expect_refused(write_raw("shape.safetensors", R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4),
                   {"tensor 'w': shape [-1]", "not a non-negative integer"});
    expect_refused(write_raw("shape2.safetensors", R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4),
                   {"not a non-negative integer"});
    expect_refused(write_raw("offs.safetensors", R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", 4),
                   {"\"data_offsets\" must be two non-negative integers"});
    expect_refused(write_raw("meta.safetensors", R"({"__metadata__": {"a": 1}})", 0), {"metadata value of 'a' is not a string"});
    expect_refused(write_raw("overflow.safetensors",
                             R"({"w": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})", 8),
                   {"overflows 64 bits"});
}

TEST(SafetensorsTest, RefusesOffsetsThatDoNotFitTheData) {
    expect_refused(write_raw("pastend.safetensors", R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 12),
                   {"tensor 'w': data_offsets [0, 16] run past the end of the data (12 bytes)"});
    expect_refused(write_raw("reverse.safetensors", R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})", 8),
                   {"end before they begin"});
    // dtype and span disagree: F32 x 4 is 16 bytes, the span holds 8 (an F16 tensor's size).
    expect_refused(write_raw("mismatch.safetensors", R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}})", 8),
                   {"tensor 'w' has dtype F32 and shape [4], i.e. 16 bytes, but its data_offsets span 8 bytes"});
    expect_refused(write_raw("overlap.safetensors",
                             R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                 "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", 12),
                   {"tensor 'b' overlaps tensor 'a'"});
    expect_refused(write_raw("gap.safetensors",
                             R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                 "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})", 12),
                   {"data bytes [4, 8) belong to no tensor"});
    expect_refused(write_raw("trailing.safetensors", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 7),
                   {"3 trailing bytes after the last tensor"});
    // The same file without the trailing bytes is fine.
    dtm::SafetensorsFile ok(write_raw("fine.safetensors", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 4));
    EXPECT_EQ(ok.require("a").n_elements(), 1);
}

TEST(SafetensorsTest, MissingFileIsAnIoError) {
    EXPECT_TRUE(fails_with([] { dtm::SafetensorsFile f(scratch() + "/absent.safetensors"); }, DTM_ERR_IO, {"absent.safetensors"}));
}

}  // namespace
