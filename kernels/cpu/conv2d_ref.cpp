// Scalar reference convolution: the oracle for every other backend.  Plain loops in the
// order of the formula in kernels/conv2d.h, accumulating in T, single-threaded, so the
// result depends on nothing but the inputs.  Also the shape rules and their validation.
#include <stdexcept>
#include <string>

#include "kernels/conv2d.h"

namespace flowpic {

namespace {

[[noreturn]] void bad_shape(const Conv2dShape& s, const std::string& what) {
    throw std::invalid_argument(
        "conv2d: " + what + " (input " + std::to_string(s.n) + "x" + std::to_string(s.c) + "x" +
        std::to_string(s.h) + "x" + std::to_string(s.w) + ", weights " + std::to_string(s.k) + "x" +
        std::to_string(s.c) + "x" + std::to_string(s.r) + "x" + std::to_string(s.s) + ", stride " +
        std::to_string(s.stride) + ", pad " + std::to_string(s.pad_top) + "/" + std::to_string(s.pad_left) +
        ", output " + std::to_string(s.p) + "x" + std::to_string(s.q) + ")");
}

// Checks one axis: `in` pixels, window `win`, `out` outputs, `pad` before.
void check_axis(const Conv2dShape& s, const char* axis, int in, int win, int out, int pad) {
    if (pad < 0) bad_shape(s, std::string("negative ") + axis + " padding");
    long long after = 1LL * (out - 1) * s.stride + win - in - pad;
    if (pad >= win) bad_shape(s, std::string("first ") + axis + " window lies in the padding");
    if (after >= win) bad_shape(s, std::string("last ") + axis + " window lies in the padding");
}

// Tensors index with long long; keep every element count far from overflow.
void check_count(const Conv2dShape& s, const char* name, long long a, long long b, long long c, long long d) {
    const long long limit = 1LL << 40;
    long long n = a;
    for (long long f : {b, c, d}) {
        if (n > limit / f) bad_shape(s, std::string(name) + " has too many elements");
        n *= f;
    }
}

int ceil_div(int a, int b) { return (a + b - 1) / b; }

}  // namespace

void validate(const Conv2dShape& s) {
    if (s.n < 1 || s.c < 1 || s.h < 1 || s.w < 1 || s.k < 1 || s.r < 1 || s.s < 1 || s.p < 1 || s.q < 1)
        bad_shape(s, "every size must be positive");
    if (s.stride < 1) bad_shape(s, "stride must be positive");
    check_axis(s, "row", s.h, s.r, s.p, s.pad_top);
    check_axis(s, "column", s.w, s.s, s.q, s.pad_left);
    check_count(s, "input", s.n, s.c, s.h, s.w);
    check_count(s, "weights", s.k, s.c, s.r, s.s);
    check_count(s, "output", s.n, s.k, s.p, s.q);
}

Conv2dShape conv2d_same_keras(int n, int c, int h, int w, int k, int r, int s, int stride) {
    Conv2dShape sh{n, c, h, w, k, r, s, stride, 0, 0, 0, 0};
    if (stride < 1 || h < 1 || w < 1) bad_shape(sh, "'same' needs a positive size and stride");
    sh.p = ceil_div(h, stride);
    sh.q = ceil_div(w, stride);
    auto before = [&](int in, int win, int out) {
        long long total = 1LL * (out - 1) * stride + win - in;
        return total > 0 ? int(total / 2) : 0;
    };
    sh.pad_top = before(h, r, sh.p);
    sh.pad_left = before(w, s, sh.q);
    validate(sh);
    return sh;
}

Conv2dShape conv2d_valid(int n, int c, int h, int w, int k, int r, int s, int stride) {
    Conv2dShape sh{n, c, h, w, k, r, s, stride, 0, 0, 0, 0};
    if (stride < 1) bad_shape(sh, "stride must be positive");
    if (h < r || w < s) bad_shape(sh, "'valid' needs the input at least as large as the filter");
    sh.p = (h - r) / stride + 1;
    sh.q = (w - s) / stride + 1;
    validate(sh);
    return sh;
}

template <typename T>
void conv2d_forward_ref(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
    validate(s);
    for (long long n = 0; n < s.n; ++n)
        for (long long k = 0; k < s.k; ++k)
            for (int p = 0; p < s.p; ++p)
                for (int q = 0; q < s.q; ++q) {
                    T acc = b ? b[k] : T(0);
                    for (long long c = 0; c < s.c; ++c)
                        for (int i = 0; i < s.r; ++i) {
                            int row = p * s.stride - s.pad_top + i;
                            if (row < 0 || row >= s.h) continue;
                            for (int j = 0; j < s.s; ++j) {
                                int col = q * s.stride - s.pad_left + j;
                                if (col < 0 || col >= s.w) continue;
                                acc += x[((n * s.c + c) * s.h + row) * s.w + col] *
                                       w[((k * s.c + c) * s.r + i) * s.s + j];
                            }
                        }
                    y[((n * s.k + k) * s.p + p) * s.q + q] = acc;
                }
}

// The transpose of forward, written as its scatter so the loops mirror forward's.
template <typename T>
void conv2d_backward_data_ref(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
    validate(s);
    for (long long e = 0; e < conv2d_x_size(s); ++e) dx[e] = T(0);
    for (long long n = 0; n < s.n; ++n)
        for (long long k = 0; k < s.k; ++k)
            for (int p = 0; p < s.p; ++p)
                for (int q = 0; q < s.q; ++q) {
                    T g = dy[((n * s.k + k) * s.p + p) * s.q + q];
                    for (long long c = 0; c < s.c; ++c)
                        for (int i = 0; i < s.r; ++i) {
                            int row = p * s.stride - s.pad_top + i;
                            if (row < 0 || row >= s.h) continue;
                            for (int j = 0; j < s.s; ++j) {
                                int col = q * s.stride - s.pad_left + j;
                                if (col < 0 || col >= s.w) continue;
                                dx[((n * s.c + c) * s.h + row) * s.w + col] += g * w[((k * s.c + c) * s.r + i) * s.s + j];
                            }
                        }
                }
}

template <typename T>
void conv2d_backward_weight_ref(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
    validate(s);
    for (long long k = 0; k < s.k; ++k) {
        if (db) {
            T acc = T(0);
            for (long long e = 0; e < 1LL * s.n * s.p * s.q; ++e) {
                long long n = e / (1LL * s.p * s.q), pq = e % (1LL * s.p * s.q);
                acc += dy[(n * s.k + k) * s.p * s.q + pq];
            }
            db[k] = acc;
        }
        for (long long c = 0; c < s.c; ++c)
            for (int i = 0; i < s.r; ++i)
                for (int j = 0; j < s.s; ++j) {
                    T acc = T(0);
                    for (long long n = 0; n < s.n; ++n)
                        for (int p = 0; p < s.p; ++p) {
                            int row = p * s.stride - s.pad_top + i;
                            if (row < 0 || row >= s.h) continue;
                            for (int q = 0; q < s.q; ++q) {
                                int col = q * s.stride - s.pad_left + j;
                                if (col < 0 || col >= s.w) continue;
                                acc += dy[((n * s.k + k) * s.p + p) * s.q + q] *
                                       x[((n * s.c + c) * s.h + row) * s.w + col];
                            }
                        }
                    dw[((k * s.c + c) * s.r + i) * s.s + j] = acc;
                }
    }
}

template void conv2d_forward_ref<float>(const Conv2dShape&, const float*, const float*, const float*, float*);
template void conv2d_forward_ref<double>(const Conv2dShape&, const double*, const double*, const double*, double*);
template void conv2d_backward_data_ref<float>(const Conv2dShape&, const float*, const float*, float*);
template void conv2d_backward_data_ref<double>(const Conv2dShape&, const double*, const double*, double*);
template void conv2d_backward_weight_ref<float>(const Conv2dShape&, const float*, const float*, float*, float*);
template void conv2d_backward_weight_ref<double>(const Conv2dShape&, const double*, const double*, double*, double*);

}  // namespace flowpic
