// version.h - the engine's version, and the mark dtm leaves in the files it writes.
#pragma once

namespace dtm {

// What dtm_version() returns.
constexpr const char * kVersion = "0.1.0";

// Metadata key (safetensors __metadata__, GGUF key/value) whose value, "dtm <version>", marks a
// model file dtm wrote; the CLI replaces such a file without --force.
constexpr const char * kWriterKey = "dtm.writer";
constexpr const char * kWriterValue = "dtm 0.1.0";

}  // namespace dtm
