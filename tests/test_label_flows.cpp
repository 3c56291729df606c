// Per-flow labels (--label-flows FILE, flowpic/labels.h "Flow table file") and the CLI of
// the few-shot split and the split manifest (--stats --captures): the table's parsing and
// matching (both orientations, the capture's base name, IPv4 and IPv6), every bad table
// (one line naming file and line), end to end on crafted captures with flows of several
// classes (each window its flow's class; flows not listed or without a class counted and
// not used; a mixed capture is one split group), and the few-shot rule through
// flowpic-prep, --stats and the manifest.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <pcap.h>
#include <sys/stat.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "flowpic/dataset_file.h"
#include "flowpic/labels.h"
#include "flowpic/settings.h"
#include "tests/pcap_builder.h"
#include "tests/util.h"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

constexpr int64_t kT0 = 1700000000LL * 1000000000LL;
constexpr uint32_t kClient = 0x0a000001;  // 10.0.0.1

struct TestFlow {
    uint8_t proto;       // 6 TCP, 17 UDP
    uint16_t sport;      // client port; the server's is 443
    uint32_t server;     // IPv4, host order
    int packets;         // one every 0.5 s, alternating direction, from `start`
    double start = 0;
};

// One Ethernet pcap holding the flows, packets merged in time order.
std::string capture_of(const std::vector<TestFlow>& flows) {
    struct P {
        int64_t t;
        std::string frame;
    };
    std::vector<P> all;
    for (const TestFlow& f : flows)
        for (int k = 0; k < f.packets; ++k) {
            const bool up = k % 2 == 0;
            L4 l4{f.proto, up ? f.sport : uint16_t(443), up ? uint16_t(443) : f.sport, 120};
            std::string ip = up ? ipv4(l4, kClient, f.server) : ipv4(l4, f.server, kClient);
            all.push_back({kT0 + std::llround((f.start + 0.5 * k) * 1e9), ethernet(0x0800, ip)});
        }
    std::stable_sort(all.begin(), all.end(), [](const P& a, const P& b) { return a.t < b.t; });
    PcapFile pf(DLT_EN10MB, 96);
    for (const P& p : all) pf.add(p.t, p.frame, std::min<int64_t>(96, p.frame.size()), int64_t(p.frame.size()));
    return pf.bytes;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

// One 15 s window per flow of >= 5 packets (the nDPI bench's rules).
const char* kRules = " --flows bi --window 15 --min-packets 5 --min-span 1";

nlohmann::json json_of(const std::string& text) {
    try {
        return nlohmann::json::parse(text);
    } catch (const std::exception& e) {
        BOOST_FAIL("not JSON: " << e.what() << "\n" << text);
    }
    return {};
}

FiveTuple tuple4(uint8_t proto, const char* src, uint16_t sport, const char* dst, uint16_t dport) {
    FiveTuple t;
    t.proto = proto;
    t.sport = sport;
    t.dport = dport;
    if (std::string(src).find(':') == std::string::npos) {
        t.ip_version = 4;
        t.src[10] = t.src[11] = t.dst[10] = t.dst[11] = 0xff;
        inet_pton(AF_INET, src, &t.src[12]);
        inet_pton(AF_INET, dst, &t.dst[12]);
    } else {
        t.ip_version = 6;
        inet_pton(AF_INET6, src, t.src.data());
        inet_pton(AF_INET6, dst, t.dst.data());
    }
    return t;
}

const char* kHeader = "pcap\tl4\tsrc\tsport\tdst\tdport\tndpi_proto\tclass\tpkts\n";

// Windows per (capture base name, sport) -> class name, from a dataset.
std::map<std::pair<std::string, int>, std::set<std::string>> classes_by_flow(const DatasetReader& ds) {
    std::map<std::pair<std::string, int>, std::set<std::string>> m;
    for (size_t i = 0; i < ds.window_count(); ++i) {
        DatasetWindow w = ds.window(i);
        m[{base_name(ds.captures()[w.prov.capture]), w.prov.tuple.sport}].insert(ds.classes()[w.label]);
    }
    return m;
}

std::vector<std::vector<std::string>> tsv_rows(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> f;
        std::istringstream ls(line);
        for (std::string x; std::getline(ls, x, '\t');) f.push_back(x);
        rows.push_back(f);
    }
    return rows;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(label_flows)

BOOST_AUTO_TEST_CASE(table_matches_either_orientation_by_base_name) {
    const std::string text = std::string("# comment\n") + kHeader +
                             "dir/a.pcap\tTCP\t10.0.0.1\t40001\t192.168.1.9\t443\tTLS\tvideo\t7\n"
                             "a.pcap\tudp\t192.168.1.9\t443\t10.0.0.1\t40002\tQUIC\tchat\t3\n"
                             "\n"
                             "a.pcap\tUDP\t2001:db8::1\t5000\t2001:db8::2\t53\tDNS\t\t2\n"
                             "b.pcap\tTCP\t10.0.0.1\t40001\t192.168.1.9\t443\tTLS\tfile\t7\n"
                             "b.pcap\tICMP\t10.0.0.1\t0\t192.168.1.9\t0\tICMP\tvoip\t1\n"
                             "b.pcap\tUDP\t2001:db8::5\t6000\t2001:db8::6\t7000\tRTP\tvoip\t9\r\n"
                             "b.pcap\tTCP\t10.0.0.1\t40001\t192.168.1.9\t443\tTLS\tfile\t7\n";
    LabelSource s = LabelSource::from_flow_text(text, "t.tsv");
    BOOST_TEST(s.per_flow());
    BOOST_TEST(s.description() == "flows:t.tsv");
    BOOST_TEST(s.flow_table()->other_l4_rows == 1u);
    BOOST_TEST(s.flow_table()->rows.size() == 6u);  // the repeated b.pcap flow is kept as a row
    BOOST_TEST(s.flow_table()->rows[5].first == 3u);

    auto fwd = tuple4(6, "10.0.0.1", 40001, "192.168.1.9", 443);
    long row = -2;
    CaptureLabel l = s.label_flow("x/y/a.pcap", fwd, &row);
    BOOST_TEST(int(l.status) == int(LabelStatus::kLabelled));
    BOOST_TEST(l.cls == "video");
    BOOST_TEST(l.why == "t.tsv:3");
    BOOST_TEST(row == 0);
    BOOST_TEST(s.label_flow("a.pcap", fwd.reversed()).cls == "video");  // the other orientation
    BOOST_TEST(s.label_flow("b.pcap", fwd).cls == "file");               // same tuple, other capture
    BOOST_TEST(s.label_flow("a.pcap", tuple4(17, "10.0.0.1", 40002, "192.168.1.9", 443)).cls == "chat");
    // proto is part of the key; ports too
    BOOST_TEST(int(s.label_flow("a.pcap", tuple4(17, "10.0.0.1", 40001, "192.168.1.9", 443)).status) ==
               int(LabelStatus::kUnmatched));
    BOOST_TEST(int(s.label_flow("a.pcap", tuple4(6, "10.0.0.1", 40009, "192.168.1.9", 443), &row).status) ==
               int(LabelStatus::kUnmatched));
    BOOST_TEST(row == -1);
    BOOST_TEST(int(s.label_flow("a.pcap", tuple4(17, "2001:db8::2", 53, "2001:db8::1", 5000)).status) ==
               int(LabelStatus::kExcluded));  // listed, no class
    BOOST_TEST(s.label_flow("b.pcap", tuple4(17, "2001:db8::6", 7000, "2001:db8::5", 6000)).cls == "voip");
    // Capture level: whether the table lists flows of the capture at all.
    BOOST_TEST(int(s.label("q/a.pcap").status) == int(LabelStatus::kLabelled));
    BOOST_TEST(int(s.label("c.pcap").status) == int(LabelStatus::kUnmatched));
    BOOST_TEST(flow_classes(s, {"a.pcap", "b.pcap"}) == (std::vector<std::string>{"chat", "file", "video", "voip"}));
    BOOST_TEST(flow_classes(s, {"a.pcap"}) == (std::vector<std::string>{"chat", "video"}));
    // Other sources: label_flow is the capture's label.
    LabelSource fixed = LabelSource::fixed("chat");
    BOOST_TEST(!fixed.per_flow());
    BOOST_TEST(fixed.label_flow("z.pcap", fwd, &row).cls == "chat");
    BOOST_TEST(row == -1);

    LabelSource only_empty = LabelSource::from_flow_text(std::string(kHeader) + "e.pcap\tUDP\t1.2.3.4\t1\t5.6.7.8\t2\tX\t-\t1\n", "e");
    BOOST_TEST(int(only_empty.label("e.pcap").status) == int(LabelStatus::kExcluded));
}

BOOST_AUTO_TEST_CASE(bad_tables_name_file_and_line) {
    auto err = [](const std::string& body) -> std::string {
        try {
            LabelSource::from_flow_text(body, "f.tsv");
        } catch (const InputError& e) {
            return e.what();
        }
        return "(accepted)";
    };
    const std::string h = kHeader;
    const std::string ok = "a.pcap\tTCP\t10.0.0.1\t1\t10.0.0.2\t2\tX\tchat\t1\n";
    BOOST_TEST(err("pcap\tl4\tsrc\tsport\tdst\tdport\n" + ok).find("f.tsv:1: the header has no 'class' column") == 0u);
    BOOST_TEST(err("") == "f.tsv: flow table is empty (no header line)");
    BOOST_TEST(err(h) == "f.tsv: flow table lists no TCP or UDP flow");
    BOOST_TEST(err(h + ok + "a.pcap\tTCP\t10.0.0.1\t1\t10.0.0.2\n").find("f.tsv:3: 5 tab-separated fields, the header has 9") == 0u);
    BOOST_TEST(err(h + "a.pcap\tTCP\t10.0.0.1\t70000\t10.0.0.2\t2\tX\tchat\t1\n") ==
               "f.tsv:2: sport '70000' is not a port (0..65535)");
    BOOST_TEST(err(h + "a.pcap\tTCP\t10.0.0.1\t1\t10.0.0.2\tx\tX\tchat\t1\n") == "f.tsv:2: dport 'x' is not a port (0..65535)");
    BOOST_TEST(err(h + "a.pcap\tTCP\t10.0.0.1\t1\t10.0.0.2\t2\tX\ta/b\t1\n").find("f.tsv:2: class name") == 0u);
    BOOST_TEST(err(h + "\tTCP\t10.0.0.1\t1\t10.0.0.2\t2\tX\tchat\t1\n") == "f.tsv:2: empty pcap");
    BOOST_TEST(err(h + "a.pcap\t\t10.0.0.1\t1\t10.0.0.2\t2\tX\tchat\t1\n").find("f.tsv:2: empty l4") == 0u);
    // one flow, two classes (in the other orientation too)
    BOOST_TEST(err(h + ok + "a.pcap\tTCP\t10.0.0.2\t2\t10.0.0.1\t1\tX\tvideo\t1\n") ==
               "f.tsv:3: a.pcap TCP 10.0.0.2:2 - 10.0.0.1:1 is listed at line 2 with class 'chat', here with 'video'");
    // An address nothing can match: a warning, the row skipped (nDPI's table has one).
    LabelSource s = LabelSource::from_flow_text(h + "a.pcap\tUDP\t2600::19::\t1\t10.0.0.2\t2\tX\t\t1\n" + ok, "f.tsv");
    BOOST_TEST_REQUIRE(s.warnings().size() == 1u);
    BOOST_TEST(s.warnings()[0] == "f.tsv:2: src '2600::19::' is not an IPv4 or IPv6 address: the row can match no flow");
    BOOST_TEST(s.flow_table()->rows.size() == 1u);
}

BOOST_AUTO_TEST_CASE(prep_labels_each_flow_and_keeps_captures_whole) {
    TempDir tmp;
    const std::string caps = tmp.path + "/caps";
    mkdir(caps.c_str(), 0755);
    const uint32_t srv = 0xc0a80109;  // 192.168.1.9
    // mix.pcap: a video flow, a chat flow, one flow not listed, one listed without a class,
    // and one too short for a window (listed: it is a table flow that gave no window).
    write_file(caps + "/mix.pcap", capture_of({{17, 40001, srv, 12}, {6, 40002, srv, 10, 0.2}, {17, 40003, srv, 9},
                                                {17, 40004, srv, 8}, {17, 40005, srv, 3}}));
    // solo_k.pcap: one video flow each; other.pcap: not in the table at all.
    for (int k = 0; k < 6; ++k)
        write_file(caps + "/solo_" + std::to_string(k) + ".pcap", capture_of({{17, uint16_t(41000 + k), srv, 11}}));
    write_file(caps + "/other.pcap", capture_of({{17, 42000, srv, 10}}));
    std::string table = kHeader;
    table += "mix.pcap\tUDP\t10.0.0.1\t40001\t192.168.1.9\t443\tQUIC\tvideo\t12\n";
    table += "mix.pcap\tTCP\t192.168.1.9\t443\t10.0.0.1\t40002\tTLS\tchat\t10\n";  // server first
    table += "mix.pcap\tUDP\t10.0.0.1\t40004\t192.168.1.9\t443\tDNS\t\t8\n";
    table += "mix.pcap\tUDP\t10.0.0.1\t40005\t192.168.1.9\t443\tX\tvoip\t3\n";
    for (int k = 0; k < 6; ++k)
        table += "solo_" + std::to_string(k) + ".pcap\tUDP\t10.0.0.1\t" + std::to_string(41000 + k) +
                 "\t192.168.1.9\t443\tQUIC\t" + (k < 3 ? "video" : "chat") + "\t11\n";
    write_file(tmp.path + "/flows.tsv", table);
    const std::string data = tmp.path + "/d.fpd";

    auto r = run_tool("prep", q(caps) + " -o " + q(data) + " --label-flows " + q(tmp.path + "/flows.tsv") + kRules +
                                  " --split 0.5,0.25,0.25 --seed 3 --json");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    // Not used, never silently: the capture without listed flows, and the flows of mix.pcap.
    BOOST_TEST(r.err.find("other.pcap: not used: no label matched") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("mix.pcap: 1 flow (1 window) not used: not in") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("mix.pcap: 1 flow (1 window) not used: no class in") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("per-flow labels from " + tmp.path + "/flows.tsv: 8 flows (8 windows) used; 1 flow (1 window) "
                          "not in the table, 1 flow (1 window) without a class: not used; 1 listed flows with a class "
                          "gave no window; 1 captures mix classes") != std::string::npos, r.err);
    nlohmann::json j = json_of(r.out);
    BOOST_TEST(j["flow_labels"]["used"]["windows"] == 8);
    BOOST_TEST(j["flow_labels"]["not_in_table"]["flows"] == 1);
    BOOST_TEST(j["flow_labels"]["no_class"]["flows"] == 1);
    BOOST_TEST(j["flow_labels"]["mixed_captures"] == 1);
    BOOST_TEST(j["classes"] == (nlohmann::json{"chat", "video", "voip"}));  // every class the table gives

    DatasetReader ds(data);
    BOOST_TEST(ds.window_count() == 8u);
    auto by_flow = classes_by_flow(ds);
    BOOST_TEST(by_flow.size() == 8u);
    BOOST_TEST((by_flow[{"mix.pcap", 40001}] == std::set<std::string>{"video"}));
    BOOST_TEST((by_flow[{"mix.pcap", 40002}] == std::set<std::string>{"chat"}));
    BOOST_TEST(!by_flow.count({"mix.pcap", 40003}));
    BOOST_TEST(!by_flow.count({"mix.pcap", 40004}));
    for (int k = 0; k < 6; ++k)
        BOOST_TEST((by_flow[{"solo_" + std::to_string(k) + ".pcap", 41000 + k}] ==
                    std::set<std::string>{k < 3 ? "video" : "chat"}));
    // One split per capture, the mixed one included.
    std::map<uint32_t, std::set<int>> splits;
    for (size_t i = 0; i < ds.window_count(); ++i) splits[ds.window(i).prov.capture].insert(ds.window(i).split);
    for (auto& [c, s] : splits) BOOST_TEST(s.size() == 1u, ds.captures()[c]);
    // The report's per-class counts are the windows' own classes, not the group's.
    uint64_t counted = 0;
    for (auto& [cls, n] : j["per_class"].items()) counted += n["train"].get<uint64_t>() + n["val"].get<uint64_t>() + n["test"].get<uint64_t>();
    BOOST_TEST(counted == 8u);
    auto counts = ds.counts();
    for (size_t c = 0; c < ds.classes().size(); ++c) {
        const auto& n = j["per_class"][ds.classes()[c]];
        BOOST_TEST(n["train"] == counts[c][0]);
        BOOST_TEST(n["val"] == counts[c][1]);
        BOOST_TEST(n["test"] == counts[c][2]);
    }
    BOOST_TEST(json_of(ds.prep_json())["labels"] == "flows:" + tmp.path + "/flows.tsv");

    // The manifest: a line per (capture, class), mix.pcap twice with one split.
    auto m = run_tool("prep", "--stats " + q(data) + " --captures");
    BOOST_TEST_REQUIRE(m.exit_code == 0, m.err);
    auto rows = tsv_rows(m.out);
    BOOST_TEST_REQUIRE(rows.size() == 9u);  // header + 6 solo + 2 mix
    BOOST_TEST((rows[0] == std::vector<std::string>{"capture", "class", "split", "windows"}));
    std::map<std::string, std::string> split_of;
    uint64_t total = 0;
    for (size_t i = 1; i < rows.size(); ++i) {
        BOOST_TEST_REQUIRE(rows[i].size() == 4u);
        const std::string cap = base_name(rows[i][0]);
        if (split_of.count(cap)) BOOST_TEST(split_of[cap] == rows[i][2]);
        split_of[cap] = rows[i][2];
        total += std::stoull(rows[i][3]);
    }
    BOOST_TEST(total == 8u);
    BOOST_TEST(m.out.find(caps + "/mix.pcap\tchat\t") != std::string::npos);
    BOOST_TEST(m.out.find(caps + "/mix.pcap\tvideo\t") != std::string::npos);

    // The table alone decides: a listed flow of a capture from another directory matches
    // by base name; --label-flows excludes the other sources.
    auto both = run_tool("prep", q(caps) + " -o " + q(tmp.path + "/x.fpd") + " --label-flows " +
                                     q(tmp.path + "/flows.tsv") + " --label-from-dir -q");
    BOOST_TEST(both.exit_code == 2);
    BOOST_TEST(!file_exists(tmp.path + "/x.fpd"));
}

BOOST_AUTO_TEST_CASE(prep_bad_table_and_no_listed_flow) {
    TempDir tmp;
    write_file(tmp.path + "/a.pcap", capture_of({{17, 40001, 0xc0a80109, 12}}));
    write_file(tmp.path + "/bad.tsv", std::string(kHeader) + "a.pcap\tUDP\t10.0.0.1\t40001\t192.168.1.9\t4430000\tX\tvideo\t1\n");
    auto r = run_tool("prep", q(tmp.path + "/a.pcap") + " -o " + q(tmp.path + "/d.fpd") + " --label-flows " +
                                  q(tmp.path + "/bad.tsv"));
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err == "flowpic-prep: " + tmp.path + "/bad.tsv:2: dport '4430000' is not a port (0..65535)\n");
    BOOST_TEST(!file_exists(tmp.path + "/d.fpd"));
    auto missing = run_tool("prep", q(tmp.path + "/a.pcap") + " -o " + q(tmp.path + "/d.fpd") + " --label-flows " +
                                        q(tmp.path + "/none.tsv"));
    BOOST_TEST(missing.exit_code == 1);
    BOOST_TEST(missing.err.find("none.tsv: cannot open flow table") != std::string::npos, missing.err);
    // Listed capture, but its only flow is another one: nothing to store.
    write_file(tmp.path + "/other.tsv", std::string(kHeader) + "a.pcap\tUDP\t10.0.0.1\t40009\t192.168.1.9\t443\tX\tvideo\t1\n");
    auto none = run_tool("prep", q(tmp.path + "/a.pcap") + " -o " + q(tmp.path + "/d.fpd") + " --label-flows " +
                                     q(tmp.path + "/other.tsv") + kRules);
    BOOST_TEST(none.exit_code == 1);
    BOOST_TEST(none.err.find("no window survived the rules") != std::string::npos, none.err);
    BOOST_TEST(none.err.find("or no flow with windows is in " + tmp.path + "/other.tsv") != std::string::npos, none.err);
    BOOST_TEST(!file_exists(tmp.path + "/d.fpd"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(few_shot_cli)

// root/<class>/<class>_<k>.pcap with one flow (one window) each.
void write_classes(const std::string& root, const std::vector<std::pair<std::string, int>>& classes) {
    mkdir(root.c_str(), 0755);
    uint16_t port = 30000;
    for (const auto& [c, n] : classes) {
        mkdir((root + "/" + c).c_str(), 0755);
        for (int k = 0; k < n; ++k)
            write_file(root + "/" + c + "/" + c + "_" + std::to_string(k) + ".pcap",
                       capture_of({{17, port++, 0xc0a80101, 8}}));
    }
}

BOOST_AUTO_TEST_CASE(draws_stats_and_manifest) {
    TempDir tmp;
    const std::string caps = tmp.path + "/caps";
    write_classes(caps, {{"alpha", 10}, {"beta", 2}, {"gamma", 6}});
    std::map<std::string, std::set<std::string>> drawn_before;  // class -> train/val captures of earlier draws
    for (int k = 0; k < 4; ++k) {
        const std::string data = tmp.path + "/k" + std::to_string(k) + ".fpd";
        auto r = run_tool("prep", q(caps) + " -o " + q(data) + " --label-from-dir" + kRules +
                                      " --split-per-class 3 --split-index " + std::to_string(k) + " --seed 5");
        BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
        BOOST_TEST(r.err.find("note: class beta: 2 captures <= 3 per class: all in train/val, none in test") !=
                   std::string::npos, r.err);
        // alpha has 10: draws 0..2 fit (9), draw 3 wraps; gamma has 6: draws 0 and 1 fit.
        BOOST_TEST((r.err.find("note: class alpha: 10 captures < ") != std::string::npos) == (k >= 3), r.err);
        BOOST_TEST((r.err.find("note: class gamma: 6 captures < ") != std::string::npos) == (k >= 2), r.err);

        auto m = run_tool("prep", "--stats " + q(data) + " --captures");
        BOOST_TEST_REQUIRE(m.exit_code == 0, m.err);
        auto rows = tsv_rows(m.out);
        BOOST_TEST_REQUIRE(rows.size() == 19u);
        std::map<std::string, std::array<int, 3>> n;
        std::map<std::string, std::set<std::string>> drawn;
        DatasetReader ds(data);
        std::map<std::string, std::string> split_in_file;
        for (size_t i = 0; i < ds.window_count(); ++i)
            split_in_file[ds.captures()[ds.window(i).prov.capture]] = split_name(ds.window(i).split);
        for (size_t i = 1; i < rows.size(); ++i) {
            const auto& f = rows[i];
            BOOST_TEST_REQUIRE(f.size() == 4u);
            BOOST_TEST(f[3] == "1");
            BOOST_TEST(split_in_file.at(f[0]) == f[2]);  // the manifest is the file's split
            n[f[1]][f[2] == "train" ? 0 : f[2] == "val" ? 1 : 2]++;
            if (f[2] != "test") drawn[f[1]].insert(f[0]);
        }
        BOOST_TEST((n["alpha"] == std::array<int, 3>{2, 1, 7}));  // 3 drawn, round(0.6) = 1 val
        BOOST_TEST((n["beta"] == std::array<int, 3>{2, 0, 0}));   // round(0.4) = 0 val
        BOOST_TEST((n["gamma"] == std::array<int, 3>{2, 1, 3}));
        if (k < 3)
            for (const auto& c : drawn["alpha"]) BOOST_TEST(!drawn_before["alpha"].count(c), "draw " << k << " " << c);
        if (k < 2)
            for (const auto& c : drawn["gamma"]) BOOST_TEST(!drawn_before["gamma"].count(c), "draw " << k << " " << c);
        if (k == 2)  // gamma's draw 2 = positions 6..8 mod 6 = draw 0
            BOOST_TEST(drawn["gamma"].size() == 3u);
        for (auto& [c, s] : drawn) drawn_before[c].insert(s.begin(), s.end());

        if (k == 1) {
            auto st = run_tool("prep", "--stats " + q(data));
            BOOST_TEST_REQUIRE(st.exit_code == 0, st.err);
            BOOST_TEST(st.out.find("split     few-shot: 3 captures per class for train+val (val fraction 0.2), draw 1, "
                                   "seed 5; the rest is test") != std::string::npos, st.out);
            BOOST_TEST(st.out.find("alpha                    2         1         7        10") != std::string::npos, st.out);
            auto sj = run_tool("prep", "--stats " + q(data) + " --json");
            BOOST_TEST_REQUIRE(sj.exit_code == 0, sj.err);
            nlohmann::json j = json_of(sj.out);
            BOOST_TEST(j["split_rule"] == (nlohmann::json{{"rule", "few-shot"}, {"per_class", 3}, {"val_fraction", 0.2},
                                                          {"index", 1}, {"seed", 5}}));
            BOOST_TEST(j["classes"][0]["captures"] == (nlohmann::json{{"train", 2}, {"val", 1}, {"test", 7}}));
            auto prep = parse_prep_settings(ds.prep_json(), data);
            BOOST_TEST_REQUIRE(prep.has_value());
            BOOST_TEST(prep->few_shot.per_class == 3u);
            BOOST_TEST(prep->few_shot.index == 1u);
        }
    }
    BOOST_TEST(drawn_before["alpha"].size() == 10u);  // draws 0..2 (9) and the wrapped draw 3 cover all 10

    // Same flags, same file; another seed, another draw.
    auto a = run_tool("prep", q(caps) + " -o " + q(tmp.path + "/a.fpd") + " --label-from-dir" + kRules + " --split-per-class 3 -q");
    auto b = run_tool("prep", q(caps) + " -o " + q(tmp.path + "/b.fpd") + " --label-from-dir" + kRules + " --split-per-class 3 -q");
    auto c = run_tool("prep", q(caps) + " -o " + q(tmp.path + "/c.fpd") + " --label-from-dir" + kRules + " --split-per-class 3 --seed 2 -q");
    BOOST_TEST_REQUIRE(a.exit_code + b.exit_code + c.exit_code == 0);
    BOOST_TEST(read_file(tmp.path + "/a.fpd") == read_file(tmp.path + "/b.fpd"));
    BOOST_TEST(run_tool("prep", "--stats " + q(tmp.path + "/a.fpd") + " --captures").out !=
               run_tool("prep", "--stats " + q(tmp.path + "/c.fpd") + " --captures").out);
    // The fraction split's settings have no few_shot key (files as before).
    auto f = run_tool("prep", q(caps) + " -o " + q(tmp.path + "/f.fpd") + " --label-from-dir" + kRules + " -q");
    BOOST_TEST_REQUIRE(f.exit_code == 0);
    BOOST_TEST(DatasetReader(tmp.path + "/f.fpd").prep_json().find("few_shot") == std::string::npos);
    BOOST_TEST(run_tool("prep", "--stats " + q(tmp.path + "/f.fpd")).out.find("few-shot") == std::string::npos);
    BOOST_TEST(to_json(PrepSettings{}).find("few_shot") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(usage_errors) {
    TempDir tmp;
    write_classes(tmp.path + "/caps", {{"alpha", 2}});
    const std::string base = q(tmp.path + "/caps") + " -o " + q(tmp.path + "/d.fpd") + " --label-from-dir ";
    struct Case {
        std::string args, message;
    };
    for (const Case& c : std::vector<Case>{
             {"--split-per-class 3 --split 0.8,0.1,0.1", "excludes --split"},
             {"--val-fraction 0.3", "--val-fraction needs --split-per-class N"},
             {"--split-index 1", "--split-index needs --split-per-class N"},
             {"--split-per-class 0", "--split-per-class"},
             {"--split-per-class 3 --split-index 1000", "--split-index"},
             {"--split-per-class 3 --val-fraction 1", "--val-fraction: 1.000000 is not in [0, 1)"},
             {"--split-per-class 3 --val-fraction -0.5", "--val-fraction"},
             {"--split-per-class", "--split-per-class"},
             {"--captures", "--captures goes with --stats DATASET"}}) {
        auto r = run_tool("prep", base + c.args);
        BOOST_TEST(r.exit_code == 2, c.args << ": " << r.err);
        BOOST_TEST(r.err.find(c.message) != std::string::npos, c.args << ": " << r.err);
        BOOST_TEST(!file_exists(tmp.path + "/d.fpd"));
    }
    BOOST_TEST_REQUIRE(run_tool("prep", base + kRules + " -q").exit_code == 0);
    auto j = run_tool("prep", "--stats " + q(tmp.path + "/d.fpd") + " --captures --json");
    BOOST_TEST(j.exit_code == 2);
    BOOST_TEST(j.err.find("--captures prints TSV") != std::string::npos, j.err);
}

BOOST_AUTO_TEST_SUITE_END()
