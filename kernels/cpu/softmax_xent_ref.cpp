// Scalar reference for fused softmax + cross-entropy: the oracle (see
// kernels/softmax_xent.h).
#include "kernels/softmax_xent.h"

#include <cmath>
#include <cstddef>
#include <string>

#include "core/error.h"

namespace flowpic {

namespace {
void check_label(int32_t label, int k, int row) {
    if (label < 0 || label >= k)
        throw InputError("softmax_xent: label " + std::to_string(label) + " of sample " +
                         std::to_string(row) + " is outside [0, " + std::to_string(k) + ")");
}
}  // namespace

template <typename T>
double softmax_xent_forward_ref(const T* logits, const int32_t* labels, const T* class_weights,
                                int n, int k, T* probs) {
    double total = 0.0;
    for (int s = 0; s < n; ++s) {
        check_label(labels[s], k, s);
        const T* z = logits + size_t(s) * size_t(k);
        T* p = probs + size_t(s) * size_t(k);
        T zmax = z[0];
        for (int j = 1; j < k; ++j) zmax = z[j] > zmax ? z[j] : zmax;
        T sum = T(0);
        for (int j = 0; j < k; ++j) {
            p[j] = std::exp(z[j] - zmax);
            sum += p[j];
        }
        const T inv = T(1) / sum;
        for (int j = 0; j < k; ++j) p[j] *= inv;
        // -log p_y without forming p_y, which may have underflowed to 0
        const T nll = std::log(sum) - (z[labels[s]] - zmax);
        const T wt = class_weights ? class_weights[labels[s]] : T(1);
        total += double(wt) * double(nll);
    }
    return n > 0 ? total / double(n) : 0.0;
}

template <typename T>
void softmax_xent_backward_ref(const T* probs, const int32_t* labels, const T* class_weights, int n,
                               int k, T* dlogits) {
    for (int s = 0; s < n; ++s) {
        check_label(labels[s], k, s);
        const T g = (class_weights ? class_weights[labels[s]] : T(1)) / T(n);
        const T* p = probs + size_t(s) * size_t(k);
        T* d = dlogits + size_t(s) * size_t(k);
        for (int j = 0; j < k; ++j) d[j] = (p[j] - (j == labels[s] ? T(1) : T(0))) * g;
    }
}

template double softmax_xent_forward_ref<float>(const float*, const int32_t*, const float*, int,
                                                int, float*);
template double softmax_xent_forward_ref<double>(const double*, const int32_t*, const double*, int,
                                                 int, double*);
template void softmax_xent_backward_ref<float>(const float*, const int32_t*, const float*, int, int,
                                               float*);
template void softmax_xent_backward_ref<double>(const double*, const int32_t*, const double*, int,
                                                int, double*);

}  // namespace flowpic
