// 2x2 max pooling, stride 2, 'valid' with floor (Keras MaxPooling2D, PyTorch
// MaxPool2d(2)): y is N x C x (H/2) x (W/2); an odd trailing row or column of x is
// never read, and backward writes zeros there.
//
// argmax (one byte per output element) holds the winner's position in its window in
// row-major order: 0 = (0,0), 1 = (0,1), 2 = (1,0), 3 = (1,1).  A byte instead of an
// int32 offset: a quarter of the memory, and the offset is cheap to recompute.
// Ties go to the first maximum in that order (the comparison is a strict `>`), as in
// PyTorch's CPU kernel and TensorFlow's MaxPoolGrad, so the whole gradient goes to
// one element.  NaN never wins a comparison: a window whose first element is NaN keeps
// it, a NaN elsewhere is skipped (PyTorch would propagate any NaN; we do not try).
//
// The AVX2 version computes the same comparisons and is bit-identical to the reference.
#pragma once
#include <cstdint>

namespace flowpic {

template <typename T>
void maxpool2d_forward_ref(const T* x, int n, int c, int h, int w, T* y, uint8_t* argmax);
// dx (N x C x H x W) is overwritten: dy at each window's argmax, zeros elsewhere.
template <typename T>
void maxpool2d_backward_ref(const T* dy, const uint8_t* argmax, int n, int c, int h, int w, T* dx);

void maxpool2d_forward_avx2(const float* x, int n, int c, int h, int w, float* y, uint8_t* argmax);
void maxpool2d_backward_avx2(const float* dy, const uint8_t* argmax, int n, int c, int h, int w,
                             float* dx);

// The CPU backend's choice: AVX2 where use_avx2() (kernels/cpu/cpu_features.h), else the
// float reference.
void maxpool2d_forward_cpu(const float* x, int n, int c, int h, int w, float* y, uint8_t* argmax);
void maxpool2d_backward_cpu(const float* dy, const uint8_t* argmax, int n, int c, int h, int w,
                            float* dx);

}  // namespace flowpic
