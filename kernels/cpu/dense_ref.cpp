// Scalar reference for the dense layer: the oracle (see kernels/dense.h).  Every sum
// runs left to right over its index in T, starting from zero.
#include "kernels/dense.h"

#include <cstddef>

namespace flowpic {

template <typename T>
void dense_forward_ref(const T* x, const T* w, const T* b, int n, int in, int out, T* y) {
    for (int s = 0; s < n; ++s) {
        const T* xs = x + size_t(s) * size_t(in);
        for (int o = 0; o < out; ++o) {
            const T* wo = w + size_t(o) * size_t(in);
            T acc = T(0);
            for (int i = 0; i < in; ++i) acc += xs[i] * wo[i];
            y[size_t(s) * size_t(out) + size_t(o)] = b[o] + acc;
        }
    }
}

template <typename T>
void dense_backward_ref(const T* x, const T* w, const T* dy, int n, int in, int out, T* dx, T* dw,
                        T* db) {
    if (dx) {
        for (int s = 0; s < n; ++s) {
            for (int i = 0; i < in; ++i) {
                T acc = T(0);
                for (int o = 0; o < out; ++o)
                    acc += dy[size_t(s) * size_t(out) + size_t(o)] *
                           w[size_t(o) * size_t(in) + size_t(i)];
                dx[size_t(s) * size_t(in) + size_t(i)] = acc;
            }
        }
    }
    if (dw) {
        for (int o = 0; o < out; ++o) {
            for (int i = 0; i < in; ++i) {
                T acc = T(0);
                for (int s = 0; s < n; ++s)
                    acc += dy[size_t(s) * size_t(out) + size_t(o)] *
                           x[size_t(s) * size_t(in) + size_t(i)];
                dw[size_t(o) * size_t(in) + size_t(i)] = acc;
            }
        }
    }
    if (db) {
        for (int o = 0; o < out; ++o) {
            T acc = T(0);
            for (int s = 0; s < n; ++s) acc += dy[size_t(s) * size_t(out) + size_t(o)];
            db[o] = acc;
        }
    }
}

template void dense_forward_ref<float>(const float*, const float*, const float*, int, int, int,
                                       float*);
template void dense_forward_ref<double>(const double*, const double*, const double*, int, int, int,
                                        double*);
template void dense_backward_ref<float>(const float*, const float*, const float*, int, int, int,
                                        float*, float*, float*);
template void dense_backward_ref<double>(const double*, const double*, const double*, int, int, int,
                                         double*, double*, double*);

}  // namespace flowpic
