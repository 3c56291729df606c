// Random packet windows for tests and benchmarks: the one generator every suite and
// bench draws its synthetic windows from (binning, sparse conv1, dataset file, whole net,
// the pipeline bench).  Not traffic models (synth/synth.h does those): uniform draws with
// knobs for what the kernels must survive -- hot sizes, sizes over 1500 that binning
// drops, times past the window end, many packets at the same instant, unsorted lists.
// Deterministic for a seed on every machine (core/rng.h's splitmix64, integer math only).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/packet_list.h"

namespace flowpic {

struct RandomWindowOptions {
    size_t windows = 1;
    uint32_t min_packets = 1, max_packets = 1;  // each window's count in [min, max]
    // Window length: fixed, or (max_length_us > length_us) drawn per window in
    // [length_us, max_length_us].  0 is a valid length (every time is then past the end).
    uint32_t length_us = 15000000;
    uint32_t max_length_us = 0;
    // Times uniform in [0, max_time_us]; 0 means [0, length - 1] (or [0, 0] at length 0).
    uint32_t max_time_us = 0;
    // Share of packets whose time is past the window end, in [length, length * 1.05 + 1]
    // (`fixed` normalisation drops them).
    double late_share = 0.0;
    // Chance that a window draws all its times from 1..`instants` instants (ties).
    double ties_share = 0.0;
    uint32_t instants = 5;
    // Sizes: ordinary ones uniform in [min_size, max_size]; a `hot_share` of packets on
    // the hot sizes (`hot` when given, else per window hot_count of them: an ACK-like
    // 40..99, a near-MTU 1400..1500, then anywhere in [min_size, max_size]); an
    // `oversize_share` uniform in 1501..65535 (binning drops them).
    uint16_t min_size = 40, max_size = 1500;
    double hot_share = 0.0;
    uint32_t hot_count = 2;
    std::vector<uint16_t> hot;
    double oversize_share = 0.0;
    double client_share = 0.5;  // chance of dir = 1
    bool sorted = true;         // sorted by t_us (what the kernels require); false: as drawn
    uint64_t seed = 1;
};

struct RandomWindows {
    std::vector<std::vector<WindowPacket>> packets;
    std::vector<uint32_t> length_us;
    size_t size() const { return packets.size(); }
    PacketListView view(size_t i) const {
        return {packets[i].data(), uint32_t(packets[i].size()), length_us[i]};
    }
    std::vector<PacketListView> views() const;
};

RandomWindows random_windows(const RandomWindowOptions& opts);

// The same generator for one window of exactly `count` packets: (packets, length).
RandomWindows random_window(const RandomWindowOptions& opts, uint32_t count);

}  // namespace flowpic
