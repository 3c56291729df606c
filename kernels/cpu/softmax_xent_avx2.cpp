// AVX2 fused softmax + cross-entropy (see kernels/softmax_xent.h).  Rows are vectorised
// over the classes, 8 at a time with a masked tail; exp is a Cephes-style polynomial
// (about 2 ulp), so probabilities differ from the reference's std::exp by rounding.
#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <string>

#include "core/error.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/softmax_xent.h"

namespace flowpic {

namespace {
// exp(x) for x <= 0 (inputs are shifted by the row maximum); 0 below where expf
// underflows, as std::exp gives (to within denormals).
inline __m256 exp_ps(__m256 x) {
    const __m256 valid = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33654f), _CMP_GE_OQ);
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.33654f));
    // x = n ln2 + r, |r| <= ln2 / 2, with ln2 split in two for an exact n ln2
    const __m256 n = _mm256_floor_ps(
        _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    // 2^n through the exponent bits (n >= -126 after the clamp)
    const __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(valid, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

// Lanes [0, count) set, for the tail of a row.
inline __m256i lane_mask(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

inline float hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}

void check_label(int32_t label, int k, int row) {
    if (label < 0 || label >= k)
        throw InputError("softmax_xent: label " + std::to_string(label) + " of sample " +
                         std::to_string(row) + " is outside [0, " + std::to_string(k) + ")");
}
}  // namespace

double softmax_xent_forward_avx2(const float* logits, const int32_t* labels,
                                 const float* class_weights, int n, int k, float* probs) {
    double total = 0.0;
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    for (int s = 0; s < n; ++s) {
        check_label(labels[s], k, s);
        const float* z = logits + size_t(s) * size_t(k);
        float* p = probs + size_t(s) * size_t(k);
        __m256 vmax = ninf;
        for (int j = 0; j < k; j += 8) {
            const __m256i mk = lane_mask(k - j);
            vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(ninf, _mm256_maskload_ps(z + j, mk),
                                                        _mm256_castsi256_ps(mk)));
        }
        const float zmax = hmax(vmax);
        const __m256 vzmax = _mm256_set1_ps(zmax);
        __m256 vsum = _mm256_setzero_ps();
        for (int j = 0; j < k; j += 8) {
            const __m256i mk = lane_mask(k - j);
            const __m256 e =
                _mm256_and_ps(_mm256_castsi256_ps(mk),
                              exp_ps(_mm256_sub_ps(_mm256_maskload_ps(z + j, mk), vzmax)));
            _mm256_maskstore_ps(p + j, mk, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        const float sum = hsum(vsum);
        const __m256 inv = _mm256_set1_ps(1.0f / sum);
        for (int j = 0; j < k; j += 8) {
            const __m256i mk = lane_mask(k - j);
            _mm256_maskstore_ps(p + j, mk, _mm256_mul_ps(_mm256_maskload_ps(p + j, mk), inv));
        }
        const float nll = std::log(sum) - (z[labels[s]] - zmax);
        const float wt = class_weights ? class_weights[labels[s]] : 1.0f;
        total += double(wt) * double(nll);
    }
    return n > 0 ? total / double(n) : 0.0;
}

void softmax_xent_backward_avx2(const float* probs, const int32_t* labels,
                                const float* class_weights, int n, int k, float* dlogits) {
    for (int s = 0; s < n; ++s) {
        check_label(labels[s], k, s);
        const __m256 g =
            _mm256_set1_ps((class_weights ? class_weights[labels[s]] : 1.0f) / float(n));
        const float* p = probs + size_t(s) * size_t(k);
        float* d = dlogits + size_t(s) * size_t(k);
        for (int j = 0; j < k; j += 8) {
            const __m256i mk = lane_mask(k - j);
            const __m256i lane =
                _mm256_add_epi32(_mm256_set1_epi32(j), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            const __m256 onehot = _mm256_and_ps(
                _mm256_castsi256_ps(_mm256_cmpeq_epi32(lane, _mm256_set1_epi32(labels[s]))),
                _mm256_set1_ps(1.0f));
            _mm256_maskstore_ps(
                d + j, mk, _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(p + j, mk), onehot), g));
        }
    }
}

double softmax_xent_forward_cpu(const float* logits, const int32_t* labels,
                                const float* class_weights, int n, int k, float* probs) {
    if (use_avx2()) return softmax_xent_forward_avx2(logits, labels, class_weights, n, k, probs);
    return softmax_xent_forward_ref<float>(logits, labels, class_weights, n, k, probs);
}

void softmax_xent_backward_cpu(const float* probs, const int32_t* labels,
                               const float* class_weights, int n, int k, float* dlogits) {
    if (use_avx2())
        softmax_xent_backward_avx2(probs, labels, class_weights, n, k, dlogits);
    else
        softmax_xent_backward_ref<float>(probs, labels, class_weights, n, k, dlogits);
}

}  // namespace flowpic
