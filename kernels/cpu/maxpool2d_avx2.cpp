// AVX2 2x2/2 max pooling (see kernels/maxpool2d.h): 8 outputs per step, the same strict
// comparisons in the same order as the reference, so results are bit-identical.
#include <immintrin.h>

#include <cstddef>
#include <cstring>

#include "kernels/cpu/cpu_features.h"
#include "kernels/maxpool2d.h"

namespace flowpic {

namespace {
constexpr size_t kParallelMin = 1 << 16;  // input elements before threads pay

// 16 consecutive floats -> their even-indexed and odd-indexed elements, in order.
inline void deinterleave(const float* p, __m256& even, __m256& odd) {
    const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    // shuffle works per 128-bit half: a0 a2 b0 b2 | a4 a6 b4 b6; fix the 64-bit order
    even = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
    odd = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
}

// The inverse: writes e0 o0 e1 o1 ... e7 o7.
inline void interleave(float* p, __m256 even, __m256 odd) {
    const __m256 lo = _mm256_unpacklo_ps(even, odd), hi = _mm256_unpackhi_ps(even, odd);
    _mm256_storeu_ps(p, _mm256_permute2f128_ps(lo, hi, 0x20));
    _mm256_storeu_ps(p + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
}

inline void store_bytes(uint8_t* out, __m256i v) {
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(w, w));
}

inline void pool_scalar(const float* r0, const float* r1, float* y, uint8_t* a) {
    const float v[4] = {r0[0], r0[1], r1[0], r1[1]};
    float best = v[0];
    uint8_t idx = 0;
    for (uint8_t k = 1; k < 4; ++k)
        if (v[k] > best) best = v[k], idx = k;
    *y = best;
    *a = idx;
}
}  // namespace

void maxpool2d_forward_avx2(const float* x, int n, int c, int h, int w, float* y, uint8_t* argmax) {
    const int ho = h / 2, wo = w / 2;
    const int64_t rows = int64_t(n) * c * ho;
#pragma omp parallel for schedule(static) if (size_t(n) * c * h * w >= kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t plane = r / ho, oy = r % ho;
        const float* r0 = x + (size_t(plane) * h + size_t(2 * oy)) * size_t(w);
        const float* r1 = r0 + w;
        float* yr = y + size_t(r) * size_t(wo);
        uint8_t* ar = argmax + size_t(r) * size_t(wo);
        int ox = 0;
        for (; ox + 8 <= wo; ox += 8) {
            __m256 v[4];
            deinterleave(r0 + 2 * ox, v[0], v[1]);
            deinterleave(r1 + 2 * ox, v[2], v[3]);
            __m256 best = v[0];
            __m256i idx = _mm256_setzero_si256();
            for (int k = 1; k < 4; ++k) {
                const __m256 gt = _mm256_cmp_ps(v[k], best, _CMP_GT_OQ);  // strict: first max wins
                best = _mm256_blendv_ps(best, v[k], gt);
                idx = _mm256_blendv_epi8(idx, _mm256_set1_epi32(k), _mm256_castps_si256(gt));
            }
            _mm256_storeu_ps(yr + ox, best);
            store_bytes(ar + ox, idx);
        }
        for (; ox < wo; ++ox) pool_scalar(r0 + 2 * ox, r1 + 2 * ox, yr + ox, ar + ox);
    }
}

void maxpool2d_backward_avx2(const float* dy, const uint8_t* argmax, int n, int c, int h, int w,
                             float* dx) {
    const int ho = h / 2, wo = w / 2;
    if (ho == 0 || wo == 0) {  // no window at all: the gradient is zero everywhere
        std::memset(dx, 0, size_t(n) * c * h * w * sizeof(float));
        return;
    }
    const int64_t rows = int64_t(n) * c * ho;
#pragma omp parallel for schedule(static) if (size_t(n) * c * h * w >= kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t plane = r / ho, oy = r % ho;
        float* d0 = dx + (size_t(plane) * h + size_t(2 * oy)) * size_t(w);
        float* d1 = d0 + w;
        const float* g = dy + size_t(r) * size_t(wo);
        const uint8_t* a = argmax + size_t(r) * size_t(wo);
        int ox = 0;
        for (; ox + 8 <= wo; ox += 8) {
            const __m256 gv = _mm256_loadu_ps(g + ox);
            const __m256i av =
                _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a + ox)));
            __m256 s[4];
            for (int k = 0; k < 4; ++k)
                s[k] = _mm256_and_ps(
                    _mm256_castsi256_ps(_mm256_cmpeq_epi32(av, _mm256_set1_epi32(k))), gv);
            interleave(d0 + 2 * ox, s[0], s[1]);
            interleave(d1 + 2 * ox, s[2], s[3]);
        }
        for (; ox < wo; ++ox) {
            const int k = a[ox];
            d0[2 * ox] = k == 0 ? g[ox] : 0.0f;
            d0[2 * ox + 1] = k == 1 ? g[ox] : 0.0f;
            d1[2 * ox] = k == 2 ? g[ox] : 0.0f;
            d1[2 * ox + 1] = k == 3 ? g[ox] : 0.0f;
        }
        if (w & 1) d0[w - 1] = d1[w - 1] = 0.0f;  // the dropped trailing column
        if ((h & 1) && oy == ho - 1) std::memset(d1 + w, 0, size_t(w) * sizeof(float));
    }
}

void maxpool2d_forward_cpu(const float* x, int n, int c, int h, int w, float* y, uint8_t* argmax) {
    if (use_avx2())
        maxpool2d_forward_avx2(x, n, c, h, w, y, argmax);
    else
        maxpool2d_forward_ref<float>(x, n, c, h, w, y, argmax);
}

void maxpool2d_backward_cpu(const float* dy, const uint8_t* argmax, int n, int c, int h, int w,
                            float* dx) {
    if (use_avx2())
        maxpool2d_backward_avx2(dy, argmax, n, c, h, w, dx);
    else
        maxpool2d_backward_ref<float>(dy, argmax, n, c, h, w, dx);
}

}  // namespace flowpic
