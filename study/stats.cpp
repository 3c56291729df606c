#include "study/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace flowpic {

double t_quantile_975(size_t df) {
    static const double table[] = {0,      12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
                                   2.2010, 2.1788,  2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796,
                                   2.0739, 2.0687,  2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
    if (df == 0) return 0;
    if (df <= 30) return table[df];
    const double z = 1.959963984540054, d = double(df);
    const double z3 = z * z * z, z5 = z3 * z * z;
    return z + (z3 + z) / (4 * d) + (5 * z5 + 16 * z3 + 3 * z) / (96 * d * d);
}

MeanCi mean_ci95(const std::vector<double>& v) {
    MeanCi r;
    r.n = v.size();
    if (v.empty()) return r;
    r.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
    r.min = *std::min_element(v.begin(), v.end());
    r.max = *std::max_element(v.begin(), v.end());
    if (v.size() < 2) return r;
    double ss = 0;
    for (double x : v) ss += (x - r.mean) * (x - r.mean);
    r.sd = std::sqrt(ss / double(v.size() - 1));
    r.half_width = t_quantile_975(v.size() - 1) * r.sd / std::sqrt(double(v.size()));
    return r;
}

std::vector<size_t> pareto_front(const std::vector<double>& cost, const std::vector<double>& value) {
    std::vector<size_t> out;
    const size_t n = std::min(cost.size(), value.size());
    auto usable = [&](size_t i) { return std::isfinite(cost[i]) && cost[i] > 0 && std::isfinite(value[i]); };
    for (size_t i = 0; i < n; ++i) {
        if (!usable(i)) continue;
        bool dominated = false;
        for (size_t j = 0; j < n && !dominated; ++j)
            dominated = j != i && usable(j) && cost[j] <= cost[i] && value[j] >= value[i] &&
                        (cost[j] < cost[i] || value[j] > value[i]);
        if (!dominated) out.push_back(i);
    }
    std::stable_sort(out.begin(), out.end(), [&](size_t a, size_t b) { return cost[a] < cost[b]; });
    return out;
}

}  // namespace flowpic
