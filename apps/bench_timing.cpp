#include "apps/bench_timing.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace flowpic {

Timing time_median(const std::function<void()>& f, const TimingPlan& plan) {
    using clock = std::chrono::steady_clock;
    auto seconds = [](clock::time_point a) { return std::chrono::duration<double>(clock::now() - a).count(); };
    const auto w = clock::now();
    f();
    if (!plan.one_slow_warmup || seconds(w) < 1.0) f();
    std::vector<double> runs;
    const auto start = clock::now();
    while (runs.size() < plan.max_runs && (runs.size() < plan.min_runs || seconds(start) < plan.seconds)) {
        const auto a = clock::now();
        f();
        runs.push_back(seconds(a));
    }
    std::nth_element(runs.begin(), runs.begin() + runs.size() / 2, runs.end());
    return Timing{runs[runs.size() / 2], runs.size()};
}

}  // namespace flowpic
