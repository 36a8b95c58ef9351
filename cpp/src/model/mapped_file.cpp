// mapped_file.cpp - read-only, private mapping of a whole file.
#include "model/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace dtm {

namespace {

// Closes a descriptor when it goes out of scope (the mapping outlives it).
struct FdGuard {
    int fd;
    ~FdGuard() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

MappedFile::MappedFile(const std::string & path) : path_(path) {
    FdGuard guard{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (guard.fd < 0) {
        fail(DTM_ERR_IO, "cannot open '%s': %s", path.c_str(), std::strerror(errno));
    }
    struct stat st;
    if (::fstat(guard.fd, &st) != 0) {
        fail(DTM_ERR_IO, "cannot stat '%s': %s", path.c_str(), std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        fail(DTM_ERR_IO, "'%s' is not a regular file", path.c_str());
    }
    if (st.st_size == 0) {
        return;  // mmap of length 0 fails (EINVAL): an empty file is an empty view
    }
    size_t size = size_t(st.st_size);
    void * p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, guard.fd, 0);
    if (p == MAP_FAILED) {
        fail(DTM_ERR_IO, "cannot map '%s' (%zu bytes): %s", path.c_str(), size,
             std::strerror(errno));
    }
    data_ = static_cast<const uint8_t *>(p);
    size_ = size;
}

std::unique_ptr<MappedFile> MappedFile::from_bytes(const std::string & name, const uint8_t * data, size_t size) {
    std::unique_ptr<MappedFile> f(new MappedFile());
    f->path_ = name;
    if (size == 0) return f;  // as an empty file: data() == nullptr
    f->copy_.assign(data, data + size);
    f->data_ = f->copy_.data();
    f->size_ = size;
    return f;
}

MappedFile::~MappedFile() {
    if (mapped()) {
        ::munmap(const_cast<uint8_t *>(data_), size_);
    }
}

}  // namespace dtm
