#include "synth/random_windows.h"

#include <algorithm>

#include "core/rng.h"

namespace flowpic {

namespace {

class Draw {
public:
    explicit Draw(uint64_t seed) : s_(seed) {}
    uint64_t next() { return splitmix64(s_); }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    uint64_t range(uint64_t lo, uint64_t hi) { return hi <= lo ? lo : lo + below(hi - lo + 1); }
    double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
    bool chance(double p) { return p > 0 && uniform() < p; }

private:
    uint64_t s_;
};

std::vector<WindowPacket> draw_window(Draw& d, const RandomWindowOptions& o, uint32_t count, uint32_t length) {
    std::vector<uint16_t> hot = o.hot;
    if (hot.empty())
        for (uint32_t i = 0; i < o.hot_count; ++i)
            hot.push_back(i == 0   ? uint16_t(d.range(40, 99))
                          : i == 1 ? uint16_t(d.range(1400, 1500))
                                   : uint16_t(d.range(o.min_size, o.max_size)));
    const uint64_t max_t = o.max_time_us ? o.max_time_us : length ? length - 1 : 0;
    const uint64_t late_hi = uint64_t(length) + length / 20 + 1;
    std::vector<uint32_t> instants;
    if (d.chance(o.ties_share)) {
        instants.resize(d.range(1, std::max<uint32_t>(1, o.instants)));
        for (auto& t : instants) t = uint32_t(d.range(0, max_t));
    }
    std::vector<WindowPacket> w(count);
    for (auto& p : w) {
        if (!instants.empty())
            p.t_us = instants[d.below(instants.size())];
        else if (d.chance(o.late_share))
            p.t_us = uint32_t(std::min<uint64_t>(d.range(length, late_hi), UINT32_MAX));
        else
            p.t_us = uint32_t(d.range(0, max_t));
        const double r = d.uniform();
        if (r < o.oversize_share)
            p.size = uint16_t(d.range(1501, 65535));
        else if (r < o.oversize_share + o.hot_share && !hot.empty())
            p.size = hot[d.below(hot.size())];
        else
            p.size = uint16_t(d.range(o.min_size, o.max_size));
        p.dir = d.chance(o.client_share) ? 1 : 0;
        p.reserved = 0;
    }
    if (o.sorted)
        std::stable_sort(w.begin(), w.end(), [](const WindowPacket& a, const WindowPacket& b) { return a.t_us < b.t_us; });
    return w;
}

}  // namespace

std::vector<PacketListView> RandomWindows::views() const {
    std::vector<PacketListView> v;
    v.reserve(packets.size());
    for (size_t i = 0; i < packets.size(); ++i) v.push_back(view(i));
    return v;
}

RandomWindows random_windows(const RandomWindowOptions& o) {
    Draw d(o.seed);
    RandomWindows out;
    out.packets.reserve(o.windows);
    out.length_us.reserve(o.windows);
    for (size_t i = 0; i < o.windows; ++i) {
        const uint32_t length = o.max_length_us > o.length_us ? uint32_t(d.range(o.length_us, o.max_length_us))
                                                              : o.length_us;
        const uint32_t count = uint32_t(d.range(o.min_packets, std::max(o.min_packets, o.max_packets)));
        out.length_us.push_back(length);
        out.packets.push_back(draw_window(d, o, count, length));
    }
    return out;
}

RandomWindows random_window(const RandomWindowOptions& opts, uint32_t count) {
    RandomWindowOptions o = opts;
    o.windows = 1;
    o.min_packets = o.max_packets = count;
    return random_windows(o);
}

}  // namespace flowpic
