// A float32 tensor on the host: a shape and a 64-byte-aligned buffer it owns.  Layouts are
// PyTorch's (NCHW activations, OIHW conv weights, out x in dense weights), so tensors map
// one to one onto the safetensors model file.  The CUDA backend adds a device twin later.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace flowpic {

using Shape = std::vector<int64_t>;

inline int64_t shape_elements(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return n;
}

std::string shape_string(const Shape& s);  // "[10, 1, 10, 10]"

class Tensor {
public:
    Tensor() = default;
    explicit Tensor(Shape shape) { reshape(std::move(shape)); }

    // Changes the shape; reallocates only when the buffer is too small.  Contents are
    // undefined afterwards unless the size is unchanged.
    void reshape(Shape shape) {
        size_t n = size_t(shape_elements(shape));
        if (n > capacity_) {
            void* p = nullptr;
            size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
            if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) throw std::bad_alloc();
            data_.reset(static_cast<float*>(p));
            capacity_ = n;
        }
        shape_ = std::move(shape);
        size_ = n;
    }
    void zero() { if (size_) std::memset(data_.get(), 0, size_ * sizeof(float)); }
    void fill(float v) { for (size_t i = 0; i < size_; ++i) data_[i] = v; }

    float* data() { return data_.get(); }
    const float* data() const { return data_.get(); }
    size_t size() const { return size_; }
    const Shape& shape() const { return shape_; }
    int64_t dim(size_t i) const { return shape_[i]; }
    float& operator[](size_t i) { return data_[i]; }
    float operator[](size_t i) const { return data_[i]; }

private:
    struct Free { void operator()(float* p) const { std::free(p); } };
    std::unique_ptr<float[], Free> data_;
    Shape shape_;
    size_t size_ = 0, capacity_ = 0;
};

}  // namespace flowpic
