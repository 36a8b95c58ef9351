#include "backend/cuda/cuda_library.h"

#include <dlfcn.h>

#include <cstdlib>

#include "core/error.h"

namespace dtm::cuda {

namespace {

// The directory of the object (libdtm.so, or a test executable) holding this code.
std::string own_directory() {
    Dl_info info;
    if (dladdr(reinterpret_cast<void *>(&own_directory), &info) == 0 || info.dli_fname == nullptr) return "";
    const std::string path = info.dli_fname;
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? "" : path.substr(0, slash);
}

Library load() {
    Library lib;
    std::vector<std::string> candidates;
    const char * env = std::getenv("DTM_CUDA_LIBRARY");
    if (env != nullptr && *env != '\0') {
        candidates.push_back(env);
    } else {
        const std::string dir = own_directory();
        if (!dir.empty()) candidates.push_back(dir + "/libdtm_cuda.so");
        candidates.push_back("libdtm_cuda.so");
    }
    void * handle = nullptr;
    // Only the errors of a library that is there but does not load (a missing libcuda.so.1, say)
    // are worth the words; "no such file" for every candidate is said in one short sentence.
    std::string errors;
    for (const std::string & c : candidates) {
        handle = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle) break;
        const char * e = dlerror();
        const std::string why = e ? e : c;
        if (why.find("No such file or directory") == std::string::npos) {
            errors += (errors.empty() ? "" : "; ") + why;
        }
    }
    if (handle == nullptr) {
        lib.why_not = errors.empty() ? "no CUDA library in this build (libdtm_cuda.so not found beside libdtm.so, "
                                       "on the library path or at $DTM_CUDA_LIBRARY)"
                                     : "the CUDA library does not load (" + errors + ")";
        return lib;
    }
    // Never dlclose()d: device memory freed late (with a Linear) still calls into it.
    auto entry = reinterpret_cast<dtm_cuda_api_fn>(dlsym(handle, "dtm_cuda_get_api"));
    const dtm_cuda_api * api = entry ? entry(DTM_CUDA_API_VERSION) : nullptr;
    if (api == nullptr) {
        lib.why_not = "the CUDA library found is not this version of dtm's (no dtm_cuda_get_api version " +
                      std::to_string(DTM_CUDA_API_VERSION) + ")";
        return lib;
    }
    lib.api = api;
    int32_t n = 0;
    if (api->device_count(&n) != DTM_OK) {
        lib.no_devices = std::string("no CUDA device on this machine (") + api->last_error() + ")";
        return lib;
    }
    if (n == 0) {
        lib.no_devices = "no CUDA device on this machine (the driver reports none)";
        return lib;
    }
    for (int32_t d = 0; d < n; ++d) {
        dtm_cuda_device_props p;
        if (api->device_props(d, &p) != DTM_OK) {
            lib.devices.clear();
            lib.no_devices = std::string("CUDA device ") + std::to_string(d) + " cannot be queried (" +
                             api->last_error() + ")";
            return lib;
        }
        lib.devices.push_back(p);
    }
    return lib;
}

}  // namespace

const Library & library() {
    static const Library lib = load();
    return lib;
}

void check(int32_t status, const char * what) {
    if (status == DTM_OK) return;
    const Library & lib = library();
    throw Error(static_cast<dtm_status>(status),
                std::string(what) + ": " + (lib.api ? lib.api->last_error() : "no CUDA library"));
}

}  // namespace dtm::cuda
