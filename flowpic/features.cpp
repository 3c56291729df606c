#include "flowpic/features.h"

#include <algorithm>
#include <cmath>

#include "kernels/binning.h"

namespace flowpic {

namespace {

const char* const kGroups[] = {"all", "fwd", "rev"};
const char* const kMoments[] = {"mean", "std", "min", "max"};
constexpr size_t kStatsPerGroup = 4 + std::size(kFeaturePercentiles);
constexpr double kMissing = -1.0;

// mean, std, min, max and the percentiles of x (sorted here), or kMissing for each.
double* put_stats(std::vector<double>& x, double* out) {
    if (x.empty()) return std::fill_n(out, kStatsPerGroup, kMissing);
    std::sort(x.begin(), x.end());
    double sum = 0;
    for (double v : x) sum += v;
    const double mean = sum / double(x.size());
    double ss = 0;  // two passes: no cancellation for large, close values
    for (double v : x) ss += (v - mean) * (v - mean);
    *out++ = mean;
    *out++ = std::sqrt(ss / double(x.size()));
    *out++ = x.front();
    *out++ = x.back();
    for (int p : kFeaturePercentiles) *out++ = percentile_sorted(x, p);
    return out;
}

}  // namespace

double percentile_sorted(const std::vector<double>& x, double p) {
    // numpy's linear method step by step (q / 100, rank (n - 1) * q, then its _lerp, which
    // interpolates from the nearer end), so values agree with numpy to the bit.
    const double q = p / 100.0;
    const double rank = double(x.size() - 1) * q;
    const double lo = std::floor(rank);
    const size_t i = size_t(lo), j = std::min(i + 1, x.size() - 1);
    const double t = rank - lo, a = x[i], b = x[j], d = b - a;
    return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

std::vector<std::string> feature_columns(const FeatureOptions& o) {
    std::vector<std::string> c{"duration_s"};
    for (const char* g : kGroups) {
        c.push_back(std::string("pkts_") + g);
        c.push_back(std::string("bytes_") + g);
    }
    for (const char* what : {"size", "iat"})
        for (const char* g : kGroups) {
            const std::string stem = std::string(what) + "_" + g + "_";
            for (const char* m : kMoments) c.push_back(stem + m);
            for (int p : kFeaturePercentiles) c.push_back(stem + "p" + std::to_string(p));
        }
    for (const char* what : {"first_size_", "first_dir_"})
        for (uint32_t k = 1; k <= o.first_k; ++k) c.push_back(what + std::to_string(k));
    return c;
}

size_t feature_count(const FeatureOptions& o) {
    return 1 + 2 * std::size(kGroups) + 2 * std::size(kGroups) * kStatsPerGroup + 2 * size_t(o.first_k);
}

void window_features(const PacketListView& window, const FeatureOptions& o, double* out) {
    BinningOptions axis;
    axis.axis_us = o.axis_us;
    const PacketListView w = axis_view(window, axis);
    const WindowPacket* p = w.packets;
    const uint32_t n = w.count;

    *out++ = n ? double(p[n - 1].t_us - p[0].t_us) / 1e6 : 0.0;
    // Group 0 all, 1 fwd (dir 1), 2 rev (dir 0).
    auto in_group = [](const WindowPacket& q, int g) { return g == 0 || (g == 1) == (q.dir != 0); };
    std::vector<double> sizes[3], gaps[3];
    for (int g = 0; g < 3; ++g) {
        uint64_t bytes = 0;
        int64_t prev = -1;
        for (uint32_t i = 0; i < n; ++i) {
            if (!in_group(p[i], g)) continue;
            sizes[g].push_back(p[i].size);
            bytes += p[i].size;
            if (prev >= 0) gaps[g].push_back(double(int64_t(p[i].t_us) - prev) / 1e6);
            prev = p[i].t_us;
        }
        *out++ = double(sizes[g].size());
        *out++ = double(bytes);
    }
    for (auto* groups : {sizes, gaps})
        for (int g = 0; g < 3; ++g) out = put_stats(groups[g], out);
    for (uint32_t k = 0; k < o.first_k; ++k) *out++ = k < n ? double(p[k].size) : 0.0;
    for (uint32_t k = 0; k < o.first_k; ++k) *out++ = k < n ? double(p[k].dir != 0) : -1.0;
}

}  // namespace flowpic
