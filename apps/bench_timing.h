// Timing for flowpic-bench modes: the median of many runs after a warm-up, so one
// preempted run on a shared machine does not move the figure.
#pragma once
#include <cstddef>
#include <functional>

namespace flowpic {

struct Timing {
    double median_s = 0;  // per call
    size_t runs = 0;
};

struct TimingPlan {
    double seconds = 0;     // keep running until this long has passed ...
    size_t min_runs = 5;    // ... and at least this many runs are in,
    size_t max_runs = 100000;  // but never more than this many
    bool one_slow_warmup = false;  // one warm-up instead of two when the first takes over 1 s
};

// Calls f twice to warm caches and scratch (once, with one_slow_warmup, when that call
// took over a second), then times calls as `plan` says; the median is the upper one of an
// even count.  One indirect call per run: nanoseconds next to the microseconds timed.
Timing time_median(const std::function<void()>& f, const TimingPlan& plan);

}  // namespace flowpic
