// atomic_file.cpp - temporary file + fsync + rename.
#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace dtm {

AtomicFile::AtomicFile(const std::string & path) : path_(path) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
        // Never rename over a device node, FIFO or directory; through a symbolic link, replace
        // the file it points to and keep the link.
        if (!S_ISREG(st.st_mode)) fail(DTM_ERR_IO, "'%s' is not a regular file; refusing to replace it", path.c_str());
        char * real = ::realpath(path.c_str(), nullptr);
        if (real != nullptr) {
            path_ = real;
            ::free(real);
        }
    }
    std::string pattern = path_ + ".tmp-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    fd_ = ::mkstemp(buffer.data());
    if (fd_ < 0) {
        fail(DTM_ERR_IO, "cannot create a temporary file next to '%s': %s", path.c_str(), std::strerror(errno));
    }
    temp_path_ = buffer.data();
    ::fchmod(fd_, 0644);  // mkstemp makes it 0600; the target is an ordinary file
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFile::write(const void * data, size_t n_bytes) {
    const char * p = static_cast<const char *>(data);
    while (n_bytes > 0) {
        const ssize_t n = ::write(fd_, p, n_bytes);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fail(DTM_ERR_IO, "cannot write '%s': %s", path_.c_str(), n < 0 ? std::strerror(errno) : "no progress");
        }
        p += n;
        n_bytes -= size_t(n);
    }
}

void AtomicFile::commit() {
    if (::fsync(fd_) != 0) fail(DTM_ERR_IO, "cannot flush '%s': %s", path_.c_str(), std::strerror(errno));
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(DTM_ERR_IO, "cannot close '%s': %s", path_.c_str(), std::strerror(errno));
    if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        fail(DTM_ERR_IO, "cannot rename '%s' to '%s': %s", temp_path_.c_str(), path_.c_str(), std::strerror(errno));
    }
    committed_ = true;
}

void write_file_atomically(const std::string & path, const std::string & bytes) {
    AtomicFile file(path);
    file.write(bytes.data(), bytes.size());
    file.commit();
}

}  // namespace dtm
