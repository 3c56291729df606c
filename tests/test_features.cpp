// Per-window features (flowpic/features.h, flowpic-render --features): every column's
// exact value on a crafted window, the -1 and padding rules, the time axis, numpy as an
// independent oracle on random windows, then the CLI: CSV and .npy (+ sidecar) with the
// dataset's splits and labels, no address, port, start time or capture name reaching any
// column, and bad flags refused.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <pcap.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "flowpic/dataset_file.h"
#include "flowpic/features.h"
#include "flowpic/npy.h"
#include "flowpic/split.h"
#include "tests/pcap_builder.h"
#include "tests/util.h"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

std::string q(const std::string& s) { return "'" + s + "'"; }

std::map<std::string, double> features_by_name(const std::vector<WindowPacket>& p, const FeatureOptions& o,
                                               uint32_t length_us = 2000000) {
    std::vector<double> v(feature_count(o), std::nan(""));
    PacketListView w{p.data(), uint32_t(p.size()), length_us};
    window_features(w, o, v.data());
    auto names = feature_columns(o);
    BOOST_TEST_REQUIRE(names.size() == v.size());
    std::map<std::string, double> m;
    for (size_t i = 0; i < v.size(); ++i) {
        BOOST_TEST(std::isfinite(v[i]), names[i] << " was not written");
        BOOST_TEST_REQUIRE(m.emplace(names[i], v[i]).second, "column " << names[i] << " twice");
    }
    return m;
}

// Nine statistics of one group: mean, std, min, max, p10, p25, p50, p75, p90.
void expect_stats(const std::map<std::string, double>& f, const std::string& stem, const std::vector<double>& want) {
    const char* names[] = {"mean", "std", "min", "max", "p10", "p25", "p50", "p75", "p90"};
    BOOST_TEST_REQUIRE(want.size() == 9u);
    for (size_t i = 0; i < 9; ++i) {
        const std::string col = stem + "_" + names[i];
        BOOST_TEST_REQUIRE(f.count(col), col);
        BOOST_TEST(std::fabs(f.at(col) - want[i]) <= 1e-12 * std::max(1.0, std::fabs(want[i])),
                   col << " = " << f.at(col) << ", want " << want[i]);
    }
}

// A CSV line split into fields (RFC 4180 quotes).
std::vector<std::string> csv_fields(const std::string& line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') out.back() += '"', ++i;
            else if (c == '"') quoted = false;
            else out.back() += c;
        } else if (c == '"') quoted = true;
        else if (c == ',') out.emplace_back();
        else out.back() += c;
    }
    return out;
}

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(read_file(path));
    for (std::string line; std::getline(in, line);) rows.push_back(csv_fields(line));
    return rows;
}

constexpr int64_t kT0 = 1700000000LL * 1000000000LL;

// A two-way UDP flow client:cport <-> server:sport, starting at t0: a request about every
// 0.5 s for `seconds`, each answered 20 ms later, sizes from a small LCG seeded by `seed`.
std::string flow_capture(uint32_t seed, double seconds, uint32_t client, uint16_t cport, uint32_t server, uint16_t sport,
                         int64_t t0 = kT0) {
    uint32_t x = seed * 2654435761u + 1;
    auto next = [&]() { return x = x * 1664525u + 1013904223u, x >> 8; };
    PcapFile f(DLT_EN10MB, 96);
    auto add = [&](int64_t ts, bool up, uint32_t size) {
        L4 l4{17, up ? cport : sport, up ? sport : cport, size - 28};
        std::string frame = ethernet(0x0800, up ? ipv4(l4, client, server) : ipv4(l4, server, client));
        f.add(ts, frame, std::min<int64_t>(96, frame.size()), int64_t(frame.size()));
    };
    for (int64_t t = 0; t < int64_t(seconds * 1e9);) {
        add(t0 + t, true, 40 + next() % 400);
        add(t0 + t + 20000000, false, 100 + next() % 1400);
        t += 250000000 + int64_t(next() % 500) * 1000000;
    }
    return f.bytes;
}

// root/<class>/<class>_<k>.pcap, 3 captures per class; the second class name holds a comma
// and a quote (CSV quoting).
const std::vector<std::string> kClasses = {"alpha", "beta, \"b\""};
std::string make_dataset(const TempDir& d) {
    const std::string root = d.path + "/caps";
    mkdir(root.c_str(), 0755);
    uint32_t seed = 1;
    for (const auto& c : kClasses) {
        mkdir((root + "/" + c).c_str(), 0755);
        for (int k = 0; k < 3; ++k, ++seed)
            write_file(root + "/" + c + "/" + std::to_string(k) + ".pcap",
                       flow_capture(seed, 65 + 30 * k, 0x0a000001, uint16_t(40000 + seed), 0xc0a80101, 5000));
    }
    const std::string out = d.path + "/d.fpd";
    auto r = run_tool("prep", q(root) + " -o " + q(out) + " --label-from-dir --flows bi --window 20 --split 0.34,0.33,0.33 -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    return out;
}

bool has_numpy() {
    return file_exists("/usr/bin/python3") && std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

// The same features written independently with numpy (np.mean, np.std, np.percentile,
// np.diff), one line of values per window.
const char* kNumpyOracle = R"(import sys
import numpy as np
K = int(sys.argv[2])
def stats(x):
    if len(x) == 0:
        return [-1.0] * 9
    x = np.asarray(x, dtype=np.float64)
    return [x.mean(), x.std(), x.min(), x.max()] + [np.percentile(x, p) for p in (10, 25, 50, 75, 90)]
for line in open(sys.argv[1]):
    pk = [[int(v) for v in f.split(',')] for f in line.split()]
    t = np.array([p[0] for p in pk], dtype=np.int64)
    s = np.array([p[1] for p in pk], dtype=np.int64)
    d = np.array([p[2] for p in pk], dtype=np.int64)
    out = [(t[-1] - t[0]) / 1e6 if len(t) else 0.0]
    groups = [np.ones(len(t), dtype=bool), d == 1, d == 0]
    for g in groups:
        out += [g.sum(), s[g].sum()]
    for g in groups:
        out += stats(s[g])
    for g in groups:
        out += stats(np.diff(t[g]) / 1e6)
    out += [s[k] if k < len(t) else 0 for k in range(K)]
    out += [d[k] if k < len(t) else -1 for k in range(K)]
    print(' '.join(repr(float(v)) for v in out))
)";

}  // namespace

BOOST_AUTO_TEST_SUITE(features)

BOOST_AUTO_TEST_CASE(columns_are_named_once_and_counted) {
    for (uint32_t k : {0u, 1u, 10u, 37u}) {
        FeatureOptions o;
        o.first_k = k;
        auto c = feature_columns(o);
        BOOST_TEST(c.size() == feature_count(o));
        BOOST_TEST(c.size() == 61u + 2 * k);
        std::set<std::string> uniq(c.begin(), c.end());
        BOOST_TEST(uniq.size() == c.size());
        BOOST_TEST(c.front() == "duration_s");
        if (k) {
            BOOST_TEST(c[61] == "first_size_1");
            BOOST_TEST(c[61 + k] == "first_dir_1");
            BOOST_TEST(c.back() == "first_dir_" + std::to_string(k));
        }
        for (const auto& n : c)  // nothing that could name a host, a port or a file
            for (const char* bad : {"ip", "addr", "port", "capture", "host", "name", "flow"})
                BOOST_TEST(n.find(bad) == std::string::npos, n << " contains " << bad);
    }
}

BOOST_AUTO_TEST_CASE(every_feature_exact_on_a_crafted_window) {
    // Five packets; fwd (dir 1) at 0, 0.3, 1.0 s with 100, 300, 500 bytes; rev (dir 0) at
    // 0.1, 0.6 s with 200, 400 bytes.
    std::vector<WindowPacket> p = {
        {0, 100, 1, 0}, {100000, 200, 0, 0}, {300000, 300, 1, 0}, {600000, 400, 0, 0}, {1000000, 500, 1, 0}};
    FeatureOptions o;
    o.first_k = 7;
    auto f = features_by_name(p, o);
    BOOST_TEST(f.at("duration_s") == 1.0);
    BOOST_TEST(f.at("pkts_all") == 5.0);
    BOOST_TEST(f.at("bytes_all") == 1500.0);
    BOOST_TEST(f.at("pkts_fwd") == 3.0);
    BOOST_TEST(f.at("bytes_fwd") == 900.0);
    BOOST_TEST(f.at("pkts_rev") == 2.0);
    BOOST_TEST(f.at("bytes_rev") == 600.0);
    // Population std; percentiles at rank (n - 1) p / 100, linear between neighbours.
    expect_stats(f, "size_all", {300, std::sqrt(20000.0), 100, 500, 140, 200, 300, 400, 460});
    expect_stats(f, "size_fwd", {300, std::sqrt(80000.0 / 3), 100, 500, 140, 200, 300, 400, 460});
    expect_stats(f, "size_rev", {300, 100, 200, 400, 220, 250, 300, 350, 380});
    // Gaps: all 0.1 0.2 0.3 0.4; fwd 0.3 0.7; rev 0.5.
    expect_stats(f, "iat_all", {0.25, std::sqrt(0.0125), 0.1, 0.4, 0.13, 0.175, 0.25, 0.325, 0.37});
    expect_stats(f, "iat_fwd", {0.5, 0.2, 0.3, 0.7, 0.34, 0.4, 0.5, 0.6, 0.66});
    expect_stats(f, "iat_rev", {0.5, 0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5});
    const double sizes[] = {100, 200, 300, 400, 500, 0, 0}, dirs[] = {1, 0, 1, 0, 1, -1, -1};
    for (int k = 0; k < 7; ++k) {
        BOOST_TEST(f.at("first_size_" + std::to_string(k + 1)) == sizes[k]);
        BOOST_TEST(f.at("first_dir_" + std::to_string(k + 1)) == dirs[k]);
    }
    // The window's length and start do not matter: only packet times relative to each other.
    std::vector<WindowPacket> later = p;
    for (auto& x : later) x.t_us += 7000000;
    BOOST_TEST((features_by_name(later, o, 60000000) == f));
}

BOOST_AUTO_TEST_CASE(statistics_of_no_value_are_minus_one) {
    FeatureOptions o;
    o.first_k = 2;
    // One fwd packet: no rev packet, no gap anywhere.
    auto f = features_by_name({{500, 1200, 1, 0}}, o);
    BOOST_TEST(f.at("duration_s") == 0.0);
    BOOST_TEST(f.at("pkts_rev") == 0.0);
    BOOST_TEST(f.at("bytes_rev") == 0.0);
    expect_stats(f, "size_all", {1200, 0, 1200, 1200, 1200, 1200, 1200, 1200, 1200});
    expect_stats(f, "size_fwd", {1200, 0, 1200, 1200, 1200, 1200, 1200, 1200, 1200});
    const std::vector<double> none(9, -1.0);
    expect_stats(f, "size_rev", none);
    for (const char* g : {"iat_all", "iat_fwd", "iat_rev"}) expect_stats(f, g, none);
    BOOST_TEST(f.at("first_size_1") == 1200.0);
    BOOST_TEST(f.at("first_dir_1") == 1.0);
    BOOST_TEST(f.at("first_size_2") == 0.0);
    BOOST_TEST(f.at("first_dir_2") == -1.0);
    // No packet at all.
    auto e = features_by_name({}, o);
    for (const auto& [name, v] : e) {
        const bool zero = name == "duration_s" || name.rfind("pkts_", 0) == 0 || name.rfind("bytes_", 0) == 0 ||
                          name.rfind("first_size_", 0) == 0;
        BOOST_TEST(v == (zero ? 0.0 : -1.0), name << " = " << v);
    }
}

BOOST_AUTO_TEST_CASE(time_axis_keeps_the_packets_before_it) {
    std::vector<WindowPacket> p = {
        {0, 100, 1, 0}, {100000, 200, 0, 0}, {300000, 300, 1, 0}, {600000, 400, 0, 0}, {1000000, 500, 1, 0}};
    FeatureOptions axis;
    axis.axis_us = 600000;  // the packet at exactly the axis is out, as in binning
    std::vector<WindowPacket> first3(p.begin(), p.begin() + 3);
    BOOST_TEST((features_by_name(p, axis) == features_by_name(first3, FeatureOptions{})));
    BOOST_TEST(features_by_name(p, axis).at("pkts_all") == 3.0);
}

BOOST_AUTO_TEST_CASE(random_windows_agree_with_numpy) {
    if (!has_numpy()) {
        BOOST_TEST_MESSAGE("skipped: /usr/bin/python3 has no numpy");
        return;
    }
    TempDir d;
    std::mt19937 rng(13);
    FeatureOptions o;
    o.first_k = 12;
    std::vector<std::vector<WindowPacket>> windows;
    for (int i = 0; i < 60; ++i) {
        // Sizes 0 packets up to 400; some windows one direction only; equal times happen.
        const uint32_t n = i < 4 ? uint32_t(i) : uint32_t(rng() % 400);
        const int only = i % 7 == 5 ? 1 : i % 7 == 6 ? 0 : -1;
        std::vector<WindowPacket> w;
        uint32_t t = rng() % 1000;
        for (uint32_t k = 0; k < n; ++k) {
            t += rng() % 4 == 0 ? 0 : rng() % 200000;
            w.push_back({t, uint16_t(1 + rng() % 1500), uint8_t(only >= 0 ? only : int(rng() % 2)), 0});
        }
        windows.push_back(w);
    }
    std::string text;
    for (const auto& w : windows) {
        for (const auto& p : w) text += std::to_string(p.t_us) + "," + std::to_string(p.size) + "," + std::to_string(p.dir) + " ";
        text += "\n";
    }
    write_file(d.path + "/w.txt", text);
    write_file(d.path + "/oracle.py", kNumpyOracle);
    const std::string cmd = "/usr/bin/python3 " + d.path + "/oracle.py " + d.path + "/w.txt " + std::to_string(o.first_k) +
                            " > " + d.path + "/np.txt";
    BOOST_TEST_REQUIRE(std::system(cmd.c_str()) == 0);
    std::istringstream np(read_file(d.path + "/np.txt"));
    const auto names = feature_columns(o);
    std::vector<double> ours(feature_count(o));
    size_t compared = 0;
    for (const auto& w : windows) {
        std::string line;
        BOOST_TEST_REQUIRE(bool(std::getline(np, line)));
        std::istringstream vals(line);
        window_features(PacketListView{w.data(), uint32_t(w.size()), 2000000}, o, ours.data());
        for (size_t i = 0; i < ours.size(); ++i) {
            double want = std::nan("");
            vals >> want;
            // numpy sums pairwise, we sum in order: means and stds agree to rounding.
            BOOST_TEST(std::fabs(ours[i] - want) <= 1e-9 * std::max(1.0, std::fabs(want)),
                       names[i] << " of a " << w.size() << "-packet window: " << ours[i] << " vs numpy " << want);
            ++compared;
        }
    }
    BOOST_TEST(compared == windows.size() * ours.size());
}

BOOST_AUTO_TEST_CASE(cli_csv_and_npy_rows_follow_the_dataset) {
    TempDir d;
    const std::string ds_path = make_dataset(d);
    DatasetReader ds(ds_path);
    BOOST_TEST_REQUIRE(ds.window_count() >= 10u);
    std::set<int> splits_seen;
    for (size_t i = 0; i < ds.window_count(); ++i) splits_seen.insert(ds.split(i));
    BOOST_TEST_REQUIRE(splits_seen.size() == 3u);

    FeatureOptions o;  // the default first_k = 10
    const auto names = feature_columns(o);
    auto r = run_tool("render", q(ds_path) + " --features " + q(d.path + "/f.csv") + " -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    auto rows = read_csv(d.path + "/f.csv");
    BOOST_TEST_REQUIRE(rows.size() == ds.window_count() + 1);
    std::vector<std::string> header{"split", "label", "class"};
    header.insert(header.end(), names.begin(), names.end());
    BOOST_TEST(rows[0] == header, boost::test_tools::per_element());
    std::vector<double> want(names.size());
    for (size_t i = 0; i < ds.window_count(); ++i) {
        const auto& row = rows[i + 1];
        BOOST_TEST_REQUIRE(row.size() == header.size());
        DatasetWindow w = ds.window(i);
        BOOST_TEST(row[0] == split_name(w.split));
        BOOST_TEST(row[1] == std::to_string(w.label));
        BOOST_TEST(row[2] == ds.classes()[w.label]);
        window_features(w.packets, o, want.data());
        for (size_t c = 0; c < names.size(); ++c)  // shortest round-trip decimals: exact
            BOOST_TEST(std::strtod(row[3 + c].c_str(), nullptr) == want[c], "row " << i << " " << names[c]);
    }

    r = run_tool("render", q(ds_path) + " --features " + q(d.path + "/f.npy") + " -q --json");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    NpyArray a = read_npy(d.path + "/f.npy");
    BOOST_TEST(int(a.dtype) == int(NpyDtype::f32));
    BOOST_TEST_REQUIRE(a.shape.size() == 2u);
    BOOST_TEST(a.shape[0] == ds.window_count());
    BOOST_TEST(a.shape[1] == names.size());
    auto x = a.to_float();
    for (size_t i = 0; i < ds.window_count(); ++i)
        for (size_t c = 0; c < names.size(); ++c)
            BOOST_TEST(x[i * names.size() + c] == float(std::strtod(rows[i + 1][3 + c].c_str(), nullptr)));
    auto side = nlohmann::json::parse(read_file(d.path + "/f.columns.json"));
    BOOST_TEST(side["format"] == "flowpic-features");
    BOOST_TEST(side["columns"].get<std::vector<std::string>>() == names, boost::test_tools::per_element());
    BOOST_TEST(side["classes"].get<std::vector<std::string>>() == ds.classes(), boost::test_tools::per_element());
    BOOST_TEST(side["rows"] == ds.window_count());
    BOOST_TEST_REQUIRE(side["label"].size() == ds.window_count());
    for (size_t i = 0; i < ds.window_count(); ++i) {
        BOOST_TEST(side["label"][i].get<uint32_t>() == ds.label(i));
        BOOST_TEST(side["split"][i].get<std::string>() == split_name(ds.split(i)));
    }
    auto summary = nlohmann::json::parse(r.out);
    BOOST_TEST(summary["features"]["rows"] == ds.window_count());
    BOOST_TEST(summary["features"]["columns"] == names.size());

    // --features-first, --split and the binning's --time-axis reach the table.
    r = run_tool("render", q(ds_path) + " --features " + q(d.path + "/t.csv") + " --features-first 3 --split test -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    auto test_rows = read_csv(d.path + "/t.csv");
    BOOST_TEST(test_rows[0].size() == 3 + 61 + 6u);
    size_t tests = 0;
    for (size_t i = 0; i < ds.window_count(); ++i) tests += ds.split(i) == kSplitTest;
    BOOST_TEST(test_rows.size() == tests + 1);
    for (size_t i = 1; i < test_rows.size(); ++i) BOOST_TEST(test_rows[i][0] == "test");
    r = run_tool("render", q(ds_path) + " --features " + q(d.path + "/a.csv") + " --time-axis 5 --normalize fixed -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    auto axis_rows = read_csv(d.path + "/a.csv");
    FeatureOptions ax;
    ax.axis_us = 5000000;
    window_features(ds.window(0).packets, ax, want.data());
    for (size_t c = 0; c < names.size(); ++c) BOOST_TEST(std::strtod(axis_rows[1][3 + c].c_str(), nullptr) == want[c]);
}

BOOST_AUTO_TEST_CASE(cli_addresses_ports_start_and_names_leave_no_trace) {
    // Two captures with the same packet sizes, directions and gaps, everything else apart:
    // addresses, ports, start time (1000 s apart), file and directory names.
    TempDir d;
    mkdir((d.path + "/one").c_str(), 0755);
    mkdir((d.path + "/two").c_str(), 0755);
    const std::string a = d.path + "/one/alice_home.pcap", b = d.path + "/two/bob-office.pcap";
    write_file(a, flow_capture(7, 70, 0x0a000001, 40001, 0xc0a80101, 5000));
    write_file(b, flow_capture(7, 70, 0xac100509, 51234, 0x08080808, 443, kT0 + 1000000000000LL));
    for (const char* ext : {"csv", "npy"}) {
        const std::string fa = d.path + "/a." + ext, fb = d.path + "/b." + ext;
        for (const auto& [in, out] : {std::pair{a, fa}, std::pair{b, fb}}) {
            auto r = run_tool("render", q(in) + " --features " + q(out) + " --flows bi --window 20 -q");
            BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
        }
        BOOST_TEST(read_file(fa).size() > 200u);
        BOOST_TEST((read_file(fa) == read_file(fb)), ext << " differs between the two captures");
        for (const std::string& f : {fa, d.path + "/a.columns.json"}) {
            if (!file_exists(f)) continue;
            const std::string text = read_file(f);
            for (const char* leak : {"alice", "home", "one/", "10.0.0.1", "192.168.1.1", "40001"})
                BOOST_TEST(text.find(leak) == std::string::npos, f << " holds " << leak);
        }
    }
    // Both captures in one run: the rows of one equal the rows of the other.
    auto r = run_tool("render", q(a) + " " + q(b) + " --features " + q(d.path + "/ab.csv") + " --flows bi --window 20 -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    auto rows = read_csv(d.path + "/ab.csv");
    BOOST_TEST_REQUIRE(rows.size() % 2 == 1u);
    const size_t half = rows.size() / 2;
    BOOST_TEST_REQUIRE(half >= 2u);
    for (size_t i = 1; i <= half; ++i) BOOST_TEST(rows[i] == rows[i + half], boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(cli_bad_flags_are_refused_and_leave_nothing) {
    TempDir d;
    const std::string cap = d.path + "/c.pcap";
    write_file(cap, flow_capture(3, 70, 0x0a000001, 40001, 0xc0a80101, 5000));
    struct Case {
        std::string args;
        int code;
        std::string says;
    };
    const std::vector<Case> cases = {
        {"--features " + q(d.path + "/f.txt"), 2, "must end in .csv or .npy"},
        {"--features " + q(d.path + "/f"), 2, "must end in .csv or .npy"},
        {"--png " + q(d.path + "/png") + " --features-first 3", 2, "--features-first needs --features"},
        {"--features " + q(d.path + "/f.csv") + " --features-first 1001", 2, "--features-first"},
        {"--features " + q(d.path + "/f.csv") + " --features-first -1", 2, "--features-first"},
        {"--features " + q(d.path + "/f.csv") + " --features-first x", 2, "--features-first"},
        {"--features", 2, "--features"},
        {"--features " + q(d.path + "/no/such/dir/f.csv"), 1, "f.csv"},
        {"--features " + q(d.path), 2, "must end in .csv or .npy"},
    };
    for (const auto& c : cases) {
        auto r = run_tool("render", q(cap) + " " + c.args + " --flows bi --window 20 -q");
        BOOST_TEST(r.exit_code == c.code, c.args << ": " << r.err);
        BOOST_TEST(r.err.find(c.says) != std::string::npos, c.args << ": " << r.err);
        BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, c.args << ": " << r.err);
    }
    // The input itself as the output (a packet CSV from flowpic-extract is an input
    // render reads): refused before any work, the input untouched.
    const std::string as_csv = d.path + "/c.csv";
    auto r = run_tool("extract", q(cap) + " --csv " + q(as_csv));
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    const std::string before = read_file(as_csv);
    r = run_tool("render", q(as_csv) + " --features " + q(as_csv) + " --flows bi --window 20 -q");
    BOOST_TEST(r.exit_code == 2, r.err);
    BOOST_TEST(r.err.find("same file as the input") != std::string::npos, r.err);
    BOOST_TEST(read_file(as_csv) == before);
    // A bad input leaves no feature file.
    write_file(d.path + "/bad.pcap", "not a capture at all, just text");
    r = run_tool("render", q(d.path + "/bad.pcap") + " --features " + q(d.path + "/g.npy") + " -q");
    BOOST_TEST(r.exit_code == 1, r.err);
    BOOST_TEST(!file_exists(d.path + "/g.npy"));
    BOOST_TEST(!file_exists(d.path + "/g.columns.json"));
    for (const auto& n : list_dir(d.path)) BOOST_TEST(n.find("flowpic-tmp") == std::string::npos, n);
}

BOOST_AUTO_TEST_SUITE_END()
