// handles.h - what the opaque handles of dtm.h hold. Internal: the C API
// and the C++ tests (which reach into a handle to check sharing) include it.
#pragma once

#include <memory>

#include "model/model.h"
#include "runtime/input_norms.h"
#include "runtime/layer_inputs.h"
#include "runtime/session.h"

struct dtm_model {
    std::unique_ptr<dtm::Model> impl;
};

struct dtm_session {
    std::unique_ptr<dtm::Session> impl;
};

struct dtm_calibration {
    std::unique_ptr<dtm::InputNorms> norms;
};

struct dtm_layer_inputs {
    std::unique_ptr<dtm::LayerInputs> rows;
};
