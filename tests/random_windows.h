// FlowPic-like packet lists for the whole-net tests, drawn by synth/random_windows.h: per
// window `packets` to 2x`packets` - 1 packets with sorted times in a 15 s window, half of
// them on two "hot" sizes (ACK-like 40..139, near-MTU 1300..1500), sizes up to 1600 (the ones
// above 1500 are dropped by binning), both directions.  Never empty.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "kernels/packet_list.h"
#include "synth/random_windows.h"

namespace flowpic {

constexpr uint32_t kTestWindowUs = 15000000;

inline std::vector<std::vector<WindowPacket>> random_windows(size_t n, int packets, uint64_t seed) {
    std::vector<std::vector<WindowPacket>> out;
    uint64_t s = seed;
    for (size_t i = 0; i < n; ++i) {
        RandomWindowOptions o;
        o.min_packets = uint32_t(packets);
        o.max_packets = uint32_t(2 * packets - 1);
        o.length_us = kTestWindowUs;
        const uint64_t r = splitmix64(s);
        o.hot = std::vector<uint16_t>{uint16_t(40 + r % 100), uint16_t(1300 + (r >> 32) % 201)};  // ACK-like, near-MTU
        o.hot_share = 0.5;
        o.min_size = 0;
        o.max_size = 1600;
        o.seed = splitmix64(s);
        out.push_back(std::move(random_windows(o).packets[0]));
    }
    return out;
}

inline std::vector<PacketListView> views_of(const std::vector<std::vector<WindowPacket>>& ws) {
    std::vector<PacketListView> v;
    for (const auto& w : ws) v.push_back({w.data(), uint32_t(w.size()), kTestWindowUs});
    return v;
}

}  // namespace flowpic
