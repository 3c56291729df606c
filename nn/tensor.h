// Tensors: a shape and a buffer it owns, in host memory (64-byte aligned) or device
// memory (from the caching arena, kernels/cuda/device_memory.h).  Layouts are PyTorch's
// (NCHW activations, OIHW conv weights, out x in dense weights), so tensors map one to
// one onto the safetensors model file.
//
// Element access (operator[], fill) is for host tensors only; copy_from / to_vector /
// assign move data between the two memories.  A backend computes on pointers in its own
// memory (Backend::memory()); the network moves its tensors there (Network::to).
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
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

enum class Memory : uint8_t { kHost, kDevice };
const char* memory_name(Memory m);  // "host", "device"

// Raw bytes in one memory: grows only, contents undefined after a growth.
class Storage {
public:
    explicit Storage(Memory m = Memory::kHost) : memory_(m) {}
    ~Storage() { release(); }
    Storage(Storage&& o) noexcept { *this = std::move(o); }
    Storage& operator=(Storage&& o) noexcept;
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void reserve(size_t bytes);
    // Drops the buffer and changes the memory (contents are lost).
    void reset(Memory m) {
        release();
        memory_ = m;
    }
    void* get() const { return ptr_; }
    size_t capacity() const { return capacity_; }
    Memory memory() const { return memory_; }

private:
    void release() noexcept;
    void* ptr_ = nullptr;
    size_t capacity_ = 0;
    Memory memory_;
};

// Copies bytes between any two memories (synchronous) and zero-fills.
void copy_bytes(void* dst, Memory dst_mem, const void* src, Memory src_mem, size_t bytes);
void zero_bytes(void* dst, Memory mem, size_t bytes);

class Tensor {
public:
    Tensor() = default;
    explicit Tensor(Shape shape, Memory m = Memory::kHost) : storage_(m) { reshape(std::move(shape)); }
    Tensor(Tensor&&) noexcept = default;
    Tensor& operator=(Tensor&&) noexcept = default;

    // Changes the shape; reallocates only when the buffer is too small.  Contents are
    // undefined afterwards unless the size is unchanged.
    void reshape(Shape shape) {
        size_t n = size_t(shape_elements(shape));
        storage_.reserve(n * sizeof(float));
        shape_ = std::move(shape);
        size_ = n;
    }
    // Moves the contents to memory m (nothing happens when they are there already).
    void to(Memory m);
    // Drops the buffer if it is in another memory, keeping the shape's size allocated in m
    // (contents undefined): for outputs about to be overwritten.
    void place(Memory m) {
        if (m != memory()) {
            storage_.reset(m);
            storage_.reserve(size_ * sizeof(float));
        }
    }
    // This tensor becomes a copy of src (shape and contents), in this tensor's memory.
    void copy_from(const Tensor& src);
    // Contents from / to host floats (size() of them).
    void assign(const float* host);
    void copy_to_host(float* host) const;
    std::vector<float> to_vector() const;

    void zero() { zero_bytes(storage_.get(), memory(), size_ * sizeof(float)); }
    void fill(float v) {
        host_only("fill");
        for (size_t i = 0; i < size_; ++i) data()[i] = v;
    }

    float* data() { return static_cast<float*>(storage_.get()); }
    const float* data() const { return static_cast<const float*>(storage_.get()); }
    Memory memory() const { return storage_.memory(); }
    size_t size() const { return size_; }
    size_t bytes() const { return size_ * sizeof(float); }
    const Shape& shape() const { return shape_; }
    int64_t dim(size_t i) const { return shape_[i]; }
    float& operator[](size_t i) { return data()[i]; }
    float operator[](size_t i) const { return data()[i]; }

private:
    void host_only(const char* what) const {
        if (memory() != Memory::kHost) throw std::logic_error(std::string("Tensor::") + what + " on a device tensor");
    }
    Storage storage_;
    Shape shape_;
    size_t size_ = 0;
};

// Bytes in a backend's memory (maxpool argmax, dropout masks).
class ByteBuffer {
public:
    void resize(size_t n, Memory m) {
        if (m != storage_.memory()) storage_.reset(m);
        storage_.reserve(n);
        size_ = n;
    }
    uint8_t* data() { return static_cast<uint8_t*>(storage_.get()); }
    const uint8_t* data() const { return static_cast<const uint8_t*>(storage_.get()); }
    size_t size() const { return size_; }

private:
    Storage storage_;
    size_t size_ = 0;
};

}  // namespace flowpic
