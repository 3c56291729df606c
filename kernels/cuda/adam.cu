// CUDA Adam step (kernels/adam.h).  alpha, 1 - beta1 and 1 - beta2 are rounded on the host
// exactly as the reference rounds them; each line is evaluated with _rn intrinsics so
// nvcc cannot contract a multiply and an add into an FMA (the reference has none), which
// keeps the device bit-identical to the CPU.
#include <algorithm>
#include <stdexcept>

#include "kernels/cuda/check.h"
#include "kernels/cuda/ops.h"

namespace flowpic {

namespace {

constexpr int kBlock = 256;
unsigned grid_for(size_t n) { return unsigned(std::min<size_t>((n + kBlock - 1) / kBlock, 1u << 16)); }

__device__ __forceinline__ void adam_kernel_body(float* p, const float* g, float* m, float* v, size_t n,
                                                 float alpha, float one_m_b1, float one_m_b2, float eps) {
    for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += size_t(gridDim.x) * blockDim.x) {
        const float gi = g[i];
        // m = m + (g - m) * (1 - beta1)
        const float mi = __fadd_rn(m[i], __fmul_rn(__fsub_rn(gi, m[i]), one_m_b1));
        // v = v + (g*g - v) * (1 - beta2)
        const float vi = __fadd_rn(v[i], __fmul_rn(__fsub_rn(__fmul_rn(gi, gi), v[i]), one_m_b2));
        // p = p - alpha * m / (sqrt(v) + epsilon), parsed as (alpha * m) / (...)
        p[i] = __fsub_rn(p[i], __fdiv_rn(__fmul_rn(alpha, mi), __fadd_rn(__fsqrt_rn(vi), eps)));
        m[i] = mi;
        v[i] = vi;
    }
}

__global__ void adam_kernel(float* p, const float* g, float* m, float* v, size_t n, float alpha,
                            float one_m_b1, float one_m_b2, float eps) {
    adam_kernel_body(p, g, m, v, n, alpha, one_m_b1, one_m_b2, eps);
}

// Every parameter tensor in one launch: blockIdx.y picks the tensor, x blocks stride over
// it.  Same per-element arithmetic as adam_kernel.
__global__ void adam_multi_kernel(AdamTensorList list, float alpha, float one_m_b1, float one_m_b2,
                                  float eps) {
    const int t = blockIdx.y;
    if (t >= list.count) return;
    adam_kernel_body(list.p[t], list.g[t], list.m[t], list.v[t], list.n[t], alpha, one_m_b1, one_m_b2,
                     eps);
}

}  // namespace

void adam_step_multi_cuda(const AdamTensorList& list, int64_t step, const AdamParams& hp,
                          cudaStream_t stream) {
    if (list.count <= 0) return;
    if (list.count > AdamTensorList::kMax) throw std::invalid_argument("adam_step_multi_cuda: too many tensors");
    size_t longest = 0;
    for (int i = 0; i < list.count; ++i) longest = std::max(longest, list.n[i]);
    if (longest == 0) return;
    const float alpha = float(adam_alpha(step, hp));
    adam_multi_kernel<<<dim3(std::min(grid_for(longest), 1024u), unsigned(list.count)), kBlock, 0, stream>>>(
        list, alpha, 1.0f - hp.beta1, 1.0f - hp.beta2, hp.epsilon);
    CUDA_CHECK_LAUNCH();
}

void adam_step_cuda(float* p, const float* g, float* m, float* v, size_t n, int64_t step,
                    const AdamParams& hp, cudaStream_t stream) {
    if (n == 0) return;
    const float alpha = float(adam_alpha(step, hp));
    const float one_m_b1 = 1.0f - hp.beta1;
    const float one_m_b2 = 1.0f - hp.beta2;
    adam_kernel<<<grid_for(n), kBlock, 0, stream>>>(p, g, m, v, n, alpha, one_m_b1, one_m_b2,
                                                     hp.epsilon);
    CUDA_CHECK_LAUNCH();
}

}  // namespace flowpic
