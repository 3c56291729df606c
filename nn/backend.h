// The op interface every layer calls (DESIGN.md, "the backend pattern").  Pointers are
// in the backend's memory space (host for the CPU backends, device for CUDA); shapes and
// semantics are those of the kernels/<op>.h headers, where each op is documented once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/adam.h"
#include "kernels/conv2d.h"

namespace flowpic {

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;

    virtual void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) = 0;
    virtual void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) = 0;
    virtual void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw, float* db) = 0;
    virtual void maxpool2d_forward(const float* x, int n, int c, int h, int w, float* y, uint8_t* argmax) = 0;
    virtual void maxpool2d_backward(const float* dy, const uint8_t* argmax, int n, int c, int h, int w, float* dx) = 0;
    virtual void dense_forward(const float* x, const float* w, const float* b, int n, int in, int out, float* y) = 0;
    virtual void dense_backward(const float* x, const float* w, const float* dy, int n, int in, int out, float* dx,
                                float* dw, float* db) = 0;
    virtual void relu_forward(const float* x, size_t n, float* y) = 0;
    virtual void relu_backward(const float* y, const float* dy, size_t n, float* dx) = 0;
    virtual void dropout_forward(const float* x, size_t n, float rate, uint64_t seed, float* y, uint8_t* mask) = 0;
    virtual void dropout_backward(const float* dy, const uint8_t* mask, size_t n, float rate, float* dx) = 0;
    virtual double softmax_xent_forward(const float* logits, const int32_t* labels, const float* class_weights, int n,
                                        int k, float* probs) = 0;
    virtual void softmax_xent_backward(const float* probs, const int32_t* labels, const float* class_weights, int n,
                                       int k, float* dlogits) = 0;
    virtual void adam_step(float* p, const float* g, float* m, float* v, size_t n, int64_t step,
                           const AdamParams& hp) = 0;
};

// CPU backends: the scalar reference (the oracle), AVX2/FMA + OpenMP, or `auto`: AVX2
// when the CPU has it and FLOWPIC_CPU is not "scalar".
enum class CpuKind { kAuto, kScalar, kAvx2 };
std::unique_ptr<Backend> make_cpu_backend(CpuKind kind = CpuKind::kAuto);

}  // namespace flowpic
