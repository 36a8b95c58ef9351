// safetensors_file.h - reading and writing safetensors files, generically.
//
// Layout: a little-endian uint64 N, N bytes of UTF-8 JSON (the header), then
// the data buffer. The header maps each tensor name to
//   {"dtype": "F32", "shape": [rows, cols], "data_offsets": [begin, end]}
// (offsets in bytes from the start of the data buffer) and may hold
// "__metadata__": {string: string}. Tensors are row-major, little-endian.
//
// Reading maps the file and trusts it for nothing: the header length, every
// dtype, shape and offset is checked against the file before a tensor is
// handed out, and the tensors must cover the data buffer exactly (no gap, no
// overlap, no trailing byte), as the format's reference implementation asks.
// Writing goes to a temporary file in the target's directory that is renamed
// over the target once complete, so a crash never leaves a half file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/mapped_file.h"

namespace dtm {

// Bytes per element of a safetensors dtype ("F32" -> 4, "BF16" -> 2, ...);
// 0 for a dtype the format does not define.
size_t safetensors_dtype_size(const std::string & dtype);

// One tensor: its name, dtype, shape and bytes. When read, the bytes are a
// view into the mapping; when written, a view into the caller's memory.
struct TensorView {
    std::string name;
    std::string dtype;            // F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL F8_E4M3 F8_E5M2
    std::vector<int64_t> shape;   // empty = scalar
    const uint8_t * data = nullptr;
    size_t n_bytes = 0;

    int64_t n_elements() const;
    std::string shape_text() const;  // e.g. "[288, 288]"
};

class SafetensorsFile {
public:
    // Maps and validates `path`. Throws dtm::Error: DTM_ERR_IO (cannot open
    // or map), DTM_ERR_MODEL_FORMAT naming the file and what is wrong (file
    // shorter than 8 bytes, header length past the end of the file or above
    // 100 MB, header not a JSON object, unknown dtype, bad shape, offsets out
    // of order, past the end, not matching dtype x shape, overlapping, gaps,
    // trailing bytes, metadata values that are not strings).
    explicit SafetensorsFile(const std::string & path);
    // The same for a file already mapped (or bytes in memory, MappedFile::from_bytes).
    explicit SafetensorsFile(std::unique_ptr<MappedFile> file);

    const std::string & path() const { return file_->path(); }
    size_t file_size() const { return file_->size(); }
    // In order of their data offsets.
    const std::vector<TensorView> & tensors() const { return tensors_; }
    const std::map<std::string, std::string> & metadata() const { return metadata_; }

    // The tensor `name`, or nullptr when the file has none.
    const TensorView * find(const std::string & name) const;
    // The tensor `name`; DTM_ERR_MODEL_FORMAT "missing tensor" when absent.
    const TensorView & require(const std::string & name) const;

    // Tells the kernel that the tensor's pages are no longer needed (after
    // they were converted or packed), so they stop counting as resident. The
    // mapping stays valid: touching them again reads the file again. Does
    // nothing for bytes in memory.
    void release(const TensorView & tensor) const;

private:
    std::unique_ptr<MappedFile> file_;
    std::vector<TensorView> tensors_;
    std::unordered_map<std::string, size_t> index_;
    std::map<std::string, std::string> metadata_;
};

// Writes `tensors` (data in the given order) and `metadata` to `path`,
// through a temporary file in the same directory renamed at the end. Throws
// dtm::Error: DTM_ERR_INVALID_ARGUMENT (empty, duplicate or reserved name,
// unknown dtype, negative dimension, byte count not matching dtype x shape),
// DTM_ERR_IO (cannot create, write or rename; the temporary file is removed).
void write_safetensors(const std::string & path, const std::vector<TensorView> & tensors,
                       const std::map<std::string, std::string> & metadata);

}  // namespace dtm
