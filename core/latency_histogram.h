// Quantiles of a stream of durations in constant memory: log-spaced buckets (2% wide)
// from 100 ns to ~3 hours, so p50/p99 of a run of days cost the same 1 KB as of a second.
// A quantile is the geometric middle of its bucket: within 1% of the true value.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>

namespace flowpic {

class LatencyHistogram {
public:
    void add(double seconds) {
        ++count_;
        size_t i = 0;
        if (seconds > kLow) {
            const double b = std::log(seconds / kLow) / std::log(kRatio);
            i = b >= double(kBuckets - 1) ? kBuckets - 1 : size_t(b) + 1;
        }
        ++n_[i];
    }
    uint64_t count() const { return count_; }
    // q in [0, 1]; 0 when nothing was added.
    double quantile(double q) const {
        if (count_ == 0) return 0;
        const uint64_t rank = uint64_t(std::ceil(q * double(count_)));
        uint64_t seen = 0;
        for (size_t i = 0; i < kBuckets; ++i) {
            seen += n_[i];
            if (seen >= rank && n_[i] > 0) return i == 0 ? kLow : kLow * std::pow(kRatio, double(i) - 0.5);
        }
        return kLow * std::pow(kRatio, double(kBuckets) - 1.5);
    }

private:
    static constexpr double kLow = 1e-7, kRatio = 1.02;
    static constexpr size_t kBuckets = 1300;  // 1e-7 * 1.02^1300 s ~ 1.5e4 s
    std::array<uint64_t, kBuckets> n_{};
    uint64_t count_ = 0;
};

}  // namespace flowpic
