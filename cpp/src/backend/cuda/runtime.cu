// runtime.cu - libdtm_cuda's C boundary (cuda_api.h): the function table,
// errors, devices, contexts and memory.
#include <cstring>
#include <exception>
#include <new>

#include "backend/cuda/cuda_common.cuh"

namespace dtm::cuda {

namespace {
thread_local std::string g_last_error;
}  // namespace

int32_t record_failure(int32_t status, const std::string & message) {
    g_last_error = message;
    return status;
}

void fail(int32_t status, const std::string & message) { throw Failure{status, message}; }

void check(cudaError_t e, const char * what) {
    if (e == cudaSuccess) return;
    int32_t status = DTM_ERR_INTERNAL;
    if (e == cudaErrorMemoryAllocation) status = DTM_ERR_OUT_OF_MEMORY;
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver || e == cudaErrorInvalidDevice) {
        status = DTM_ERR_UNSUPPORTED;
    }
    fail(status, std::string(what) + " failed: " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}

void check_launch(const char * kernel) {
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) check(e, (std::string("launching ") + kernel).c_str());
}

void use(dtm_cuda_context * ctx) { check(cudaSetDevice(ctx->device), "cudaSetDevice"); }

void * scratch(dtm_cuda_context * ctx, ScratchSlot slot, size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (ctx->scratch_bytes[slot] >= bytes) return ctx->scratch[slot];
    // The stream may still read the old buffer: wait before freeing it.
    check(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize");
    if (ctx->scratch[slot]) cudaFree(ctx->scratch[slot]);
    ctx->scratch[slot] = nullptr;
    ctx->scratch_bytes[slot] = 0;
    const size_t grown = bytes + bytes / 2;
    check(cudaMalloc(&ctx->scratch[slot], grown), "cudaMalloc (scratch)");
    ctx->scratch_bytes[slot] = grown;
    return ctx->scratch[slot];
}

void fetch(dtm_cuda_context * ctx, void * host, const void * device, size_t bytes) {
    if (bytes) check(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, ctx->stream), "cudaMemcpyAsync (download)");
    check(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize");
}

namespace {

const char * last_error() { return g_last_error.c_str(); }

int32_t device_count(int32_t * n) {
    return guard([&] {
        int count = 0;
        *n = 0;
        check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
        *n = count;
    });
}

int32_t device_props(int32_t device, dtm_cuda_device_props * out) {
    return guard([&] {
        cudaDeviceProp p;
        check(cudaGetDeviceProperties(&p, device), "cudaGetDeviceProperties");
        std::memset(out, 0, sizeof *out);
        std::snprintf(out->name, sizeof out->name, "%.95s", p.name);
        out->memory_bytes = int64_t(p.totalGlobalMem);
        out->multiprocessors = p.multiProcessorCount;
        out->cc_major = p.major;
        out->cc_minor = p.minor;
        int clock_khz = 0, bus_bits = 0;
        if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, device) == cudaSuccess &&
            cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device) == cudaSuccess) {
            // double data rate: 2 transfers per clock
            out->memory_bandwidth_bytes_per_s = int64_t(2.0 * double(clock_khz) * 1e3 * double(bus_bits) / 8.0);
        }
        cudaGetLastError();  // an unsupported attribute is not an error of the next call
    });
}

int32_t context_create(int32_t device, dtm_cuda_context ** out) {
    *out = nullptr;
    return guard([&] {
        auto * ctx = new dtm_cuda_context;
        ctx->device = device;
        const cudaError_t e1 = cudaSetDevice(device);
        const cudaError_t e2 = e1 == cudaSuccess ? cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking) : e1;
        if (e2 != cudaSuccess) {
            delete ctx;
            check(e2, e1 != cudaSuccess ? "cudaSetDevice" : "cudaStreamCreate");
        }
        *out = ctx;
    });
}

void context_free(dtm_cuda_context * ctx) {
    if (ctx == nullptr) return;
    cudaSetDevice(ctx->device);
    cudaStreamSynchronize(ctx->stream);
    for (void * p : ctx->scratch) {
        if (p) cudaFree(p);
    }
    cudaStreamDestroy(ctx->stream);
    cudaGetLastError();
    delete ctx;
}

int32_t alloc(dtm_cuda_context * ctx, size_t bytes, void ** out) {
    *out = nullptr;
    return guard([&] {
        if (bytes == 0) return;
        use(ctx);
        void * p = nullptr;
        check(cudaMalloc(&p, bytes), "cudaMalloc");
        const cudaError_t e = cudaMemsetAsync(p, 0, bytes, ctx->stream);
        if (e != cudaSuccess) {
            cudaFree(p);
            check(e, "cudaMemsetAsync");
        }
        *out = p;
    });
}

void free_memory(int32_t device, void * p) {
    if (p == nullptr) return;
    int current = 0;
    cudaGetDevice(&current);
    cudaSetDevice(device);
    cudaFree(p);  // synchronizes the device: no stream still reads p
    cudaSetDevice(current);
    cudaGetLastError();
}

int32_t upload(dtm_cuda_context * ctx, void * dst, const void * src, size_t bytes) {
    return guard([&] {
        if (bytes == 0) return;
        use(ctx);
        check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx->stream), "cudaMemcpyAsync (upload)");
        // The caller may reuse src at once: wait (pageable memory is staged,
        // but a pinned source would be read later).
        check(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize");
    });
}

int32_t download(dtm_cuda_context * ctx, void * dst, const void * src, size_t bytes) {
    return guard([&] {
        use(ctx);
        fetch(ctx, dst, src, bytes);
    });
}

int32_t copy(dtm_cuda_context * ctx, void * dst, const void * src, size_t bytes) {
    return guard([&] {
        if (bytes == 0) return;
        use(ctx);
        check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream), "cudaMemcpyAsync (copy)");
    });
}

int32_t synchronize(dtm_cuda_context * ctx) {
    return guard([&] {
        use(ctx);
        check(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize");
    });
}

int32_t is_device_pointer(const void * p) {
    cudaPointerAttributes a;
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged ? 1 : 0;
}

const dtm_cuda_api kApi = {
    DTM_CUDA_API_VERSION,
    last_error,
    device_count,
    device_props,
    context_create,
    context_free,
    alloc,
    free_memory,
    upload,
    download,
    copy,
    synchronize,
    is_device_pointer,
    gemm,
    gemm_w8a8,
    gemm_qblock,
    embed,
    rmsnorm,
    add_bias,
    add_residual,
    swiglu,
    rope_store_kv,
    attention,
    row_stats,
    kl_exact,
    kl_top_k,
    top_k,
};

}  // namespace

}  // namespace dtm::cuda

extern "C" const dtm_cuda_api * dtm_cuda_get_api(int32_t version) {
    return version == DTM_CUDA_API_VERSION ? &dtm::cuda::kApi : nullptr;
}
