#include "nn/tensor.h"

#include <utility>

#include "kernels/cuda/device_memory.h"

namespace flowpic {

std::string shape_string(const Shape& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

const char* memory_name(Memory m) { return m == Memory::kHost ? "host" : "device"; }

Storage& Storage::operator=(Storage&& o) noexcept {
    if (this != &o) {
        release();
        ptr_ = std::exchange(o.ptr_, nullptr);
        capacity_ = std::exchange(o.capacity_, 0);
        memory_ = o.memory_;
    }
    return *this;
}

void Storage::reserve(size_t bytes) {
    if (bytes <= capacity_ && ptr_) return;
    release();
    if (memory_ == Memory::kHost) {
        size_t rounded = ((bytes + 63) / 64) * 64;
        if (posix_memalign(&ptr_, 64, rounded ? rounded : 64) != 0) {
            ptr_ = nullptr;
            throw std::bad_alloc();
        }
    } else {
        ptr_ = device_alloc(bytes ? bytes : 4);
    }
    capacity_ = bytes;
}

void Storage::release() noexcept {
    if (!ptr_) return;
    if (memory_ == Memory::kHost)
        std::free(ptr_);
    else
        device_free(ptr_);
    ptr_ = nullptr;
    capacity_ = 0;
}

void copy_bytes(void* dst, Memory dst_mem, const void* src, Memory src_mem, size_t bytes) {
    if (bytes == 0 || dst == src) return;
    if (dst_mem == Memory::kHost && src_mem == Memory::kHost)
        std::memcpy(dst, src, bytes);
    else
        device_copy(dst, src, bytes);
}

void zero_bytes(void* dst, Memory mem, size_t bytes) {
    if (bytes == 0) return;
    if (mem == Memory::kHost)
        std::memset(dst, 0, bytes);
    else
        device_memset(dst, 0, bytes);
}

void Tensor::to(Memory m) {
    if (m == memory()) return;
    Storage moved(m);
    moved.reserve(bytes());
    copy_bytes(moved.get(), m, storage_.get(), memory(), bytes());
    storage_ = std::move(moved);
}

void Tensor::copy_from(const Tensor& src) {
    if (&src == this) return;
    reshape(src.shape());
    copy_bytes(data(), memory(), src.data(), src.memory(), bytes());
}

void Tensor::assign(const float* host) { copy_bytes(data(), memory(), host, Memory::kHost, bytes()); }

void Tensor::copy_to_host(float* host) const { copy_bytes(host, Memory::kHost, data(), memory(), bytes()); }

std::vector<float> Tensor::to_vector() const {
    std::vector<float> out(size_);
    copy_to_host(out.data());
    return out;
}

}  // namespace flowpic
