// CUDA ReLU (kernels/relu.h): y = x > 0 ? x : 0, so NaN and -0 give +0 as on the CPU.
#include <algorithm>

#include "kernels/cuda/check.h"
#include "kernels/cuda/ops.h"

namespace flowpic {

namespace {

constexpr int kBlock = 256;
// Grid-stride loops below, so the grid is capped rather than sized to n.
unsigned grid_for(size_t n) { return unsigned(std::min<size_t>((n + kBlock - 1) / kBlock, 1u << 16)); }

__global__ void relu_forward_kernel(const float* x, size_t n, float* y) {
    for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += size_t(gridDim.x) * blockDim.x)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__global__ void relu_backward_kernel(const float* y, const float* dy, size_t n, float* dx) {
    for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += size_t(gridDim.x) * blockDim.x)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

}  // namespace

void relu_forward_cuda(const float* x, size_t n, float* y, cudaStream_t stream) {
    if (n == 0) return;
    relu_forward_kernel<<<grid_for(n), kBlock, 0, stream>>>(x, n, y);
    CUDA_CHECK_LAUNCH();
}

void relu_backward_cuda(const float* y, const float* dy, size_t n, float* dx, cudaStream_t stream) {
    if (n == 0) return;
    relu_backward_kernel<<<grid_for(n), kBlock, 0, stream>>>(y, dy, n, dx);
    CUDA_CHECK_LAUNCH();
}

}  // namespace flowpic
