// AVX2 convolution as im2col + SGEMM, for maps too narrow for the direct kernel's tiles.
//
// The direct kernel (conv2d_avx2.cpp) computes 16 output columns per tile, so a map of Q
// columns costs round_up(Q, 16): LeNet's conv2 (Q = 10) pays 16 for 10.  Its backward-data
// also runs the full correlation over a zero-padded dy, about twice the multiply-adds of
// the forward at that shape.  Here the whole batch becomes one matrix
//     cols[(c,i,j)][(n,p,q)] = x[n, c, p*stride - pad_top + i, q*stride - pad_left + j]  (0 off the image)
// and each pass is one GEMM with no padding work:
//     forward          y^T[k][(n,p,q)]  = W[k][(c,i,j)] * cols
//     backward-data    dcols            = W^T * dy^T, then dx gathers dcols (col2im)
//     backward-weight  dW[k][(c,i,j)]   = dy^T * cols^T,  db[k] = row sums of dy^T
// The copies cost C*R*S*N*P*Q floats each way, small beside the GEMM at these shapes.
//
// Determinism: sgemm_avx2 sums each element in an order fixed by the shape; col2im gives
// each dx plane to one thread and adds its taps in a fixed order; db sums in index order.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cpu/sgemm_avx2.h"

namespace flowpic {

namespace {

constexpr long long kMaxColsBytes = 64LL << 20;  // the cols matrix of one call

long long rows_of(const Conv2dShape& s) { return 1LL * s.c * s.r * s.s; }
long long cols_of(const Conv2dShape& s) { return 1LL * s.n * s.p * s.q; }

// Kept between calls (a fresh vector per call is a fresh mmap for the big ones).
std::vector<float>& buffer(int which, size_t size) {
    thread_local std::vector<float> buffers[3];
    std::vector<float>& b = buffers[which];
    if (b.size() < size) b.resize(size);
    return b;
}

// The input column of output q for tap column j, or -1 off the image.
inline int in_col(const Conv2dShape& s, int q, int j) {
    const int col = q * s.stride - s.pad_left + j;
    return col >= 0 && col < s.w ? col : -1;
}

void im2col(const Conv2dShape& s, const float* x, float* cols) {
    const long long ncols = cols_of(s), pq = 1LL * s.p * s.q;
#pragma omp parallel for schedule(static) if (rows_of(s) * ncols >= (1LL << 20))
    for (long long row = 0; row < rows_of(s); ++row) {
        const int c = int(row / (s.r * s.s)), i = int(row / s.s % s.r), j = int(row % s.s);
        float* dst = cols + row * ncols;
        for (int n = 0; n < s.n; ++n)
            for (int p = 0; p < s.p; ++p) {
                float* d = dst + n * pq + 1LL * p * s.q;
                const int h = p * s.stride - s.pad_top + i;
                if (h < 0 || h >= s.h) {
                    std::fill(d, d + s.q, 0.0f);
                    continue;
                }
                const float* src = x + ((1LL * n * s.c + c) * s.h + h) * s.w;
                for (int q = 0; q < s.q; ++q) {
                    const int col = in_col(s, q, j);
                    d[q] = col < 0 ? 0.0f : src[col];
                }
            }
    }
}

// dyt[k][(n,p,q)] = dy[n][k][p][q]
void transpose_dy(const Conv2dShape& s, const float* dy, float* dyt) {
    const long long pq = 1LL * s.p * s.q, ncols = cols_of(s);
    for (int n = 0; n < s.n; ++n)
        for (int k = 0; k < s.k; ++k)
            std::memcpy(dyt + k * ncols + n * pq, dy + (1LL * n * s.k + k) * pq, sizeof(float) * size_t(pq));
}

}  // namespace

bool conv2d_im2col_pays(const Conv2dShape& s) {
    const int tiled = (s.q + 15) / 16 * 16;
    return 5 * s.q < 4 * tiled && rows_of(s) * cols_of(s) * 4 <= kMaxColsBytes;
}

void conv2d_forward_im2col_avx2(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) {
    validate(s);
    const long long rows = rows_of(s), ncols = cols_of(s), pq = 1LL * s.p * s.q;
    float* cols = buffer(0, size_t(rows * ncols)).data();
    float* yt = buffer(1, size_t(s.k * ncols)).data();
    im2col(s, x, cols);
    sgemm_avx2(s.k, int(ncols), int(rows), w, rows, 1, cols, ncols, 1, yt, ncols, false);
    for (int n = 0; n < s.n; ++n)
        for (int k = 0; k < s.k; ++k) {
            const float bias = b ? b[k] : 0.0f;
            const float* src = yt + k * ncols + n * pq;
            float* dst = y + (1LL * n * s.k + k) * pq;
            for (long long e = 0; e < pq; ++e) dst[e] = src[e] + bias;
        }
}

void conv2d_backward_data_im2col_avx2(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
    validate(s);
    const long long rows = rows_of(s), ncols = cols_of(s), pq = 1LL * s.p * s.q;
    float* dyt = buffer(1, size_t(s.k * ncols)).data();
    float* dcols = buffer(0, size_t(rows * ncols)).data();
    transpose_dy(s, dy, dyt);
    sgemm_avx2(int(rows), int(ncols), s.k, w, 1, rows, dyt, ncols, 1, dcols, ncols, false);
    // col2im: plane (n, c) gathers its taps (i, j) in order.
#pragma omp parallel for schedule(static) if (rows * ncols >= (1LL << 20))
    for (long long plane = 0; plane < 1LL * s.n * s.c; ++plane) {
        const int n = int(plane / s.c), c = int(plane % s.c);
        float* d = dx + plane * s.h * s.w;
        std::fill(d, d + 1LL * s.h * s.w, 0.0f);
        for (int i = 0; i < s.r; ++i)
            for (int j = 0; j < s.s; ++j) {
                const float* src = dcols + ((1LL * c * s.r + i) * s.s + j) * ncols + n * pq;
                for (int p = 0; p < s.p; ++p) {
                    const int h = p * s.stride - s.pad_top + i;
                    if (h < 0 || h >= s.h) continue;
                    float* drow = d + 1LL * h * s.w;
                    for (int q = 0; q < s.q; ++q) {
                        const int col = in_col(s, q, j);
                        if (col >= 0) drow[col] += src[1LL * p * s.q + q];
                    }
                }
            }
    }
}

void conv2d_backward_weight_im2col_avx2(const Conv2dShape& s, const float* x, const float* dy, float* dw, float* db) {
    validate(s);
    const long long rows = rows_of(s), ncols = cols_of(s);
    float* cols = buffer(0, size_t(rows * ncols)).data();
    float* dyt = buffer(1, size_t(s.k * ncols)).data();
    im2col(s, x, cols);
    transpose_dy(s, dy, dyt);
    sgemm_avx2(s.k, int(rows), int(ncols), dyt, ncols, 1, cols, 1, ncols, dw, rows, false);
    if (!db) return;
    for (int k = 0; k < s.k; ++k) {
        float sum = 0.0f;
        for (long long e = 0; e < ncols; ++e) sum += dyt[k * ncols + e];
        db[k] = sum;
    }
}

}  // namespace flowpic
