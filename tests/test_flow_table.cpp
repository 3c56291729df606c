// Flow table: client/direction rules, timeouts, eviction under a flow cap, end order.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <map>
#include <random>

#include "pcap/flow_table.h"

using namespace flowpic;

namespace {

Packet make(int64_t ts_s_ms, uint8_t a, uint16_t ap, uint8_t b, uint16_t bp, uint32_t len = 100, uint8_t proto = kProtoTcp) {
    Packet p;
    p.ts_ns = ts_s_ms * 1000000;  // milliseconds in tests
    p.tuple.ip_version = 4;
    p.tuple.src[15] = a; p.tuple.dst[15] = b;
    p.tuple.sport = ap; p.tuple.dport = bp;
    p.tuple.proto = proto;
    p.ip_len = len;
    return p;
}

struct Collector {
    std::vector<FlowRecord> ended;
    FlowTable::EndCallback cb() { return [this](const FlowRecord& f) { ended.push_back(f); }; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(flow_table)

BOOST_AUTO_TEST_CASE(first_sender_is_client_and_directions_follow) {
    Collector c;
    FlowTable t({}, c.cb());
    // The server's address sorts first: the canonical key must not decide the client.
    FlowHit h1 = t.add(make(0, 9, 50000, 1, 443, 60));
    FlowHit h2 = t.add(make(10, 1, 443, 9, 50000, 1500));
    FlowHit h3 = t.add(make(20, 9, 50000, 1, 443, 52));
    BOOST_TEST(h1.new_flow);
    BOOST_TEST(!h2.new_flow);
    BOOST_TEST(h1.flow_id == h2.flow_id);
    BOOST_TEST(int(h1.direction) == 1);
    BOOST_TEST(int(h2.direction) == 0);
    BOOST_TEST(int(h3.direction) == 1);
    BOOST_TEST(h3.flow_first_ns == 0);
    t.flush();
    BOOST_REQUIRE(c.ended.size() == 1u);
    const FlowRecord& f = c.ended[0];
    BOOST_TEST(int(f.client.src[15]) == 9);
    BOOST_TEST(f.client.sport == 50000);
    BOOST_TEST(f.packets[1] == 2u);
    BOOST_TEST(f.bytes[1] == 112u);
    BOOST_TEST(f.packets[0] == 1u);
    BOOST_TEST(f.bytes[0] == 1500u);
    BOOST_TEST(f.last_ns == 20000000);
    BOOST_TEST(flow_end_name(f.end) == std::string("end"));
}

BOOST_AUTO_TEST_CASE(protocol_and_ports_separate_flows) {
    Collector c;
    FlowTable t({}, c.cb());
    t.add(make(0, 1, 1000, 2, 53, 60, kProtoUdp));
    t.add(make(1, 1, 1000, 2, 53, 60, kProtoTcp));
    t.add(make(2, 1, 1001, 2, 53, 60, kProtoUdp));
    BOOST_TEST(t.live_flows() == 3u);
}

BOOST_AUTO_TEST_CASE(idle_timeout_ends_a_flow_and_a_new_one_starts) {
    Collector c;
    FlowTableConfig cfg;
    cfg.idle_timeout_s = 5;
    FlowTable t(cfg, c.cb());
    t.add(make(0, 1, 1, 2, 2));
    t.add(make(4000, 2, 2, 1, 1));      // 4 s later: same flow
    t.add(make(9500, 2, 2, 1, 1));      // 5.5 s idle: the first flow ended, 2 is now client
    BOOST_REQUIRE(c.ended.size() == 1u);
    BOOST_TEST(c.ended[0].packets[1] == 1u);
    BOOST_TEST(c.ended[0].packets[0] == 1u);
    BOOST_TEST(flow_end_name(c.ended[0].end) == std::string("idle"));
    t.flush();
    BOOST_REQUIRE(c.ended.size() == 2u);
    BOOST_TEST(int(c.ended[1].client.src[15]) == 2);
    BOOST_TEST(c.ended[1].id == 1u);
}

BOOST_AUTO_TEST_CASE(active_timeout_cuts_long_flows_keeping_the_client) {
    Collector c;
    FlowTableConfig cfg;
    cfg.active_timeout_s = 10;
    FlowTable t(cfg, c.cb());
    for (int i = 0; i <= 25; ++i) t.add(make(i * 1000, (i % 2) ? 2 : 1, (i % 2) ? 2 : 1, (i % 2) ? 1 : 2, (i % 2) ? 1 : 2));
    t.flush();
    BOOST_REQUIRE(c.ended.size() == 3u);  // [0,10], [11,21], [22,25] seconds
    uint64_t total = 0;
    for (const auto& f : c.ended) {
        BOOST_TEST(int(f.client.src[15]) == 1);
        total += f.packets[0] + f.packets[1];
        BOOST_TEST(f.last_ns - f.first_ns <= int64_t(10e9));
    }
    BOOST_TEST(total == 26u);
    BOOST_TEST(flow_end_name(c.ended[0].end) == std::string("active"));
}

// Many random flows through a small cap: memory stays at the cap, and every packet is
// accounted for in exactly one ended flow.
BOOST_AUTO_TEST_CASE(flow_cap_bounds_live_flows_and_loses_no_packet) {
    Collector c;
    FlowTableConfig cfg;
    cfg.max_flows = 64;
    FlowTable t(cfg, c.cb());
    std::mt19937 rng(7);
    uint64_t packets = 0;
    size_t max_live = 0;
    for (int i = 0; i < 20000; ++i) {
        uint8_t host = uint8_t(rng() % 200 + 1);
        uint16_t port = uint16_t(rng() % 3);
        t.add(rng() % 2 ? make(i, host, port, 250, 80) : make(i, 250, 80, host, port));
        ++packets;
        max_live = std::max(max_live, t.live_flows());
    }
    t.flush();
    BOOST_TEST(max_live <= 64u);
    BOOST_TEST(t.evictions() > 0u);
    uint64_t counted = 0;
    for (const auto& f : c.ended) counted += f.packets[0] + f.packets[1];
    BOOST_TEST(counted == packets);
    BOOST_TEST(c.ended.size() == t.flows_started());
}

// The table agrees with a plain std::map model on random traffic with deletions
// (exercises backward-shift deletion and growth).
BOOST_AUTO_TEST_CASE(matches_a_simple_model) {
    std::map<uint64_t, std::pair<uint64_t, uint64_t>> model;  // id -> (fwd, rev)
    Collector c;
    FlowTableConfig cfg;
    cfg.idle_timeout_s = 0.05;
    FlowTable t(cfg, c.cb());
    std::mt19937 rng(11);
    for (int i = 0; i < 50000; ++i) {
        uint8_t a = uint8_t(rng() % 50 + 1), b = uint8_t(rng() % 50 + 100);
        bool fwd = rng() % 2;
        FlowHit h = t.add(fwd ? make(i, a, 1, b, 2) : make(i, b, 2, a, 1));
        auto& m = model[h.flow_id];
        (h.direction ? m.first : m.second) += 1;
    }
    t.flush();
    BOOST_REQUIRE(c.ended.size() == model.size());
    for (const auto& f : c.ended) {
        BOOST_TEST(f.packets[1] == model[f.id].first);
        BOOST_TEST(f.packets[0] == model[f.id].second);
    }
}

BOOST_AUTO_TEST_SUITE_END()
