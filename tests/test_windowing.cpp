#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <random>

#include "core/error.h"
#include "flowpic/windowing.h"
#include "pcap/flow_table.h"
#include "tests/window_oracle.h"

using namespace flowpic;

namespace {

// One window against the reference's: start, index, length, view and every packet.
void check_same_window(const Window& got, const Window& want) {
    BOOST_TEST(got.start_ns == want.start_ns);
    BOOST_TEST(got.index == want.index);
    BOOST_TEST(got.length_us == want.length_us);
    BOOST_TEST(int(got.view) == int(want.view));
    BOOST_REQUIRE_EQUAL(got.packets.size(), want.packets.size());
    for (size_t k = 0; k < got.packets.size(); ++k) {
        BOOST_TEST(got.packets[k].t_us == want.packets[k].t_us);
        BOOST_TEST(got.packets[k].size == want.packets[k].size);
        BOOST_TEST(got.packets[k].dir == want.packets[k].dir);
    }
}

constexpr int64_t kSec = 1000000000;
const int64_t kT0 = 1500000000 * kSec;  // an absolute epoch time: offsets must be relative

FlowRecord flow_record(uint64_t id = 7) {
    FlowRecord r;
    r.id = id;
    r.client.src[15] = 1;
    r.client.dst[15] = 2;
    r.client.sport = 40000;
    r.client.dport = 443;
    r.client.proto = kProtoTcp;
    r.client.ip_version = 4;
    return r;
}

std::vector<Window> cut(std::vector<FlowPacket> pkts, const WindowOptions& opt, WindowStats* st = nullptr) {
    std::vector<Window> out;
    WindowStats local;
    cut_windows(flow_record(), pkts, opt, st ? *st : local, [&](Window&& w) { out.push_back(std::move(w)); });
    return out;
}

WindowOptions bi_opts(double window_s, uint32_t min_packets = 1, double min_span_s = 0) {
    WindowOptions o;
    o.view = FlowView::kBi;
    o.window_s = window_s;
    o.min_packets = min_packets;
    o.min_span_s = min_span_s;
    return o;
}

// One packet per second from 0 to `seconds` inclusive, random sizes <= 1500, random dirs.
std::vector<FlowPacket> every_second(int seconds, std::mt19937& rng) {
    std::vector<FlowPacket> v;
    for (int s = 0; s <= seconds; ++s)
        v.push_back({kT0 + s * kSec, uint32_t(40 + rng() % 1461), uint8_t(rng() % 2)});
    return v;
}

// The rules of flowpic/windowing.h written as plainly as possible: the oracle.
std::vector<Window> reference(std::vector<FlowPacket> pkts, const WindowOptions& o, WindowStats& st) {
    std::vector<Window> out;
    auto seqs = oracle_sequences(pkts, o, st);
    const int64_t window = o.window_ns(), step = o.step_ns(), span_min = o.min_span_ns();
    for (auto& [view, seq] : seqs) {
        if (seq.empty()) continue;
        const int64_t first = seq.front().ts_ns, last = seq.back().ts_ns;
        for (int64_t k = 0; k == 0 || first + k * step < last; ++k) {
            const int64_t start = first + k * step;
            std::vector<FlowPacket> in;
            for (auto& p : seq)
                if (p.ts_ns >= start && p.ts_ns < start + window) in.push_back(p);
            if (in.size() < o.min_packets) { st.dropped_few_packets++; continue; }
            if (span_min > 0 && in.back().ts_ns - in.front().ts_ns <= span_min) { st.dropped_short_span++; continue; }
            Window w;
            w.view = view;
            w.index = uint32_t(k);
            w.start_ns = start;
            w.length_us = uint32_t(window / 1000);
            for (auto& p : in) w.packets.push_back({uint32_t((p.ts_ns - start) / 1000), uint16_t(p.size), p.dir, 0});
            st.windows_kept++;
            out.push_back(std::move(w));
        }
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(windowing)

BOOST_AUTO_TEST_CASE(packet_at_window_end_belongs_to_next_window) {
    std::vector<FlowPacket> p = {{kT0, 100, 1}, {kT0 + 5 * kSec, 200, 0}, {kT0 + 10 * kSec, 300, 1},
                                 {kT0 + 15 * kSec, 400, 0}, {kT0 + 19 * kSec + 999999999, 500, 1}};
    auto w = cut(p, bi_opts(10));
    BOOST_REQUIRE_EQUAL(w.size(), 2u);
    BOOST_TEST(w[0].packets.size() == 2u);
    BOOST_TEST(w[1].packets.size() == 3u);
    BOOST_TEST(w[1].start_ns == kT0 + 10 * kSec);
    BOOST_TEST(w[1].packets[0].t_us == 0u);        // exactly at the edge: offset 0 of window 1
    BOOST_TEST(w[1].packets[0].size == 300);
    BOOST_TEST(w[1].packets[2].t_us == 9999999u);  // microseconds, floored
    BOOST_TEST(w[0].length_us == 10000000u);
    BOOST_TEST(w[0].index == 0u);
    BOOST_TEST(w[1].index == 1u);
}

BOOST_AUTO_TEST_CASE(overlap_counts_on_a_300_second_flow) {
    std::mt19937 rng(11);
    auto flow = every_second(300, rng);
    WindowOptions o = bi_opts(60, 10, -1);  // default span rule: > 50 s
    WindowStats st;
    auto w = cut(flow, o, &st);
    BOOST_TEST(w.size() == 5u);  // starts 0, 60, ..., 240; 300 is not < 300
    BOOST_TEST(st.windows_kept == 5u);
    for (auto& x : w) BOOST_TEST(x.packets.size() == 60u);

    o.overlap = 0.5;  // step 30 s: starts 0, 30, ..., 270; the last spans 30 s only
    WindowStats st2;
    auto w2 = cut(flow, o, &st2);
    BOOST_TEST(w2.size() == 9u);
    BOOST_TEST(st2.dropped_short_span == 1u);
    BOOST_TEST(w2[1].start_ns == kT0 + 30 * kSec);
    BOOST_TEST(w2[1].index == 1u);

    o.overlap = 0.75;  // step 15 s: 20 starts, those from 255 on span < 50 s
    WindowStats st3;
    auto w3 = cut(flow, o, &st3);
    BOOST_TEST(w3.size() + st3.windows_dropped() == 20u);
    BOOST_TEST(w3.size() == 17u);  // starts 0..240
}

BOOST_AUTO_TEST_CASE(min_span_default_explicit_and_off) {
    std::mt19937 rng(5);
    auto flow = every_second(50, rng);  // span exactly 50 s: not more than 50
    WindowStats st;
    BOOST_TEST(cut(flow, bi_opts(60, 10, -1), &st).empty());
    BOOST_TEST(st.dropped_short_span == 1u);
    flow.push_back({kT0 + 50 * kSec + 1000, 100, 1});  // 50.000001 s
    BOOST_TEST(cut(flow, bi_opts(60, 10, -1)).size() == 1u);
    // scaled: a 30 s window needs more than 25 s
    auto short_flow = every_second(25, rng);
    BOOST_TEST(cut(short_flow, bi_opts(30, 10, -1)).empty());
    short_flow.push_back({kT0 + 26 * kSec, 100, 0});
    BOOST_TEST(cut(short_flow, bi_opts(30, 10, -1)).size() == 1u);
    // explicit value overrides; 0 turns the rule off
    auto tiny = every_second(12, rng);
    BOOST_TEST(cut(tiny, bi_opts(60, 10, 11.5)).size() == 1u);
    BOOST_TEST(cut(tiny, bi_opts(60, 10, 12)).empty());
    BOOST_TEST(cut({{kT0, 60, 1}}, bi_opts(60, 1, 0)).size() == 1u);
    BOOST_TEST(bi_opts(60, 1, -1).min_span_ns() == 50 * kSec);
}

BOOST_AUTO_TEST_CASE(min_packets_is_checked_first) {
    std::vector<FlowPacket> p;
    for (int i = 0; i < 9; ++i) p.push_back({kT0 + i * 7 * kSec, 1000, 1});  // 9 packets, 56 s
    WindowStats st;
    BOOST_TEST(cut(p, bi_opts(60, 10, -1), &st).empty());
    BOOST_TEST(st.dropped_few_packets == 1u);
    BOOST_TEST(st.dropped_short_span == 0u);
    p.push_back({kT0 + 57 * kSec, 1000, 0});
    BOOST_TEST(cut(p, bi_opts(60, 10, -1)).size() == 1u);
    // too few AND too short: counted once, as too few
    WindowStats st2;
    cut({{kT0, 10, 1}, {kT0 + kSec, 10, 1}}, bi_opts(60, 10, -1), &st2);
    BOOST_TEST(st2.dropped_few_packets == 1u);
    BOOST_TEST(st2.dropped_short_span == 0u);
}

BOOST_AUTO_TEST_CASE(oversize_packets_dropped_or_clipped_and_counted) {
    std::vector<FlowPacket> p = {{kT0, 9000, 1}, {kT0 + kSec, 1400, 1}, {kT0 + 2 * kSec, 1501, 0},
                                 {kT0 + 3 * kSec, 1500, 0}};
    WindowOptions o = bi_opts(10);
    WindowStats st;
    auto w = cut(p, o, &st);
    BOOST_REQUIRE_EQUAL(w.size(), 1u);
    BOOST_TEST(st.packets_dropped_size == 2u);
    BOOST_TEST(st.packets_clipped_size == 0u);
    BOOST_REQUIRE_EQUAL(w[0].packets.size(), 2u);
    BOOST_TEST(w[0].start_ns == kT0 + kSec);  // a dropped packet cannot start a window
    BOOST_TEST(w[0].packets[0].size == 1400);
    BOOST_TEST(w[0].packets[1].size == 1500);

    o.sizes = SizeRule::kClip;
    WindowStats st2;
    auto c = cut(p, o, &st2);
    BOOST_REQUIRE_EQUAL(c.size(), 1u);
    BOOST_TEST(st2.packets_clipped_size == 2u);
    BOOST_TEST(st2.packets_dropped_size == 0u);
    BOOST_REQUIRE_EQUAL(c[0].packets.size(), 4u);
    BOOST_TEST(c[0].packets[0].size == 1500);
    BOOST_TEST(c[0].packets[2].size == 1500);
}

BOOST_AUTO_TEST_CASE(uni_view_splits_directions_bi_keeps_both) {
    std::vector<FlowPacket> p;
    for (int i = 0; i < 20; ++i) p.push_back({kT0 + i * kSec + (i % 2) * 3 * kSec, uint32_t(100 + i), uint8_t(i % 2)});
    WindowOptions o = bi_opts(60, 5, 0);
    o.view = FlowView::kUni;
    auto u = cut(p, o);
    BOOST_REQUIRE_EQUAL(u.size(), 2u);
    BOOST_TEST(int(u[0].view) == int(DirView::kUniFwd));
    BOOST_TEST(int(u[1].view) == int(DirView::kUniRev));
    BOOST_TEST(u[0].start_ns == kT0 + 4 * kSec);  // the fwd sequence starts at its own first packet
    BOOST_TEST(u[1].start_ns == kT0);
    for (auto& x : u[0].packets) BOOST_TEST(x.dir == 1);
    for (auto& x : u[1].packets) BOOST_TEST(x.dir == 0);
    BOOST_TEST(u[0].packets.size() + u[1].packets.size() == 20u);
    BOOST_TEST(u[0].tuple.dport == 443);  // client->server orientation in both views

    o.view = FlowView::kBi;
    auto b = cut(p, o);
    BOOST_REQUIRE_EQUAL(b.size(), 1u);
    BOOST_TEST(int(b[0].view) == int(DirView::kBi));
    BOOST_TEST(b[0].packets.size() == 20u);
    BOOST_TEST(std::is_sorted(b[0].packets.begin(), b[0].packets.end(),
                              [](auto& a, auto& c) { return a.t_us < c.t_us; }));
}

BOOST_AUTO_TEST_CASE(matches_the_plain_reference_on_random_flows) {
    std::mt19937_64 rng(2024);
    for (int trial = 0; trial < 300; ++trial) {
        WindowOptions o;
        o.view = rng() % 2 ? FlowView::kUni : FlowView::kBi;
        o.window_s = std::vector<double>{1, 2.5, 10, 15, 60}[rng() % 5];
        o.overlap = std::vector<double>{0, 0.25, 0.5, 0.75, 0.9}[rng() % 5];
        o.min_packets = 1 + rng() % 12;
        o.min_span_s = std::vector<double>{-1, 0, 0.3 * o.window_s}[rng() % 3];
        o.sizes = rng() % 2 ? SizeRule::kDrop : SizeRule::kClip;
        o.validate();
        std::vector<FlowPacket> p;
        int64_t t = kT0;
        const int n = 1 + rng() % 400;
        for (int i = 0; i < n; ++i) {
            // bursts, pauses longer than a window, occasional steps back in time
            int64_t gap = rng() % 10 == 0 ? int64_t(rng() % (4 * int64_t(o.window_s) + 1)) * kSec
                                          : int64_t(rng() % 300000000);
            if (rng() % 50 == 0) gap = -int64_t(rng() % 1000000);
            t += gap;
            p.push_back({t, uint32_t(rng() % 2000 + 1), uint8_t(rng() % 2)});
        }
        WindowStats got_st, want_st;
        auto got = cut(p, o, &got_st);
        auto want = reference(p, o, want_st);
        BOOST_REQUIRE_EQUAL(got.size(), want.size());
        BOOST_TEST(got_st.windows_kept == want_st.windows_kept);
        BOOST_TEST(got_st.dropped_few_packets == want_st.dropped_few_packets);
        BOOST_TEST(got_st.dropped_short_span == want_st.dropped_short_span);
        BOOST_TEST(got_st.packets_dropped_size == want_st.packets_dropped_size);
        BOOST_TEST(got_st.packets_clipped_size == want_st.packets_clipped_size);
        BOOST_TEST(got_st.packets == uint64_t(n));
        for (size_t i = 0; i < got.size(); ++i) {
            check_same_window(got[i], want[i]);
        }
    }
}

BOOST_AUTO_TEST_CASE(options_are_validated) {
    auto bad = [](auto edit) {
        WindowOptions o;
        edit(o);
        BOOST_CHECK_THROW(o.validate(), UsageError);
    };
    bad([](WindowOptions& o) { o.window_s = 0; });
    bad([](WindowOptions& o) { o.window_s = -5; });
    bad([](WindowOptions& o) { o.window_s = 5000; });
    bad([](WindowOptions& o) { o.overlap = 0.95; });
    bad([](WindowOptions& o) { o.overlap = -0.1; });
    bad([](WindowOptions& o) { o.min_packets = 0; });
    bad([](WindowOptions& o) { o.min_span_s = 61; });
    WindowOptions ok;
    ok.window_s = 15;
    ok.overlap = 0.9;
    BOOST_CHECK_NO_THROW(ok.validate());
    BOOST_TEST(ok.step_ns() == 1500000000);
    BOOST_CHECK_THROW(parse_flow_view("both"), UsageError);
}

BOOST_AUTO_TEST_CASE(collector_windows_each_flow_when_it_ends_and_frees_it) {
    std::mt19937 rng(3);
    WindowOptions o = bi_opts(10, 3, 0);
    std::vector<Window> got;
    WindowCollector col(o, [&](Window&& w) { got.push_back(std::move(w)); });
    // Three interleaved flows; per-flow copies for the direct computation.
    std::vector<std::vector<FlowPacket>> direct(3);
    for (int i = 0; i < 300; ++i) {
        uint64_t id = rng() % 3;
        Packet p;
        p.ts_ns = kT0 + i * 100000000LL;
        p.ip_len = 40 + rng() % 1400;
        FlowHit hit{id, uint8_t(rng() % 2), kT0, false};
        col.add(hit, p);
        direct[id].push_back({p.ts_ns, p.ip_len, hit.direction});
    }
    BOOST_TEST(col.live_flows() == 3u);
    BOOST_TEST(col.buffered_packets() == 300u);
    for (uint64_t id = 0; id < 3; ++id) {
        size_t before = got.size();
        FlowRecord r = flow_record(id);
        col.end_flow(r);
        BOOST_TEST(col.live_flows() == 2 - id);
        std::vector<Window> want;
        WindowStats st;
        cut_windows(r, direct[id], o, st, [&](Window&& w) { want.push_back(std::move(w)); });
        BOOST_REQUIRE_EQUAL(got.size() - before, want.size());
        for (size_t k = 0; k < want.size(); ++k) {
            BOOST_TEST(got[before + k].flow_id == id);
            BOOST_TEST(got[before + k].packets.size() == want[k].packets.size());
        }
    }
    BOOST_TEST(col.buffered_packets() == 0u);
    BOOST_TEST(col.peak_buffered_packets() == 300u);
    BOOST_TEST(col.stats().flows == 3u);
    col.end_flow(flow_record(99));  // unknown flow: nothing happens
    BOOST_TEST(col.stats().flows == 3u);
}

BOOST_AUTO_TEST_CASE(collector_with_a_flow_table) {
    std::vector<Window> got;
    WindowCollector col(bi_opts(10, 2, 0), [&](Window&& w) { got.push_back(std::move(w)); });
    FlowTableConfig cfg;
    cfg.idle_timeout_s = 5;
    FlowTable table(cfg, [&](const FlowRecord& r) { col.end_flow(r); });
    Packet a, b;
    a.tuple.src[15] = 1; a.tuple.dst[15] = 2; a.tuple.sport = 1000; a.tuple.dport = 80;
    a.tuple.proto = kProtoTcp; a.tuple.ip_version = 4;
    b.tuple = a.tuple.reversed();
    for (int i = 0; i < 40; ++i) {
        Packet& p = i % 2 ? b : a;
        p.ts_ns = kT0 + i * 250000000LL;  // 10 s of packets, then a long pause
        p.ip_len = 100 + i;
        col.add(table.add(p), p);
    }
    BOOST_TEST(col.live_flows() == 1u);
    a.ts_ns = kT0 + 100 * kSec;  // idle timeout: the first flow ends, a new one starts
    col.add(table.add(a), a);
    table.flush();
    BOOST_TEST(col.live_flows() == 0u);
    BOOST_REQUIRE(!got.empty());
    BOOST_TEST(got[0].packets.size() == 40u);
    BOOST_TEST(got[0].tuple.sport == 1000);
    BOOST_TEST(int(got[0].packets[0].dir) == 1);
    BOOST_TEST(int(got[0].packets[1].dir) == 0);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- streaming: WindowCollector against the plain reference ----

namespace {

void require_same_windows(const std::vector<Window>& got, const std::vector<Window>& want, uint64_t flow_id) {
    BOOST_REQUIRE_EQUAL(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST(got[i].flow_id == flow_id);
        check_same_window(got[i], want[i]);
    }
}

// A random flow: bursts, pauses past a window, jitter, steps back (small, past the
// margin, before the flow's first packet) and runs of equal timestamps.
std::vector<FlowPacket> random_flow(std::mt19937_64& rng, double window_s) {
    std::vector<FlowPacket> p;
    const int64_t t0 = kT0 + int64_t(rng() % 1000) * kSec;
    int64_t t = t0;
    const int n = 1 + rng() % 600;
    for (int i = 0; i < n; ++i) {
        const unsigned r = rng() % 100;
        if (r < 5) t += int64_t(rng() % (3 * int64_t(window_s) + 2)) * kSec;  // a pause
        else if (r < 10) t -= int64_t(rng() % 2000000000);                   // back up to 2 s
        else if (r < 12) t -= int64_t(rng() % (2 * int64_t(window_s) + 2)) * kSec;  // far back
        else if (r < 13) t = t0 - int64_t(rng() % 5000000000);               // before the first
        else if (r < 20) t += 0;                                               // same timestamp
        else t += int64_t(rng() % 200000000);
        p.push_back({t, uint32_t(rng() % 1700 + 1), uint8_t(rng() % 2)});
    }
    return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(windowing_streaming)

BOOST_AUTO_TEST_CASE(streaming_equals_the_reference_on_random_interleaved_flows) {
    std::mt19937_64 rng(77);
    uint64_t late = 0, overflow = 0, spilled = 0, windows = 0;
    for (int trial = 0; trial < 250; ++trial) {
        WindowOptions o;
        o.view = rng() % 2 ? FlowView::kUni : FlowView::kBi;
        o.window_s = std::vector<double>{1, 2.5, 10, 15, 60}[rng() % 5];
        o.overlap = std::vector<double>{0, 0.25, 0.5, 0.75, 0.9}[rng() % 5];
        o.min_packets = 1 + rng() % 12;
        o.min_span_s = std::vector<double>{-1, 0, 0.3 * o.window_s}[rng() % 3];
        o.sizes = rng() % 2 ? SizeRule::kDrop : SizeRule::kClip;
        StreamOptions so;  // small runs and margins, few lanes: every path runs often
        so.run_packets = 1 + rng() % 9;
        so.reorder_margin_ns = std::vector<int64_t>{0, 1000, 300000000, kSec, 3 * kSec}[rng() % 5];
        so.max_lanes = 1 + rng() % 4;
        std::vector<Window> got;
        WindowCollector col(o, [&](Window&& w) { got.push_back(std::move(w)); }, so);

        const size_t nflows = 1 + rng() % 4;
        std::vector<std::vector<FlowPacket>> flows;
        for (size_t f = 0; f < nflows; ++f) flows.push_back(random_flow(rng, o.window_s));
        size_t total = 0;
        for (auto& f : flows) total += f.size();
        std::vector<size_t> pos(nflows, 0);  // interleaved, each flow in its own order
        for (size_t done = 0; done < total;) {
            size_t f = rng() % nflows;
            if (pos[f] == flows[f].size()) continue;
            ++done;
            const FlowPacket& q = flows[f][pos[f]++];
            Packet p;
            p.ts_ns = q.ts_ns;
            p.ip_len = q.size;
            col.add(FlowHit{f, q.dir, kT0, pos[f] == 1}, p);
        }
        spilled += col.spilled_packets();
        std::vector<size_t> order(nflows);
        for (size_t f = 0; f < nflows; ++f) order[f] = f;
        std::shuffle(order.begin(), order.end(), rng);
        for (size_t f : order) {
            got.clear();
            WindowStats want_st, batch_st;
            auto want = reference(flows[f], o, want_st);
            std::vector<FlowPacket> copy = flows[f];
            cut_windows(flow_record(f), copy, o, batch_st, [](Window&&) {});
            const WindowStats before = col.stats();
            col.end_flow(flow_record(f));
            require_same_windows(got, want, f);
            const WindowStats& now = col.stats();
            BOOST_TEST(now.windows_kept - before.windows_kept == want_st.windows_kept);
            BOOST_TEST(now.dropped_few_packets - before.dropped_few_packets == want_st.dropped_few_packets);
            BOOST_TEST(now.dropped_short_span - before.dropped_short_span == want_st.dropped_short_span);
            BOOST_TEST(now.packets_dropped_size - before.packets_dropped_size == want_st.packets_dropped_size);
            BOOST_TEST(now.packets_clipped_size - before.packets_clipped_size == want_st.packets_clipped_size);
            BOOST_TEST(now.sequences - before.sequences == batch_st.sequences);
            BOOST_TEST(now.packets - before.packets == flows[f].size());
            BOOST_TEST(now.packets_kept - before.packets_kept == batch_st.packets_kept);
            windows += got.size();
        }
        BOOST_TEST(col.live_flows() == 0u);
        BOOST_TEST(col.buffered_packets() == 0u);
        BOOST_TEST(col.spilled_packets() == 0u);
        late += col.late_packets();
        overflow += col.overflow_packets();
    }
    // The paths under test did run.
    BOOST_TEST(spilled > 10000u);
    BOOST_TEST(late > 1000u);
    BOOST_TEST(overflow > 100u);
    BOOST_TEST(windows > 1000u);
}

// One long flow with jitter: packets every 10 ms for 2000 s (200,000), each direction.
BOOST_AUTO_TEST_CASE(memory_stays_bounded_on_a_long_flow) {
    std::mt19937_64 rng(5);
    for (FlowView view : {FlowView::kBi, FlowView::kUni}) {
        WindowOptions o;
        o.view = view;
        std::vector<Window> got;
        WindowCollector col(o, [&](Window&& w) { got.push_back(std::move(w)); });
        std::vector<FlowPacket> all;
        uint64_t peak_spilled = 0;
        for (int i = 0; i < 200000; ++i) {
            // steps back of up to 30 ms now and then: inside the 1 s reorder margin
            int64_t t = kT0 + int64_t(i) * 10000000 - (rng() % 8 == 0 ? int64_t(rng() % 30000000) : 0);
            FlowPacket q{t, uint32_t(60 + rng() % 1441), uint8_t(rng() % 2)};
            all.push_back(q);
            Packet p;
            p.ts_ns = q.ts_ns;
            p.ip_len = q.size;
            col.add(FlowHit{3, q.dir, kT0, i == 0}, p);
            peak_spilled = std::max(peak_spilled, col.spilled_packets());
        }
        // Held in memory per lane: < 255 ready to spill plus the last second (100 packets).
        const uint64_t lanes = view == FlowView::kUni ? 2 : 1;
        BOOST_TEST(col.peak_buffered_packets() <= lanes * (255 + 110));
        BOOST_TEST(peak_spilled >= 200000u - lanes * (255 + 110));
        BOOST_TEST(col.late_packets() == 0u);
        BOOST_TEST(col.peak_spool_bytes() <= (200000 / 255 + 2) * 4096u);
        col.end_flow(flow_record(3));
        WindowStats st;
        require_same_windows(got, reference(all, o, st), 3);
        BOOST_TEST(got.size() == (view == FlowView::kUni ? 66u : 33u));
        BOOST_TEST(col.spilled_packets() == 0u);
    }
}

// A capture that is two captures end to end: the flow's clock jumps back an hour once.
// The second half gets a lane of its own: still bounded, nothing in the fallback.
BOOST_AUTO_TEST_CASE(one_large_step_back_takes_a_second_lane_not_the_fallback) {
    std::mt19937_64 rng(8);
    WindowOptions o = bi_opts(60, 10, -1);
    std::vector<Window> got;
    WindowCollector col(o, [&](Window&& w) { got.push_back(std::move(w)); });
    std::vector<FlowPacket> all;
    for (int half = 0; half < 2; ++half)
        for (int i = 0; i < 50000; ++i) {
            FlowPacket q{kT0 + (half ? 0 : 3600 * kSec) + int64_t(i) * 20000000 + int64_t(rng() % 1000),
                         uint32_t(60 + rng() % 1441), uint8_t(rng() % 2)};
            all.push_back(q);
            Packet p;
            p.ts_ns = q.ts_ns;
            p.ip_len = q.size;
            col.add(FlowHit{0, q.dir, kT0, false}, p);
        }
    BOOST_TEST(col.peak_buffered_packets() <= 2 * (255 + 60));
    BOOST_TEST(col.late_packets() == 50000u);
    BOOST_TEST(col.overflow_packets() == 0u);
    col.end_flow(flow_record(0));
    WindowStats st;
    require_same_windows(got, reference(all, o, st), 0);
}

BOOST_AUTO_TEST_CASE(an_unusable_spool_directory_is_one_input_error) {
    const std::string dir = (std::filesystem::temp_directory_path() /
                             ("flowpic-no-such-dir-" + std::to_string(std::random_device{}()))).string();
    StreamOptions so;
    so.spool_dir = dir;  // never created
    so.run_packets = 4;
    so.reorder_margin_ns = 0;
    WindowCollector col(bi_opts(10), [](Window&&) {}, so);
    Packet p;
    p.ip_len = 100;
    try {
        for (int i = 0; i < 10; ++i) {
            p.ts_ns = kT0 + i * kSec;
            col.add(FlowHit{0, 1, kT0, i == 0}, p);
        }
        BOOST_FAIL("no error from a missing spool directory");
    } catch (const InputError& e) {
        BOOST_TEST(std::string(e.what()).find(dir) == 0u);
        BOOST_TEST(std::string(e.what()).find("TMPDIR") != std::string::npos);
    }
    BOOST_TEST(!std::filesystem::exists(dir));
}

BOOST_AUTO_TEST_SUITE_END()
