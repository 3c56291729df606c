// Real captures (nDPI's test corpus): every file is read without a crash, and our flow
// table's per-direction packet counts agree with nDPI's for >= 95% of the TCP/UDP flows
// both list.  Skipped, with the reason, when the corpus is not present.
#define BOOST_TEST_DYN_LINK
#pragma GCC diagnostic ignored "-Wuninitialized"  // inside boost::function, from precondition()
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "pcap/capture_reader.h"
#include "pcap/extractor.h"
#include "tests/ndpi_data.h"

using namespace flowpic;

namespace {

using Key = std::tuple<std::string, std::string, std::string, std::string, std::string>;  // proto src sport dst dport

struct FlowCollector : PacketSink {
    std::map<Key, std::pair<uint64_t, uint64_t>> flows;  // (client->server, server->client)
    void flow_end(const FlowRecord& f) override {
        const FiveTuple& c = f.client;
        Key k{proto_name(c.proto), format_address(c.src, c.ip_version), std::to_string(c.sport),
              format_address(c.dst, c.ip_version), std::to_string(c.dport)};
        auto& v = flows[k];  // a flow cut by a timeout: nDPI counts the pieces as one
        v.first += f.packets[1];
        v.second += f.packets[0];
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ndpi_real_captures, *boost::unit_test::precondition(NdpiPresent()))

BOOST_AUTO_TEST_CASE(every_capture_reads_without_a_crash) {
    std::vector<std::string> files = expand_capture_inputs({ndpi_dir() + "/pcap"});
    ExtractOptions opts;
    opts.keep_going = true;
    opts.progress = false;
    PacketSink none;
    ExtractStats st;
    extract_captures(files, opts, none, st);
    BOOST_TEST_MESSAGE("nDPI corpus: " << st.files << " captures read, " << st.files_failed << " refused, "
                                       << st.records << " records, " << st.packets << " TCP/UDP packets");
    for (const auto& w : st.warnings) BOOST_TEST_MESSAGE("  " << w);
    BOOST_TEST(st.files + st.files_failed == files.size());
    BOOST_TEST(st.files_failed <= 3u);  // e.g. a PPI (DLT 192) capture: refused with a clear message
    BOOST_TEST(st.packets > 50000u);
}

BOOST_AUTO_TEST_CASE(per_direction_packet_counts_agree_with_ndpi) {
    std::ifstream in(ndpi_dir() + "/flows.tsv");
    std::string line;
    std::getline(in, line);  // header
    std::map<std::string, std::vector<std::vector<std::string>>> by_pcap;
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::istringstream ls(line);
        for (std::string x; std::getline(ls, x, '\t');) f.push_back(x);
        if (f.size() >= 13 && (f[1] == "TCP" || f[1] == "UDP")) by_pcap[f[0]].push_back(f);
    }
    BOOST_REQUIRE(!by_pcap.empty());
    size_t both = 0, agree = 0, only_ndpi = 0;
    ExtractOptions opts;
    opts.progress = false;
    for (const auto& [pcap, rows] : by_pcap) {
        FlowCollector ours;
        ExtractStats st;
        try {
            extract_captures({ndpi_dir() + "/pcap/" + pcap}, opts, ours, st);
        } catch (const InputError& e) {
            BOOST_TEST_MESSAGE("refused: " << e.what());
        }
        for (const auto& r : rows) {
            std::pair<uint64_t, uint64_t> nd{std::stoull(r[9]), std::stoull(r[11])};
            auto it = ours.flows.find(Key{r[1], r[2], r[3], r[4], r[5]});
            std::pair<uint64_t, uint64_t> got;
            if (it != ours.flows.end()) {
                got = it->second;
            } else if ((it = ours.flows.find(Key{r[1], r[4], r[5], r[2], r[3]})) != ours.flows.end()) {
                got = {it->second.second, it->second.first};
            } else {
                ++only_ndpi;  // e.g. inside a tunnel nDPI decapsulates (GTP, CAPWAP, ...)
                continue;
            }
            ++both;
            if (got == nd) ++agree;
        }
    }
    double rate = both ? double(agree) / both : 0;
    std::printf("nDPI agreement: %zu of %zu flows listed by both have the same per-direction packet counts "
                "(%.2f%%); %zu flows only nDPI lists\n", agree, both, 100 * rate, only_ndpi);
    BOOST_TEST(both > 4000u);
    BOOST_TEST(rate >= 0.95);
}

BOOST_AUTO_TEST_SUITE_END()
