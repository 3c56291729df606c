// safetensors files (https://github.com/huggingface/safetensors), the model file format:
// a PyTorch or numpy user reads and writes it with a few lines of struct + json.
//
// Layout: an 8-byte little-endian header length L, L bytes of JSON
//   {"conv1.weight": {"dtype": "F32", "shape": [10, 1, 10, 10], "data_offsets": [0, 4000]},
//    ..., "__metadata__": {"arch": "flowpic", ...}}
// then the raw little-endian tensor data; data_offsets are [begin, end) byte offsets
// into that data.  Only F32 tensors are read and written: every weight is float32, and
// a reader that accepts exactly one dtype never converts silently.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace flowpic {

struct SafeTensor {
    std::string name;
    std::vector<int64_t> shape;  // [] is a scalar (one element)
    std::vector<float> data;     // C order, product(shape) elements
};

struct SafeTensorsFile {
    std::vector<SafeTensor> tensors;  // read: in data order (the order a writer chose)
    std::map<std::string, std::string> metadata;
    const SafeTensor* find(const std::string& name) const;  // nullptr when absent
};

// product(shape); throws std::invalid_argument on a negative dimension or overflow.
uint64_t safetensor_elements(const std::vector<int64_t>& shape);

// Reads and validates a whole file.  Every problem is an InputError "path: what":
// short file, header length beyond the file, malformed JSON, a tensor entry missing
// dtype/shape/data_offsets, a dtype other than F32 (named), offsets out of bounds,
// overlapping, leaving gaps or not matching the shape, non-string metadata, truncated
// data or bytes after the last tensor.
SafeTensorsFile read_safetensors(const std::string& path);

// Writes tensors in the given order, header padded with spaces to a multiple of 8 (so
// the data is 8-byte aligned), atomically: the file appears whole or not at all.
// Throws std::invalid_argument for an empty or duplicate name, the reserved name
// "__metadata__", or data whose size does not match the shape; InputError on I/O errors.
void write_safetensors(const std::string& path, const SafeTensorsFile& file);

}  // namespace flowpic
