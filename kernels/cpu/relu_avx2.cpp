// AVX2 ReLU (see kernels/relu.h).  max(x, 0) with 0 as the second operand returns 0 for
// NaN and for -0, exactly like the reference's `x > 0 ? x : 0`.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/cpu_features.h"
#include "kernels/relu.h"

namespace flowpic {

namespace {
// Elementwise work is split into fixed blocks, so any thread count computes the same
// thing; threads only pay off once an array is well past the L2.
constexpr size_t kBlock = 1 << 14;
constexpr size_t kParallelMin = 1 << 17;
}  // namespace

void relu_forward_avx2(const float* x, size_t n, float* y) {
    const int64_t blocks = int64_t((n + kBlock - 1) / kBlock);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t b = 0; b < blocks; ++b) {
        const size_t lo = size_t(b) * kBlock, hi = lo + kBlock < n ? lo + kBlock : n;
        const __m256 zero = _mm256_setzero_ps();
        size_t i = lo;
        for (; i + 8 <= hi; i += 8)
            _mm256_storeu_ps(y + i, _mm256_max_ps(_mm256_loadu_ps(x + i), zero));
        for (; i < hi; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    }
}

void relu_backward_avx2(const float* y, const float* dy, size_t n, float* dx) {
    const int64_t blocks = int64_t((n + kBlock - 1) / kBlock);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t b = 0; b < blocks; ++b) {
        const size_t lo = size_t(b) * kBlock, hi = lo + kBlock < n ? lo + kBlock : n;
        const __m256 zero = _mm256_setzero_ps();
        size_t i = lo;
        for (; i + 8 <= hi; i += 8) {
            const __m256 pos = _mm256_cmp_ps(_mm256_loadu_ps(y + i), zero, _CMP_GT_OQ);
            _mm256_storeu_ps(dx + i, _mm256_and_ps(pos, _mm256_loadu_ps(dy + i)));
        }
        for (; i < hi; ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    }
}

void relu_forward_cpu(const float* x, size_t n, float* y) {
    if (use_avx2())
        relu_forward_avx2(x, n, y);
    else
        relu_forward_ref<float>(x, n, y);
}

void relu_backward_cpu(const float* y, const float* dy, size_t n, float* dx) {
    if (use_avx2())
        relu_backward_avx2(y, dy, n, dx);
    else
        relu_backward_ref<float>(y, dy, n, dx);
}

}  // namespace flowpic
