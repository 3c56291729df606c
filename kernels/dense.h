// Dense (fully connected) layer, PyTorch Linear layout: x is N x IN (a flattened C,H,W
// activation), W is OUT x IN, b is OUT, y is N x OUT.
//   forward:  y[n,o] = b[o] + sum_i x[n,i] * W[o,i]
//   backward: dx = dy W (N x IN), dW = dy^T x (OUT x IN, summed over the batch),
//             db[o] = sum_n dy[n,o].  All three are overwritten, never accumulated
//             into; pass nullptr for any of them that is not needed (dx of the first
//             layer).
// The AVX2 version is an SGEMM (packed panels, 6x16 FMA micro-kernel, OpenMP over
// output tiles).  Each output element is summed in an order fixed by the shapes alone,
// so results are bit-identical for any thread count; they differ from the reference's
// plain left-to-right sums by rounding only (relative error 1.2e-6 measured at IN = 4500).
#pragma once

namespace flowpic {

template <typename T>
void dense_forward_ref(const T* x, const T* w, const T* b, int n, int in, int out, T* y);
template <typename T>
void dense_backward_ref(const T* x, const T* w, const T* dy, int n, int in, int out, T* dx, T* dw,
                        T* db);

void dense_forward_avx2(const float* x, const float* w, const float* b, int n, int in, int out,
                        float* y);
void dense_backward_avx2(const float* x, const float* w, const float* dy, int n, int in, int out,
                         float* dx, float* dw, float* db);

// The CPU backend's choice: AVX2 where use_avx2() (kernels/cpu/cpu_features.h), else the
// float reference.
void dense_forward_cpu(const float* x, const float* w, const float* b, int n, int in, int out,
                       float* y);
void dense_backward_cpu(const float* x, const float* w, const float* dy, int n, int in, int out,
                        float* dx, float* dw, float* db);

}  // namespace flowpic
