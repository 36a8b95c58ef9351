// cuda_library.h - libdtm_cuda.so as the engine sees it: loaded with
// dlopen() the first time a CUDA device is listed or asked for, never at
// start-up, so libdtm runs where there is no CUDA at all (cuda_api.h says
// why the boundary is plain C).
//
// Where it is looked for: $DTM_CUDA_LIBRARY when set (that file only), else
// libdtm_cuda.so in the directory of the library (or executable) holding
// this code, else the dynamic linker's search path.
#pragma once

#include <string>
#include <vector>

#include "backend/cuda/cuda_api.h"
#include "dtm/dtm.h"

namespace dtm::cuda {

struct Library {
    const dtm_cuda_api * api = nullptr;        // null: not loaded (why_not says why)
    std::string why_not;                        // "no CUDA library in this build (...)" and the like
    std::vector<dtm_cuda_device_props> devices; // empty: no_devices says why
    std::string no_devices;                     // "no CUDA device on this machine (...)"
};

// Loaded and asked for its devices once per process (thread-safe).
const Library & library();

// Throws dtm::Error with `status` and "<what>: <the library's message>"
// unless status is DTM_OK.
void check(int32_t status, const char * what);

}  // namespace dtm::cuda
