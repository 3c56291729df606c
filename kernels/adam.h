// One Adam step over a flat parameter array, with tf.keras's Adam semantics (defaults
// lr 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-7).  With t = step (1-based):
//   alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
//   m = m + (g - m) * (1 - beta1)
//   v = v + (g*g - v) * (1 - beta2)
//   p = p - alpha * m / (sqrt(v) + epsilon)
// This is the "epsilon-hat" form of Kingma & Ba (end of section 2): epsilon is added to
// sqrt(v) of the *uncorrected* v.  torch.optim.Adam adds it to sqrt(v_hat) =
// sqrt(v / (1 - beta2^t)) instead, which is the same as an epsilon larger by
// sqrt(1 - beta2^t) here: the two differ slightly where sqrt(v) is near epsilon, so a
// PyTorch parity script must implement this formula by hand.
//
// Rounding, part of the contract: alpha is computed in double from the hyperparameters
// and rounded to T once; 1 - beta1 and 1 - beta2 are computed in T; the per-element
// lines are evaluated in T exactly as written (no fused multiply-add), so the AVX2
// version is bit-identical to the reference.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace flowpic {

struct AdamParams {
    float lr = 1e-3f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float epsilon = 1e-7f;
};

// Updates p, m, v in place (m and v start at zero before step 1).  step >= 1.
template <typename T>
void adam_step_ref(T* p, const T* g, T* m, T* v, size_t n, int64_t step, const AdamParams& hp);
void adam_step_avx2(float* p, const float* g, float* m, float* v, size_t n, int64_t step,
                    const AdamParams& hp);
// The CPU backend's choice: AVX2 where use_avx2() (kernels/cpu/cpu_features.h), else the
// float reference (the two are bit-identical anyway).
void adam_step_cpu(float* p, const float* g, float* m, float* v, size_t n, int64_t step,
                   const AdamParams& hp);

// alpha for step t, shared by every backend so they all round it the same way.
inline double adam_alpha(int64_t step, const AdamParams& hp) {
    double t = double(step);
    return double(hp.lr) * std::sqrt(1.0 - std::pow(double(hp.beta2), t)) /
           (1.0 - std::pow(double(hp.beta1), t));
}

}  // namespace flowpic
