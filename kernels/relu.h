// ReLU over a flat array.  forward: y = x > 0 ? x : 0 (NaN and -0 give +0; y may be x).
// backward: dx = y > 0 ? dy : 0, where y is the forward output or its input (both are
// positive at the same places); dx may be dy.  The AVX2 version is bit-identical.
#pragma once
#include <cstddef>

namespace flowpic {

template <typename T>
void relu_forward_ref(const T* x, size_t n, T* y);
template <typename T>
void relu_backward_ref(const T* y, const T* dy, size_t n, T* dx);

void relu_forward_avx2(const float* x, size_t n, float* y);
void relu_backward_avx2(const float* y, const float* dy, size_t n, float* dx);

// The CPU backend's choice: AVX2 where use_avx2() (kernels/cpu/cpu_features.h), else the
// float reference.
void relu_forward_cpu(const float* x, size_t n, float* y);
void relu_backward_cpu(const float* y, const float* dy, size_t n, float* dx);

}  // namespace flowpic
