// Live classification (issue 15).
// live_windows: the incremental windower against the offline path (FlowTable +
//   WindowCollector, what flowpic-prep and flowpic-infer on captures run) on random
//   interleaved traffic with random windowing: the same windows, the same counts, each
//   whole window out once the clock passed its end (or its flow ended), partial windows
//   equal to the whole window's packets before the fraction, bounded state.
// live_cli: flowpic-infer --stream - fed by tests/pcap_replay.py at 10x the recorded pace
//   gives the offline run's decisions, each before the stream ends; a stream cut
//   mid-record, SIGTERM and bad flags end cleanly; --live on a veth pair inside the
//   test's own network namespace (root only; skipped with a message otherwise) gives the
//   decisions an offline run of the packets it saw gives, and an interface deleted
//   mid-run ends the run with a summary.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "core/error.h"
#include "flowpic/live_windows.h"
#include "flowpic/windowing.h"
#include "nn/model_file.h"
#include "pcap/flow_table.h"
#include "tests/pcap_builder.h"
#include "tests/util.h"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

// ---- random traffic ----

struct Traffic {
    std::vector<Packet> packets;  // in arrival order
};

// `flows` conversations over `seconds`, packets at whole microseconds (so partial cuts
// can be checked from t_us exactly), bursts and silences, sizes over 1500 now and then;
// `shuffle_ns` > 0 lets packets step back up to that much.
Traffic random_traffic(uint64_t seed, int flows, double seconds, int64_t shuffle_ns = 0) {
    std::mt19937_64 rng(seed);
    std::vector<Packet> all;
    const int64_t t0 = 1700000000LL * 1000000000;
    for (int f = 0; f < flows; ++f) {
        FiveTuple a;
        a.ip_version = 4;
        a.src[10] = a.src[11] = 0xff;
        a.dst[10] = a.dst[11] = 0xff;
        a.src[15] = uint8_t(1 + f % 200);
        a.src[14] = uint8_t(f / 200);
        a.dst[15] = 9;
        a.sport = uint16_t(30000 + f);
        a.dport = f % 3 ? 443 : 53;
        a.proto = f % 2 ? kProtoTcp : kProtoUdp;
        const double rate = std::uniform_real_distribution<double>(5, 200)(rng);
        int64_t t = t0 + int64_t(std::uniform_real_distribution<double>(0, seconds * 0.6)(rng) * 1e9);
        const int64_t end = t0 + int64_t(seconds * 1e9);
        while (t < end) {
            double gap = std::exponential_distribution<double>(rate)(rng);
            if (rng() % 50 == 0) gap += std::uniform_real_distribution<double>(0, seconds / 3)(rng);  // silence
            t += int64_t(gap * 1e9) / 1000 * 1000;
            if (rng() % 20 == 0) t += 0;  // equal timestamps now and then
            Packet p;
            p.ts_ns = t;
            const bool fwd = rng() % 3 != 0;
            p.tuple = fwd ? a : a.reversed();
            p.ip_len = uint32_t(rng() % 30 == 0 ? 1501 + rng() % 100 : 40 + rng() % 1460);
            all.push_back(p);
        }
    }
    std::stable_sort(all.begin(), all.end(), [](const Packet& x, const Packet& y) { return x.ts_ns < y.ts_ns; });
    if (shuffle_ns > 0)  // local disorder: swap neighbours within the allowance
        for (size_t i = 1; i < all.size(); ++i)
            if (rng() % 4 == 0 && all[i].ts_ns - all[i - 1].ts_ns < shuffle_ns) std::swap(all[i], all[i - 1]);
    return Traffic{all};
}

using WindowKey = std::tuple<uint64_t, int, uint32_t>;  // flow, view, index

struct Cut {
    std::map<WindowKey, Window> windows;
    WindowStats stats;
};

// The offline path: the flow table ends flows, the collector cuts each as it ends.
Cut offline(const Traffic& t, const WindowOptions& w, const FlowTableConfig& fc) {
    Cut c;
    {
        WindowCollector col(w, [&](Window&& x) {
            const WindowKey k{x.flow_id, int(x.view), x.index};
            c.windows.emplace(k, std::move(x));
        });
        FlowTable table(fc, [&](const FlowRecord& r) { col.end_flow(r); });
        for (const Packet& p : t.packets) col.add(table.add(p), p);
        table.flush();
        c.stats = col.stats();
    }
    return c;
}

bool same_packets(const Window& a, const Window& b) {
    if (a.packets.size() != b.packets.size()) return false;
    for (size_t i = 0; i < a.packets.size(); ++i)
        if (a.packets[i].t_us != b.packets[i].t_us || a.packets[i].size != b.packets[i].size ||
            a.packets[i].dir != b.packets[i].dir)
            return false;
    return true;
}

struct LiveRun {
    std::map<WindowKey, Window> windows;
    std::vector<LiveWindow> partials;
    LiveWindowStats stats;
    uint64_t early_out = 0;  // windows out before their due time (must stay 0)
    uint64_t at_finish = 0;  // whole windows that came out of finish()
};

LiveRun live(const Traffic& t, const WindowOptions& w, const FlowTableConfig& fc, const std::vector<double>& early) {
    LiveRun r;
    bool finishing = false;
    LiveWindower* self = nullptr;
    LiveWindower win(w, fc, early, [&](LiveWindow&& x) {
        if (self->clock_ns() < x.due_ns) r.early_out++;
        if (x.partial()) {
            r.partials.push_back(std::move(x));
            return;
        }
        r.at_finish += finishing;
        const WindowKey k{x.window.flow_id, int(x.window.view), x.window.index};
        BOOST_TEST(r.windows.count(k) == 0u);
        r.windows.emplace(k, std::move(x.window));
    });
    self = &win;
    for (const Packet& p : t.packets) win.add(p);
    finishing = true;
    win.finish();
    r.stats = win.stats();
    return r;
}

WindowOptions random_options(std::mt19937_64& rng) {
    WindowOptions w;
    w.view = rng() % 2 ? FlowView::kUni : FlowView::kBi;
    w.sizes = rng() % 2 ? SizeRule::kDrop : SizeRule::kClip;
    w.min_packets = uint32_t(1 + rng() % 12);
    switch (rng() % 3) {
        case 0: w.min_span_s = -1; break;
        case 1: w.min_span_s = 0; break;
        default: w.min_span_s = 0.1; break;
    }
    if (rng() % 3 == 0) {
        w.first_s = 0.5 + double(rng() % 20) / 10;
    } else {
        w.window_s = 0.3 + double(rng() % 30) / 10;
        w.overlap = double(rng() % 10) / 10;
    }
    return w;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(live_windows)

BOOST_AUTO_TEST_CASE(random_traffic_gives_the_offline_windows_each_once_its_end_has_passed) {
    std::mt19937_64 rng(11);
    uint64_t total = 0, dropped = 0, evicted = 0;
    for (int round = 0; round < 40; ++round) {
        const WindowOptions w = random_options(rng);
        FlowTableConfig fc;
        fc.idle_timeout_s = rng() % 2 ? 120 : 0.5 + double(rng() % 20) / 10;
        fc.active_timeout_s = rng() % 2 ? 3600 : 2 + double(rng() % 4);
        fc.max_flows = rng() % 3 ? 1000 : 3 + rng() % 5;
        const Traffic t = random_traffic(100 + round, 1 + int(rng() % 12), 3 + double(rng() % 8));
        BOOST_TEST_CONTEXT("round " << round << ": " << w.to_json() << " idle " << fc.idle_timeout_s << " active "
                                    << fc.active_timeout_s << " max_flows " << fc.max_flows) {
            const Cut off = offline(t, w, fc);
            const LiveRun on = live(t, w, fc, {});
            BOOST_TEST(on.windows.size() == off.windows.size());
            for (const auto& [k, x] : off.windows) {
                auto it = on.windows.find(k);
                BOOST_TEST_REQUIRE((it != on.windows.end()), "window missing live: flow " << std::get<0>(k) << " view "
                                                                                         << std::get<1>(k) << " index "
                                                                                         << std::get<2>(k));
                BOOST_TEST(it->second.start_ns == x.start_ns);
                BOOST_TEST(it->second.length_us == x.length_us);
                BOOST_TEST((it->second.tuple == x.tuple));
                BOOST_TEST(same_packets(it->second, x));
            }
            BOOST_TEST(on.stats.windows_kept == off.stats.windows_kept);
            BOOST_TEST(on.stats.dropped_few_packets == off.stats.dropped_few_packets);
            BOOST_TEST(on.stats.dropped_short_span == off.stats.dropped_short_span);
            BOOST_TEST(on.stats.packets_dropped_size == (w.sizes == SizeRule::kDrop ? off.stats.packets_dropped_size : 0u));
            BOOST_TEST(on.stats.late_packets == 0u);
            BOOST_TEST(on.early_out == 0u);
            BOOST_TEST(on.stats.buffered_packets == 0u);  // everything released after finish()
            total += off.windows.size();
            dropped += off.stats.windows_dropped();
            evicted += on.stats.evicted_flows;
        }
    }
    BOOST_TEST_MESSAGE("live_windows: " << total << " windows equal to the offline cut, " << dropped
                                        << " dropped by the keep rules, " << evicted << " flows evicted");
    BOOST_TEST(total > 200u);  // the comparison is not vacuous
    BOOST_TEST(dropped > 20u);
    BOOST_TEST(evicted > 0u);
}

BOOST_AUTO_TEST_CASE(windows_close_by_the_clock_not_at_the_end_of_input) {
    // A trailing packet of another flow, well after everything: every whole window is
    // out before finish(), none waits for the input to end.
    std::mt19937_64 rng(5);
    for (int round = 0; round < 10; ++round) {
        WindowOptions w = random_options(rng);
        FlowTableConfig fc;
        Traffic t = random_traffic(300 + round, 6, 4);
        Packet tail = t.packets.back();
        tail.ts_ns += 10000000000LL;
        tail.tuple.sport = 1;
        t.packets.push_back(tail);
        const LiveRun on = live(t, w, fc, {});
        BOOST_TEST(on.windows.size() == offline(t, w, fc).windows.size());
        BOOST_TEST(on.at_finish <= 1u);  // the tail's own flow (one packet) at most
        BOOST_TEST(on.windows.size() > on.at_finish);
    }
}

BOOST_AUTO_TEST_CASE(partial_windows_hold_the_whole_windows_packets_before_the_fraction) {
    std::mt19937_64 rng(7);
    uint64_t checked = 0;
    for (int round = 0; round < 20; ++round) {
        WindowOptions w = random_options(rng);
        const std::vector<double> early = {0.25, 0.5};
        FlowTableConfig fc;
        const Traffic t = random_traffic(500 + round, 5, 5);
        // The whole windows with every keep rule off: each partial is a prefix of one.
        WindowOptions all = w;
        all.min_packets = 1;
        all.min_span_s = 0;
        const Cut whole = offline(t, all, fc);
        const LiveRun on = live(t, w, fc, early);
        BOOST_TEST(on.early_out == 0u);
        for (const LiveWindow& p : on.partials) {
            const Window& x = p.window;
            auto it = whole.windows.find(WindowKey{x.flow_id, int(x.view), x.index});
            BOOST_TEST_REQUIRE((it != whole.windows.end()));
            const int64_t cut = std::llround(p.fraction * double(w.window_ns()));
            Window prefix = it->second;
            prefix.packets.erase(std::remove_if(prefix.packets.begin(), prefix.packets.end(),
                                                [&](const WindowPacket& q) { return int64_t(q.t_us) * 1000 >= cut; }),
                                 prefix.packets.end());
            BOOST_TEST(same_packets(x, prefix));
            BOOST_TEST(x.packets.size() >= w.min_packets);
            BOOST_TEST(x.length_us == it->second.length_us);
            BOOST_TEST(p.due_ns == x.start_ns + cut);
            ++checked;
        }
        // The live cut is unchanged by the partial decisions.
        BOOST_TEST(on.windows.size() == offline(t, w, fc).windows.size());
    }
    BOOST_TEST(checked > 50u);
}

BOOST_AUTO_TEST_CASE(small_steps_back_are_sorted_in_and_older_packets_are_counted_late) {
    WindowOptions w;
    w.window_s = 2;
    w.min_packets = 3;
    w.min_span_s = 0;
    FlowTableConfig fc;
    // Disorder within 1 ms on 2 s windows: only a packet stepping back over a window end
    // can come after its window closed; count those and compare the rest.
    const Traffic t = random_traffic(42, 8, 10, 1000000);
    const Cut off = offline(t, w, fc);
    const LiveRun on = live(t, w, fc, {});
    size_t same = 0;
    for (const auto& [k, x] : off.windows) {
        auto it = on.windows.find(k);
        if (it != on.windows.end() && same_packets(it->second, x)) ++same;
    }
    BOOST_TEST_MESSAGE("disorder: " << same << " of " << off.windows.size() << " windows equal, "
                                    << on.stats.late_packets << " late packets");
    BOOST_TEST(off.windows.size() > 20u);
    BOOST_TEST(same + 2 * on.stats.late_packets >= off.windows.size());  // a late packet changes at most two windows
    BOOST_TEST(on.stats.late_packets < t.packets.size() / 50);
}

BOOST_AUTO_TEST_CASE(state_stays_bounded_by_the_flow_cap) {
    WindowOptions w;
    w.window_s = 1;
    w.min_packets = 1;
    FlowTableConfig fc;
    fc.max_flows = 16;
    const Traffic t = random_traffic(9, 200, 6);
    size_t peak_flows = 0;
    LiveWindower win(w, fc, {0.5}, [](LiveWindow&&) {});
    for (const Packet& p : t.packets) {
        win.add(p);
        peak_flows = std::max(peak_flows, win.live_flows());
    }
    BOOST_TEST(peak_flows <= 16u);
    BOOST_TEST(win.stats().evicted_flows > 100u);
    BOOST_TEST(win.stats().flows == win.stats().flows_ended + win.live_flows());
    win.finish();
    BOOST_TEST(win.live_flows() == 0u);
    BOOST_TEST(win.stats().buffered_packets == 0u);
    BOOST_TEST(win.next_due_ns() == INT64_MAX);  // no deadline left behind by ended flows
}

BOOST_AUTO_TEST_CASE(bad_early_fractions_are_refused) {
    for (double f : {0.0, 1.0, -0.5, 1.5, std::nan("")})
        BOOST_CHECK_THROW(LiveWindower w(WindowOptions{}, FlowTableConfig{}, {f}, [](LiveWindow&&) {}), UsageError);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- the command line ----

namespace {

std::string q(const std::string& s) { return "'" + s + "'"; }

// A capture of random flows (Ethernet, IPv4, TCP and UDP), frames cut at 96 bytes, plus a
// trailing packet of its own flow `tail_s` after the rest, whose time closes every window.
std::string write_capture(const std::string& path, uint64_t seed, int flows, double seconds, double tail_s) {
    Traffic t = random_traffic(seed, flows, seconds);
    PcapFile f(1, 96);
    auto frame = [](const Packet& p) {
        L4 l4;
        l4.proto = p.tuple.proto;
        l4.sport = p.tuple.sport;
        l4.dport = p.tuple.dport;
        const uint32_t hdr = 20 + (l4.proto == kProtoTcp ? 20 : 8);
        l4.payload = p.ip_len > hdr + 1400 ? 1400 : p.ip_len > hdr ? p.ip_len - hdr : 0;
        auto v4 = [](const std::array<uint8_t, 16>& a) {
            return uint32_t(a[12]) << 24 | uint32_t(a[13]) << 16 | uint32_t(a[14]) << 8 | a[15];
        };
        return ethernet(0x0800, ipv4(l4, v4(p.tuple.src) | 0x0a000000, v4(p.tuple.dst) | 0x0a000000));
    };
    for (const Packet& p : t.packets) {
        const std::string fr = frame(p);
        f.add(p.ts_ns, fr, std::min<int64_t>(96, int64_t(fr.size())));
    }
    if (tail_s > 0) {
        Packet p = t.packets.back();
        p.ts_ns += int64_t(tail_s * 1e9);
        p.tuple.sport = 9;
        p.tuple.dport = 9;
        const std::string fr = frame(p);
        f.add(p.ts_ns, fr, std::min<int64_t>(96, int64_t(fr.size())));
    }
    write_file(path, f.bytes);
    return path;
}

// An untrained LeNet (decisions need not be right, only equal) whose prep metadata fixes
// the windowing.
std::string write_model(const std::string& path, const WindowOptions& w) {
    Network net(NetSpec{Arch::kLeNet, 32, 1, 3});
    net.init_glorot(3);
    ModelSettings s;
    BinningOptions b;
    b.resolution = 32;
    b.normalize = Normalize::fixed;
    s.binning = b;
    PrepSettings prep;
    prep.windows = w;
    s.prep = prep;
    save_model(path, net, {"chat", "video", "voip"}, s);
    return path;
}

using Row = std::vector<std::string>;

std::vector<Row> csv(const std::string& text) {
    std::vector<Row> rows;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        Row f;
        std::istringstream ls(line);
        for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
        rows.push_back(f);
    }
    return rows;
}

// Decisions as the offline CSV spells them: proto,src,sport,dst,dport,view,window_start,
// packets,class,p_... (offline: from column 1; live: columns 1-8, then class and the
// probabilities, whole decisions only).
std::multiset<std::string> offline_decisions(const std::string& model, const std::string& capture) {
    auto r = run_tool("infer", "--model " + q(model) + " " + q(capture) + " -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    std::multiset<std::string> out;
    auto rows = csv(r.out);
    for (size_t i = 1; i < rows.size(); ++i) {
        std::string k;
        for (size_t j = 1; j < rows[i].size(); ++j) k += rows[i][j] + ",";
        out.insert(k);
    }
    return out;
}

std::multiset<std::string> live_decisions(const std::vector<Row>& rows, size_t* partial = nullptr) {
    std::multiset<std::string> out;
    BOOST_TEST_REQUIRE(!rows.empty());
    const Row& h = rows[0];
    BOOST_TEST_REQUIRE(h.size() >= 14u);
    BOOST_TEST(h[0] == "time");
    BOOST_TEST(h[9] == "partial");
    BOOST_TEST(h.back() == "latency_ms");
    for (size_t i = 1; i < rows.size(); ++i) {
        const Row& r = rows[i];
        BOOST_TEST_REQUIRE(r.size() == h.size());
        if (r[9] == "1") {
            if (partial) ++*partial;
            continue;
        }
        std::string k;
        for (size_t j = 1; j <= 8; ++j) k += r[j] + ",";
        for (size_t j = 11; j + 1 < r.size(); ++j) k += r[j] + ",";
        out.insert(k);
        BOOST_TEST(std::stod(r.back()) >= 0);
    }
    return out;
}

double steady_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Fixture {
    TempDir d;
    std::string sliding, first, fast, cap;
    size_t cap_packets = 0;
    Fixture() {
        WindowOptions s;
        s.window_s = 1;
        s.overlap = 0.5;
        s.min_packets = 5;
        sliding = write_model(d.path + "/sliding.safetensors", s);
        WindowOptions f;
        f.first_s = 1.5;
        f.min_packets = 3;
        f.view = FlowView::kBi;
        first = write_model(d.path + "/first.safetensors", f);
        // For --live replays at 10x: windows of the compressed time.
        WindowOptions l;
        l.window_s = 0.2;
        l.overlap = 0.5;
        l.min_packets = 3;
        l.min_span_s = 0.05;
        fast = write_model(d.path + "/fast.safetensors", l);
        cap = write_capture(d.path + "/cap.pcap", 77, 10, 4, 3);
        // Records in the capture (24-byte header, then 16-byte record headers).
        const std::string b = read_file(cap);
        for (size_t at = 24; at + 16 <= b.size(); ++cap_packets) {
            uint32_t caplen;
            std::memcpy(&caplen, b.data() + at + 8, 4);
            at += 16 + caplen;
        }
    }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

// Runs `cmd` (a shell pipeline) and stamps each line of its stdout with steady_now().
std::vector<std::pair<double, std::string>> stamped_lines(const std::string& cmd) {
    std::vector<std::pair<double, std::string>> lines;
    FILE* p = popen(cmd.c_str(), "r");
    BOOST_TEST_REQUIRE(p != nullptr);
    char buf[65536];
    while (std::fgets(buf, sizeof buf, p)) lines.emplace_back(steady_now(), buf);
    BOOST_TEST(pclose(p) == 0);
    return lines;
}

std::string replay() { return "/usr/bin/python3 tests/pcap_replay.py"; }

bool wait_for(const std::function<bool()>& ok, double seconds) {
    const double until = steady_now() + seconds;
    while (steady_now() < until) {
        if (ok()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return ok();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(live_cli)

BOOST_AUTO_TEST_CASE(stream_at_ten_times_the_pace_gives_the_offline_decisions_before_the_end) {
    Fixture& f = fixture();
    for (const std::string& model : {f.sliding, f.first}) {
        BOOST_TEST_CONTEXT(model) {
            const std::string done = f.d.path + "/done";
            std::remove(done.c_str());
            auto lines = stamped_lines(replay() + " --speed 10 --done-file " + q(done) + " " + q(f.cap) + " | " +
                                       bin_dir() + "/flowpic-infer --model " + q(model) + " --stream - -q 2>" +
                                       q(f.d.path + "/err"));
            const double end = std::stod(read_file(done));
            std::string text;
            size_t before_end = 0;
            for (size_t i = 1; i < lines.size(); ++i) before_end += lines[i].first < end;
            for (const auto& l : lines) text += l.second;
            const auto live = live_decisions(csv(text));
            const auto off = offline_decisions(model, f.cap);
            BOOST_TEST(live.size() > 5u);
            BOOST_TEST((live == off), "live and offline decisions differ:\n" << text.substr(0, 2000));
            BOOST_TEST(before_end == lines.size() - 1, before_end << " of " << lines.size() - 1 << " before the end");
            BOOST_TEST(read_file(f.d.path + "/err").empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(early_decisions_come_flagged_before_the_whole_window) {
    Fixture& f = fixture();
    auto r = run_tool("infer", "--model " + q(f.sliding) + " --stream - --early 0.5 --json -q", f.cap);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    std::istringstream in(r.out);
    std::map<std::string, double> partial_at;  // flow, view, start -> line number
    size_t n = 0, partial = 0, finals_after_partial = 0;
    nlohmann::json summary;
    for (std::string line; std::getline(in, line); ++n) {
        auto j = nlohmann::json::parse(line);
        if (j.contains("summary")) {
            summary = j["summary"];
            continue;
        }
        const std::string key = j["src"].get<std::string>() + j["sport"].dump() + j["view"].get<std::string>() +
                                j["window_start"].dump();
        if (j["partial"].get<bool>()) {
            BOOST_TEST(j["fraction"].get<double>() == 0.5);
            partial_at[key] = double(n);
            ++partial;
        } else if (partial_at.count(key)) {
            ++finals_after_partial;
        }
    }
    BOOST_TEST(partial > 5u);
    BOOST_TEST(finals_after_partial > 0u);
    BOOST_TEST(summary["partial_decisions"].get<size_t>() == partial);
    BOOST_TEST(summary["decisions"].get<size_t>() == n - 1);
}

BOOST_AUTO_TEST_CASE(a_stream_cut_inside_a_record_ends_with_a_warning_and_the_decisions_so_far) {
    Fixture& f = fixture();
    const std::string cut = f.d.path + "/cut.pcap";
    std::string bytes = read_file(f.cap);
    write_file(cut, bytes.substr(0, bytes.size() - 30));
    auto r = run_tool("infer", "--model " + q(f.sliding) + " --stream -", cut);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST(r.err.find("cut short") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("summary:") != std::string::npos, r.err);
    BOOST_TEST((live_decisions(csv(r.out)) == offline_decisions(f.sliding, cut)));
}

BOOST_AUTO_TEST_CASE(sigterm_and_sigint_stop_a_quiet_stream_with_every_decision_and_a_summary) {
    Fixture& f = fixture();
    for (const char* sig : {"TERM", "INT"}) {
        BOOST_TEST_CONTEXT(sig) {
            const std::string dir = f.d.path + "/sig" + sig;
            std::system(("mkdir -p " + q(dir)).c_str());
            // The writer goes quiet after the capture (--hold) without closing the pipe.
            const std::string cmd = "(" + replay() +
                                    " --speed 50 --hold 20 --done-file " + q(dir + "/done") + " " + q(f.cap) + " | " +
                                    bin_dir() + "/flowpic-infer --model " + q(f.sliding) + " --stream - --json >" +
                                    q(dir + "/out") + " 2>" + q(dir + "/err") + " & echo $! >" + q(dir + "/pid") +
                                    "; wait $!; echo $? >" + q(dir + "/rc")+ ") >/dev/null 2>&1 &";
            BOOST_TEST_REQUIRE(std::system(cmd.c_str()) == 0);
            BOOST_TEST_REQUIRE(wait_for([&] { return file_exists(dir + "/done") && file_exists(dir + "/pid"); }, 10));
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            const int pid = std::stoi(read_file(dir + "/pid"));
            const double t0 = steady_now();
            BOOST_TEST_REQUIRE(std::system(("kill -" + std::string(sig) + " " + std::to_string(pid)).c_str()) == 0);
            BOOST_TEST_REQUIRE(wait_for([&] { return !read_file(dir + "/rc").empty(); }, 10));
            BOOST_TEST(steady_now() - t0 < 3.0);  // promptly, though the writer is still there
            BOOST_TEST(std::stoi(read_file(dir + "/rc")) == 0, read_file(dir + "/err"));
            const std::string err = read_file(dir + "/err");
            BOOST_TEST(err.find("summary:") != std::string::npos, err);
            BOOST_TEST(err.find("warning") == std::string::npos, err);
            // Every window is decided: the flows end at the stop.
            std::istringstream in(read_file(dir + "/out"));
            size_t n = 0;
            bool summary = false;
            for (std::string line; std::getline(in, line);) {
                auto j = nlohmann::json::parse(line);
                if (j.contains("summary")) summary = true;
                else ++n;
            }
            BOOST_TEST(summary);
            BOOST_TEST(n == offline_decisions(f.sliding, f.cap).size());
        }
    }
}

BOOST_AUTO_TEST_CASE(bad_flags_and_inputs_are_named) {
    Fixture& f = fixture();
    const std::string m = "--model " + q(f.sliding);
    struct Case {
        std::string args, stdin_file;
        int code;
        std::string says;
    };
    const std::string notcap = f.d.path + "/not.pcap";
    write_file(notcap, "hello, this is not a capture\n");
    for (const Case& c : std::vector<Case>{
             {m + " --stream x", "", 2, "--stream reads standard input"},
             {m + " --stream - --filter tcp", "", 2, "--filter is for --live"},
             {m + " --early 0.5 " + q(f.cap), "", 2, "--early is for --live and --stream"},
             {m + " --stream - --early 1.5", "", 2, "--early"},
             {m + " --stream - --live eth0", "", 2, "exactly one input"},
             {m + " --stream -", notcap, 1, "<stdin>"},
             {m + " --live flowpic-no-such-if0", "", 1, "flowpic-no-such-if0"},
             {m + " --stream - --window 5", f.cap, 2, "--override-prep"},
         }) {
        BOOST_TEST_CONTEXT(c.args) {
            auto r = run_tool("infer", c.args, c.stdin_file);
            BOOST_TEST(r.exit_code == c.code, r.err);
            BOOST_TEST(r.err.find(c.says) != std::string::npos, r.err);
            BOOST_TEST(count_lines(r.err) == 1u, r.err);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

// ---- live capture on a veth pair in a namespace of the test's own ----

namespace {

// A network namespace holding a veth pair (va <-> vb, both up); removed, with the pair,
// when this goes.  ok() is false where namespaces cannot be made (not root, a container
// without the capability): the tests then skip and say why.
struct VethNamespace {
    std::string name = "flowpic-live-" + std::to_string(getpid());
    bool ok_ = false;
    std::string why;
    VethNamespace() {
        if (geteuid() != 0) {
            why = "not root";
            return;
        }
        if (std::system("command -v ip >/dev/null 2>&1") != 0) {
            why = "no ip command (iproute2)";
            return;
        }
        if (std::system(("ip netns add " + name + " 2>/dev/null").c_str()) != 0) {
            why = "ip netns add failed (no permission for network namespaces here)";
            return;
        }
        const std::string n = "ip -n " + name;
        ok_ = std::system((n + " link add va type veth peer name vb && " + n + " link set va up && " + n +
                           " link set vb up && " + n + " link set lo up").c_str()) == 0;
        if (!ok_) why = "cannot create a veth pair in the namespace";
    }
    ~VethNamespace() { std::system(("ip netns del " + name + " 2>/dev/null").c_str()); }
    bool ok() const { return ok_; }
    std::string exec() const { return "ip netns exec " + name + " "; }
};

bool have_tcpreplay() { return std::system("command -v tcpreplay >/dev/null 2>&1") == 0; }

// Starts flowpic-infer --live vb in the namespace in the background; files in dir.
void start_live(const VethNamespace& ns, const std::string& dir, const std::string& args) {
    std::system(("mkdir -p " + q(dir)).c_str());
    const std::string cmd = "(" + ns.exec() + bin_dir() + "/flowpic-infer " + args + " --live vb >" + q(dir + "/out") +
                            " 2>" + q(dir + "/err") + " & echo $! >" + q(dir + "/pid") + "; wait $!; echo $? >" +
                            q(dir + "/rc") + ") >/dev/null 2>&1 &";
    BOOST_TEST_REQUIRE(std::system(cmd.c_str()) == 0);
    BOOST_TEST_REQUIRE(wait_for([&] { return read_file(dir + "/err").find("classifying") != std::string::npos; }, 10),
                       read_file(dir + "/err"));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(live_veth)

BOOST_AUTO_TEST_CASE(live_decisions_equal_the_offline_run_of_the_packets_seen) {
    VethNamespace ns;
    if (!ns.ok()) {
        BOOST_TEST_MESSAGE("skipped: " << ns.why);
        return;
    }
    if (!have_tcpreplay()) {
        BOOST_TEST_MESSAGE("skipped: no tcpreplay (Debian package tcpreplay)");
        return;
    }
    Fixture& f = fixture();
    const std::string dir = f.d.path + "/veth";
    start_live(ns, dir, "--model " + q(f.fast) + " --save-packets " + q(dir + "/seen.pcap") + " --grace 0.05");
    // 10x the recorded pace: 7 s of capture in 0.7 s.
    BOOST_TEST_REQUIRE(std::system((ns.exec() + "tcpreplay -q -i va --multiplier 10 " + q(f.cap) + " >/dev/null 2>&1")
                                       .c_str()) == 0);
    // Every window ends within 0.2 s of its flow's last packet: by then the wall clock
    // closed them all.
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    const std::string before = read_file(dir + "/out");
    const int pid = std::stoi(read_file(dir + "/pid"));
    BOOST_TEST_REQUIRE(kill(pid, SIGINT) == 0);
    BOOST_TEST_REQUIRE(wait_for([&] { return !read_file(dir + "/rc").empty(); }, 10));
    const std::string err = read_file(dir + "/err");
    BOOST_TEST(std::stoi(read_file(dir + "/rc")) == 0, err);
    BOOST_TEST(err.find("summary:") != std::string::npos, err);
    BOOST_TEST(err.find("dropped by libpcap") != std::string::npos, err);
    const std::string out = read_file(dir + "/out");
    const auto live = live_decisions(csv(out));
    const auto off = offline_decisions(f.fast, dir + "/seen.pcap");
    BOOST_TEST(live.size() > 10u);
    BOOST_TEST((live == off), out.substr(0, 1500));
    BOOST_TEST(count_lines(before) == count_lines(out), "decisions made only at the stop");
    // Every packet replayed arrived, and only those (the namespace's own chatter, if any,
    // is not TCP/UDP).
    const size_t at = err.find("summary: ");
    BOOST_TEST_REQUIRE(at != std::string::npos);
    BOOST_TEST(std::stoul(err.substr(at + 9)) == f.cap_packets, err);
}

BOOST_AUTO_TEST_CASE(an_interface_deleted_mid_run_ends_it_with_a_summary) {
    VethNamespace ns;
    if (!ns.ok()) {
        BOOST_TEST_MESSAGE("skipped: " << ns.why);
        return;
    }
    Fixture& f = fixture();
    const std::string dir = f.d.path + "/gone";
    start_live(ns, dir, "--model " + q(f.fast) + " --json");
    if (have_tcpreplay())
        std::system((ns.exec() + "tcpreplay -q -i va --multiplier 20 " + q(f.cap) + " >/dev/null 2>&1").c_str());
    BOOST_TEST_REQUIRE(std::system(("ip -n " + ns.name + " link del va").c_str()) == 0);
    BOOST_TEST_REQUIRE(wait_for([&] { return !read_file(dir + "/rc").empty(); }, 10), read_file(dir + "/err"));
    const std::string err = read_file(dir + "/err");
    BOOST_TEST(std::stoi(read_file(dir + "/rc")) == 1, err);
    BOOST_TEST(err.find("summary:") != std::string::npos, err);
    BOOST_TEST(err.find("vb: the interface went down or away") != std::string::npos, err);
    // Whole lines only, the summary last.
    std::istringstream in(read_file(dir + "/out"));
    std::string line, last;
    while (std::getline(in, line)) {
        BOOST_TEST(nlohmann::json::accept(line), line);
        last = line;
    }
    BOOST_TEST(last.find("\"summary\"") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
