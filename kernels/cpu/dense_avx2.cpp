// AVX2 dense layer (see kernels/dense.h): three SGEMMs with strided operands.
#include <immintrin.h>

#include <cstddef>

#include "kernels/cpu/sgemm_avx2.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/dense.h"

namespace flowpic {

void dense_forward_avx2(const float* x, const float* w, const float* b, int n, int in, int out,
                        float* y) {
    // y (n x out) = x (n x in) * W^T, where W^T(i,o) = w[o * in + i]
    sgemm_avx2(n, out, in, x, in, 1, w, 1, in, y, out, false);
    for (int s = 0; s < n; ++s) {
        float* ys = y + size_t(s) * size_t(out);
        int o = 0;
        for (; o + 8 <= out; o += 8)
            _mm256_storeu_ps(ys + o,
                             _mm256_add_ps(_mm256_loadu_ps(b + o), _mm256_loadu_ps(ys + o)));
        for (; o < out; ++o) ys[o] = b[o] + ys[o];
    }
}

void dense_backward_avx2(const float* x, const float* w, const float* dy, int n, int in, int out,
                         float* dx, float* dw, float* db) {
    if (dx) sgemm_avx2(n, in, out, dy, out, 1, w, in, 1, dx, in, false);  // dy W
    if (dw) sgemm_avx2(out, in, n, dy, 1, out, x, in, 1, dw, in, false);  // dy^T x
    if (db) {
        // column sums, row after row in batch order like the reference: bit-identical
        int o = 0;
        for (; o + 8 <= out; o += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (int s = 0; s < n; ++s)
                acc = _mm256_add_ps(acc, _mm256_loadu_ps(dy + size_t(s) * size_t(out) + size_t(o)));
            _mm256_storeu_ps(db + o, acc);
        }
        for (; o < out; ++o) {
            float acc = 0.0f;
            for (int s = 0; s < n; ++s) acc += dy[size_t(s) * size_t(out) + size_t(o)];
            db[o] = acc;
        }
    }
}

void dense_forward_cpu(const float* x, const float* w, const float* b, int n, int in, int out,
                       float* y) {
    if (use_avx2())
        dense_forward_avx2(x, w, b, n, in, out, y);
    else
        dense_forward_ref<float>(x, w, b, n, in, out, y);
}

void dense_backward_cpu(const float* x, const float* w, const float* dy, int n, int in, int out,
                        float* dx, float* dw, float* db) {
    if (use_avx2())
        dense_backward_avx2(x, w, dy, n, in, out, dx, dw, db);
    else
        dense_backward_ref<float>(x, w, dy, n, in, out, dx, dw, db);
}

}  // namespace flowpic
