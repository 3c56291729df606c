#include "flowpic/windowing.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <deque>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "flowpic/packet_spool.h"

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
    if (std::isnan(first_s) || first_s < 0 || (first_s > 0 && (first_s < 0.001 || first_s > 4294.0)))
        throw UsageError("--first: " + std::to_string(first_s) + " s is not in [0.001, 4294]");
    if (first_seconds()) {
        if (overlap != 0) throw UsageError("--overlap: not with --first (one window per flow)");
    } else {
        if (!(window_s >= 0.001) || window_s > 4294.0)
            throw UsageError("--window: " + std::to_string(window_s) + " s is not in [0.001, 4294]");
        if (!(overlap >= 0) || overlap > 0.9)
            throw UsageError("--overlap: " + std::to_string(overlap) + " is not in [0, 0.9]");
    }
    if (min_packets < 1) throw UsageError("--min-packets: must be at least 1");
    const double window = first_seconds() ? first_s : window_s;
    if (std::isnan(min_span_s) || min_span_s > window)
        throw UsageError("--min-span: " + std::to_string(min_span_s) +
                         " s is longer than the window, no window could be kept");
}

int64_t WindowOptions::window_ns() const { return std::llround((first_seconds() ? first_s : window_s) * 1e9); }

int64_t WindowOptions::step_ns() const {
    return std::max<int64_t>(1, std::llround(double(window_ns()) * (1.0 - overlap)));
}

int64_t WindowOptions::min_span_ns() const {
    if (min_span_s < 0) return first_seconds() ? 0 : window_ns() * 50 / 60;
    return std::llround(min_span_s * 1e9);
}

std::string WindowOptions::to_json() const {
    nlohmann::json j;
    j["flows"] = flow_view_name(view);
    j["window_s"] = first_seconds() ? first_s : window_s;
    j["overlap"] = overlap;
    j["min_packets"] = min_packets;
    j["min_span_s"] = double(min_span_ns()) / 1e9;
    j["min_span_rule"] = min_span_s >= 0 ? "explicit" : first_seconds() ? "default (off with first_s)" : "default (window*50/60)";
    j["sizes"] = size_rule_name(sizes);
    j["max_size"] = kMaxPacketSize;
    if (first_seconds()) j["first_s"] = first_s;  // absent: sliding windows, as before --first existed
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

// A time-sorted sequence, one packet at a time (false at the end).
class PacketSource {
public:
    virtual ~PacketSource() = default;
    virtual bool next(FlowPacket& p) = 0;
};

class VectorSource : public PacketSource {
public:
    explicit VectorSource(const std::vector<FlowPacket>& v) : v_(v) {}
    bool next(FlowPacket& p) override {
        if (i_ == v_.size()) return false;
        p = v_[i_++];
        return true;
    }

private:
    const std::vector<FlowPacket>& v_;
    size_t i_ = 0;
};

// Cuts one time-sorted sequence (rules 4-7 of the header) whose largest timestamp is
// `last`, holding only the current window's packets (and one more) at a time.  With
// first_s only window 0 is cut: the packets after it are never pulled.
void cut_sequence(const FlowRecord& flow, DirView view, PacketSource& src, int64_t last,
                  const WindowOptions& opt, WindowStats& stats, const WindowSink& emit) {
    std::deque<FlowPacket> buf;  // buf[0] is the first packet not before the current start
    FlowPacket p;
    if (!src.next(p)) return;
    buf.push_back(p);
    stats.sequences++;
    bool more = true;
    auto pull = [&] {
        if (more && (more = src.next(p))) buf.push_back(p);
        return more;
    };
    const int64_t window = opt.window_ns(), step = opt.step_ns(), min_span = opt.min_span_ns();
    const int64_t first = buf.front().ts_ns;
    size_t n = 0;  // buf[0, n): the packets of the current window
    for (uint64_t k = 0;; ++k) {
        const int64_t start = first + int64_t(k) * step;
        if (k > 0 && (start >= last || opt.first_seconds())) break;
        const int64_t end = start + window;
        for (;;) {  // drop the packets before this window
            if (buf.empty() && !pull()) break;
            if (buf.front().ts_ns >= start) break;
            buf.pop_front();
            if (n > 0) --n;
        }
        for (;;) {  // take the packets up to its end
            if (n == buf.size() && !pull()) break;
            if (buf[n].ts_ns >= end) break;
            ++n;
        }
        if (n == 0) {
            // A silent stretch: jump to the first window that reaches the next packet and
            // count the empty ones skipped (they fail min_packets >= 1).
            if (buf.empty()) throw std::logic_error("cut_sequence: last is past the sequence");
            const int64_t t = buf.front().ts_ns;  // exists: start < last
            const uint64_t next = uint64_t((t - window - first) / step) + 1;
            stats.dropped_few_packets += next - k;
            k = next - 1;
            continue;
        }
        if (n < opt.min_packets) {
            stats.dropped_few_packets++;
            continue;
        }
        const int64_t span = buf[n - 1].ts_ns - buf[0].ts_ns;
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
            const FlowPacket& q = buf[i];
            w.packets[i] = WindowPacket{uint32_t((q.ts_ns - start) / 1000), uint16_t(q.size), q.dir, 0};
        }
        stats.windows_kept++;
        stats.packets_kept += n;
        emit(std::move(w));
    }
}

// Rule 1 for one packet: false when it is dropped.
bool apply_size_rule(FlowPacket& p, SizeRule rule, uint64_t& dropped, uint64_t& clipped) {
    if (p.size <= kMaxPacketSize) return true;
    if (rule == SizeRule::kDrop) {
        dropped++;
        return false;
    }
    clipped++;
    p.size = kMaxPacketSize;
    return true;
}

bool by_time(const FlowPacket& a, const FlowPacket& b) { return a.ts_ns < b.ts_ns; }

}  // namespace

void cut_windows(const FlowRecord& flow, std::vector<FlowPacket>& packets,
                 const WindowOptions& opt, WindowStats& stats, const WindowSink& emit) {
    stats.flows++;
    stats.packets += packets.size();
    // Rule 1: the size rule, in place.
    size_t kept = 0;
    for (FlowPacket q : packets)
        if (apply_size_rule(q, opt.sizes, stats.packets_dropped_size, stats.packets_clipped_size))
            packets[kept++] = q;
    packets.resize(kept);
    // Rule 3: stable, so equal timestamps keep their arrival order.
    if (!std::is_sorted(packets.begin(), packets.end(), by_time))
        std::stable_sort(packets.begin(), packets.end(), by_time);

    auto cut_one = [&](DirView view, const std::vector<FlowPacket>& seq) {
        if (seq.empty()) return;
        VectorSource src(seq);
        cut_sequence(flow, view, src, seq.back().ts_ns, opt, stats, emit);
    };
    if (opt.view == FlowView::kBi) {
        cut_one(DirView::kBi, packets);
        return;
    }
    // Rule 2, uni view: split by direction (order within each is kept).
    std::vector<FlowPacket> fwd, rev;
    for (const FlowPacket& p : packets) (p.dir ? fwd : rev).push_back(p);
    cut_one(DirView::kUniFwd, fwd);
    cut_one(DirView::kUniRev, rev);
}

// ---- WindowCollector: the streaming form (header comment, "Streaming") ----

// Packets in stable time order: `runs` on disk (linked in the spool), then `tail`.
struct WindowCollector::Lane {
    std::vector<FlowPacket> tail;  // sorted; everything here is >= spilled_max
    int64_t first_run = -1, last_run = -1;
    bool spilled = false;
    int64_t spilled_max = 0;  // the newest packet on disk (valid when spilled)
    uint64_t on_disk = 0;
};

struct WindowCollector::Sequence {
    std::vector<Lane> lanes;
    std::vector<FlowPacket> overflow;  // refused by every lane: in arrival order
    uint64_t count = 0;
    int64_t first = INT64_MAX;  // the smallest timestamp
    int64_t last = INT64_MIN;   // the largest timestamp
};

struct WindowCollector::Flow {
    uint64_t packets = 0, dropped = 0, clipped = 0;
    Sequence seq[2];  // bi: [0]; uni: [0] fwd (dir 1), [1] rev (dir 0)
};

WindowCollector::WindowCollector(WindowOptions opt, WindowSink emit, StreamOptions stream)
    : opt_(opt), emit_(std::move(emit)), sopt_(std::move(stream)) {
    opt_.validate();
    if (sopt_.run_packets < 1 || sopt_.run_packets > kSpoolRunPackets || sopt_.max_lanes < 1 ||
        sopt_.reorder_margin_ns < 0)
        throw std::invalid_argument("WindowCollector: StreamOptions out of range");
}

WindowCollector::~WindowCollector() = default;

uint64_t WindowCollector::peak_spool_bytes() const { return spool_ ? spool_->peak_bytes() : 0; }

void WindowCollector::add(const FlowHit& hit, const Packet& p) {
    std::unique_ptr<Flow>& f = flows_[hit.flow_id];
    if (!f) f = std::make_unique<Flow>();
    f->packets++;
    FlowPacket q{p.ts_ns, p.ip_len, hit.direction};
    if (!apply_size_rule(q, opt_.sizes, f->dropped, f->clipped)) return;
    Sequence& seq = f->seq[opt_.view == FlowView::kUni && !q.dir ? 1 : 0];
    // First seconds: past the window of the earliest packet so far, so past the final
    // window too (the header comment, "Streaming").  first + window cannot overflow:
    // first is a capture time and window <= 4294 s.
    if (opt_.first_seconds() && seq.count > 0 && q.ts_ns >= seq.first && q.ts_ns - seq.first >= opt_.window_ns())
        return;
    insert(seq, q);
}

void WindowCollector::insert(Sequence& seq, const FlowPacket& p) {
    seq.count++;
    seq.first = std::min(seq.first, p.ts_ns);
    seq.last = std::max(seq.last, p.ts_ns);
    peak_buffered_ = std::max(peak_buffered_, ++buffered_);
    for (size_t i = 0;; ++i) {
        if (i == seq.lanes.size()) {
            if (i == sopt_.max_lanes) {  // the fallback: held until the flow ends
                seq.overflow.push_back(p);
                late_++;
                overflow_++;
                return;
            }
            seq.lanes.emplace_back();
        }
        Lane& lane = seq.lanes[i];
        if (lane.spilled && p.ts_ns < lane.spilled_max) continue;  // too late for this lane
        if (i > 0) late_++;
        std::vector<FlowPacket>& t = lane.tail;
        // After every packet with a timestamp <= p's: the stable sort's place for it.
        if (t.empty() || p.ts_ns >= t.back().ts_ns) t.push_back(p);
        else t.insert(std::upper_bound(t.begin(), t.end(), p, by_time), p);
        spill(lane);
        return;
    }
}

// Moves the lane's oldest packets to disk while a whole run of them is older than the
// reorder margin behind the lane's newest.
void WindowCollector::spill(Lane& lane) {
    std::vector<FlowPacket>& t = lane.tail;
    const uint32_t n = sopt_.run_packets;
    if (t.size() < n || t.back().ts_ns < INT64_MIN + sopt_.reorder_margin_ns) return;
    FlowPacket bound{t.back().ts_ns - sopt_.reorder_margin_ns, 0, 0};
    size_t ready = size_t(std::lower_bound(t.begin(), t.end(), bound, by_time) - t.begin());
    if (ready < n) return;
    if (!spool_) spool_ = std::make_unique<PacketSpool>(sopt_.spool_dir);
    size_t done = 0;
    for (; ready - done >= n; done += n) {
        const int64_t at = spool_->append(t.data() + done, n, lane.last_run);
        if (lane.first_run < 0) lane.first_run = at;
        lane.last_run = at;
    }
    lane.spilled = true;
    lane.spilled_max = t[done - 1].ts_ns;
    t.erase(t.begin(), t.begin() + std::ptrdiff_t(done));
    buffered_ -= done;
    spilled_ += done;
    lane.on_disk += done;
}

namespace {

// One lane read back: its runs from the spool, then its tail.
class LaneSource : public PacketSource {
public:
    LaneSource(PacketSpool* spool, int64_t first_run, std::vector<FlowPacket>& tail)
        : spool_(spool), next_run_(first_run), tail_(tail) {}
    bool next(FlowPacket& p) override {
        while (pos_ == cur_->size()) {
            if (next_run_ < 0) {
                if (cur_ == &tail_) return false;
                cur_ = &tail_;
            } else {
                next_run_ = spool_->take(next_run_, run_);
                cur_ = &run_;
            }
            pos_ = 0;
        }
        p = (*cur_)[pos_++];
        return true;
    }

private:
    PacketSpool* spool_;
    int64_t next_run_;
    std::vector<FlowPacket>& tail_;
    std::vector<FlowPacket> run_;
    const std::vector<FlowPacket>* cur_ = &run_;
    size_t pos_ = 0;
};

// The stable merge of several sorted sources: the lowest-numbered on equal timestamps.
class MergeSource : public PacketSource {
public:
    void add(std::unique_ptr<PacketSource> s) {
        FlowPacket p;
        if (s->next(p)) heads_.push_back({std::move(s), p});
    }
    bool next(FlowPacket& p) override {
        if (heads_.empty()) return false;
        size_t best = 0;
        for (size_t i = 1; i < heads_.size(); ++i)
            if (heads_[i].head.ts_ns < heads_[best].head.ts_ns) best = i;
        p = heads_[best].head;
        if (!heads_[best].src->next(heads_[best].head)) heads_.erase(heads_.begin() + std::ptrdiff_t(best));
        return true;
    }

private:
    struct Head {
        std::unique_ptr<PacketSource> src;
        FlowPacket head;
    };
    std::vector<Head> heads_;  // in lane order
};

class OwnedVectorSource : public PacketSource {
public:
    explicit OwnedVectorSource(std::vector<FlowPacket> v) : v_(std::move(v)), src_(v_) {}
    bool next(FlowPacket& p) override { return src_.next(p); }

private:
    std::vector<FlowPacket> v_;
    VectorSource src_;
};

}  // namespace

void WindowCollector::cut(const FlowRecord& rec, DirView view, Sequence& seq) {
    if (seq.count == 0) return;
    MergeSource merged;
    for (Lane& lane : seq.lanes) merged.add(std::make_unique<LaneSource>(spool_.get(), lane.first_run, lane.tail));
    if (!seq.overflow.empty()) {
        std::stable_sort(seq.overflow.begin(), seq.overflow.end(), by_time);
        merged.add(std::make_unique<OwnedVectorSource>(std::move(seq.overflow)));
    }
    cut_sequence(rec, view, merged, seq.last, opt_, stats_, emit_);
}

void WindowCollector::end_flow(const FlowRecord& rec) {
    auto it = flows_.find(rec.id);
    if (it == flows_.end()) return;
    std::unique_ptr<Flow> f = std::move(it->second);
    flows_.erase(it);
    for (const Sequence& s : f->seq) {
        for (const Lane& l : s.lanes) {
            buffered_ -= l.tail.size();
            spilled_ -= l.on_disk;  // all read back (and released) by cut() below
        }
        buffered_ -= s.overflow.size();
    }
    stats_.flows++;
    stats_.packets += f->packets;
    stats_.packets_dropped_size += f->dropped;
    stats_.packets_clipped_size += f->clipped;
    if (opt_.view == FlowView::kBi) {
        cut(rec, DirView::kBi, f->seq[0]);
    } else {
        cut(rec, DirView::kUniFwd, f->seq[0]);
        cut(rec, DirView::kUniRev, f->seq[1]);
    }
    // `f` goes out of scope here: the flow's memory is released.
}

}  // namespace flowpic
