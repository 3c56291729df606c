// Windows as they close, for live capture: packets in (in arrival order), closed windows
// out, with the rules of flowpic/windowing.h, so a live run cuts the windows an offline
// run of the same packets cuts (same flow table, same grid, same keep rules).
//
// Time.  The windower's clock is the newest packet time it has seen, or a later time
// given to advance() (live capture: the wall clock, when no packet comes).  A window
// [start, start + window) closes when the clock reaches its end: a packet at or past the
// end, of any flow, or advance() past it.  First-seconds windows (rule 7) close S seconds
// after their sequence's first packet.  A flow's open windows also close when the flow
// table ends it (idle or active timeout, eviction, finish()), as the offline cut of that
// flow does.  Early fractions f (0 < f < 1) give partial windows when the clock reaches
// start + f * window: the packets before that point, if at least min_packets (the span
// rule is for whole windows only), flagged with their fraction; length_us stays the whole
// window, so `fixed` normalisation puts the packets where the whole window will.
//
// Equal to the offline cut (tested on random traffic, tests/test_live.cpp) when packets of
// a flow arrive in time order.  Where they do not: a packet older than the start of its
// sequence's oldest open window (its windows closed already) is counted in late_packets
// and left out; the offline cut sorts the whole flow first and would keep it.
// One rule needs the future: window k > 0 is kept offline only if some packet of the
// sequence is later than its start.  A window closing with every packet exactly at its
// start is held until a later packet of its sequence arrives (then decided) or its flow
// ends (then dropped, as offline).
//
// Memory: the flow table's (bounded by max_flows: the idlest flow is evicted and counted),
// plus per live sequence the packets of its open windows (one window, or 1/(1-overlap) of
// them with overlap) and one entry in the deadline heap.  Nothing grows with the number of
// windows decided.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "flowpic/windowing.h"
#include "pcap/flow_table.h"
#include "pcap/packet.h"

namespace flowpic {

struct LiveWindow {
    Window window;          // as the offline cut makes it (t_us from its start)
    double fraction = 1.0;  // 1: the whole window; < 1: a partial decision at this fraction
    int64_t due_ns = 0;     // clock time at which it became decidable (its end, start + f*window,
                            // or the clock when its flow ended)
    bool partial() const { return fraction < 1.0; }
};

struct LiveWindowStats {
    uint64_t packets = 0;            // packets added
    uint64_t late_packets = 0;       // left out: older than their sequence's open windows
    uint64_t flows = 0;              // flows started
    uint64_t flows_ended = 0;
    uint64_t evicted_flows = 0;      // ended because the table was full (max_flows)
    uint64_t windows_kept = 0;       // whole windows out
    uint64_t partial_windows = 0;    // partial windows out
    uint64_t dropped_few_packets = 0, dropped_short_span = 0;  // as WindowStats
    uint64_t packets_dropped_size = 0;  // > 1500 with SizeRule::kDrop
    uint64_t buffered_packets = 0, peak_buffered_packets = 0;  // held for open windows
};

// Validates the early fractions (each in (0, 1), at most 8); UsageError naming --early.
void check_early_fractions(const std::vector<double>& early);
// "0.25,0.5" -> {0.25, 0.5}, checked; "" -> {}.
std::vector<double> parse_early_fractions(const std::string& text);

class LiveWindower {
public:
    using Sink = std::function<void(LiveWindow&&)>;
    LiveWindower(WindowOptions windows, FlowTableConfig flows, std::vector<double> early, Sink sink);
    ~LiveWindower();
    LiveWindower(const LiveWindower&) = delete;
    LiveWindower& operator=(const LiveWindower&) = delete;

    // Advances the clock to p.ts_ns (windows due by then close first), then tracks p.
    void add(const Packet& p);
    // No packet: windows due at or before now_ns close and flows idle at now_ns end.
    void advance(int64_t now_ns);
    // Ends every flow: windows still open are decided as the offline cut of each flow
    // decides them.  The windower can be used again afterwards.
    void finish();

    // The earliest time at which a window becomes due (INT64_MAX when none): live capture
    // sleeps until then.
    int64_t next_due_ns() const;
    int64_t clock_ns() const { return clock_; }
    size_t live_flows() const { return table_.live_flows(); }
    const LiveWindowStats& stats() const { return stats_; }

private:
    struct Seq;
    struct FlowState;
    struct HeapEntry {
        int64_t due;
        uint64_t flow;
        uint8_t seq;
    };
    void pump(int64_t now);
    void process(FlowState& f, int si, int64_t now);
    void schedule(FlowState& f, int si);
    void unschedule(Seq& s);
    void heap_up(size_t i);
    void heap_down(size_t i);
    void heap_remove(size_t i);
    bool heap_less(size_t a, size_t b) const;
    void heap_swap(size_t a, size_t b);
    Seq& seq_of(const HeapEntry& e);
    void on_flow_end(const FlowRecord& rec);
    void insert(FlowState& f, int si, const FlowPacket& q);
    void close_window(FlowState& f, int si, uint64_t j, int64_t now, bool at_flow_end);
    void emit_partial(FlowState& f, int si, uint64_t j, size_t e, int64_t now);
    void release(Seq& s, size_t n);

    WindowOptions opt_;
    std::vector<double> early_;
    Sink sink_;
    int64_t window_, step_, min_span_;
    std::vector<int64_t> early_ns_;  // llround(f * window), ascending
    FlowTable table_;
    std::unordered_map<uint64_t, std::unique_ptr<FlowState>> flows_;
    std::vector<HeapEntry> heap_;  // min-heap by (due, flow, seq); one entry per scheduled sequence
    int64_t clock_ = INT64_MIN;
    LiveWindowStats stats_;
};

}  // namespace flowpic
