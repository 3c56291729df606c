// NumPy .npy files (format 1.0; 2.0 is also read): FlowPics for numpy users
// (flowpic-render --npy, --npy-dataset) and dense images for flowpic-infer --images.
//
// A file is the magic "\x93NUMPY", the version (1, 0), a little-endian uint16 header
// length, a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a final '\n' so the data starts at a multiple of 64, then the
// raw little-endian C-order data.  Supported dtypes: uint8 ('|u1'; '<u1' is read too),
// uint16 ('<u2'), int64 ('<i8'), float32 ('<f4').  Every writer here is atomic: the file
// appears whole or not at all.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/atomic_file.h"

namespace flowpic {

enum class NpyDtype : uint8_t { u8, u16, i64, f32 };

size_t npy_itemsize(NpyDtype t);
const char* npy_descr(NpyDtype t);  // the descr written: "|u1", "<u2", "<i8", "<f4"

template <typename T> struct NpyDtypeOf;
template <> struct NpyDtypeOf<uint8_t> { static constexpr NpyDtype value = NpyDtype::u8; };
template <> struct NpyDtypeOf<uint16_t> { static constexpr NpyDtype value = NpyDtype::u16; };
template <> struct NpyDtypeOf<int64_t> { static constexpr NpyDtype value = NpyDtype::i64; };
template <> struct NpyDtypeOf<float> { static constexpr NpyDtype value = NpyDtype::f32; };

using NpyShape = std::vector<uint64_t>;
uint64_t npy_elements(const NpyShape& shape);  // product; 1 for shape ()

// Magic, version, header length and padded header: everything before the data.
std::string npy_preamble(NpyDtype t, const NpyShape& shape);

// Writes a whole array (npy_elements(shape) items of dtype t at data) atomically.
void write_npy(const std::string& path, NpyDtype t, const NpyShape& shape, const void* data);
template <typename T>
void write_npy(const std::string& path, const NpyShape& shape, const T* data) {
    write_npy(path, NpyDtypeOf<T>::value, shape, data);
}

// An array whose first dimension is only known at the end (--npy-dataset X.npy, N x C x
// H x W): items of item_shape are appended, finish() writes the count into the header
// (reserved at full width up front, so the data never moves) and renames the file into
// place.  Destroyed without finish(), it leaves nothing behind.
class NpyStreamWriter {
public:
    NpyStreamWriter(const std::string& path, NpyDtype t, NpyShape item_shape);
    // count items of item_shape; the typed form checks T against the dtype, the raw
    // form takes bytes as they are.
    template <typename T> void append(const T* items, uint64_t count) {
        check_type(NpyDtypeOf<T>::value);
        append_raw(items, count);
    }
    void append_raw(const void* items, uint64_t count);
    uint64_t count() const { return count_; }
    void finish();

private:
    void check_type(NpyDtype t) const;
    AtomicFile file_;
    NpyDtype dtype_;
    NpyShape item_shape_;
    size_t item_bytes_;
    size_t preamble_bytes_;
    uint64_t count_ = 0;
};

// Reads a .npy header and then any run of rows (slices along the first dimension), so
// a big X.npy is read a batch at a time.  Opening checks magic, version, dtype, fortran
// order and that the file size is exactly header + data; each problem is an InputError
// "path: what".
class NpyReader {
public:
    explicit NpyReader(const std::string& path);
    NpyDtype dtype() const { return dtype_; }
    const NpyShape& shape() const { return shape_; }
    uint64_t elements() const { return npy_elements(shape_); }
    size_t data_bytes() const { return data_bytes_; }
    // Rows [first, first + rows) of the first dimension into out (rows * row size
    // bytes); a 0-d array is one row.
    void read_rows(uint64_t first, uint64_t rows, void* out);
    void read_all(void* out) { read_rows(0, shape_.empty() ? 1 : shape_[0], out); }

private:
    struct Closer { void operator()(std::FILE* f) const { std::fclose(f); } };
    std::string path_;
    std::unique_ptr<std::FILE, Closer> file_;
    NpyDtype dtype_ = NpyDtype::u8;
    NpyShape shape_;
    uint64_t data_offset_ = 0;
    size_t data_bytes_ = 0;
};

// A whole array in memory.
struct NpyArray {
    NpyDtype dtype = NpyDtype::u8;
    NpyShape shape;
    std::vector<uint8_t> data;  // raw little-endian items
    uint64_t elements() const { return npy_elements(shape); }
    std::vector<float> to_float() const;  // every dtype converted to float
};
NpyArray read_npy(const std::string& path);

// n raw little-endian items of dtype t converted to float.
void npy_to_float(NpyDtype t, const void* raw, size_t n, float* out);

}  // namespace flowpic
