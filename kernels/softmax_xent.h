// Softmax + categorical cross-entropy, fused, over logits N x K and labels in [0, K).
//
// Class weights follow Keras's class_weight: sample n weighs w[y_n] and
//   loss = sum_n w[y_n] * (-log p[n, y_n]) / N
// (divided by the batch size, not by the sum of the weights).  PyTorch's
// CrossEntropyLoss(weight=w) with reduction='mean' divides by sum_n w[y_n] instead;
// the two agree when w is nullptr (all weights 1).
//   backward: dlogits[n,k] = (p[n,k] - [k == y_n]) * (w[y_n] / N)
//
// Numerically stable: logits are shifted by their row maximum and -log p is computed
// as log(sum exp(z - max)) - (z_y - max), so logits of 1e4 give finite losses even where
// p underflows to 0.  The loss is accumulated and returned in double.
// A label outside [0, K) throws InputError.
// No OpenMP: N x K is at most 256 x a few dozen, far below what a thread pays for.
#pragma once
#include <cstdint>

namespace flowpic {

// Writes probs (N x K), returns the mean loss.  class_weights (K) may be nullptr.
template <typename T>
double softmax_xent_forward_ref(const T* logits, const int32_t* labels, const T* class_weights,
                                int n, int k, T* probs);
// dlogits (N x K) from the forward's probs; dlogits may be probs.
template <typename T>
void softmax_xent_backward_ref(const T* probs, const int32_t* labels, const T* class_weights, int n,
                               int k, T* dlogits);

double softmax_xent_forward_avx2(const float* logits, const int32_t* labels,
                                 const float* class_weights, int n, int k, float* probs);
void softmax_xent_backward_avx2(const float* probs, const int32_t* labels,
                                const float* class_weights, int n, int k, float* dlogits);

// The CPU backend's choice: AVX2 where use_avx2() (kernels/cpu/cpu_features.h), else the
// float reference.
double softmax_xent_forward_cpu(const float* logits, const int32_t* labels,
                                const float* class_weights, int n, int k, float* probs);
void softmax_xent_backward_cpu(const float* probs, const int32_t* labels,
                               const float* class_weights, int n, int k, float* dlogits);

}  // namespace flowpic
