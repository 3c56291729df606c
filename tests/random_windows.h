// FlowPic-like packet lists for the whole-net tests: per window, `packets` to 2x`packets`
// packets with sorted times in a 15 s window, half of them on two "hot" sizes (ACKs and
// near-MTU segments), both directions.  Never empty, never all-zero images.
#pragma once
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/packet_list.h"

namespace flowpic {

constexpr uint32_t kTestWindowUs = 15000000;

inline std::vector<std::vector<WindowPacket>> random_windows(size_t n, int packets, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::vector<WindowPacket>> out(n);
    for (auto& w : out) {
        const uint16_t hot[2] = {uint16_t(40 + rng() % 100), uint16_t(1300 + rng() % 201)};
        w.resize(size_t(packets) + rng() % size_t(packets));
        for (auto& p : w) {
            p.t_us = uint32_t(rng() % kTestWindowUs);
            p.size = rng() % 2 ? hot[rng() % 2] : uint16_t(rng() % 1601);  // some above 1500: dropped
            p.dir = uint8_t(rng() & 1);
            p.reserved = 0;
        }
        std::sort(w.begin(), w.end(), [](const WindowPacket& a, const WindowPacket& b) { return a.t_us < b.t_us; });
    }
    return out;
}

inline std::vector<PacketListView> views_of(const std::vector<std::vector<WindowPacket>>& ws) {
    std::vector<PacketListView> v;
    for (const auto& w : ws) v.push_back({w.data(), uint32_t(w.size()), kTestWindowUs});
    return v;
}

}  // namespace flowpic
