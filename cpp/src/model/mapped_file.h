// mapped_file.h - a file mapped read-only into memory; unmapped on destruction.
//
// Or the same view of bytes already in memory (from_bytes): the parsers that
// read a mapped file take one of these, so tests and the fuzz harnesses
// (tests/fuzz) feed them bytes without a file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dtm {

class MappedFile {
public:
    // Maps the whole file read-only. Throws dtm::Error(DTM_ERR_IO) when the
    // file cannot be opened or mapped. An empty file maps to size() == 0.
    explicit MappedFile(const std::string & path);
    // A copy of data[0, size) in a heap block of exactly that size (aligned
    // as operator new aligns, 16 bytes on x86-64; a mapping is page-aligned),
    // named `name` in messages as a path would be.
    static std::unique_ptr<MappedFile> from_bytes(const std::string & name, const uint8_t * data, size_t size);
    ~MappedFile();
    MappedFile(const MappedFile &) = delete;
    MappedFile & operator=(const MappedFile &) = delete;

    const uint8_t * data() const { return data_; }
    size_t size() const { return size_; }
    const std::string & path() const { return path_; }
    // True for a mapping of a file, false for from_bytes (whose pages must
    // not be given back with madvise: they are the heap's).
    bool mapped() const { return data_ != nullptr && copy_.empty(); }

private:
    MappedFile() = default;

    std::string path_;
    std::vector<uint8_t> copy_;  // from_bytes: the bytes data_ points into
    const uint8_t * data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace dtm
