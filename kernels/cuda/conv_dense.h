// CUDA convolution and dense layer: the same ops and semantics as kernels/conv2d.h and
// kernels/dense.h (the scalar references are the oracle), on device pointers.  fp32 with
// fp32 accumulation (no TF32), no atomics: every result is bit-identical run to run.
// Launches are asynchronous on `stream`; errors are thrown as CudaError (kernels/cuda/check.h),
// bad shapes as std::invalid_argument before anything is launched.
// Include only where FLOWPIC_CUDA is defined (it pulls in cuda_runtime.h).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "kernels/conv2d.h"

namespace flowpic {

// y = conv(x, w) + b, implicit GEMM.  b may be null.  When the output alone gives too few
// blocks to fill the GPU (batch 1), the reduction is split and the partial sums added in a
// second pass: `scratch` holds conv2d_forward_scratch_floats(sh) floats (0: no split);
// without it the split allocates stream-ordered (cudaMallocAsync) for the call.
size_t conv2d_forward_scratch_floats(const Conv2dShape& sh);
void conv2d_forward_cuda(const Conv2dShape& sh, const float* x, const float* w, const float* b,
                         float* y, float* scratch, cudaStream_t stream = 0);
void conv2d_forward_cuda(const Conv2dShape& sh, const float* x, const float* w, const float* b,
                         float* y, cudaStream_t stream = 0);
// dx = dL/dx given dy, each dx element gathering the taps that read it.
void conv2d_backward_data_cuda(const Conv2dShape& sh, const float* dy, const float* w, float* dx,
                               cudaStream_t stream = 0);
// Floats of scratch conv2d_backward_weight_cuda needs for this shape (partial sums of a
// split reduction; the split depends on the shape only, which keeps results reproducible).
size_t conv2d_backward_weight_scratch_floats(const Conv2dShape& sh);
// dw and db (db may be null), summed over the batch.  `scratch` holds at least
// conv2d_backward_weight_scratch_floats(sh) floats; null means allocate it stream-ordered
// (cudaMallocAsync) for this call.
void conv2d_backward_weight_cuda(const Conv2dShape& sh, const float* x, const float* dy, float* dw,
                                 float* db, float* scratch, cudaStream_t stream = 0);

// y (n x out) = x (n x in) W^T + b, W out x in.  b may be null (no bias).
void dense_forward_cuda(const float* x, const float* w, const float* b, int n, int in, int out,
                        float* y, cudaStream_t stream = 0);
// dx = dy W, dw = dy^T x, db = column sums of dy; any of the three may be null.
void dense_backward_cuda(const float* x, const float* w, const float* dy, int n, int in, int out,
                         float* dx, float* dw, float* db, cudaStream_t stream = 0);

}  // namespace flowpic
