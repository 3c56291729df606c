// Timing for flowpic-bench modes: the median of many runs after a warm-up, so one
// preempted run on a shared machine does not move the figure.
#pragma once
#include <algorithm>
#include <chrono>
#include <vector>

namespace flowpic {

struct Timing {
    double median_s = 0;  // per call
    size_t runs = 0;
};

// Calls f twice to warm caches and scratch, then at least min_runs times and until
// min_seconds have passed (at most max_runs).
template <typename F>
Timing time_median(F&& f, double min_seconds, size_t min_runs = 5, size_t max_runs = 100000) {
    using clock = std::chrono::steady_clock;
    f();
    f();
    std::vector<double> runs;
    const auto start = clock::now();
    while (runs.size() < max_runs &&
           (runs.size() < min_runs ||
            std::chrono::duration<double>(clock::now() - start).count() < min_seconds)) {
        const auto a = clock::now();
        f();
        runs.push_back(std::chrono::duration<double>(clock::now() - a).count());
    }
    std::nth_element(runs.begin(), runs.begin() + runs.size() / 2, runs.end());
    return Timing{runs[runs.size() / 2], runs.size()};
}

}  // namespace flowpic
