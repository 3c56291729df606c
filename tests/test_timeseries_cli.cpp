// The text inputs through the tools: flowpic-prep on a crafted UCDavis-like tree (classes
// from the directories, windows as docs/PREP.md says, read back through DatasetReader),
// --format mismatches and bad values, --keep-going, and render/extract/infer taking the
// same inputs.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <pcap.h>

#include <cstdio>
#include <map>

#include "flowpic/dataset_file.h"
#include "tests/pcap_builder.h"
#include "tests/util.h"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

constexpr int64_t kT0 = 1527993495LL * 1000000000LL + 652867000;

std::string seconds9(int64_t ns) {
    char b[64];
    std::snprintf(b, sizeof b, "%lld.%09lld", (long long)(ns / 1000000000), (long long)(ns % 1000000000));
    return b;
}

// A flow of `n` packets every 0.5 s from t0 (directions alternating, starting upstream).
std::string flow_text(int64_t t0, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) {
        const int64_t t = t0 + int64_t(i) * 500000000;
        char rel[32];
        std::snprintf(rel, sizeof rel, "%g", double(t - t0) / 1e9);
        s += seconds9(t) + "\t" + rel + "\t" + std::to_string(100 + i) + "\t" + (i % 2 == 0 ? "1" : "0") + "\n";
    }
    return s;
}

// tree/ClassA/A-1.txt, A-2.txt, tree/ClassB/B-1.txt: 80 packets over 39.5 s each (B-1
// starts 1000 s later), and an empty marker file as the UCDavis archives leave.
struct Tree {
    TempDir d;
    std::string root = d.path + "/tree";
    Tree() {
        std::system(("mkdir -p '" + root + "/ClassA' '" + root + "/ClassB'").c_str());
        write_file(root + "/ClassA/A-1.txt", flow_text(kT0, 80));
        write_file(root + "/ClassA/A-2.txt", flow_text(kT0 + 7000000, 80));
        write_file(root + "/ClassB/B-1.txt", flow_text(kT0 + 1000000000000LL, 80));
        write_file(root + "/.complete", "");
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(timeseries_cli)

BOOST_AUTO_TEST_CASE(prep_reads_a_ucdavis_like_tree_with_classes_from_directories) {
    Tree t;
    const std::string out = t.d.path + "/ts.fpd";
    // 15 s windows of a 39.5 s flow start at 0, 15, 30 (45 is past the last packet):
    // [0,15) and [15,30) hold 30 packets each, [30,45) the last 20.
    auto r = run_tool("prep", t.root + " -o " + out + " --label-from-dir --flows bi --window 15 --min-span 0 "
                      "--split 1,0,0 -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    DatasetReader ds(out);
    BOOST_TEST(ds.classes() == (std::vector<std::string>{"ClassA", "ClassB"}));
    BOOST_TEST(ds.captures() == (std::vector<std::string>{t.root + "/ClassA/A-1.txt", t.root + "/ClassA/A-2.txt",
                                                          t.root + "/ClassB/B-1.txt"}));
    BOOST_REQUIRE(ds.window_count() == 9u);
    std::map<uint32_t, int> per_class;
    const int64_t starts[] = {kT0, kT0 + 7000000, kT0 + 1000000000000LL};
    for (size_t i = 0; i < ds.window_count(); ++i) {
        DatasetWindow w = ds.window(i);
        per_class[w.label]++;
        const uint32_t c = w.prov.capture, k = w.prov.index;
        BOOST_TEST(w.label == (c == 2 ? 1u : 0u));
        BOOST_TEST(w.prov.start_ns == starts[c] + int64_t(k) * 15000000000LL);
        BOOST_TEST(w.packets.count == (k < 2 ? 30u : 20u));
        BOOST_TEST(w.prov.length_us == 15000000u);
        BOOST_TEST(format_address(w.prov.tuple.src, 4) == "10.0.0." + std::to_string(c + 1));
        BOOST_TEST(w.prov.tuple.dport == 443);
        // Packet 30k + j of the flow: size 100 + 30k + j, sent 0.5 j s into the window.
        for (uint32_t j = 0; j < w.packets.count; ++j) {
            BOOST_TEST_REQUIRE(w.packets.packets[j].t_us == j * 500000u);
            BOOST_TEST_REQUIRE(w.packets.packets[j].size == 100u + 30 * k + j);
            BOOST_TEST_REQUIRE(w.packets.packets[j].dir == ((30 * k + j) % 2 == 0 ? 1 : 0));
        }
    }
    BOOST_TEST(per_class[0] == 6);
    BOOST_TEST(per_class[1] == 3);

    // Unidirectional (the default): each direction its own sequence, 40 packets over
    // 39 s each, 15 s windows of 15, 15, 10 packets (10 is still >= --min-packets 10).
    const std::string uni = t.d.path + "/uni.fpd";
    r = run_tool("prep", t.root + " -o " + uni + " --label-from-dir --window 15 --min-span 0 --split 1,0,0 -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    DatasetReader u(uni);
    BOOST_TEST(u.window_count() == 18u);
}

BOOST_AUTO_TEST_CASE(format_flag_values_and_mismatches) {
    Tree t;
    PcapFile f(DLT_EN10MB);
    f.add(kT0, ethernet(0x0800, ipv4(L4{17, 40000, 443, 100})));
    const std::string cap = t.d.path + "/c.pcap", ts = t.root + "/ClassA/A-1.txt", out = t.d.path + "/o.fpd";
    write_file(cap, f.bytes);
    auto r = run_tool("prep", ts + " -o " + out + " --label x --format capture -q");
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err == "flowpic-prep: " + ts +
                            ": is a packet time series, not a pcap or pcapng capture (--format capture; --format auto "
                            "detects it)\n");
    r = run_tool("prep", cap + " -o " + out + " --label x --format timeseries -q");
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.find(cap + ": is a pcap or pcapng capture, not a packet time series") != std::string::npos, r.err);
    BOOST_TEST(count_lines(r.err) == 1u);
    r = run_tool("prep", ts + " -o " + out + " --label x --format pcap -q");
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.err.find("--format") != std::string::npos, r.err);
    BOOST_TEST(!file_exists(out));
    // Explicit timeseries reads the tree as auto does.
    r = run_tool("prep", t.root + " -o " + out + " --label-from-dir --flows bi --window 15 --min-span 0 --format timeseries -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST(DatasetReader(out).window_count() == 9u);
}

BOOST_AUTO_TEST_CASE(a_bad_file_stops_prep_or_is_skipped_with_keep_going) {
    Tree t;
    const std::string bad = t.root + "/ClassB/B-2.txt", out = t.d.path + "/k.fpd";
    std::string text = flow_text(kT0, 80);
    text.replace(text.find('\n', text.find('\n', text.find('\n', text.find('\n') + 1) + 1) + 1) + 1, 0,
                 "1527993497.652867000\t2\t1500\t3\n");  // becomes line 5
    write_file(bad, text);
    const std::string args = t.root + " -o " + out + " --label-from-dir --flows bi --window 15 --min-span 0";
    auto r = run_tool("prep", args + " -q");
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err == "flowpic-prep: " + bad + ":5: direction '3' is not 0 (server to client) or 1 (client to server)\n");
    BOOST_TEST(!file_exists(out));
    r = run_tool("prep", args + " --keep-going");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST(r.err.find(bad + ":5: direction '3' is not 0 (server to client) or 1 (client to server) (skipped)") !=
                   std::string::npos,
               r.err);
    DatasetReader ds(out);
    BOOST_TEST(ds.captures().size() == 3u);
    for (const auto& c : ds.captures()) BOOST_TEST(c != bad);
    BOOST_TEST(ds.window_count() == 9u);
    // The JSON report lists it too.
    r = run_tool("prep", args + " --keep-going --json -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.find("B-2.txt:5: direction") != std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(render_and_extract_take_time_series_too) {
    Tree t;
    const std::string png = t.d.path + "/png";
    auto r = run_tool("render", t.root + " --png " + png + " --flows bi --window 15 --min-span 0 --resolution 32 -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST(list_dir(png).size() == 9u);
    r = run_tool("extract", t.root + " --flows - --format timeseries -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST(count_lines(r.out) == 4u);  // header + 3 flows
    BOOST_TEST(r.out.find("UDP\t10.0.0.1\t40000\t192.0.2.1\t443\t40\t") != std::string::npos, r.out);
    // A dataset's windows are already cut: --format makes no sense there.
    const std::string out = t.d.path + "/d.fpd";
    r = run_tool("prep", t.root + " -o " + out + " --label-from-dir --flows bi --window 15 --min-span 0 -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    r = run_tool("render", out + " --png " + png + "2 --format timeseries -q");
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.err.find("--format") != std::string::npos, r.err);
    for (const char* tool : {"prep", "render", "infer", "extract"}) {
        r = run_tool(tool, "--help");
        BOOST_TEST(r.out.find("--format") != std::string::npos, tool);
    }
}

BOOST_AUTO_TEST_SUITE_END()
