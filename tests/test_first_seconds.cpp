// --first S (flowpic/windowing.h, rule 7): one window per flow sequence, its packets less
// than S after the sequence's first; batch cut against a plain oracle of the rule, the
// streaming collector (which drops packets past the bound as they come) against the batch
// cut, the flags' defaults and refusals (apps/window_flags.h), the settings' round trip
// (what infer redoes) and flowpic-prep end to end on a crafted capture.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <pcap.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "apps/window_flags.h"
#include "core/error.h"
#include "flowpic/dataset_file.h"
#include "flowpic/settings.h"
#include "flowpic/windowing.h"
#include "tests/pcap_builder.h"
#include "tests/util.h"
#include "tests/window_oracle.h"

using namespace flowpic;

namespace {

constexpr int64_t kSec = 1000000000;
const int64_t kT0 = 1600000000 * kSec;

FlowRecord record(uint64_t id) {
    FlowRecord r;
    r.id = id;
    r.client.sport = 40000;
    r.client.dport = 443;
    r.client.proto = kProtoUdp;
    r.client.ip_version = 4;
    return r;
}

WindowOptions first_opts(double s, FlowView view = FlowView::kBi, uint32_t min_packets = 1) {
    WindowOptions o;
    o.first_s = s;
    o.view = view;
    o.min_packets = min_packets;
    o.validate();
    return o;
}

std::vector<Window> cut(std::vector<FlowPacket> p, const WindowOptions& o, WindowStats& st, uint64_t id = 1) {
    std::vector<Window> out;
    cut_windows(record(id), p, o, st, [&](Window&& w) { out.push_back(std::move(w)); });
    return out;
}

// Rule 7 as plainly as it reads: size rule, stable sort, per sequence the packets with
// t - first < S, kept if min_packets (and an explicit span rule) hold.
std::vector<Window> oracle(std::vector<FlowPacket> pkts, const WindowOptions& o, WindowStats& st) {
    auto seqs = oracle_sequences(pkts, o, st);
    const int64_t s_ns = std::llround(o.first_s * 1e9);
    std::vector<Window> out;
    for (auto& [view, seq] : seqs) {
        if (seq.empty()) continue;
        const int64_t first = seq.front().ts_ns;
        std::vector<FlowPacket> in;
        for (auto& p : seq)
            if (p.ts_ns - first < s_ns) in.push_back(p);
        if (in.size() < o.min_packets) { st.dropped_few_packets++; continue; }
        if (o.min_span_s > 0 && in.back().ts_ns - in.front().ts_ns <= std::llround(o.min_span_s * 1e9)) {
            st.dropped_short_span++;
            continue;
        }
        Window w;
        w.view = view;
        w.start_ns = first;
        w.length_us = uint32_t(s_ns / 1000);
        for (auto& p : in) w.packets.push_back({uint32_t((p.ts_ns - first) / 1000), uint16_t(p.size), p.dir, 0});
        st.windows_kept++;
        out.push_back(std::move(w));
    }
    return out;
}

void require_same(const std::vector<Window>& got, const std::vector<Window>& want) {
    BOOST_REQUIRE_EQUAL(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST(got[i].index == 0u);
        BOOST_TEST(got[i].start_ns == want[i].start_ns);
        BOOST_TEST(got[i].length_us == want[i].length_us);
        BOOST_TEST(int(got[i].view) == int(want[i].view));
        BOOST_REQUIRE_EQUAL(got[i].packets.size(), want[i].packets.size());
        for (size_t k = 0; k < got[i].packets.size(); ++k) {
            BOOST_TEST(got[i].packets[k].t_us == want[i].packets[k].t_us);
            BOOST_TEST(got[i].packets[k].size == want[i].packets[k].size);
            BOOST_TEST(got[i].packets[k].dir == want[i].packets[k].dir);
        }
    }
}

// A flow of bursts, pauses, steps back (small and large, some before the first packet),
// equal timestamps and sizes above 1500, over about 2 * S.
std::vector<FlowPacket> random_flow(std::mt19937_64& rng, double s) {
    std::vector<FlowPacket> p;
    const int64_t t0 = kT0 + int64_t(rng() % 1000) * kSec;
    int64_t t = t0;
    const int n = 1 + int(rng() % 500);
    const int64_t mean_gap = std::max<int64_t>(1, int64_t(2 * s * 1e9) / n);
    for (int i = 0; i < n; ++i) {
        const unsigned r = rng() % 100;
        if (r < 3) t -= int64_t(rng() % uint64_t(s * 1e9 + 1));  // back, up to S
        else if (r < 5) t = t0 - int64_t(rng() % 3000000000);    // before the first so far
        else if (r < 12) t += 0;                                 // same timestamp
        else t += int64_t(rng() % uint64_t(2 * mean_gap));
        p.push_back({t, uint32_t(rng() % 1700 + 1), uint8_t(rng() % 2)});
    }
    return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(first_seconds)

BOOST_AUTO_TEST_CASE(one_window_of_the_first_seconds_a_packet_at_s_left_out) {
    // 15 s: packets at 0, 1 us before 15 s, exactly 15 s, 16 s; the first is not the first sent.
    std::vector<FlowPacket> p = {{kT0 + 3 * kSec, 300, 0},
                                 {kT0, 100, 1},
                                 {kT0 + 15 * kSec - 1000, 200, 0},
                                 {kT0 + 15 * kSec, 400, 1},
                                 {kT0 + 16 * kSec, 500, 0}};
    WindowStats st;
    auto w = cut(p, first_opts(15), st);
    BOOST_REQUIRE_EQUAL(w.size(), 1u);
    BOOST_TEST(w[0].start_ns == kT0);
    BOOST_TEST(w[0].length_us == 15000000u);
    BOOST_TEST(w[0].index == 0u);
    BOOST_TEST(int(w[0].view) == int(DirView::kBi));
    BOOST_REQUIRE_EQUAL(w[0].packets.size(), 3u);
    BOOST_TEST(w[0].packets[0].t_us == 0u);
    BOOST_TEST(w[0].packets[1].t_us == 3000000u);
    BOOST_TEST(w[0].packets[2].t_us == 14999999u);
    BOOST_TEST(st.windows_kept == 1u);
    BOOST_TEST(st.packets == 5u);
    BOOST_TEST(st.packets_kept == 3u);
    BOOST_TEST(st.sequences == 1u);
    // uni: each direction from its own first packet.
    WindowStats su;
    auto u = cut(p, first_opts(15, FlowView::kUni), su);
    BOOST_REQUIRE_EQUAL(u.size(), 2u);
    BOOST_TEST(int(u[0].view) == int(DirView::kUniFwd));
    BOOST_TEST(u[0].packets.size() == 1u);  // 0 s (15 s is left out)
    BOOST_TEST(int(u[1].view) == int(DirView::kUniRev));
    BOOST_TEST(u[1].start_ns == kT0 + 3 * kSec);
    BOOST_TEST(u[1].packets.size() == 3u);  // 3, 15 - 1 us, 16: all within 15 s of 3 s
}

BOOST_AUTO_TEST_CASE(min_packets_applies_span_rule_off_unless_explicit) {
    std::vector<FlowPacket> p;
    for (int i = 0; i < 12; ++i) p.push_back({kT0 + i * 1000000, 100, 1});  // 11 ms span
    WindowStats st;
    BOOST_TEST(cut(p, first_opts(15, FlowView::kBi, 12), st).size() == 1u);  // no span rule by default
    BOOST_TEST(first_opts(15).min_span_ns() == 0);
    BOOST_TEST(cut(p, first_opts(15, FlowView::kBi, 13), st).empty());
    BOOST_TEST(st.dropped_few_packets == 1u);
    WindowOptions o = first_opts(15, FlowView::kBi, 1);
    o.min_span_s = 0.5;
    BOOST_TEST(cut(p, o, st).empty());
    BOOST_TEST(st.dropped_short_span == 1u);
    // Sliding windows keep their default rule.
    WindowOptions sliding;
    BOOST_TEST(sliding.min_span_ns() == 50 * kSec);
}

BOOST_AUTO_TEST_CASE(a_dropped_oversize_packet_does_not_start_the_window) {
    std::vector<FlowPacket> p = {{kT0, 1600, 1}, {kT0 + 2 * kSec, 100, 1}, {kT0 + 16 * kSec, 100, 0}};
    WindowStats st;
    auto w = cut(p, first_opts(15), st);
    BOOST_REQUIRE_EQUAL(w.size(), 1u);
    BOOST_TEST(w[0].start_ns == kT0 + 2 * kSec);
    BOOST_TEST(w[0].packets.size() == 2u);
    WindowOptions clip = first_opts(15);
    clip.sizes = SizeRule::kClip;
    auto c = cut(p, clip, st);
    BOOST_REQUIRE_EQUAL(c.size(), 1u);
    BOOST_TEST(c[0].start_ns == kT0);
    BOOST_TEST(c[0].packets.size() == 2u);
    BOOST_TEST(c[0].packets[0].size == 1500u);
}

BOOST_AUTO_TEST_CASE(batch_equals_the_oracle_on_random_flows) {
    std::mt19937_64 rng(15);
    size_t windows = 0;
    for (int trial = 0; trial < 300; ++trial) {
        WindowOptions o = first_opts(std::vector<double>{0.5, 1, 2.5, 15, 60}[rng() % 5],
                                     rng() % 2 ? FlowView::kUni : FlowView::kBi, uint32_t(1 + rng() % 20));
        o.sizes = rng() % 2 ? SizeRule::kDrop : SizeRule::kClip;
        if (rng() % 4 == 0) o.min_span_s = 0.2 * o.first_s;
        auto p = random_flow(rng, o.first_s);
        WindowStats got_st, want_st;
        auto got = cut(p, o, got_st);
        require_same(got, oracle(p, o, want_st));
        BOOST_TEST(got_st.windows_kept == want_st.windows_kept);
        BOOST_TEST(got_st.dropped_few_packets == want_st.dropped_few_packets);
        BOOST_TEST(got_st.dropped_short_span == want_st.dropped_short_span);
        BOOST_TEST(got_st.packets_dropped_size == want_st.packets_dropped_size);
        BOOST_TEST(got_st.packets_clipped_size == want_st.packets_clipped_size);
        windows += got.size();
    }
    BOOST_TEST(windows > 200u);
}

// The collector drops packets past the bound on arrival; its windows and stats must be
// the batch cut's, with steps back that move the first packet earlier after packets
// were already dropped or stored under the older bound.
BOOST_AUTO_TEST_CASE(streaming_equals_batch_on_random_interleaved_flows) {
    std::mt19937_64 rng(16);
    size_t windows = 0;
    for (int trial = 0; trial < 200; ++trial) {
        WindowOptions o = first_opts(std::vector<double>{0.5, 1, 2.5, 15}[rng() % 4],
                                     rng() % 2 ? FlowView::kUni : FlowView::kBi, uint32_t(1 + rng() % 12));
        o.sizes = rng() % 2 ? SizeRule::kDrop : SizeRule::kClip;
        StreamOptions so;
        so.run_packets = uint32_t(1 + rng() % 9);
        so.reorder_margin_ns = std::vector<int64_t>{0, 1000, 300000000, kSec}[rng() % 4];
        so.max_lanes = uint32_t(1 + rng() % 3);
        std::vector<Window> got;
        WindowCollector col(o, [&](Window&& w) { got.push_back(std::move(w)); }, so);
        const size_t nflows = 1 + rng() % 4;
        std::vector<std::vector<FlowPacket>> flows;
        size_t total = 0;
        for (size_t f = 0; f < nflows; ++f) {
            flows.push_back(random_flow(rng, o.first_s));
            total += flows.back().size();
        }
        std::vector<size_t> pos(nflows, 0);
        for (size_t done = 0; done < total;) {
            const size_t f = rng() % nflows;
            if (pos[f] == flows[f].size()) continue;
            ++done;
            const FlowPacket& q = flows[f][pos[f]++];
            Packet p;
            p.ts_ns = q.ts_ns;
            p.ip_len = q.size;
            col.add(FlowHit{f, q.dir, kT0, pos[f] == 1}, p);
        }
        for (size_t f = 0; f < nflows; ++f) {
            got.clear();
            WindowStats batch_st;
            auto want = cut(flows[f], o, batch_st, f);
            const WindowStats before = col.stats();
            col.end_flow(record(f));
            require_same(got, want);
            const WindowStats& now = col.stats();
            BOOST_TEST(now.windows_kept - before.windows_kept == batch_st.windows_kept);
            BOOST_TEST(now.dropped_few_packets - before.dropped_few_packets == batch_st.dropped_few_packets);
            BOOST_TEST(now.packets - before.packets == batch_st.packets);
            BOOST_TEST(now.packets_kept - before.packets_kept == batch_st.packets_kept);
            BOOST_TEST(now.sequences - before.sequences == batch_st.sequences);
            BOOST_TEST(now.packets_dropped_size - before.packets_dropped_size == batch_st.packets_dropped_size);
            windows += got.size();
        }
        BOOST_TEST(col.buffered_packets() == 0u);
        BOOST_TEST(col.spilled_packets() == 0u);
    }
    BOOST_TEST(windows > 200u);
}

// A long flow (a packet every 10 ms for 1000 s): only its first 15 s are ever held.
BOOST_AUTO_TEST_CASE(streaming_holds_only_the_first_seconds) {
    WindowOptions o = first_opts(15);
    std::vector<Window> got;
    // A margin longer than the window: nothing spills, so what is held is what was stored.
    StreamOptions so;
    so.reorder_margin_ns = 100 * kSec;
    WindowCollector col(o, [&](Window&& w) { got.push_back(std::move(w)); }, so);
    for (int i = 0; i < 100000; ++i) {
        Packet p;
        p.ts_ns = kT0 + int64_t(i) * 10000000;
        p.ip_len = 100;
        col.add(FlowHit{0, uint8_t(i % 2), kT0, i == 0}, p);
    }
    BOOST_TEST(col.peak_buffered_packets() == 1500u);
    col.end_flow(record(0));
    BOOST_REQUIRE_EQUAL(got.size(), 1u);
    BOOST_TEST(got[0].packets.size() == 1500u);
    BOOST_TEST(col.stats().packets == 100000u);
}

BOOST_AUTO_TEST_CASE(options_validated_and_settings_round_trip) {
    auto bad = [](auto edit) {
        WindowOptions o;
        o.first_s = 15;
        edit(o);
        BOOST_CHECK_THROW(o.validate(), UsageError);
    };
    bad([](WindowOptions& o) { o.overlap = 0.5; });
    bad([](WindowOptions& o) { o.first_s = 0.0001; });
    bad([](WindowOptions& o) { o.first_s = 5000; });
    bad([](WindowOptions& o) { o.first_s = -1; });
    bad([](WindowOptions& o) { o.min_span_s = 16; });
    WindowOptions ok;
    ok.first_s = 15;
    ok.window_s = 4;  // not used with first_s (the span check is against 15 s)
    ok.min_span_s = 10;
    BOOST_CHECK_NO_THROW(ok.validate());
    BOOST_TEST(ok.window_ns() == 15 * kSec);

    // Sliding windows: no first_s key, the keys they always had.
    const nlohmann::json sliding = nlohmann::json::parse(WindowOptions{}.to_json());
    BOOST_TEST(!sliding.contains("first_s"));
    BOOST_TEST(sliding.size() == 8u);
    BOOST_TEST(sliding["min_span_rule"] == "default (window*50/60)");

    // First seconds: recorded, and read back as the same options (infer redoes them).
    PrepSettings s;
    s.windows = first_opts(15);
    s.windows.sizes = SizeRule::kClip;
    s.windows.min_packets = 3;
    const auto back = parse_prep_settings(to_json(s), "x.fpd");
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(back->windows.first_s == 15.0);
    BOOST_TEST(back->windows.min_span_ns() == 0);
    BOOST_TEST(int(back->windows.view) == int(FlowView::kBi));
    BOOST_TEST(back->windows.to_json() == s.windows.to_json());
    BOOST_TEST(same_windowing(*back, s));
    s.windows.min_span_s = 2;  // explicit span rule: kept too
    BOOST_TEST(parse_prep_settings(to_json(s), "x.fpd")->windows.min_span_ns() == 2 * kSec);
    // Settings written before --first existed read as sliding windows.
    PrepSettings old;
    const auto old_back = parse_prep_settings(to_json(old), "x.fpd");
    BOOST_TEST(!old_back->windows.first_seconds());
    BOOST_TEST(old_back->windows.to_json() == old.windows.to_json());
}

BOOST_AUTO_TEST_CASE(flags_default_to_bi_and_refuse_window_and_overlap) {
    auto parse = [](std::vector<std::string> args) {
        CLI::App app;
        WindowFlags wf;
        wf.add_to(app);
        std::reverse(args.begin(), args.end());  // CLI11 takes them last first
        app.parse(args);
        wf.finalize();
        return wf.windows;
    };
    WindowOptions w = parse({"--first", "15"});
    BOOST_TEST(w.first_s == 15.0);
    BOOST_TEST(int(w.view) == int(FlowView::kBi));
    BOOST_TEST(w.min_span_ns() == 0);
    BOOST_TEST(w.window_ns() == 15 * kSec);
    w = parse({"--first", "15", "--flows", "uni", "--min-span", "1", "--min-packets", "4", "--clip-sizes"});
    BOOST_TEST(int(w.view) == int(FlowView::kUni));
    BOOST_TEST(w.min_span_ns() == kSec);
    BOOST_TEST(w.min_packets == 4u);
    BOOST_TEST(int(w.sizes) == int(SizeRule::kClip));
    BOOST_CHECK_THROW(parse({"--first", "15", "--window", "10"}), UsageError);
    BOOST_CHECK_THROW(parse({"--first", "15", "--overlap", "0"}), UsageError);
    // Without --first nothing changes: uni, 60 s, the default span rule.
    w = parse({});
    BOOST_TEST(!w.first_seconds());
    BOOST_TEST(int(w.view) == int(FlowView::kUni));
    BOOST_TEST(w.to_json() == WindowOptions{}.to_json());
}

// flowpic-prep --first 15 on a capture of one UDP flow over 40 s: one bi window of the
// packets before 15 s, its settings in the dataset; --window with --first is exit 2.
BOOST_AUTO_TEST_CASE(prep_end_to_end) {
    using namespace flowpic::testing;
    TempDir d;
    PcapFile f(DLT_EN10MB, 64);
    for (int i = 0; i < 40; ++i) {  // one packet every second, alternating directions
        const bool up = i % 2 == 0;
        L4 l4{17, up ? uint16_t(40000) : uint16_t(5000), up ? uint16_t(5000) : uint16_t(40000), uint32_t(100 + i)};
        const std::string frame = ethernet(0x0800, up ? ipv4(l4) : ipv4(l4, 0xc0a80101, 0x0a000001));
        f.add(kT0 + int64_t(i) * kSec, frame, std::min<int64_t>(64, int64_t(frame.size())), int64_t(frame.size()));
    }
    write_file(d.path + "/a.pcap", f.bytes);
    const std::string out = d.path + "/d.fpd";
    auto r = run_tool("prep", "'" + d.path + "/a.pcap' -o '" + out + "' --label x --first 15 -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    DatasetReader ds(out);
    BOOST_REQUIRE_EQUAL(ds.window_count(), 1u);
    const DatasetWindow w = ds.window(0);
    BOOST_TEST(int(w.prov.view) == int(DirView::kBi));
    BOOST_TEST(w.prov.length_us == 15000000u);
    BOOST_TEST(w.prov.start_ns == kT0);
    BOOST_REQUIRE_EQUAL(w.packets.count, 15u);  // 0 .. 14 s
    BOOST_TEST(w.packets.packets[14].t_us == 14000000u);
    const auto prep = parse_prep_settings(ds.prep_json(), out);
    BOOST_REQUIRE(prep.has_value());
    BOOST_TEST(prep->windows.first_s == 15.0);
    r = run_tool("prep", "'" + d.path + "/a.pcap' -o '" + d.path + "/e.fpd' --label x --first 15 --window 10 -q");
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.err.find("--window") != std::string::npos, r.err);
    BOOST_TEST(!file_exists(d.path + "/e.fpd"));
}

BOOST_AUTO_TEST_SUITE_END()
