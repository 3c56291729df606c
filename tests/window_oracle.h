// The first rules of flowpic/windowing.h written as plainly as possible, shared by the
// oracles of tests/test_windowing.cpp (sliding windows) and tests/test_first_seconds.cpp
// (--first): the size rule (counted in `st`), the stable sort by time, and the packet
// sequences of the view (bi: one; uni: client->server, then server->client).
#pragma once
#include <algorithm>
#include <utility>
#include <vector>

#include "flowpic/windowing.h"

namespace flowpic {

inline std::vector<std::pair<DirView, std::vector<FlowPacket>>> oracle_sequences(const std::vector<FlowPacket>& pkts,
                                                                                 const WindowOptions& o, WindowStats& st) {
    std::vector<FlowPacket> kept;
    for (FlowPacket p : pkts) {
        if (p.size > 1500) {
            if (o.sizes == SizeRule::kDrop) { st.packets_dropped_size++; continue; }
            st.packets_clipped_size++;
            p.size = 1500;
        }
        kept.push_back(p);
    }
    std::stable_sort(kept.begin(), kept.end(), [](auto& a, auto& b) { return a.ts_ns < b.ts_ns; });
    std::vector<std::pair<DirView, std::vector<FlowPacket>>> seqs;
    if (o.view == FlowView::kBi) {
        seqs.push_back({DirView::kBi, kept});
    } else {
        seqs.push_back({DirView::kUniFwd, {}});
        seqs.push_back({DirView::kUniRev, {}});
        for (auto& p : kept) (p.dir ? seqs[0].second : seqs[1].second).push_back(p);
    }
    return seqs;
}

}  // namespace flowpic
