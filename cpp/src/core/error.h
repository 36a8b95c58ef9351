// error.h - how failures travel inside the engine.
//
// Internal code throws dtm::Error (a status plus a message); the C API layer
// (api/) catches everything at the boundary, stores the message for
// dtm_last_error() and returns the status. Nothing else may escape to C.
#pragma once

#include <cstdarg>
#include <stdexcept>
#include <string>

#include "dtm/dtm.h"

namespace dtm {

class Error : public std::runtime_error {
public:
    Error(dtm_status status, const std::string & message)
        : std::runtime_error(message), status_(status) {}
    dtm_status status() const { return status_; }

private:
    dtm_status status_;
};

// Throws dtm::Error with a printf-formatted message.
[[noreturn]] void fail(dtm_status status, const char * format, ...)
    __attribute__((format(printf, 2, 3)));

}  // namespace dtm
