// Random windows for the binning suites (CPU fast binning, packets-to-entries), drawn by
// synth/random_windows.h: a packet list with its window length.
#pragma once
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "kernels/packet_list.h"
#include "synth/random_windows.h"

namespace flowpic {

struct TestWindow {
    std::vector<WindowPacket> packets;
    uint32_t length_us = 0;
    PacketListView view() const { return {packets.data(), uint32_t(packets.size()), length_us}; }
};

// Window lengths 1 us .. 60 s; sizes 40..1500 with extra weight (10%) on 1500 and 3% above
// it (dropped); a quarter of the windows draw their times from 1..5 instants (many
// duplicates), the others spread them over the window with 5% after its end (dropped in
// fixed mode).
inline RandomWindowOptions binning_window_options(uint64_t seed) {
    RandomWindowOptions o;
    o.length_us = 1;
    o.max_length_us = 60000000;
    o.min_size = 40;
    o.max_size = 1500;
    o.hot = {1500};
    o.hot_share = 0.10;
    o.oversize_share = 0.03;
    o.late_share = 0.05;
    o.ties_share = 0.25;
    o.instants = 5;
    o.seed = seed;
    return o;
}

// One such window of `count` packets, seeded from the caller's generator.
inline TestWindow random_window(std::mt19937& rng, uint32_t count) {
    RandomWindows w = random_window(binning_window_options(rng()), count);
    return TestWindow{std::move(w.packets[0]), w.length_us[0]};
}

}  // namespace flowpic
