// Scalar reference for ReLU: the oracle (see kernels/relu.h).
#include "kernels/relu.h"

namespace flowpic {

template <typename T>
void relu_forward_ref(const T* x, size_t n, T* y) {
    for (size_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}

template <typename T>
void relu_backward_ref(const T* y, const T* dy, size_t n, T* dx) {
    for (size_t i = 0; i < n; ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
}

template void relu_forward_ref<float>(const float*, size_t, float*);
template void relu_forward_ref<double>(const double*, size_t, double*);
template void relu_backward_ref<float>(const float*, const float*, size_t, float*);
template void relu_backward_ref<double>(const double*, const double*, size_t, double*);

}  // namespace flowpic
