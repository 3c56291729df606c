// Random windows for the binning suites (CPU fast binning, packets-to-entries): a packet
// list with its window length.
#pragma once
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/packet_list.h"

namespace flowpic {

struct TestWindow {
    std::vector<WindowPacket> packets;
    uint32_t length_us = 0;
    PacketListView view() const { return {packets.data(), uint32_t(packets.size()), length_us}; }
};

// Sizes 40..1500 with extra weight on 1500 and a few above it (dropped); times either
// spread over the window or drawn from a handful of instants (many duplicates); in fixed
// mode some packets fall after the window's end (dropped there).
inline TestWindow random_window(std::mt19937& rng, uint32_t count) {
    TestWindow w;
    w.length_us = 1 + rng() % 60000000;
    const bool few_instants = rng() % 4 == 0;
    std::vector<uint32_t> instants(1 + rng() % 5);
    for (auto& t : instants) t = rng() % (w.length_us + 1);
    for (uint32_t i = 0; i < count; ++i) {
        WindowPacket p{};
        const uint32_t r = rng() % 100;
        p.size = r < 10 ? 1500 : r < 13 ? uint16_t(1501 + rng() % 64000) : uint16_t(40 + rng() % 1461);
        p.t_us = few_instants ? instants[rng() % instants.size()]
                              : uint32_t(rng() % (uint64_t(w.length_us) + w.length_us / 20 + 1));
        p.dir = uint8_t(rng() % 2);
        w.packets.push_back(p);
    }
    std::sort(w.packets.begin(), w.packets.end(),
              [](const WindowPacket& a, const WindowPacket& b) { return a.t_us < b.t_us; });
    return w;
}

}  // namespace flowpic
