// AtomicFile never destroys what sits at its path other than a regular file: a FIFO, a device
// node or a directory is refused (the node stays), a symbolic link stays a link and its file is
// replaced.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/atomic_file.h"
#include "core/error.h"
#include "test_support.h"

namespace {

std::string read_all(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(AtomicFile, ReplacesARegularFile) {
    const std::string path = dtm::test::temp_dir() + "/file.txt";
    dtm::write_file_atomically(path, "old");
    dtm::write_file_atomically(path, "new");
    EXPECT_EQ(read_all(path), "new");
}

TEST(AtomicFile, RefusesAFifoAndLeavesItAFifo) {
    const std::string path = dtm::test::temp_dir() + "/fifo";
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    try {
        dtm::write_file_atomically(path, "bytes");
        FAIL() << "a FIFO was replaced";
    } catch (const dtm::Error & e) {
        EXPECT_EQ(e.status(), DTM_ERR_IO);
        EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
    struct stat st;
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(AtomicFile, RefusesADirectory) {
    const std::string path = dtm::test::temp_dir() + "/dir";
    ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
    EXPECT_THROW(dtm::write_file_atomically(path, "bytes"), dtm::Error);
    struct stat st;
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(AtomicFile, ReplacesTheFileBehindASymbolicLinkAndKeepsTheLink) {
    const std::string dir = dtm::test::temp_dir();
    const std::string file = dir + "/target.txt";
    const std::string link = dir + "/link.txt";
    dtm::write_file_atomically(file, "old");
    ASSERT_EQ(::symlink(file.c_str(), link.c_str()), 0);
    dtm::write_file_atomically(link, "new");
    struct stat st;
    ASSERT_EQ(::lstat(link.c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_EQ(read_all(file), "new");
}

}  // namespace
