// atomic_file.h - writing a file so that it appears whole or not at all.
//
// The bytes go to a temporary file in the target's directory (same file
// system, so the final rename is atomic); commit() flushes it to disk and
// renames it over the target. Destroying an AtomicFile that was not
// committed removes the temporary file and leaves the target untouched.
#pragma once

#include <cstddef>
#include <string>

namespace dtm {

class AtomicFile {
public:
    // Creates the temporary file. Throws dtm::Error(DTM_ERR_IO).
    explicit AtomicFile(const std::string & path);
    ~AtomicFile();
    AtomicFile(const AtomicFile &) = delete;
    AtomicFile & operator=(const AtomicFile &) = delete;

    // Appends bytes. Throws dtm::Error(DTM_ERR_IO) naming the target.
    void write(const void * data, size_t n_bytes);
    // Flushes, closes and renames onto the target. Throws dtm::Error(DTM_ERR_IO).
    void commit();

private:
    std::string path_;
    std::string temp_path_;
    int fd_ = -1;
    bool committed_ = false;
};

// Writes `bytes` to `path` through an AtomicFile.
void write_file_atomically(const std::string & path, const std::string & bytes);

}  // namespace dtm
