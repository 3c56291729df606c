// Inverted dropout (Keras, PyTorch): kept elements are scaled by 1 / (1 - rate) in
// training so inference is the identity (the layer just skips the op there).
//
// The mask comes from a counter-based hash, not a stream: element `index` (its flat
// index in the batch tensor) of a layer at a step with seed `seed` is kept iff
// dropout_keep(seed, index, rate).  CPU (any thread count, any vector width) and CUDA
// draw the same mask from the same (seed, index) with no state to carry.  The caller
// derives one seed per layer per step, e.g. mix_seed(mix_seed(run_seed, step), layer)
// (core/rng.h).  Seeds s and s' draw the same value at indices i and j exactly where
// s ^ i*golden == s' ^ j*golden; for well-mixed 64-bit seeds that never happens in
// practice, which is why seeds should come from mix_seed rather than be 1, 2, 3...
//
// Rounding, part of the contract: scale = 1.0f / (1.0f - rate) in float, y = x * scale
// (a multiply, as tf.nn.dropout does), dx = dy * scale.  0 <= rate < 1.
#pragma once
#include <cstddef>
#include <cstdint>

#ifndef FLOWPIC_HD  // callable from CUDA kernels too: one definition of the mask
#ifdef __CUDACC__
#define FLOWPIC_HD __host__ __device__
#else
#define FLOWPIC_HD
#endif
#endif

namespace flowpic {

// splitmix64's finaliser on seed ^ index * golden; the top 24 bits as u in [0, 1) with
// exactly 2^-24 steps, so u >= rate is the same comparison in float on every device.
FLOWPIC_HD inline bool dropout_keep(uint64_t seed, uint64_t index, float rate) {
    uint64_t z = seed ^ (index * 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    float u = float(uint32_t(z >> 40)) * (1.0f / 16777216.0f);
    return u >= rate;
}

FLOWPIC_HD inline float dropout_scale(float rate) { return 1.0f / (1.0f - rate); }

// y = keep ? x * scale : 0; mask[i] = keep (1) or 0.  y may be x.
template <typename T>
void dropout_forward_ref(const T* x, size_t n, float rate, uint64_t seed, T* y, uint8_t* mask);
// dx = mask ? dy * scale : 0.  dx may be dy.
template <typename T>
void dropout_backward_ref(const T* dy, const uint8_t* mask, size_t n, float rate, T* dx);

void dropout_forward_avx2(const float* x, size_t n, float rate, uint64_t seed, float* y,
                          uint8_t* mask);
void dropout_backward_avx2(const float* dy, const uint8_t* mask, size_t n, float rate, float* dx);

// The CPU backend's choice: AVX2 where use_avx2() (kernels/cpu/cpu_features.h), else the
// float reference.  Both draw the same mask.
void dropout_forward_cpu(const float* x, size_t n, float rate, uint64_t seed, float* y,
                         uint8_t* mask);
void dropout_backward_cpu(const float* dy, const uint8_t* mask, size_t n, float rate, float* dx);

}  // namespace flowpic
