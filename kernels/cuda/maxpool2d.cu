// CUDA 2x2/2 max pooling (kernels/maxpool2d.h): the same comparisons as the reference
// (strict >, first maximum wins ties, NaN never wins), the same argmax byte.
#include <algorithm>

#include "kernels/cuda/check.h"
#include "kernels/cuda/ops.h"

namespace flowpic {

namespace {

constexpr int kBlock = 256;
unsigned grid_for(size_t n) { return unsigned(std::min<size_t>((n + kBlock - 1) / kBlock, 1u << 16)); }

// One thread per output element.
__global__ void maxpool_forward_kernel(const float* x, size_t planes, int h, int w, float* y,
                                       uint8_t* argmax) {
    const int ho = h / 2, wo = w / 2;
    const size_t total = planes * size_t(ho) * size_t(wo);
    for (size_t o = size_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total;
         o += size_t(gridDim.x) * blockDim.x) {
        const size_t plane = o / (size_t(ho) * size_t(wo));
        const size_t r = o % (size_t(ho) * size_t(wo));
        const int oy = int(r / size_t(wo)), ox = int(r % size_t(wo));
        const float* win = x + plane * size_t(h) * size_t(w) + size_t(2 * oy) * size_t(w) + size_t(2 * ox);
        const float v[4] = {win[0], win[1], win[w], win[w + 1]};
        float best = v[0];
        uint8_t idx = 0;
        for (uint8_t k = 1; k < 4; ++k) {
            if (v[k] > best) {  // strict: the first maximum wins ties
                best = v[k];
                idx = k;
            }
        }
        y[o] = best;
        argmax[o] = idx;
    }
}

// One thread per input element, so every dx is written exactly once with no race:
// dy where this element is its window's argmax, else 0 (the odd trailing row/column too).
__global__ void maxpool_backward_kernel(const float* dy, const uint8_t* argmax, size_t planes,
                                        int h, int w, float* dx) {
    const int ho = h / 2, wo = w / 2;
    const size_t total = planes * size_t(h) * size_t(w);
    for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += size_t(gridDim.x) * blockDim.x) {
        const size_t plane = i / (size_t(h) * size_t(w));
        const size_t r = i % (size_t(h) * size_t(w));
        const int iy = int(r / size_t(w)), ix = int(r % size_t(w));
        float g = 0.0f;
        if (iy < 2 * ho && ix < 2 * wo) {
            const size_t o = plane * size_t(ho) * size_t(wo) + size_t(iy / 2) * size_t(wo) + size_t(ix / 2);
            if (argmax[o] == ((iy & 1) << 1 | (ix & 1))) g = dy[o];
        }
        dx[i] = g;
    }
}

}  // namespace

void maxpool2d_forward_cuda(const float* x, int n, int c, int h, int w, float* y, uint8_t* argmax,
                            cudaStream_t stream) {
    const size_t planes = size_t(n) * size_t(c);
    const size_t total = planes * size_t(h / 2) * size_t(w / 2);
    if (n <= 0 || c <= 0 || total == 0) return;
    maxpool_forward_kernel<<<grid_for(total), kBlock, 0, stream>>>(x, planes, h, w, y, argmax);
    CUDA_CHECK_LAUNCH();
}

void maxpool2d_backward_cuda(const float* dy, const uint8_t* argmax, int n, int c, int h, int w,
                             float* dx, cudaStream_t stream) {
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0) return;
    const size_t planes = size_t(n) * size_t(c);
    const size_t total = planes * size_t(h) * size_t(w);
    maxpool_backward_kernel<<<grid_for(total), kBlock, 0, stream>>>(dy, argmax, planes, h, w, dx);
    CUDA_CHECK_LAUNCH();
}

}  // namespace flowpic
