// AVX2 Adam step (see kernels/adam.h).  Separate multiplies and adds, no FMA, in the
// reference's order: the result is bit-identical to adam_step_ref<float>.
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/cpu_features.h"
#include "kernels/adam.h"

namespace flowpic {

namespace {
constexpr size_t kBlock = 1 << 14;        // fixed split: same result for any thread count
constexpr size_t kParallelMin = 1 << 16;  // four streams of this many floats outgrow L2
}  // namespace

void adam_step_avx2(float* p, const float* g, float* m, float* v, size_t n, int64_t step,
                    const AdamParams& hp) {
    const float alpha = float(adam_alpha(step, hp));
    const float one_m_b1 = 1.0f - hp.beta1;
    const float one_m_b2 = 1.0f - hp.beta2;
    const float eps = hp.epsilon;
    const int64_t blocks = int64_t((n + kBlock - 1) / kBlock);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t b = 0; b < blocks; ++b) {
        const size_t lo = size_t(b) * kBlock, hi = lo + kBlock < n ? lo + kBlock : n;
        const __m256 va = _mm256_set1_ps(alpha), vb1 = _mm256_set1_ps(one_m_b1),
                     vb2 = _mm256_set1_ps(one_m_b2), ve = _mm256_set1_ps(eps);
        size_t i = lo;
        for (; i + 8 <= hi; i += 8) {
            const __m256 gi = _mm256_loadu_ps(g + i);
            __m256 mi = _mm256_loadu_ps(m + i), vi = _mm256_loadu_ps(v + i);
            mi = _mm256_add_ps(mi, _mm256_mul_ps(_mm256_sub_ps(gi, mi), vb1));
            vi = _mm256_add_ps(vi, _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(gi, gi), vi), vb2));
            const __m256 step_ =
                _mm256_div_ps(_mm256_mul_ps(va, mi), _mm256_add_ps(_mm256_sqrt_ps(vi), ve));
            _mm256_storeu_ps(m + i, mi);
            _mm256_storeu_ps(v + i, vi);
            _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i), step_));
        }
        for (; i < hi; ++i) {
            m[i] = m[i] + (g[i] - m[i]) * one_m_b1;
            v[i] = v[i] + (g[i] * g[i] - v[i]) * one_m_b2;
            p[i] = p[i] - alpha * m[i] / (std::sqrt(v[i]) + eps);
        }
    }
}

void adam_step_cpu(float* p, const float* g, float* m, float* v, size_t n, int64_t step,
                   const AdamParams& hp) {
    if (use_avx2())
        adam_step_avx2(p, g, m, v, n, step, hp);
    else
        adam_step_ref<float>(p, g, m, v, n, step, hp);
}

}  // namespace flowpic
