// Scalar reference for dropout: the oracle (see kernels/dropout.h).
#include "kernels/dropout.h"

namespace flowpic {

template <typename T>
void dropout_forward_ref(const T* x, size_t n, float rate, uint64_t seed, T* y, uint8_t* mask) {
    const T scale = T(dropout_scale(rate));
    for (size_t i = 0; i < n; ++i) {
        const bool keep = dropout_keep(seed, i, rate);
        mask[i] = keep ? 1 : 0;
        y[i] = keep ? x[i] * scale : T(0);
    }
}

template <typename T>
void dropout_backward_ref(const T* dy, const uint8_t* mask, size_t n, float rate, T* dx) {
    const T scale = T(dropout_scale(rate));
    for (size_t i = 0; i < n; ++i) dx[i] = mask[i] ? dy[i] * scale : T(0);
}

template void dropout_forward_ref<float>(const float*, size_t, float, uint64_t, float*, uint8_t*);
template void dropout_forward_ref<double>(const double*, size_t, float, uint64_t, double*,
                                          uint8_t*);
template void dropout_backward_ref<float>(const float*, const uint8_t*, size_t, float, float*);
template void dropout_backward_ref<double>(const double*, const uint8_t*, size_t, float, double*);

}  // namespace flowpic
