// CUDA dropout (kernels/dropout.h): the mask is dropout_keep(seed, flat index, rate),
// the same function the CPU calls, so both draw identical masks with no RNG state.
#include <algorithm>

#include "kernels/cuda/check.h"
#include "kernels/cuda/ops.h"
#include "kernels/dropout.h"

namespace flowpic {

namespace {

constexpr int kBlock = 256;
unsigned grid_for(size_t n) { return unsigned(std::min<size_t>((n + kBlock - 1) / kBlock, 1u << 16)); }

// scale comes from the host (dropout_scale there) so it is the CPU's float bit for bit.
__global__ void dropout_forward_kernel(const float* x, size_t n, float rate, float scale,
                                       uint64_t seed, float* y, uint8_t* mask) {
    for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += size_t(gridDim.x) * blockDim.x) {
        const bool keep = dropout_keep(seed, uint64_t(i), rate);
        mask[i] = keep ? 1 : 0;
        y[i] = keep ? __fmul_rn(x[i], scale) : 0.0f;
    }
}

__global__ void dropout_backward_kernel(const float* dy, const uint8_t* mask, size_t n, float scale,
                                        float* dx) {
    for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += size_t(gridDim.x) * blockDim.x)
        dx[i] = mask[i] ? __fmul_rn(dy[i], scale) : 0.0f;
}

}  // namespace

void dropout_forward_cuda(const float* x, size_t n, float rate, uint64_t seed, float* y,
                          uint8_t* mask, cudaStream_t stream) {
    if (n == 0) return;
    dropout_forward_kernel<<<grid_for(n), kBlock, 0, stream>>>(x, n, rate, dropout_scale(rate),
                                                               seed, y, mask);
    CUDA_CHECK_LAUNCH();
}

void dropout_backward_cuda(const float* dy, const uint8_t* mask, size_t n, float rate, float* dx,
                           cudaStream_t stream) {
    if (n == 0) return;
    dropout_backward_kernel<<<grid_for(n), kBlock, 0, stream>>>(dy, mask, n, dropout_scale(rate), dx);
    CUDA_CHECK_LAUNCH();
}

}  // namespace flowpic
