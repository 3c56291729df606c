// 2-D convolution (cross-correlation, as PyTorch and Keras compute it): the shape rule
// shared by every backend and the declarations of each implementation.  The scalar
// reference (kernels/cpu/conv2d_ref.cpp) is the oracle; AVX2 (kernels/cpu/conv2d_avx2.cpp)
// and CUDA versions take the same arguments and must agree with it to fp32 rounding.
//
// Layouts are PyTorch's: input x N x C x H x W, weights K x C x R x S (OIHW), bias K,
// output y N x K x P x Q, all dense row-major float32 (double for the reference's
// finite-difference checks).
//   y[n,k,p,q] = b[k] + sum_{c,i,j} x[n,c, p*stride - pad_top + i, q*stride - pad_left + j] * w[k,c,i,j]
// with x = 0 outside the image.  Padding after the image is whatever P and Q imply:
// pad_bottom = (P-1)*stride + R - H - pad_top, which may be negative ('valid' leaves
// rows the windows never reach).
#pragma once

namespace flowpic {

struct Conv2dShape {
    int n, c, h, w;         // input N x C x H x W
    int k, r, s;            // K filters of C x R x S
    int stride;             // same in both dimensions
    int pad_top, pad_left;  // zero padding before the image
    int p, q;               // output N x K x P x Q
};

// Keras padding='same': P = ceil(H / stride), total padding max((P-1)*stride + R - H, 0),
// of which total/2 goes before and the rest after (so 1500, R 10, stride 5 gives P 300
// with 2 rows before and 3 after).  Throws std::invalid_argument like validate().
Conv2dShape conv2d_same_keras(int n, int c, int h, int w, int k, int r, int s, int stride);
// padding='valid': P = (H - R) / stride + 1, no padding; needs H >= R and W >= S.
Conv2dShape conv2d_valid(int n, int c, int h, int w, int k, int r, int s, int stride);

// std::invalid_argument naming the problem: a non-positive size or stride, negative
// padding, or a first or last window that lies entirely in the padding.
void validate(const Conv2dShape& sh);

// Element counts of the four tensors.
inline long long conv2d_x_size(const Conv2dShape& s) { return 1LL * s.n * s.c * s.h * s.w; }
inline long long conv2d_w_size(const Conv2dShape& s) { return 1LL * s.k * s.c * s.r * s.s; }
inline long long conv2d_y_size(const Conv2dShape& s) { return 1LL * s.n * s.k * s.p * s.q; }

// Every function validates the shape, then overwrites its outputs entirely.
// b may be null (no bias); db may be null (bias gradient not wanted).
//
// Scalar reference, T = float or double.  Plain loops that accumulate in T in one fixed
// order, so results are reproducible run to run and thread count to thread count.
template <typename T>
void conv2d_forward_ref(const Conv2dShape& sh, const T* x, const T* w, const T* b, T* y);
// dx = dL/dx given dy = dL/dy.
template <typename T>
void conv2d_backward_data_ref(const Conv2dShape& sh, const T* dy, const T* w, T* dx);
// dw = dL/dw and db = dL/db, summed over the batch.
template <typename T>
void conv2d_backward_weight_ref(const Conv2dShape& sh, const T* x, const T* dy, T* dw, T* db);

// AVX2/FMA + OpenMP.  Deterministic: bit-identical results for any thread count.
// Call only where cpu_has_avx2_fma() (kernels/cpu/cpu_features.h) holds.
void conv2d_forward_avx2(const Conv2dShape& sh, const float* x, const float* w, const float* b, float* y);
void conv2d_backward_data_avx2(const Conv2dShape& sh, const float* dy, const float* w, float* dx);
void conv2d_backward_weight_avx2(const Conv2dShape& sh, const float* x, const float* dy, float* dw,
                                 float* db);
// The same three through im2col + SGEMM (kernels/cpu/conv2d_im2col_avx2.cpp); the avx2
// entry points above take this path where conv2d_im2col_pays(sh): maps narrower than
// 4/5 of the direct kernel's 16-column tiles (LeNet's conv2), up to a 64 MiB matrix.
bool conv2d_im2col_pays(const Conv2dShape& sh);
void conv2d_forward_im2col_avx2(const Conv2dShape& sh, const float* x, const float* w, const float* b, float* y);
void conv2d_backward_data_im2col_avx2(const Conv2dShape& sh, const float* dy, const float* w, float* dx);
void conv2d_backward_weight_im2col_avx2(const Conv2dShape& sh, const float* x, const float* dy, float* dw,
                                        float* db);

}  // namespace flowpic
