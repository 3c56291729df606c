// What the op suites (test_backend_ops, test_op_properties, the CUDA ones) share: random
// inputs that are never zero, NaN poison, and the relative-error measure that never lets
// NaN pass.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/rng.h"

namespace flowpic {

// Uniform magnitudes in [0.1, 1) with a random sign: never zero, never a tie by accident.
template <typename T = float>
std::vector<T> random_vec(size_t n, uint64_t seed) {
    std::vector<T> v(n);
    uint64_t s = seed;
    for (auto& x : v) {
        const uint64_t r = splitmix64(s);
        const double u = double(r >> 11) * 0x1p-53;
        x = T((r & 1 ? -1.0 : 1.0) * (0.1 + 0.9 * u));
    }
    return v;
}

inline std::vector<int32_t> random_labels(size_t n, int k, uint64_t seed) {
    std::vector<int32_t> v(n);
    uint64_t s = seed;
    for (auto& y : v) y = int32_t(splitmix64(s) % uint64_t(k));
    return v;
}

template <typename T = float>
std::vector<T> poisoned(size_t n) {
    return std::vector<T>(n, std::numeric_limits<T>::quiet_NaN());
}

// Uniform in [-1, 1) from a caller's generator (the conv suites draw several tensors from one).
template <typename T>
std::vector<T> random_values(long long count, std::mt19937& rng) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<T> v(static_cast<size_t>(count));
    for (T& e : v) e = T(u(rng));
    return v;
}

// ||a - b|| / ||b||; infinity when the sizes differ or anything is not finite, so NaN
// (a poisoned element left unwritten) never passes.
template <typename T>
double rel_err(const std::vector<T>& a, const std::vector<T>& b) {
    if (a.size() != b.size()) return INFINITY;
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        if (!std::isfinite(double(a[i])) || !std::isfinite(double(b[i]))) return INFINITY;
        const double d = double(a[i]) - double(b[i]);
        num += d * d;
        den += double(b[i]) * double(b[i]);
    }
    if (den == 0) return num == 0 ? 0.0 : INFINITY;
    return std::sqrt(num / den);
}

}  // namespace flowpic
