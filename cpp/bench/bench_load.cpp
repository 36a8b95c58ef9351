// bench_load.cpp - load time and resident memory of one model load.
//
//   bench_load PATH [PATH ...]      (a llama2.c .bin or a Hugging Face checkpoint directory)
//
// For each path, in a fresh process state as far as this process goes:
// wall time of dtm_model_load, and the growth of VmRSS, RssAnon (packed and
// converted weights) and RssFile (mapped file pages still resident) from
// /proc/self/status. Run it twice to see a warm page cache; drop the cache
// (echo 3 > /proc/sys/vm/drop_caches, as root) for a cold one.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "dtm/dtm.h"

namespace {

// The "kB" fields of /proc/self/status that say what is resident.
std::map<std::string, long> resident_kib() {
    std::map<std::string, long> out;
    std::ifstream in("/proc/self/status");
    std::string key;
    long value;
    std::string unit;
    while (in >> key) {
        if (key == "VmRSS:" || key == "RssAnon:" || key == "RssFile:") {
            in >> value >> unit;
            out[key.substr(0, key.size() - 1)] = value;
        }
    }
    return out;
}

}  // namespace

int main(int argc, char ** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s MODEL_PATH_OR_DIR [...]\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; ++i) {
        const auto before = resident_kib();
        const auto start = std::chrono::steady_clock::now();
        dtm_model * model = nullptr;
        if (dtm_model_load(argv[i], dtm_model_default_params(), &model) != DTM_OK) {
            std::fprintf(stderr, "%s: %s\n", argv[i], dtm_last_error());
            return 1;
        }
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        const auto after = resident_kib();
        dtm_model_config c;
        dtm_model_get_config(model, &c);
        std::printf("%s\n  load %.1f ms, %lld parameters\n  resident growth: VmRSS %+.1f MiB, RssAnon %+.1f MiB, RssFile %+.1f MiB\n",
                    argv[i], ms, (long long)c.n_params, (after.at("VmRSS") - before.at("VmRSS")) / 1024.0,
                    (after.at("RssAnon") - before.at("RssAnon")) / 1024.0, (after.at("RssFile") - before.at("RssFile")) / 1024.0);
        dtm_model_free(model);
    }
    return 0;
}
