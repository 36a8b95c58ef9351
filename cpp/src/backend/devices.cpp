#include "backend/devices.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "backend/cpu/cpu_backend.h"
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

const std::vector<dtm_device_info> & devices() {
    // Detected once; this build has the CPU backend only.
    static const std::vector<dtm_device_info> list = {cpu_device()};
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
        fail(DTM_ERR_UNSUPPORTED, "device \"%s\" is not available: this build of dtm has no CUDA backend (devices: %s)",
             shown.c_str(), joined_names().c_str());
    }
    fail(DTM_ERR_UNSUPPORTED, "device \"%s\" is not a device of this build and machine (devices: %s)", shown.c_str(),
         joined_names().c_str());
}

std::unique_ptr<Backend> make_backend(const std::string & device, const dtm_session_params & params,
                                      int32_t max_keys) {
    if (device != "cpu") fail(DTM_ERR_INTERNAL, "no backend for device \"%s\"", device.c_str());
    const cpu::KernelTable & kernels = cpu::kernels(cpu::resolve_isa(params.isa));
    const int n_threads = params.n_threads > 0 ? params.n_threads : ThreadPool::hardware_threads();
    return std::make_unique<cpu::CpuBackend>(n_threads, kernels, max_keys);
}

}  // namespace dtm::backend
