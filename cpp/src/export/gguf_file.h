// gguf_file.h - writing llama.cpp's GGUF files, version 3.
//
// Layout (all little-endian):
//   "GGUF", uint32 version = 3, uint64 tensor count, uint64 metadata count;
//   metadata: key (string), uint32 value type, value;
//   tensor infos: name (string), uint32 n_dims, uint64 ne[n_dims] (ne[0] the
//     innermost, contiguous dimension: a matrix of `rows` x `cols` is
//     {cols, rows}), uint32 ggml type, uint64 offset of its data from the
//     start of the data section (a multiple of the alignment);
//   zero padding to the alignment (general.alignment, 32 by default);
//   the data section: each tensor's bytes, zero-padded to the alignment.
// A string is a uint64 byte count and the bytes (UTF-8, no terminator); an
// array is a uint32 element type, a uint64 count and the elements.
//
// The writer holds the metadata and, per tensor, its shape and a function
// that produces its bytes; write() produces and writes one tensor at a time
// (so a large model never has all its tensors in memory at once) through a
// temporary file renamed at the end (core/atomic_file.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dtm::gguf {

// ggml's tensor types, as far as dtm writes them (ggml.h's enum ggml_type).
enum class TensorType : uint32_t {
    kF32 = 0,
    kF16 = 1,
    kQ4_0 = 2,
    kQ8_0 = 8,
    kBF16 = 30,
};

// "F32", "F16", "Q4_0", "Q8_0", "BF16".
const char * type_name(TensorType type);

// Bytes of a tensor of `type` with the elements ne (ne[0] innermost). Throws
// dtm::Error(DTM_ERR_INVALID_ARGUMENT) when a block type's ne[0] is not a
// multiple of its block size (32) or a dimension is not positive.
uint64_t tensor_bytes(TensorType type, const std::vector<int64_t> & ne);

class Writer {
public:
    explicit Writer(uint32_t alignment = 32);

    void add_string(const std::string & key, const std::string & value);
    void add_uint32(const std::string & key, uint32_t value);
    void add_int32(const std::string & key, int32_t value);
    void add_float32(const std::string & key, float value);
    void add_bool(const std::string & key, bool value);
    void add_string_array(const std::string & key, const std::vector<std::string> & values);
    void add_float32_array(const std::string & key, const std::vector<float> & values);
    void add_int32_array(const std::string & key, const std::vector<int32_t> & values);

    // A tensor whose bytes `produce` returns when write() reaches it; they
    // must be exactly tensor_bytes(type, ne) long (checked). Names are unique.
    void add_tensor(const std::string & name, TensorType type, std::vector<int64_t> ne,
                    std::function<std::vector<uint8_t>()> produce);

    // Writes the file (temporary file + rename). Throws dtm::Error:
    // DTM_ERR_IO, DTM_ERR_INTERNAL when a tensor's bytes have the wrong size.
    void write(const std::string & path) const;

    // Bytes write() produces.
    uint64_t file_bytes() const;

private:
    struct Tensor {
        std::string name;
        TensorType type;
        std::vector<int64_t> ne;
        uint64_t bytes;
        std::function<std::vector<uint8_t>()> produce;
    };
    void key(const std::string & key, uint32_t value_type);
    std::vector<uint8_t> header() const;

    uint32_t alignment_;
    uint64_t n_metadata_ = 0;
    std::vector<uint8_t> metadata_;  // the serialized key/value pairs
    std::vector<std::string> keys_;
    std::vector<Tensor> tensors_;
};

}  // namespace dtm::gguf
