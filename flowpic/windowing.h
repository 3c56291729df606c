// Cutting a finished flow into FlowPic windows (docs/PREP.md has the same rules with
// examples).  The rules, exactly:
//
//  1. Sizes.  A packet's size is its IP length.  Sizes above 1500 are dropped (the
//     FlowPic authors; SizeRule::kDrop, default) or clipped to 1500 (kClip).  Either way
//     they are counted.  This happens first, per flow: a dropped packet does not exist
//     for any later rule (it cannot start a window).
//  2. Views.  FlowView::kUni (the authors, default): each direction is its own flow,
//     giving up to two packet sequences, "uni-fwd" (client->server, dir 1) and "uni-rev"
//     (server->client, dir 0).  FlowView::kBi (the seed): one sequence "bi" with both
//     directions; every packet keeps its direction in WindowPacket::dir either way.
//  3. Order.  Packets are stably sorted by timestamp (captures can step backwards).
//  4. Window starts.  With first/last = the sequence's first/last packet time,
//     window = llround(window_s * 1e9) ns and step = max(1, llround(window * (1 - overlap)))
//     ns, window k starts at first + k*step for k = 0 always, then k = 1, 2, ... while
//     start_k < last.  Window k holds the packets with start_k <= t < start_k + window:
//     a packet exactly at start + window belongs to the next window, not this one.
//     Example: packets every second from 0 to 300 s, 60 s windows: overlap 0 gives 5
//     windows (starts 0, 60, ..., 240; a start at 300 is not < 300); overlap 0.5 gives 10
//     (step 30 s: starts 0, 30, ..., 270).
//  5. Keep rules, checked in this order (the first one failed is the reason counted):
//     (a) at least min_packets packets (default 10), else "too few packets";
//     (b) span = last - first packet time in the window must be > min_span, else "too
//         short".  Default min_span = window * 50/60 (the authors: more than 50 s of a
//         60 s window), scaled with the window; an explicit min_span_s overrides it, and
//         min_span_s = 0 turns the span rule off.
//  6. A kept window stores its packets as WindowPacket {t_us = (t - start) / 1000
//     (floor), size, dir}, sorted by t_us; length_us = window / 1000.
//  7. First seconds (first_s > 0, --first S; tcbench: one sample per flow, its first
//     15 s).  Rules 1-3 and 6 as above; rule 4 becomes: one window per sequence, k = 0
//     only, start = the sequence's first packet (after the size rule and the sort),
//     window = llround(first_s * 1e9) ns, so it holds the packets with
//     t - first < first_s (a packet exactly first_s after the first is left out) and
//     length_us = first_s in us (`--normalize fixed` maps [0, S) onto the time axis).
//     Rule 5: min_packets applies; the span rule's default is off (an explicit
//     min_span_s still applies).  overlap must be 0; window_s is not used.
//
// Streaming (WindowCollector).  Windows come out exactly as a batch cut_windows of the
// whole flow would give them, in the same order (a flow's windows when the flow table ends
// it, fwd before rev), so dataset files are byte-identical; what changes is where a live
// flow's packets wait.  Per sequence (view), packets go through the size rule as they
// arrive and into a *lane*: a time-sorted tail in memory (a packet is inserted after every
// packet with a timestamp <= its own, which is what the stable sort does).  Once a lane
// holds kSpoolRunPackets packets older than reorder_margin behind its newest, those go to
// the spill file (flowpic/packet_spool.h) as one sorted run, and the lane then only takes
// packets not older than the newest one spilled.  A packet older than that (a backward
// step of more than the margin) goes to the first lane that takes it, opening a new lane
// if none does (max_lanes per sequence); past max_lanes it is buffered in memory until the
// flow ends (the fallback, unbounded, counted in overflow_packets()).  When the flow ends,
// each sequence's lanes (spilled runs, then tail) and its fallback buffer (stably sorted)
// are merged, taking the lowest lane on equal timestamps, and the windows are cut from
// that merged stream holding one window's packets at a time.
// Why this is exactly the stable sort: within a lane packets are in stable order (sorted
// insertion, spills are prefixes).  For lanes i < j, a packet p in lane j was refused by
// lane i, i.e. p is older than lane i's newest spilled packet at p's arrival; a packet q
// in lane i with p's timestamp was taken when that bound was <= its timestamp, and the
// bound only grows, so q arrived before p: equal timestamps merge in arrival order.  The
// same holds for the fallback buffer, which comes after every lane.  Window starts depend
// on the sequence's first (= the merged stream's first) and last (= the largest
// timestamp seen) packet only, both known when the flow ends.
// First seconds (rule 7): a packet at or past (the smallest timestamp seen so far in its
// sequence) + window is dropped on arrival, never stored.  That is exact: the smallest
// timestamp only decreases, so the bound only decreases and a dropped packet is past the
// final bound too; packets stored under an older, larger bound and past the final one
// are left out when the window is cut, as the batch cut leaves them out.  A live flow
// then holds at most its first S seconds of packets.
// Memory per live sequence: the lanes' tails (up to kSpoolRunPackets plus the packets of
// the last reorder_margin each) and the fallback buffer; per ended flow, one window at a
// time.  Disk: 16 bytes per spilled packet of a live flow, released as it is read back.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/packet_list.h"
#include "pcap/flow_table.h"
#include "pcap/packet.h"

namespace flowpic {

enum class FlowView : uint8_t { kUni, kBi };
enum class SizeRule : uint8_t { kDrop, kClip };

// Which packets of a flow a window holds.  Values are stored in the dataset file.
enum class DirView : uint8_t { kBi = 0, kUniFwd = 1, kUniRev = 2 };

const char* flow_view_name(FlowView v);   // "uni", "bi"
const char* size_rule_name(SizeRule r);   // "drop", "clip"
const char* dir_view_name(DirView v);     // "bi", "uni-fwd", "uni-rev"
FlowView parse_flow_view(const std::string& s);  // UsageError unless "uni" or "bi"

constexpr uint32_t kMaxPacketSize = 1500;

struct WindowOptions {
    FlowView view = FlowView::kUni;
    double window_s = 60.0;     // 0.001 .. 4294 (t_us and length_us are 32-bit)
    double overlap = 0.0;       // 0 .. 0.9
    uint32_t min_packets = 10;  // >= 1
    double min_span_s = -1.0;   // < 0: the default rule, window * 50/60; 0: off
    SizeRule sizes = SizeRule::kDrop;
    // > 0: rule 7, one window per sequence holding its first first_s seconds (--first;
    // 0.001 .. 4294); window_s and overlap are then not used.  0: sliding windows.
    double first_s = 0.0;

    bool first_seconds() const { return first_s > 0; }
    void validate() const;        // throws UsageError naming the bad option
    int64_t window_ns() const;    // the window length: first_s when set, else window_s
    int64_t step_ns() const;
    int64_t min_span_ns() const;  // the effective value (default rule applied)
    // The settings as a JSON object (text), stored in the dataset so infer can redo them.
    // Without first_s it is what it was before first_s existed (same keys, same bytes).
    std::string to_json() const;
};

// One packet of a flow as the windowing sees it.
struct FlowPacket {
    int64_t ts_ns;
    uint32_t size;  // IP length, before the size rule
    uint8_t dir;    // 1 client->server, 0 server->client
};

struct Window {
    uint64_t flow_id = 0;    // FlowRecord::id within its capture
    FiveTuple tuple;         // client->server orientation, whatever the view
    DirView view = DirView::kBi;
    uint32_t index = 0;      // k: the window's position in its sequence (kept or not)
    int64_t start_ns = 0;    // absolute start time
    uint32_t length_us = 0;  // window length
    std::vector<WindowPacket> packets;
};

struct WindowStats {
    uint64_t flows = 0;               // flows windowed
    uint64_t sequences = 0;           // packet sequences cut (two per flow in uni view at most)
    uint64_t packets = 0;             // packets seen, before the size rule
    uint64_t packets_dropped_size = 0;  // > 1500, dropped (SizeRule::kDrop)
    uint64_t packets_clipped_size = 0;  // > 1500, clipped (SizeRule::kClip)
    uint64_t windows_kept = 0;
    uint64_t dropped_few_packets = 0;   // windows failing min_packets
    uint64_t dropped_short_span = 0;    // windows failing min_span
    uint64_t packets_kept = 0;          // packets in kept windows (overlap counts twice)

    uint64_t windows_dropped() const { return dropped_few_packets + dropped_short_span; }
    void add(const WindowStats& o);
    std::string to_json() const;
};

using WindowSink = std::function<void(Window&&)>;

// Windows one finished flow.  `packets` is consumed (reordered); kept windows go to
// `emit` in order (fwd sequence before rev in the uni view); `stats` is added to.
void cut_windows(const FlowRecord& flow, std::vector<FlowPacket>& packets,
                 const WindowOptions& opt, WindowStats& stats, const WindowSink& emit);

// How WindowCollector keeps live flows (the header comment, "Streaming").  Only memory
// and disk use depend on these, never the windows.
struct StreamOptions {
    int64_t reorder_margin_ns = 1000000000;  // a step back up to this is sorted in memory
    uint32_t run_packets = 255;              // packets per spilled run, 1 .. kSpoolRunPackets
    uint32_t max_lanes = 4;                  // sorted lanes per sequence, >= 1
    std::string spool_dir;                   // "" = $TMPDIR, else /tmp
};

class PacketSpool;

// Gathers packets per live flow and windows each flow when it ends.  Use:
//   WindowCollector col(opt, [&](Window&& w) { writer.add_window(...); });
//   FlowTable table(cfg, [&](const FlowRecord& r) { col.end_flow(r); });
//   for each packet p: col.add(table.add(p), p);
//   table.flush();   // ends the remaining flows through the same callback
// A FlowTable may end flows inside add(), before the new packet is recorded; the
// collector keys by flow id, so that order is fine.
class WindowCollector {
public:
    WindowCollector(WindowOptions opt, WindowSink emit, StreamOptions stream = {});
    ~WindowCollector();
    WindowCollector(const WindowCollector&) = delete;
    WindowCollector& operator=(const WindowCollector&) = delete;

    void add(const FlowHit& hit, const Packet& p);
    void end_flow(const FlowRecord& rec);  // windows and frees the flow (no-op if unknown)

    const WindowStats& stats() const { return stats_; }
    size_t live_flows() const { return flows_.size(); }
    // Packets of live flows held in memory (lane tails and fallback buffers), and on disk.
    uint64_t buffered_packets() const { return buffered_; }
    uint64_t peak_buffered_packets() const { return peak_buffered_; }
    uint64_t spilled_packets() const { return spilled_; }
    uint64_t peak_spool_bytes() const;
    // Packets that arrived more than the reorder margin late (in a second or later lane),
    // and those buffered in memory because every lane refused them (the fallback).
    uint64_t late_packets() const { return late_; }
    uint64_t overflow_packets() const { return overflow_; }

private:
    struct Lane;
    struct Sequence;
    struct Flow;  // per live flow: its size-rule counts and sequences (windowing.cpp)
    void insert(Sequence& seq, const FlowPacket& p);
    void spill(Lane& lane);
    void cut(const FlowRecord& rec, DirView view, Sequence& seq);

    WindowOptions opt_;
    WindowSink emit_;
    StreamOptions sopt_;
    WindowStats stats_;
    std::unique_ptr<PacketSpool> spool_;  // opened on the first spill
    std::unordered_map<uint64_t, std::unique_ptr<Flow>> flows_;
    uint64_t buffered_ = 0, peak_buffered_ = 0, spilled_ = 0, late_ = 0, overflow_ = 0;
};

}  // namespace flowpic
