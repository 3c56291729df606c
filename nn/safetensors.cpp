#include "nn/safetensors.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian and is copied to and from memory as is"
#endif

namespace flowpic {

namespace {

constexpr uint64_t kMaxHeader = 100u << 20;  // the reference implementation's limit too
constexpr char kMetadataKey[] = "__metadata__";

// Dtypes of the format other than F32: named in the error, so "I64" reads as "we do not
// support it" rather than "this is not a safetensors file".
const std::set<std::string> kOtherDtypes = {"BOOL", "U8",  "I8",  "I16", "U16", "F16", "BF16", "I32",
                                            "U32",  "F64", "I64", "U64", "F8_E4M3", "F8_E5M2"};

std::string shape_string(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

struct Entry {
    std::string name;
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;
};

// One tensor's header entry, checked on its own; the layout checks come later.
Entry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& j) {
    auto fail = [&](const std::string& what) -> InputError {
        return input_error(path, "tensor '" + name + "': " + what);
    };
    if (!j.is_object()) throw fail("header entry is not a JSON object");
    for (const char* key : {"dtype", "shape", "data_offsets"})
        if (!j.contains(key)) throw fail(std::string("missing ") + key);

    const auto& dtype = j["dtype"];
    if (!dtype.is_string()) throw fail("dtype is not a string");
    const std::string d = dtype.get<std::string>();
    if (d != "F32") {
        if (kOtherDtypes.count(d)) throw fail("unsupported dtype " + d + " (only F32 is supported)");
        throw fail("unknown dtype '" + d + "'");
    }

    Entry e;
    e.name = name;
    const auto& shape = j["shape"];
    if (!shape.is_array()) throw fail("shape is not a list");
    for (const auto& dim : shape) {
        if (!dim.is_number_unsigned() || dim.get<uint64_t>() > uint64_t(INT64_MAX))
            throw fail("shape " + shape.dump() + " holds something other than non-negative integers");
        e.shape.push_back(int64_t(dim.get<uint64_t>()));
    }

    const auto& off = j["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
        throw fail("data_offsets " + off.dump() + " is not a pair of non-negative integers");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end) throw fail("data_offsets " + off.dump() + " end before they begin");

    uint64_t bytes = 0;
    try {
        bytes = safetensor_elements(e.shape);
    } catch (const std::invalid_argument&) {
        throw fail("shape " + shape_string(e.shape) + " too large");
    }
    if (__builtin_mul_overflow(bytes, uint64_t(sizeof(float)), &bytes))
        throw fail("shape " + shape_string(e.shape) + " too large");
    if (e.end - e.begin != bytes)
        throw fail("data_offsets " + off.dump() + " hold " + std::to_string(e.end - e.begin) +
                   " bytes but F32 shape " + shape_string(e.shape) + " needs " + std::to_string(bytes));
    return e;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const nlohmann::json& j) {
    if (!j.is_object()) throw input_error(path, "__metadata__ is not a JSON object");
    std::map<std::string, std::string> out;
    for (const auto& item : j.items()) {
        if (!item.value().is_string())
            throw input_error(path, "__metadata__ value for '" + item.key() + "' is not a string (" +
                                        item.value().type_name() + ")");
        out[item.key()] = item.value().get<std::string>();
    }
    return out;
}

struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

uint64_t safetensor_elements(const std::vector<int64_t>& shape) {
    uint64_t n = 1;
    for (int64_t d : shape)
        if (d < 0 || __builtin_mul_overflow(n, uint64_t(d), &n))
            throw std::invalid_argument("bad tensor shape " + shape_string(shape));
    return n;
}

const SafeTensor* SafeTensorsFile::find(const std::string& name) const {
    for (const auto& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

SafeTensorsFile read_safetensors(const std::string& path) {
    std::unique_ptr<std::FILE, Closer> f(std::fopen(path.c_str(), "rb"));
    if (!f) throw input_error(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st;
    if (fstat(fileno(f.get()), &st) != 0 || !S_ISREG(st.st_mode)) throw input_error(path, "not a regular file");
    const uint64_t file_size = uint64_t(st.st_size);

    if (file_size < 8)
        throw input_error(path, "not a safetensors file: " + std::to_string(file_size) +
                                    " bytes, less than the 8-byte header length");
    unsigned char len_bytes[8];
    if (std::fread(len_bytes, 1, 8, f.get()) != 8) throw input_error(path, "cannot read the header length");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = header_len << 8 | len_bytes[i];
    if (header_len > file_size - 8)
        throw input_error(path, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                                    std::to_string(file_size) + " bytes): truncated or not a safetensors file");
    if (header_len > kMaxHeader)
        throw input_error(path, "header length " + std::to_string(header_len) + " over the 100 MiB limit");

    std::string text(header_len, '\0');
    if (header_len && std::fread(&text[0], 1, header_len, f.get()) != header_len)
        throw input_error(path, "cannot read the header");
    SafeTensorsFile out;
    std::vector<Entry> entries;
    // Every nlohmann exception is the header's fault, not ours: a parse error, and also a
    // number the parser cannot hold ("shape": [1e400] is out_of_range, not parse_error).
    try {
        nlohmann::json header = nlohmann::json::parse(text);
        if (!header.is_object()) throw input_error(path, "JSON header is not an object");
        for (const auto& item : header.items()) {
            if (item.key() == kMetadataKey) out.metadata = parse_metadata(path, item.value());
            else entries.push_back(parse_entry(path, item.key(), item.value()));
        }
    } catch (const nlohmann::json::exception& e) {
        throw input_error(path, std::string("malformed JSON header: ") + e.what());
    }

    // The tensors must tile the data exactly, as the reference implementation demands:
    // an overlap means two tensors share bytes, a gap or a tail means a writer bug.
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    const uint64_t data_size = file_size - 8 - header_len;
    uint64_t pos = 0;
    const Entry* prev = nullptr;
    for (const auto& e : entries) {
        if (e.begin < pos)
            throw input_error(path, "tensors '" + prev->name + "' and '" + e.name + "' overlap (bytes [" +
                                        std::to_string(prev->begin) + ", " + std::to_string(prev->end) + ") and [" +
                                        std::to_string(e.begin) + ", " + std::to_string(e.end) + "))");
        if (e.begin > pos)
            throw input_error(path, "gap of " + std::to_string(e.begin - pos) + " bytes before tensor '" + e.name +
                                        "' (data_offsets must tile the data)");
        if (e.end > data_size)
            throw input_error(path, "truncated data: tensor '" + e.name + "' ends at byte " + std::to_string(e.end) +
                                        " but the file holds " + std::to_string(data_size) + " data bytes");
        pos = e.end;
        prev = &e;
    }
    if (pos < data_size)
        throw input_error(path, std::to_string(data_size - pos) + " unexpected bytes after the last tensor");

    // Sorted and contiguous: the data is one sequential read.
    for (const auto& e : entries) {
        SafeTensor t;
        t.name = e.name;
        t.shape = e.shape;
        t.data.resize(size_t((e.end - e.begin) / sizeof(float)));
        const size_t bytes = t.data.size() * sizeof(float);
        if (bytes && std::fread(t.data.data(), 1, bytes, f.get()) != bytes)
            throw input_error(path, "read failed in tensor '" + e.name + "' (file changed while reading?)");
        out.tensors.push_back(std::move(t));
    }
    return out;
}

void write_safetensors(const std::string& path, const SafeTensorsFile& file) {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    uint64_t offset = 0;
    for (const auto& t : file.tensors) {
        if (t.name.empty() || t.name == kMetadataKey)
            throw std::invalid_argument(path + ": bad tensor name '" + t.name + "'");
        if (header.contains(t.name)) throw std::invalid_argument(path + ": duplicate tensor '" + t.name + "'");
        if (safetensor_elements(t.shape) != t.data.size())
            throw std::invalid_argument(path + ": tensor '" + t.name + "' has " + std::to_string(t.data.size()) +
                                        " values for shape " + shape_string(t.shape));
        const uint64_t end = offset + t.data.size() * sizeof(float);
        header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, end}}};
        offset = end;
    }
    if (!file.metadata.empty()) header[kMetadataKey] = file.metadata;

    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::json::type_error& e) {  // a name or value that is not UTF-8
        throw std::invalid_argument(path + ": " + e.what());
    }
    text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned

    AtomicFile out(path);
    unsigned char len_bytes[8];
    for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(uint64_t(text.size()) >> (8 * i));
    bool ok = std::fwrite(len_bytes, 1, 8, out.get()) == 8 &&
              std::fwrite(text.data(), 1, text.size(), out.get()) == text.size();
    for (const auto& t : file.tensors) {
        const size_t bytes = t.data.size() * sizeof(float);
        ok = ok && (bytes == 0 || std::fwrite(t.data.data(), 1, bytes, out.get()) == bytes);
    }
    if (!ok) throw input_error(path, std::string("write failed: ") + std::strerror(errno));
    out.commit();
}

}  // namespace flowpic
