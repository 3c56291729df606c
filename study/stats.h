// Summary statistics of a sweep: the mean and Student's-t 95% confidence interval of a
// metric over seeds, and the Pareto front of (latency, accuracy).
#pragma once
#include <cstddef>
#include <vector>

namespace flowpic {

// The two-sided 95% quantile of Student's t with df degrees of freedom (t.ppf(0.975, df)):
// exact table values to 4 decimals for df <= 30, Cornish-Fisher's first terms past that
// (within 2e-4 of the exact value at df = 31 and closer beyond).  df >= 1.
double t_quantile_975(size_t df);

struct MeanCi {
    double mean = 0;
    double half_width = 0;  // t(0.975, n-1) * sd / sqrt(n); 0 for n < 2
    double sd = 0;          // sample standard deviation (n - 1); 0 for n < 2
    double min = 0, max = 0;
    size_t n = 0;
};
MeanCi mean_ci95(const std::vector<double>& values);  // n = 0 gives all zeros

// Indices of the points on the Pareto front of lower cost and higher value: no other point
// has cost <= and value >= with one of them strict.  Equal points are all on it.  Sorted by
// cost.  Points with a non-finite or non-positive cost are left out.
std::vector<size_t> pareto_front(const std::vector<double>& cost, const std::vector<double>& value);

}  // namespace flowpic
