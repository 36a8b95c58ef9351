// memory_check.cpp - MemAvailable and the early out-of-memory error.
#include "model/memory_check.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "kernels/cpu/packed_matrix.h"

namespace dtm {

int64_t packed_bytes(int64_t rows, int64_t cols, int64_t element) {
    return (rows + cpu::kPanelRows - 1) / cpu::kPanelRows * cpu::kPanelRows * cols * element;
}

int64_t parse_mem_available(const std::string & meminfo) {
    std::istringstream lines(meminfo);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("MemAvailable:", 0) != 0) continue;
        std::istringstream fields(line.substr(13));
        int64_t kib = -1;
        std::string unit;
        fields >> kib >> unit;
        if (!fields && !fields.eof()) return -1;
        if (kib < 0) return -1;
        return kib * 1024;  // the kernel writes "kB" and means KiB
    }
    return -1;
}

int64_t available_memory_bytes() {
    std::ifstream in("/proc/meminfo");
    if (!in) return -1;
    std::stringstream text;
    text << in.rdbuf();
    return parse_mem_available(text.str());
}

void require_memory(int64_t needed, int64_t available, const std::string & model, const std::string & what) {
    if (available < 0 || needed <= available) return;
    const double gib = 1024.0 * 1024.0 * 1024.0;
    fail(DTM_ERR_OUT_OF_MEMORY,
         "model '%s' needs about %.2f GiB of memory to load (%s), but only %.2f GiB are available "
         "(MemAvailable in /proc/meminfo)",
         model.c_str(), double(needed) / gib, what.c_str(), double(available) / gib);
}

}  // namespace dtm
