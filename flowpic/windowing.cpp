#include "flowpic/windowing.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace flowpic {

const char* flow_view_name(FlowView v) { return v == FlowView::kUni ? "uni" : "bi"; }
const char* size_rule_name(SizeRule r) { return r == SizeRule::kDrop ? "drop" : "clip"; }

const char* dir_view_name(DirView v) {
    switch (v) {
        case DirView::kBi: return "bi";
        case DirView::kUniFwd: return "uni-fwd";
        case DirView::kUniRev: return "uni-rev";
    }
    return "?";
}

FlowView parse_flow_view(const std::string& s) {
    if (s == "uni") return FlowView::kUni;
    if (s == "bi") return FlowView::kBi;
    throw UsageError("--flows: '" + s + "' is not uni or bi");
}

void WindowOptions::validate() const {
    // !(x > 0) also catches NaN.
    if (!(window_s >= 0.001) || window_s > 4294.0)
        throw UsageError("--window: " + std::to_string(window_s) + " s is not in [0.001, 4294]");
    if (!(overlap >= 0) || overlap > 0.9)
        throw UsageError("--overlap: " + std::to_string(overlap) + " is not in [0, 0.9]");
    if (min_packets < 1) throw UsageError("--min-packets: must be at least 1");
    if (std::isnan(min_span_s) || min_span_s > window_s)
        throw UsageError("--min-span: " + std::to_string(min_span_s) +
                         " s is longer than the window, no window could be kept");
}

int64_t WindowOptions::window_ns() const { return std::llround(window_s * 1e9); }

int64_t WindowOptions::step_ns() const {
    return std::max<int64_t>(1, std::llround(double(window_ns()) * (1.0 - overlap)));
}

int64_t WindowOptions::min_span_ns() const {
    if (min_span_s < 0) return window_ns() * 50 / 60;
    return std::llround(min_span_s * 1e9);
}

std::string WindowOptions::to_json() const {
    nlohmann::json j;
    j["flows"] = flow_view_name(view);
    j["window_s"] = window_s;
    j["overlap"] = overlap;
    j["min_packets"] = min_packets;
    j["min_span_s"] = double(min_span_ns()) / 1e9;
    j["min_span_rule"] = min_span_s < 0 ? "default (window*50/60)" : "explicit";
    j["sizes"] = size_rule_name(sizes);
    j["max_size"] = kMaxPacketSize;
    return j.dump();
}

void WindowStats::add(const WindowStats& o) {
    flows += o.flows;
    sequences += o.sequences;
    packets += o.packets;
    packets_dropped_size += o.packets_dropped_size;
    packets_clipped_size += o.packets_clipped_size;
    windows_kept += o.windows_kept;
    dropped_few_packets += o.dropped_few_packets;
    dropped_short_span += o.dropped_short_span;
    packets_kept += o.packets_kept;
}

std::string WindowStats::to_json() const {
    nlohmann::json j;
    j["flows"] = flows;
    j["sequences"] = sequences;
    j["packets"] = packets;
    j["packets_dropped_size"] = packets_dropped_size;
    j["packets_clipped_size"] = packets_clipped_size;
    j["windows_kept"] = windows_kept;
    j["windows_dropped_few_packets"] = dropped_few_packets;
    j["windows_dropped_short_span"] = dropped_short_span;
    j["packets_kept"] = packets_kept;
    return j.dump();
}

namespace {

// Cuts one time-sorted sequence (rule 4-6 of the header).
void cut_sequence(const FlowRecord& flow, DirView view, const std::vector<FlowPacket>& seq,
                  const WindowOptions& opt, WindowStats& stats, const WindowSink& emit) {
    if (seq.empty()) return;
    stats.sequences++;
    const int64_t window = opt.window_ns(), step = opt.step_ns(), min_span = opt.min_span_ns();
    const int64_t first = seq.front().ts_ns, last = seq.back().ts_ns;
    size_t lo = 0, hi = 0;  // [lo, hi): packets of the current window; both only move forward
    for (uint64_t k = 0;; ++k) {
        const int64_t start = first + int64_t(k) * step;
        if (k > 0 && start >= last) break;
        const int64_t end = start + window;
        while (lo < seq.size() && seq[lo].ts_ns < start) ++lo;
        if (hi < lo) hi = lo;
        while (hi < seq.size() && seq[hi].ts_ns < end) ++hi;
        const size_t n = hi - lo;
        if (n == 0) {
            // A silent stretch: jump to the first window that reaches the next packet and
            // count the empty ones skipped (they fail min_packets >= 1).
            const int64_t t = seq[lo].ts_ns;  // exists: start < last
            const uint64_t next = uint64_t((t - window - first) / step) + 1;
            stats.dropped_few_packets += next - k;
            k = next - 1;
            continue;
        }
        if (n < opt.min_packets) {
            stats.dropped_few_packets++;
            continue;
        }
        const int64_t span = seq[hi - 1].ts_ns - seq[lo].ts_ns;
        if (min_span > 0 && span <= min_span) {
            stats.dropped_short_span++;
            continue;
        }
        Window w;
        w.flow_id = flow.id;
        w.tuple = flow.client;
        w.view = view;
        w.index = uint32_t(k);
        w.start_ns = start;
        w.length_us = uint32_t(window / 1000);
        w.packets.resize(n);
        for (size_t i = 0; i < n; ++i) {
            const FlowPacket& p = seq[lo + i];
            w.packets[i] = WindowPacket{uint32_t((p.ts_ns - start) / 1000), uint16_t(p.size), p.dir, 0};
        }
        stats.windows_kept++;
        stats.packets_kept += n;
        emit(std::move(w));
    }
}

}  // namespace

void cut_windows(const FlowRecord& flow, std::vector<FlowPacket>& packets,
                 const WindowOptions& opt, WindowStats& stats, const WindowSink& emit) {
    stats.flows++;
    stats.packets += packets.size();
    // Rule 1: the size rule, in place.
    size_t kept = 0;
    for (const FlowPacket& p : packets) {
        FlowPacket q = p;
        if (q.size > kMaxPacketSize) {
            if (opt.sizes == SizeRule::kDrop) {
                stats.packets_dropped_size++;
                continue;
            }
            stats.packets_clipped_size++;
            q.size = kMaxPacketSize;
        }
        packets[kept++] = q;
    }
    packets.resize(kept);
    // Rule 3: stable, so equal timestamps keep their arrival order.
    auto by_time = [](const FlowPacket& a, const FlowPacket& b) { return a.ts_ns < b.ts_ns; };
    if (!std::is_sorted(packets.begin(), packets.end(), by_time))
        std::stable_sort(packets.begin(), packets.end(), by_time);

    if (opt.view == FlowView::kBi) {
        cut_sequence(flow, DirView::kBi, packets, opt, stats, emit);
        return;
    }
    // Rule 2, uni view: split by direction (order within each is kept).
    std::vector<FlowPacket> fwd, rev;
    for (const FlowPacket& p : packets) (p.dir ? fwd : rev).push_back(p);
    cut_sequence(flow, DirView::kUniFwd, fwd, opt, stats, emit);
    cut_sequence(flow, DirView::kUniRev, rev, opt, stats, emit);
}

WindowCollector::WindowCollector(WindowOptions opt, WindowSink emit)
    : opt_(opt), emit_(std::move(emit)) {
    opt_.validate();
}

void WindowCollector::add(const FlowHit& hit, const Packet& p) {
    flows_[hit.flow_id].push_back(FlowPacket{p.ts_ns, p.ip_len, hit.direction});
    peak_buffered_ = std::max(peak_buffered_, ++buffered_);
}

void WindowCollector::end_flow(const FlowRecord& rec) {
    auto it = flows_.find(rec.id);
    if (it == flows_.end()) return;
    std::vector<FlowPacket> packets = std::move(it->second);
    flows_.erase(it);
    buffered_ -= packets.size();
    cut_windows(rec, packets, opt_, stats_, emit_);
    // `packets` goes out of scope here: the flow's memory is released.
}

}  // namespace flowpic
