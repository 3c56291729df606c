// The synthetic-traffic RNG: xoshiro256** seeded through splitmix64, with the few
// distributions the models need.  Not std::<random> distributions: their output differs
// between standard libraries.  Not std::log/std::exp either: libm results may differ in
// the last bit between libraries and CPUs; det_log/det_exp use only correctly-rounded
// IEEE operations (multiply, add, sqrt), so a seed means the same numbers everywhere.
#pragma once
#include <cstdint>

#include "core/rng.h"  // splitmix64, mix_seed

namespace flowpic {

double det_log(double x);  // natural log, x > 0; about 1e-12 relative accuracy
double det_exp(double x);  // e^x for |x| < 700

class SynthRng {
public:
    explicit SynthRng(uint64_t seed);
    uint64_t next();
    double uniform();                        // [0, 1), 53 bits
    double uniform(double lo, double hi);    // [lo, hi)
    uint64_t below(uint64_t n);              // [0, n), n > 0
    int64_t range(int64_t lo, int64_t hi);   // [lo, hi]
    bool chance(double p);
    double exponential(double mean);
    double normal(double mean, double sd);   // Irwin-Hall of 12 uniforms: within +-6 sd
    double lognormal(double median, double sigma);
    double pareto(double xm, double alpha);  // >= xm, heavy tail for alpha < 2
    double log_uniform(double lo, double hi);

private:
    uint64_t s_[4];
};

}  // namespace flowpic
