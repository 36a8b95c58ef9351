// devices.h - the registry of devices a session can run on: what this build
// was compiled with and this machine offers (dtm_n_devices / dtm_device in
// dtm.h). The CPU is always device 0; a CUDA backend adds "cuda:N" entries
// here when it is built.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "dtm/dtm.h"

namespace dtm::backend {

// Every device of this build and machine, the CPU first.
const std::vector<dtm_device_info> & devices();

// The device a session asks for: NULL = "cpu". Returns its registry name;
// throws dtm::Error(DTM_ERR_UNSUPPORTED) naming it when this build or
// machine has no such device (a "cuda:N" without the CUDA backend, an
// index past the devices there are, or any other name).
std::string require_device(const char * requested);

// The backend of a session on `device` (a name require_device returned),
// for attention over at most max_keys positions. The CPU's: params.isa
// resolved (kernels/cpu/dispatch.h: DTM_ERR_UNSUPPORTED for a path the CPU
// lacks) and a pool of params.n_threads threads (0 = all online CPUs).
std::unique_ptr<Backend> make_backend(const std::string & device, const dtm_session_params & params,
                                      int32_t max_keys);

}  // namespace dtm::backend
