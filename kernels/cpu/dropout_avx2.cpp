// AVX2 dropout (see kernels/dropout.h): the hash of dropout_keep on 8 indices at once,
// so the mask is identical to the reference's (and to CUDA's) bit for bit.
#include <immintrin.h>

#include "kernels/cpu/cpu_features.h"
#include "kernels/dropout.h"

namespace flowpic {

namespace {
constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;
constexpr size_t kBlock = 1 << 14;  // fixed split: same result for any thread count
constexpr size_t kParallelMin = 1 << 16;

// Low 64 bits of a * c per lane (AVX2 has no 64-bit multiply): three 32x32->64 products.
inline __m256i mul64(__m256i a, uint64_t c) {
    const __m256i lo = _mm256_set1_epi64x(int64_t(c & 0xFFFFFFFFu));
    const __m256i hi = _mm256_set1_epi64x(int64_t(c >> 32));
    const __m256i ll = _mm256_mul_epu32(a, lo);
    const __m256i cross =
        _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), lo), _mm256_mul_epu32(a, hi));
    return _mm256_add_epi64(ll, _mm256_slli_epi64(cross, 32));
}

// splitmix64's finaliser, then the top 24 bits (in the low half of each 64-bit lane).
inline __m256i top24(__m256i z) {
    z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), 0xBF58476D1CE4E5B9ull);
    z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), 0x94D049BB133111EBull);
    z = _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
    return _mm256_srli_epi64(z, 40);
}

// 8 int32 lanes holding 0 or 1 -> 8 bytes.
inline void store_bytes(uint8_t* out, __m256i v) {
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(w, w));
}
}  // namespace

void dropout_forward_avx2(const float* x, size_t n, float rate, uint64_t seed, float* y,
                          uint8_t* mask) {
    const float scale = dropout_scale(rate);
    const int64_t blocks = int64_t((n + kBlock - 1) / kBlock);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t b = 0; b < blocks; ++b) {
        const size_t lo = size_t(b) * kBlock, hi = lo + kBlock < n ? lo + kBlock : n;
        const __m256i vseed = _mm256_set1_epi64x(int64_t(seed));
        const __m256i step = _mm256_set1_epi64x(int64_t(8 * kGolden));
        const __m256i gather = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
        const __m256 vrate = _mm256_set1_ps(rate), vscale = _mm256_set1_ps(scale);
        const __m256 inv24 = _mm256_set1_ps(1.0f / 16777216.0f);
        const __m256i one = _mm256_set1_epi32(1);
        // index * golden for lanes i..i+3 and i+4..i+7, advanced by addition (mod 2^64)
        const uint64_t h = uint64_t(lo) * kGolden;
        __m256i ha = _mm256_setr_epi64x(int64_t(h), int64_t(h + kGolden), int64_t(h + 2 * kGolden),
                                        int64_t(h + 3 * kGolden));
        __m256i hb = _mm256_add_epi64(ha, _mm256_set1_epi64x(int64_t(4 * kGolden)));
        size_t i = lo;
        for (; i + 8 <= hi; i += 8) {
            const __m256i ra =
                _mm256_permutevar8x32_epi32(top24(_mm256_xor_si256(vseed, ha)), gather);
            const __m256i rb =
                _mm256_permutevar8x32_epi32(top24(_mm256_xor_si256(vseed, hb)), gather);
            const __m256 u =
                _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_permute2x128_si256(ra, rb, 0x20)), inv24);
            const __m256 keep = _mm256_cmp_ps(u, vrate, _CMP_GE_OQ);
            _mm256_storeu_ps(y + i,
                             _mm256_and_ps(keep, _mm256_mul_ps(_mm256_loadu_ps(x + i), vscale)));
            store_bytes(mask + i, _mm256_and_si256(_mm256_castps_si256(keep), one));
            ha = _mm256_add_epi64(ha, step);
            hb = _mm256_add_epi64(hb, step);
        }
        for (; i < hi; ++i) {
            const bool k = dropout_keep(seed, i, rate);
            mask[i] = k ? 1 : 0;
            y[i] = k ? x[i] * scale : 0.0f;
        }
    }
}

void dropout_backward_avx2(const float* dy, const uint8_t* mask, size_t n, float rate, float* dx) {
    const float scale = dropout_scale(rate);
    const int64_t blocks = int64_t((n + kBlock - 1) / kBlock);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t b = 0; b < blocks; ++b) {
        const size_t lo = size_t(b) * kBlock, hi = lo + kBlock < n ? lo + kBlock : n;
        const __m256 vscale = _mm256_set1_ps(scale);
        size_t i = lo;
        for (; i + 8 <= hi; i += 8) {
            const __m256i mb =
                _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(mask + i)));
            const __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(mb, _mm256_setzero_si256()));
            _mm256_storeu_ps(dx + i,
                             _mm256_and_ps(keep, _mm256_mul_ps(_mm256_loadu_ps(dy + i), vscale)));
        }
        for (; i < hi; ++i) dx[i] = mask[i] ? dy[i] * scale : 0.0f;
    }
}

void dropout_forward_cpu(const float* x, size_t n, float rate, uint64_t seed, float* y,
                         uint8_t* mask) {
    if (use_avx2())
        dropout_forward_avx2(x, n, rate, seed, y, mask);
    else
        dropout_forward_ref<float>(x, n, rate, seed, y, mask);
}

void dropout_backward_cpu(const float* dy, const uint8_t* mask, size_t n, float rate, float* dx) {
    if (use_avx2())
        dropout_backward_avx2(dy, mask, n, rate, dx);
    else
        dropout_backward_ref<float>(dy, mask, n, rate, dx);
}

}  // namespace flowpic
