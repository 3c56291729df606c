#include "synth/fp.h"
#include "synth/rng.h"

#include <cmath>

namespace flowpic {

// log2 by repeated squaring of the mantissa: each squaring is one correctly-rounded
// multiply and yields one bit of the fraction.
static double det_log2(double x) {
    int e = 0;
    double m = std::frexp(x, &e);  // exact: x = m * 2^e, m in [0.5, 1)
    m *= 2.0;
    e -= 1;
    double frac = 0.0, bit = 0.5;
    for (int i = 0; i < 44; ++i) {
        m = m * m;
        if (m >= 2.0) {
            m *= 0.5;
            frac += bit;
        }
        bit *= 0.5;
    }
    return double(e) + frac;
}

// 2^(2^-i) for i = 1..44, by repeated square roots (sqrt is correctly rounded).
static const double* exp2_table() {
    static const double* table = [] {
        static double t[45];
        t[0] = 2.0;
        for (int i = 1; i < 45; ++i) t[i] = std::sqrt(t[i - 1]);
        return t;
    }();
    return table;
}

static double det_exp2(double y) {
    double n = std::floor(y);
    double f = y - n;  // exact, in [0, 1)
    const double* t = exp2_table();
    double r = 1.0;
    for (int i = 1; i < 45; ++i) {
        f *= 2.0;
        if (f >= 1.0) {
            f -= 1.0;
            r *= t[i];
        }
    }
    return std::ldexp(r, int(n));
}

double det_log(double x) { return det_log2(x) * 0.69314718055994530942; }
double det_exp(double x) { return det_exp2(x * 1.44269504088896340736); }

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

SynthRng::SynthRng(uint64_t seed) {
    uint64_t s = seed;
    for (auto& w : s_) w = splitmix64(s);
}

uint64_t SynthRng::next() {  // xoshiro256** (Blackman & Vigna)
    uint64_t result = rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

double SynthRng::uniform() { return double(next() >> 11) * 0x1.0p-53; }
double SynthRng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

uint64_t SynthRng::below(uint64_t n) {  // Lemire's multiply-shift (bias < 2^-40 here)
    return uint64_t((unsigned __int128)next() * n >> 64);
}

int64_t SynthRng::range(int64_t lo, int64_t hi) { return lo + int64_t(below(uint64_t(hi - lo) + 1)); }
bool SynthRng::chance(double p) { return uniform() < p; }

double SynthRng::exponential(double mean) { return -mean * det_log(1.0 - uniform()); }

double SynthRng::normal(double mean, double sd) {
    double s = 0.0;
    for (int i = 0; i < 12; ++i) s += uniform();
    return mean + sd * (s - 6.0);
}

double SynthRng::lognormal(double median, double sigma) { return median * det_exp(normal(0.0, sigma)); }

double SynthRng::pareto(double xm, double alpha) {
    // xm * U^(-1/alpha) with U in (0, 1]
    return xm * det_exp(-det_log(1.0 - uniform()) / alpha);
}

double SynthRng::log_uniform(double lo, double hi) {
    return lo * det_exp(uniform() * det_log(hi / lo));
}

}  // namespace flowpic
