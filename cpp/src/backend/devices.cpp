#include "backend/devices.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "backend/cpu/cpu_backend.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_library.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/dispatch.h"

namespace dtm::backend {

namespace {

const char * host_architecture() {
#if defined(__x86_64__)
    return "x86-64";
#elif defined(__aarch64__)
    return "aarch64";
#else
    return "unknown-architecture";
#endif
}

dtm_device_info cpu_device() {
    dtm_device_info d;
    std::memset(&d, 0, sizeof d);
    std::snprintf(d.name, sizeof d.name, "cpu");
    const dtm_isa best = cpu::best_isa();
    std::snprintf(d.description, sizeof d.description, "%s CPU, kernels %s%s", host_architecture(),
                  cpu::isa_name(best), best == DTM_ISA_AVX512 && cpu::cpu_has_avx512_vnni() ? " + VNNI" : "");
    const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
    d.memory_bytes = pages > 0 && page_size > 0 ? int64_t(pages) * int64_t(page_size) : 0;
    d.compute_units = ThreadPool::hardware_threads();
    return d;
}

std::string joined_names() {
    std::string names;
    for (const dtm_device_info & d : devices()) names += (names.empty() ? "" : ", ") + std::string(d.name);
    return names;
}

}  // namespace

namespace {

// The CUDA devices of libdtm_cuda.so, when it loads and the machine has any.
std::vector<dtm_device_info> cuda_devices() {
    std::vector<dtm_device_info> out;
    const cuda::Library & lib = cuda::library();
    for (size_t i = 0; i < lib.devices.size(); ++i) {
        const dtm_cuda_device_props & p = lib.devices[i];
        dtm_device_info d;
        std::memset(&d, 0, sizeof d);
        std::snprintf(d.name, sizeof d.name, "cuda:%zu", i);
        std::snprintf(d.description, sizeof d.description, "%.80s, CUDA compute capability %d.%d", p.name, p.cc_major,
                      p.cc_minor);
        d.memory_bytes = p.memory_bytes;
        d.compute_units = p.multiprocessors;
        out.push_back(d);
    }
    return out;
}

}  // namespace

const std::vector<dtm_device_info> & devices() {
    // Detected once: the CPU, then the CUDA devices when libdtm_cuda.so loads.
    static const std::vector<dtm_device_info> list = [] {
        std::vector<dtm_device_info> l = {cpu_device()};
        for (const dtm_device_info & d : cuda_devices()) l.push_back(d);
        return l;
    }();
    return list;
}

namespace {

// The name as a message shows it: control characters as '?', cut at 64 bytes.
std::string printable(const std::string & name) {
    std::string p = name.substr(0, 64);
    for (char & c : p) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return name.size() > 64 ? p + "..." : p;
}

}  // namespace

std::string require_device(const char * requested) {
    const std::string name = requested == nullptr ? "cpu" : requested;
    for (const dtm_device_info & d : devices()) {
        if (name == d.name) return name;
    }
    const std::string shown = printable(name);
    if (name.compare(0, 5, "cuda:") == 0) {
        const cuda::Library & lib = cuda::library();
        const std::string why = lib.api == nullptr        ? lib.why_not
                                : !lib.no_devices.empty() ? lib.no_devices
                                                          : "no such CUDA device";
        fail(DTM_ERR_UNSUPPORTED, "device \"%s\" is not available: %s (devices: %s)", shown.c_str(), why.c_str(),
             joined_names().c_str());
    }
    fail(DTM_ERR_UNSUPPORTED, "device \"%s\" is not a device of this build and machine (devices: %s)", shown.c_str(),
         joined_names().c_str());
}

std::unique_ptr<Backend> make_backend(const std::string & device, const dtm_session_params & params,
                                      int32_t max_keys) {
    if (device.compare(0, 5, "cuda:") == 0) {
        return std::make_unique<cuda::CudaBackend>(int32_t(std::stoi(device.substr(5))), max_keys);
    }
    if (device != "cpu") fail(DTM_ERR_INTERNAL, "no backend for device \"%s\"", device.c_str());
    const cpu::KernelTable & kernels = cpu::kernels(cpu::resolve_isa(params.isa));
    const int n_threads = params.n_threads > 0 ? params.n_threads : ThreadPool::hardware_threads();
    return std::make_unique<cpu::CpuBackend>(n_threads, kernels, max_keys);
}

}  // namespace dtm::backend
