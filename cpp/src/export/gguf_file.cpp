#include "export/gguf_file.h"

#include <algorithm>
#include <cstring>

#include "core/atomic_file.h"
#include "core/error.h"

namespace dtm::gguf {

namespace {

constexpr uint32_t kVersion = 3;
constexpr int64_t kBlockSize = 32;  // elements per Q8_0 / Q4_0 block

// GGUF metadata value types (gguf.h's enum gguf_type).
enum ValueType : uint32_t {
    kUint32 = 4,
    kInt32 = 5,
    kFloat32 = 6,
    kBool = 7,
    kString = 8,
    kArray = 9,
};

template <typename T>
void put(std::vector<uint8_t> & out, T value) {
    uint8_t bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));  // the engine runs on little-endian x86-64 only
    out.insert(out.end(), bytes, bytes + sizeof(T));
}

void put_string(std::vector<uint8_t> & out, const std::string & s) {
    put<uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
}

uint64_t padded(uint64_t n, uint32_t alignment) { return (n + alignment - 1) / alignment * alignment; }

}  // namespace

const char * type_name(TensorType type) {
    switch (type) {
        case TensorType::kF32: return "F32";
        case TensorType::kF16: return "F16";
        case TensorType::kQ4_0: return "Q4_0";
        case TensorType::kQ8_0: return "Q8_0";
        case TensorType::kBF16: return "BF16";
    }
    return "?";
}

uint64_t tensor_bytes(TensorType type, const std::vector<int64_t> & ne) {
    if (ne.empty()) fail(DTM_ERR_INVALID_ARGUMENT, "a GGUF tensor needs at least one dimension");
    uint64_t n = 1;
    for (int64_t d : ne) {
        if (d <= 0) fail(DTM_ERR_INVALID_ARGUMENT, "GGUF tensor dimension %lld is not positive", static_cast<long long>(d));
        n *= uint64_t(d);
    }
    switch (type) {
        case TensorType::kF32: return n * 4;
        case TensorType::kF16:
        case TensorType::kBF16: return n * 2;
        case TensorType::kQ8_0:
        case TensorType::kQ4_0:
            if (ne[0] % kBlockSize != 0) {
                fail(DTM_ERR_INVALID_ARGUMENT, "%s needs rows of a multiple of %lld values, got %lld", type_name(type),
                     static_cast<long long>(kBlockSize), static_cast<long long>(ne[0]));
            }
            return n / kBlockSize * (type == TensorType::kQ8_0 ? 34 : 18);
    }
    fail(DTM_ERR_INTERNAL, "unknown GGUF tensor type %u", unsigned(type));
}

Writer::Writer(uint32_t alignment) : alignment_(alignment) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        fail(DTM_ERR_INVALID_ARGUMENT, "GGUF alignment must be a power of two, got %u", alignment);
    }
    add_uint32("general.alignment", alignment);
}

void Writer::key(const std::string & k, uint32_t value_type) {
    if (std::find(keys_.begin(), keys_.end(), k) != keys_.end()) {
        fail(DTM_ERR_INTERNAL, "GGUF metadata key '%s' written twice", k.c_str());
    }
    keys_.push_back(k);
    ++n_metadata_;
    put_string(metadata_, k);
    put<uint32_t>(metadata_, value_type);
}

void Writer::add_string(const std::string & k, const std::string & value) {
    key(k, kString);
    put_string(metadata_, value);
}

void Writer::add_uint32(const std::string & k, uint32_t value) {
    key(k, kUint32);
    put<uint32_t>(metadata_, value);
}

void Writer::add_int32(const std::string & k, int32_t value) {
    key(k, kInt32);
    put<int32_t>(metadata_, value);
}

void Writer::add_float32(const std::string & k, float value) {
    key(k, kFloat32);
    put<float>(metadata_, value);
}

void Writer::add_bool(const std::string & k, bool value) {
    key(k, kBool);
    put<uint8_t>(metadata_, value ? 1 : 0);
}

void Writer::add_string_array(const std::string & k, const std::vector<std::string> & values) {
    key(k, kArray);
    put<uint32_t>(metadata_, kString);
    put<uint64_t>(metadata_, values.size());
    for (const std::string & v : values) put_string(metadata_, v);
}

void Writer::add_float32_array(const std::string & k, const std::vector<float> & values) {
    key(k, kArray);
    put<uint32_t>(metadata_, kFloat32);
    put<uint64_t>(metadata_, values.size());
    for (float v : values) put<float>(metadata_, v);
}

void Writer::add_int32_array(const std::string & k, const std::vector<int32_t> & values) {
    key(k, kArray);
    put<uint32_t>(metadata_, kInt32);
    put<uint64_t>(metadata_, values.size());
    for (int32_t v : values) put<int32_t>(metadata_, v);
}

void Writer::add_tensor(const std::string & name, TensorType type, std::vector<int64_t> ne,
                        std::function<std::vector<uint8_t>()> produce) {
    for (const Tensor & t : tensors_) {
        if (t.name == name) fail(DTM_ERR_INTERNAL, "GGUF tensor '%s' added twice", name.c_str());
    }
    const uint64_t bytes = tensor_bytes(type, ne);
    tensors_.push_back(Tensor{name, type, std::move(ne), bytes, std::move(produce)});
}

std::vector<uint8_t> Writer::header() const {
    std::vector<uint8_t> out;
    out.insert(out.end(), {'G', 'G', 'U', 'F'});
    put<uint32_t>(out, kVersion);
    put<uint64_t>(out, tensors_.size());
    put<uint64_t>(out, n_metadata_);
    out.insert(out.end(), metadata_.begin(), metadata_.end());
    uint64_t offset = 0;
    for (const Tensor & t : tensors_) {
        put_string(out, t.name);
        put<uint32_t>(out, uint32_t(t.ne.size()));
        for (int64_t d : t.ne) put<uint64_t>(out, uint64_t(d));
        put<uint32_t>(out, uint32_t(t.type));
        put<uint64_t>(out, offset);
        offset = padded(offset + t.bytes, alignment_);
    }
    out.resize(padded(out.size(), alignment_), 0);
    return out;
}

uint64_t Writer::file_bytes() const {
    uint64_t n = header().size();
    for (const Tensor & t : tensors_) n = n + padded(t.bytes, alignment_);
    return n;
}

void Writer::write(const std::string & path) const {
    AtomicFile file(path);
    const std::vector<uint8_t> head = header();
    file.write(head.data(), head.size());
    const std::vector<uint8_t> zeros(alignment_, 0);
    for (const Tensor & t : tensors_) {
        const std::vector<uint8_t> bytes = t.produce();
        if (bytes.size() != t.bytes) {
            fail(DTM_ERR_INTERNAL, "GGUF tensor '%s' produced %zu bytes, its type and shape need %llu", t.name.c_str(),
                 bytes.size(), static_cast<unsigned long long>(t.bytes));
        }
        file.write(bytes.data(), bytes.size());
        file.write(zeros.data(), padded(t.bytes, alignment_) - t.bytes);
    }
    file.commit();
}

}  // namespace dtm::gguf
