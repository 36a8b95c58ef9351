// safetensors_file.cpp - validating reader and atomic writer of safetensors.
#include "model/safetensors_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian and viewed in place");

namespace dtm {

namespace {

using Json = nlohmann::json;

constexpr uint64_t kLengthBytes = 8;
// The reference implementation refuses larger headers; so does dtm.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char * kMetadataKey = "__metadata__";

[[noreturn]] void format_error(const std::string & path, const std::string & what) {
    throw Error(DTM_ERR_MODEL_FORMAT, "safetensors file '" + path + "': " + what);
}

uint64_t checked_mul(uint64_t a, uint64_t b, const std::string & path, const std::string & name) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) format_error(path, "the size of tensor '" + name + "' overflows 64 bits");
    return r;
}

std::vector<int64_t> parse_shape(const Json & shape, const std::string & path, const std::string & name) {
    if (!shape.is_array()) format_error(path, "tensor '" + name + "': \"shape\" is not an array");
    std::vector<int64_t> out;
    for (const Json & d : shape) {
        if (!d.is_number_unsigned()) {  // JSON integers >= 0 parse as unsigned
            format_error(path, "tensor '" + name + "': shape " + shape.dump() + " has an entry that is not a non-negative integer");
        }
        const uint64_t v = d.get<uint64_t>();
        if (v > uint64_t(INT64_MAX)) format_error(path, "tensor '" + name + "': dimension " + std::to_string(v) + " is too large");
        out.push_back(int64_t(v));
    }
    return out;
}

std::pair<uint64_t, uint64_t> parse_offsets(const Json & offsets, const std::string & path, const std::string & name) {
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) {
        format_error(path, "tensor '" + name + "': \"data_offsets\" must be two non-negative integers [begin, end], got " +
                               offsets.dump());
    }
    return {offsets[0].get<uint64_t>(), offsets[1].get<uint64_t>()};
}

}  // namespace

size_t safetensors_dtype_size(const std::string & dtype) {
    static const std::map<std::string, size_t> sizes = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
        {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1},   {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
    };
    const auto it = sizes.find(dtype);
    return it == sizes.end() ? 0 : it->second;
}

int64_t TensorView::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

std::string TensorView::shape_text() const {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

SafetensorsFile::SafetensorsFile(const std::string & path) : SafetensorsFile(std::make_unique<MappedFile>(path)) {}

SafetensorsFile::SafetensorsFile(std::unique_ptr<MappedFile> file) : file_(std::move(file)) {
    const std::string & path = file_->path();
    const uint64_t size = file_->size();
    if (size < kLengthBytes) {
        format_error(path, "the file has " + std::to_string(size) + " bytes, fewer than the 8-byte header length");
    }
    uint64_t header_len;
    std::memcpy(&header_len, file_->data(), sizeof(header_len));
    if (header_len > size - kLengthBytes) {
        format_error(path, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                               std::to_string(size) + " bytes)");
    }
    if (header_len > kMaxHeaderBytes) {
        format_error(path, "header length " + std::to_string(header_len) + " exceeds the limit of " +
                               std::to_string(kMaxHeaderBytes) + " bytes");
    }
    const char * header_text = reinterpret_cast<const char *>(file_->data() + kLengthBytes);
    Json header;
    try {
        header = Json::parse(header_text, header_text + header_len);
    } catch (const Json::exception & e) {
        format_error(path, std::string("the header is not valid JSON: ") + e.what());
    }
    if (!header.is_object()) format_error(path, "the header is not a JSON object");

    const uint8_t * data = file_->data() + kLengthBytes + header_len;
    const uint64_t data_size = size - kLengthBytes - header_len;
    std::vector<std::pair<uint64_t, uint64_t>> spans;  // parallel to tensors_
    for (const auto & [name, entry] : header.items()) {
        if (name == kMetadataKey) {
            if (!entry.is_object()) format_error(path, "\"__metadata__\" is not an object");
            for (const auto & [key, value] : entry.items()) {
                if (!value.is_string()) format_error(path, "metadata value of '" + key + "' is not a string");
                metadata_[key] = value.get<std::string>();
            }
            continue;
        }
        if (!entry.is_object()) format_error(path, "tensor '" + name + "' is not described by an object");
        if (!entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets")) {
            format_error(path, "tensor '" + name + "' lacks one of \"dtype\", \"shape\", \"data_offsets\"");
        }
        if (!entry["dtype"].is_string()) format_error(path, "tensor '" + name + "': \"dtype\" is not a string");
        TensorView t;
        t.name = name;
        t.dtype = entry["dtype"].get<std::string>();
        const size_t element_size = safetensors_dtype_size(t.dtype);
        if (element_size == 0) format_error(path, "tensor '" + name + "' has unknown dtype '" + t.dtype + "'");
        t.shape = parse_shape(entry["shape"], path, name);
        const auto [begin, end] = parse_offsets(entry["data_offsets"], path, name);
        if (begin > end) {
            format_error(path, "tensor '" + name + "': data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                   "] end before they begin");
        }
        if (end > data_size) {
            format_error(path, "tensor '" + name + "': data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                   "] run past the end of the data (" + std::to_string(data_size) + " bytes)");
        }
        uint64_t expected = element_size;
        for (int64_t d : t.shape) expected = checked_mul(expected, uint64_t(d), path, name);
        if (end - begin != expected) {
            format_error(path, "tensor '" + name + "' has dtype " + t.dtype + " and shape " + t.shape_text() + ", i.e. " +
                                   std::to_string(expected) + " bytes, but its data_offsets span " +
                                   std::to_string(end - begin) + " bytes");
        }
        t.data = data + begin;
        t.n_bytes = size_t(end - begin);
        tensors_.push_back(std::move(t));
        spans.emplace_back(begin, end);
    }

    // The tensors must tile the data buffer: sorted by offset, each starts
    // where the previous one ended, and the last ends at the end of the file.
    std::vector<size_t> order(tensors_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return spans[a] < spans[b]; });
    uint64_t covered = 0;
    for (size_t k = 0; k < order.size(); ++k) {
        const auto [begin, end] = spans[order[k]];
        if (begin < covered) {
            format_error(path, "tensor '" + tensors_[order[k]].name + "' overlaps tensor '" + tensors_[order[k - 1]].name + "'");
        }
        if (begin > covered) {
            format_error(path, "data bytes [" + std::to_string(covered) + ", " + std::to_string(begin) +
                                   ") belong to no tensor");
        }
        covered = end;
    }
    if (covered != data_size) {
        format_error(path, std::to_string(data_size - covered) + " trailing bytes after the last tensor");
    }
    std::vector<TensorView> sorted;
    sorted.reserve(tensors_.size());
    for (size_t i : order) sorted.push_back(std::move(tensors_[i]));
    tensors_ = std::move(sorted);
    for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

const TensorView * SafetensorsFile::find(const std::string & name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorView & SafetensorsFile::require(const std::string & name) const {
    const TensorView * t = find(name);
    if (t == nullptr) format_error(path(), "missing tensor '" + name + "'");
    return *t;
}

void SafetensorsFile::release(const TensorView & tensor) const {
    if (!file_->mapped()) return;  // heap pages: MADV_DONTNEED would zero them
    // Only whole pages inside the tensor: its neighbours may still be in use.
    const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (uintptr_t(tensor.data) + page - 1) / page * page;
    const uintptr_t end = (uintptr_t(tensor.data) + tensor.n_bytes) / page * page;
    if (end > begin) ::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
}

void write_safetensors(const std::string & path, const std::vector<TensorView> & tensors,
                       const std::map<std::string, std::string> & metadata) {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header[kMetadataKey] = metadata;
    std::set<std::string> names;
    uint64_t offset = 0;
    for (const TensorView & t : tensors) {
        if (t.name.empty() || t.name == kMetadataKey) {
            fail(DTM_ERR_INVALID_ARGUMENT, "cannot write a tensor named '%s' to '%s'", t.name.c_str(), path.c_str());
        }
        if (!names.insert(t.name).second) {
            fail(DTM_ERR_INVALID_ARGUMENT, "tensor '%s' is listed twice for '%s'", t.name.c_str(), path.c_str());
        }
        const size_t element_size = safetensors_dtype_size(t.dtype);
        if (element_size == 0) {
            fail(DTM_ERR_INVALID_ARGUMENT, "tensor '%s' has unknown dtype '%s'", t.name.c_str(), t.dtype.c_str());
        }
        uint64_t expected = element_size;
        for (int64_t d : t.shape) {
            if (d < 0) fail(DTM_ERR_INVALID_ARGUMENT, "tensor '%s' has a negative dimension", t.name.c_str());
            if (__builtin_mul_overflow(expected, uint64_t(d), &expected)) {
                fail(DTM_ERR_INVALID_ARGUMENT, "tensor '%s' is too large", t.name.c_str());
            }
        }
        if (expected != t.n_bytes || (t.n_bytes > 0 && t.data == nullptr)) {
            fail(DTM_ERR_INVALID_ARGUMENT, "tensor '%s' (%s %s) needs %" PRIu64 " bytes, got %zu", t.name.c_str(),
                 t.dtype.c_str(), t.shape_text().c_str(), expected, t.n_bytes);
        }
        header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.n_bytes}}};
        offset += t.n_bytes;
    }
    // Pad the header with spaces so that the data starts 8-byte aligned.
    std::string text = header.dump();
    text.append((kLengthBytes - text.size() % kLengthBytes) % kLengthBytes, ' ');
    const uint64_t header_len = text.size();

    AtomicFile file(path);
    file.write(&header_len, sizeof(header_len));
    file.write(text.data(), text.size());
    for (const TensorView & t : tensors) file.write(t.data, t.n_bytes);
    file.commit();
}

}  // namespace dtm
