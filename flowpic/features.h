// Per-window statistics for classical classifiers (flowpic-render --features,
// bench/classical.py): what a Random Forest or XGBoost sees instead of a FlowPic.
// docs/FEATURES.md defines every column; the rules, exactly:
//
//  - Input: one window's packet list (t_us, size, dir) and nothing else, so no column can
//    carry an address, a port or a capture name: those never reach a window.  With
//    axis_us > 0 only the packets at t_us < axis_us count (the packets the FlowPic bins
//    under --time-axis, kernels/binning.h axis_view).
//  - Groups: "all" (every packet), "fwd" (dir 1, client->server), "rev" (dir 0,
//    server->client), each in time order.
//  - duration_s: last minus first packet time of the window, seconds (0 for one packet).
//  - pkts_G, bytes_G: packet count and sum of IP sizes of group G.
//  - size_G_{mean,std,min,max,p10,p25,p50,p75,p90}: IP sizes of group G in bytes;
//    iat_G_{...}: gaps between consecutive packets of group G, seconds.  std is the
//    population standard deviation (numpy's default ddof=0); percentiles interpolate
//    linearly between order statistics (numpy.percentile's default): at rank
//    (n - 1) * p / 100.  A statistic of no value (a group without packets for sizes,
//    with fewer than two for gaps) is -1: every real value is >= 0, so a tree tells the
//    two apart, and sklearn's forests (Debian's 1.2) take no NaN.
//  - first_size_1..K, first_dir_1..K: the first K packets of the window in time order
//    (both directions): size in bytes and direction (1 client->server, 0 server->client);
//    past the window's last packet, size 0 and direction -1 (padding).
// One scalar implementation: a window costs one sort of its sizes and gaps, far below
// reading it from disk.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/packet_list.h"

namespace flowpic {

constexpr uint32_t kDefaultFeatureFirstK = 10;
constexpr uint32_t kMaxFeatureFirstK = 1000;

struct FeatureOptions {
    uint32_t first_k = kDefaultFeatureFirstK;  // 0 .. kMaxFeatureFirstK
    uint32_t axis_us = 0;                      // > 0: only packets at t_us < axis_us
};

// The percentiles of every size and gap group, in column order.
constexpr int kFeaturePercentiles[] = {10, 25, 50, 75, 90};

// Column names in order; feature_count(o) == feature_columns(o).size().
std::vector<std::string> feature_columns(const FeatureOptions& o);
size_t feature_count(const FeatureOptions& o);

// Writes feature_count(o) values for window w into out.
void window_features(const PacketListView& w, const FeatureOptions& o, double* out);

// numpy.percentile(x, p) with the default linear method, x sorted ascending, non-empty.
double percentile_sorted(const std::vector<double>& x, double p);

}  // namespace flowpic
