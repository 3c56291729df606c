// Scalar reference for the Adam step: the oracle (see kernels/adam.h).
#include "kernels/adam.h"

namespace flowpic {

template <typename T>
void adam_step_ref(T* p, const T* g, T* m, T* v, size_t n, int64_t step, const AdamParams& hp) {
    const T alpha = T(adam_alpha(step, hp));
    const T one_m_b1 = T(1) - T(hp.beta1);
    const T one_m_b2 = T(1) - T(hp.beta2);
    const T eps = T(hp.epsilon);
    for (size_t i = 0; i < n; ++i) {
        m[i] = m[i] + (g[i] - m[i]) * one_m_b1;
        v[i] = v[i] + (g[i] * g[i] - v[i]) * one_m_b2;
        p[i] = p[i] - alpha * m[i] / (std::sqrt(v[i]) + eps);
    }
}

template void adam_step_ref<float>(float*, const float*, float*, float*, size_t, int64_t,
                                   const AdamParams&);
template void adam_step_ref<double>(double*, const double*, double*, double*, size_t, int64_t,
                                    const AdamParams&);

}  // namespace flowpic
