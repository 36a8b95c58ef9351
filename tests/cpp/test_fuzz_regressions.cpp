// test_fuzz_regressions.cpp - every committed fuzz input through its target
// (tests/fuzz/fuzz_targets.h), in the normal build: the seed corpora
// (tests/fuzz/corpus/<target>) and every input that once crashed a harness
// or broke a target's checks (tests/fuzz/regressions/<target>, named after
// what they found; docs/reliability.md). The seeds are also accepted. Under -DDTM_SANITIZE=ON the
// sanitizers watch the replay as they watch the fuzzing.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_targets.h"

namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> read_all(const fs::path & path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The files of tests/fuzz/<kind>/<target>, sorted (none when the directory is absent).
std::vector<fs::path> inputs(const std::string & kind, const std::string & target) {
    std::vector<fs::path> out;
    const fs::path dir = fs::path(DTM_FUZZ_DIR) / kind / target;
    if (!fs::is_directory(dir)) return out;
    for (const fs::directory_entry & e : fs::directory_iterator(dir)) {
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Runs every input of `kind`; with must_accept, each must also be accepted
// (a seed that the parser refuses would not take the fuzzer past the checks).
void replay(const std::string & kind, bool must_accept) {
    for (const dtm::fuzz::Target & t : dtm::fuzz::targets()) {
        for (const fs::path & path : inputs(kind, t.name)) {
            SCOPED_TRACE(path.string());
            const std::vector<uint8_t> bytes = read_all(path);
            try {
                const bool accepted = t.run(bytes.data(), bytes.size());
                if (must_accept) {
                    EXPECT_TRUE(accepted) << "refused";
                }
            } catch (const std::exception & e) {
                ADD_FAILURE() << e.what();
            }
        }
    }
}

}  // namespace

TEST(FuzzRegressions, EverySeedIsAccepted) {
    for (const dtm::fuzz::Target & t : dtm::fuzz::targets()) {
        EXPECT_FALSE(inputs("corpus", t.name).empty()) << "no seed corpus for " << t.name;
    }
    replay("corpus", true);
}

TEST(FuzzRegressions, EveryCrashInputFoundSoFarIsHandledAsDocumented) { replay("regressions", false); }
