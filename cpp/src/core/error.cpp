#include "core/error.h"

#include <cstdio>
#include <vector>

namespace dtm {

void fail(dtm_status status, const char * format, ...) {
    va_list args;
    va_start(args, format);
    va_list copy;
    va_copy(copy, args);
    int n = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    std::vector<char> buffer(n > 0 ? n + 1 : 1);
    std::vsnprintf(buffer.data(), buffer.size(), format, args);
    va_end(args);
    throw Error(status, std::string(buffer.data()));
}

}  // namespace dtm
