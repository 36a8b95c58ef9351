// mapped_file.h - a file mapped read-only into memory; unmapped on destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace dtm {

class MappedFile {
public:
    // Maps the whole file read-only. Throws dtm::Error(DTM_ERR_IO) when the
    // file cannot be opened or mapped. An empty file maps to size() == 0.
    explicit MappedFile(const std::string & path);
    ~MappedFile();
    MappedFile(const MappedFile &) = delete;
    MappedFile & operator=(const MappedFile &) = delete;

    const uint8_t * data() const { return data_; }
    size_t size() const { return size_; }
    const std::string & path() const { return path_; }

private:
    std::string path_;
    const uint8_t * data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace dtm
