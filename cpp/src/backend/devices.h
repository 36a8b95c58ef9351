// devices.h - the registry of devices a session can run on: what this build
// was compiled with and this machine offers (dtm_n_devices / dtm_device in
// dtm.h). The CPU is always device 0; a CUDA backend adds "cuda:N" entries
// here when it is built.
#pragma once

#include <string>
#include <vector>

#include "dtm/dtm.h"

namespace dtm::backend {

// Every device of this build and machine, the CPU first.
const std::vector<dtm_device_info> & devices();

// The device a session asks for: NULL = "cpu". Returns its registry name;
// throws dtm::Error(DTM_ERR_UNSUPPORTED) naming it when this build or
// machine has no such device (a "cuda:N" without the CUDA backend, an
// index past the devices there are, or any other name).
std::string require_device(const char * requested);

}  // namespace dtm::backend
