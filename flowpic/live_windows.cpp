#include "flowpic/live_windows.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace flowpic {

void check_early_fractions(const std::vector<double>& early) {
    if (early.size() > 8) throw UsageError("--early: at most 8 fractions");
    for (double f : early)
        if (!(f > 0) || !(f < 1))
            throw UsageError("--early: each fraction must be a number > 0 and < 1, not " + std::to_string(f));
}

std::vector<double> parse_early_fractions(const std::string& text) {
    std::vector<double> out;
    if (text.empty()) return out;
    size_t at = 0;
    for (;;) {
        const size_t comma = text.find(',', at);
        const std::string item = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        char* end = nullptr;
        const double v = std::strtod(item.c_str(), &end);
        if (item.empty() || *end != '\0' || !(v > 0) || !(v < 1))
            throw UsageError("--early: each fraction must be a number > 0 and < 1, not '" + item + "'");
        out.push_back(v);
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    check_early_fractions(out);
    return out;
}

// One packet sequence (a view of a flow).  Windows are numbered as in windowing.h (start
// = first + j * step); `next` is the lowest window not closed yet, `hi` the highest that
// holds a packet (activated).  Windows in [next, hi] are open; the ones between that never
// held a packet are empty and fail min_packets as in the offline cut.
struct LiveWindower::Seq {
    bool started = false;
    bool done = false;  // first seconds: its one window is closed
    bool held = false;  // window `next` waits for a later packet (header comment)
    int64_t first = 0, last = INT64_MIN;
    std::vector<FlowPacket> buf;  // [head, end): sorted by time, none before start(next)
    size_t head = 0;
    uint64_t next = 0;
    int64_t hi = -1;
    std::vector<uint8_t> fired;  // per open window next..hi: early fractions done
    size_t heap_pos = SIZE_MAX;
    size_t size() const { return buf.size() - head; }
};

struct LiveWindower::FlowState {
    uint64_t id = 0;
    FiveTuple client;
    Seq seq[2];  // bi: [0]; uni: [0] client->server, [1] server->client
};

LiveWindower::LiveWindower(WindowOptions windows, FlowTableConfig flows, std::vector<double> early, Sink sink)
    : opt_(windows), early_(std::move(early)), sink_(std::move(sink)),
      table_(flows, [this](const FlowRecord& r) { on_flow_end(r); }) {
    opt_.validate();
    check_early_fractions(early_);
    std::sort(early_.begin(), early_.end());
    early_.erase(std::unique(early_.begin(), early_.end()), early_.end());
    window_ = opt_.window_ns();
    step_ = opt_.step_ns();
    min_span_ = opt_.min_span_ns();
    for (double f : early_) early_ns_.push_back(std::llround(f * double(window_)));
}

LiveWindower::~LiveWindower() = default;

// ---- the deadline heap: one entry per sequence with an open window, keyed by its next due
// time; positions live in the sequences so an ended flow's entries leave at once.

bool LiveWindower::heap_less(size_t a, size_t b) const {
    const HeapEntry &x = heap_[a], &y = heap_[b];
    if (x.due != y.due) return x.due < y.due;
    if (x.flow != y.flow) return x.flow < y.flow;
    return x.seq < y.seq;
}

LiveWindower::Seq& LiveWindower::seq_of(const HeapEntry& e) { return flows_.at(e.flow)->seq[e.seq]; }

void LiveWindower::heap_swap(size_t a, size_t b) {
    std::swap(heap_[a], heap_[b]);
    seq_of(heap_[a]).heap_pos = a;
    seq_of(heap_[b]).heap_pos = b;
}

void LiveWindower::heap_up(size_t i) {
    while (i > 0 && heap_less(i, (i - 1) / 2)) {
        heap_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

void LiveWindower::heap_down(size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap_.size() && heap_less(l, m)) m = l;
        if (r < heap_.size() && heap_less(r, m)) m = r;
        if (m == i) return;
        heap_swap(i, m);
        i = m;
    }
}

void LiveWindower::heap_remove(size_t i) {
    seq_of(heap_[i]).heap_pos = SIZE_MAX;
    const size_t last = heap_.size() - 1;
    if (i != last) {
        heap_[i] = heap_[last];
        seq_of(heap_[i]).heap_pos = i;
    }
    heap_.pop_back();
    if (i < heap_.size()) {
        Seq& moved = seq_of(heap_[i]);
        heap_up(i);
        heap_down(moved.heap_pos);
    }
}

void LiveWindower::unschedule(Seq& s) {
    if (s.heap_pos != SIZE_MAX) heap_remove(s.heap_pos);
}

int64_t LiveWindower::next_due_ns() const { return heap_.empty() ? INT64_MAX : heap_[0].due; }

namespace {

// The next event of a sequence: window j's next early fraction, else its end.
struct Event {
    int64_t due = INT64_MAX;
    uint64_t j = 0;
    bool close = false;
};

}  // namespace

void LiveWindower::schedule(FlowState& f, int si) {
    Seq& s = f.seq[si];
    int64_t due = INT64_MAX;
    if (!s.held)
        for (int64_t j = int64_t(s.next); j <= s.hi; ++j) {
            const int64_t start = s.first + j * step_;
            const uint8_t e = s.fired[size_t(j - int64_t(s.next))];
            due = std::min(due, start + (e < early_ns_.size() ? early_ns_[e] : window_));
        }
    if (due == INT64_MAX) {
        unschedule(s);
        return;
    }
    if (s.heap_pos == SIZE_MAX) {
        heap_.push_back({due, f.id, uint8_t(si)});
        s.heap_pos = heap_.size() - 1;
        heap_up(s.heap_pos);
        return;
    }
    const int64_t old = heap_[s.heap_pos].due;
    heap_[s.heap_pos].due = due;
    if (due < old) heap_up(s.heap_pos);
    else heap_down(s.heap_pos);
}

void LiveWindower::process(FlowState& f, int si, int64_t now) {
    Seq& s = f.seq[si];
    for (;;) {
        if (s.held) break;
        Event ev;
        for (int64_t j = int64_t(s.next); j <= s.hi; ++j) {
            const int64_t start = s.first + j * step_;
            const uint8_t e = s.fired[size_t(j - int64_t(s.next))];
            const bool close = e >= early_ns_.size();
            const int64_t due = start + (close ? window_ : early_ns_[e]);
            if (due < ev.due) ev = Event{due, uint64_t(j), close};
        }
        if (ev.due > now) break;
        if (ev.close) {
            close_window(f, si, ev.j, now, false);
        } else {
            const size_t e = s.fired[ev.j - s.next]++;
            emit_partial(f, si, ev.j, e, now);
        }
    }
    schedule(f, si);
}

void LiveWindower::pump(int64_t now) {
    while (!heap_.empty() && heap_[0].due <= now) {
        const HeapEntry top = heap_[0];
        process(*flows_.at(top.flow), top.seq, now);
    }
}

void LiveWindower::release(Seq& s, size_t n) {
    s.head += n;
    stats_.buffered_packets -= n;
    if (s.head == s.buf.size()) {
        s.buf.clear();
        s.head = 0;
    } else if (s.head > 64 && s.head * 2 > s.buf.size()) {
        s.buf.erase(s.buf.begin(), s.buf.begin() + std::ptrdiff_t(s.head));
        s.head = 0;
    }
    if (s.buf.empty() && s.buf.capacity() > 1024) s.buf.shrink_to_fit();  // a burst's memory goes back
}

static DirView view_of(FlowView v, int si) {
    if (v == FlowView::kBi) return DirView::kBi;
    return si == 0 ? DirView::kUniFwd : DirView::kUniRev;
}

void LiveWindower::close_window(FlowState& f, int si, uint64_t j, int64_t now, bool at_flow_end) {
    Seq& s = f.seq[si];
    const int64_t start = s.first + int64_t(j) * step_, end = start + window_;
    if (j > 0 && !(start < s.last) && !at_flow_end) {  // offline keeps it only if a later packet exists
        s.held = true;
        return;
    }
    s.held = false;
    size_t n = 0;
    while (s.head + n < s.buf.size() && s.buf[s.head + n].ts_ns < end) ++n;
    const FlowPacket* p = s.buf.data() + s.head;
    if (n < opt_.min_packets) {
        stats_.dropped_few_packets++;
    } else if (min_span_ > 0 && p[n - 1].ts_ns - p[0].ts_ns <= min_span_) {
        stats_.dropped_short_span++;
    } else {
        LiveWindow lw;
        Window& w = lw.window;
        w.flow_id = f.id;
        w.tuple = f.client;
        w.view = view_of(opt_.view, si);
        w.index = uint32_t(j);
        w.start_ns = start;
        w.length_us = uint32_t(window_ / 1000);
        w.packets.resize(n);
        for (size_t i = 0; i < n; ++i)
            w.packets[i] = WindowPacket{uint32_t((p[i].ts_ns - start) / 1000), uint16_t(p[i].size), p[i].dir, 0};
        lw.due_ns = at_flow_end ? now : end;
        stats_.windows_kept++;
        sink_(std::move(lw));
    }
    s.next = j + 1;
    if (!s.fired.empty()) s.fired.erase(s.fired.begin());
    if (opt_.first_seconds()) {
        s.done = true;
        release(s, s.size());
        return;
    }
    const int64_t next_start = start + step_;
    size_t drop = 0;
    while (s.head + drop < s.buf.size() && s.buf[s.head + drop].ts_ns < next_start) ++drop;
    release(s, drop);
}

void LiveWindower::emit_partial(FlowState& f, int si, uint64_t j, size_t e, int64_t now) {
    (void)now;
    Seq& s = f.seq[si];
    const int64_t start = s.first + int64_t(j) * step_, cut = start + early_ns_[e];
    const FlowPacket* b = s.buf.data() + s.head;
    const FlowPacket* end = s.buf.data() + s.buf.size();
    const FlowPacket* lo = std::partition_point(b, end, [&](const FlowPacket& q) { return q.ts_ns < start; });
    const FlowPacket* hi = std::partition_point(lo, end, [&](const FlowPacket& q) { return q.ts_ns < cut; });
    const size_t n = size_t(hi - lo);
    if (n < opt_.min_packets || n == 0) return;
    LiveWindow lw;
    Window& w = lw.window;
    w.flow_id = f.id;
    w.tuple = f.client;
    w.view = view_of(opt_.view, si);
    w.index = uint32_t(j);
    w.start_ns = start;
    w.length_us = uint32_t(window_ / 1000);
    w.packets.resize(n);
    for (size_t i = 0; i < n; ++i)
        w.packets[i] = WindowPacket{uint32_t((lo[i].ts_ns - start) / 1000), uint16_t(lo[i].size), lo[i].dir, 0};
    lw.fraction = early_[e];
    lw.due_ns = cut;
    stats_.partial_windows++;
    sink_(std::move(lw));
}

void LiveWindower::insert(FlowState& f, int si, const FlowPacket& q) {
    Seq& s = f.seq[si];
    if (!s.started) {
        s.started = true;
        s.first = q.ts_ns;
    }
    if (s.done) return;  // first seconds: the flow's one window is decided
    if (opt_.first_seconds() && q.ts_ns >= s.first && q.ts_ns - s.first >= window_) return;  // past it
    s.last = std::max(s.last, q.ts_ns);
    if (s.held && s.last > s.first + int64_t(s.next) * step_) {  // the held window can be decided now
        close_window(f, si, s.next, clock_, false);
        if (s.done) return;
    }
    if (q.ts_ns < s.first + int64_t(s.next) * step_) {
        stats_.late_packets++;
        return;
    }
    // Sorted insertion after every packet with a timestamp <= q's (the stable sort's place).
    if (s.size() == 0 || q.ts_ns >= s.buf.back().ts_ns) {
        s.buf.push_back(q);
    } else {
        auto at = std::upper_bound(s.buf.begin() + std::ptrdiff_t(s.head), s.buf.end(), q,
                                   [](const FlowPacket& a, const FlowPacket& b) { return a.ts_ns < b.ts_ns; });
        s.buf.insert(at, q);
    }
    stats_.buffered_packets++;
    stats_.peak_buffered_packets = std::max(stats_.peak_buffered_packets, stats_.buffered_packets);
    // The windows holding q: j in [jlo, jhi] (first seconds: window 0 only).
    const int64_t rel = q.ts_ns - s.first;
    const int64_t jhi = opt_.first_seconds() ? 0 : rel / step_;
    int64_t jlo = rel < window_ ? 0 : (rel - window_) / step_ + 1;
    jlo = std::max<int64_t>(jlo, int64_t(s.next));
    if (jhi <= s.hi) return;  // no new window: the schedule stands
    const int64_t from = std::max<int64_t>(s.hi + 1, int64_t(s.next));
    if (from < jlo) {
        // Windows that never held a packet (a silent stretch): closed, failing min_packets.
        // Only reachable with every earlier window closed, so next == from here.
        stats_.dropped_few_packets += uint64_t(jlo - from);
        s.next = uint64_t(jlo);
        s.fired.clear();
    }
    for (int64_t j = std::max(from, jlo); j <= jhi; ++j) s.fired.push_back(0);
    s.hi = jhi;
    schedule(f, si);
}

void LiveWindower::on_flow_end(const FlowRecord& rec) {
    auto it = flows_.find(rec.id);
    if (it == flows_.end()) return;
    FlowState& f = *it->second;
    stats_.flows_ended++;
    if (rec.end == FlowEnd::kEvicted) stats_.evicted_flows++;
    for (int si = 0; si < 2; ++si) {
        Seq& s = f.seq[si];
        unschedule(s);
        if (!s.held && !s.done)
            for (int64_t j = int64_t(s.next); j <= s.hi; ++j) {
                const int64_t start = s.first + j * step_;
                if (j > 0 && !(start < s.last)) break;  // offline: no window starts at or past the last packet
                close_window(f, si, uint64_t(j), clock_, true);
            }
        stats_.buffered_packets -= s.size();
    }
    flows_.erase(it);
}

void LiveWindower::advance(int64_t now_ns) {
    if (now_ns <= clock_) return;
    clock_ = now_ns;
    pump(now_ns);
    table_.advance(now_ns);
}

void LiveWindower::add(const Packet& p) {
    advance(p.ts_ns);
    stats_.packets++;
    const FlowHit hit = table_.add(p);
    std::unique_ptr<FlowState>& slot = flows_[hit.flow_id];
    if (!slot) {
        slot = std::make_unique<FlowState>();
        slot->id = hit.flow_id;
        slot->client = hit.direction ? p.tuple : p.tuple.reversed();
        stats_.flows = table_.flows_started();
    }
    FlowPacket q{p.ts_ns, p.ip_len, hit.direction};
    if (q.size > kMaxPacketSize) {
        if (opt_.sizes == SizeRule::kDrop) {
            stats_.packets_dropped_size++;
            return;
        }
        q.size = kMaxPacketSize;
    }
    insert(*slot, opt_.view == FlowView::kUni && !q.dir ? 1 : 0, q);
    pump(clock_);  // an early fraction already behind the clock
}

void LiveWindower::finish() {
    pump(clock_);
    table_.flush();
}

}  // namespace flowpic
