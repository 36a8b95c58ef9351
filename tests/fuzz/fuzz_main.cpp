// fuzz_main.cpp - a libFuzzer harness around one entry point of
// fuzz_targets.h, named by DTM_FUZZ_TARGET when compiled (tests/fuzz/CMakeLists.txt).
// An exception that escapes (a Finding, or anything but a documented
// dtm::Error) ends the run through std::terminate, which libFuzzer reports
// as a crash and saves the input of.
#include <cstddef>
#include <cstdint>

#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    DTM_FUZZ_TARGET(data, size);  // accepted or refused as documented: both fine
    return 0;
}
