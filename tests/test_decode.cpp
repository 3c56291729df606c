// Decoder: every supported link type, IPv4/IPv6 variants, and malformed packets, as one
// table of cases (frame -> expected skip reason and decoded fields).
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <pcap.h>

#include "pcap/decode.h"
#include "tests/pcap_builder.h"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

struct Case {
    const char* name;
    int dlt;
    std::string frame;
    SkipReason expect;
    uint32_t ip_len = 0, payload = 0;
    uint16_t sport = 0, dport = 0;
    uint8_t proto = 0, ipver = 0;
    int64_t caplen = -1;  // cut the frame here
};

L4 tcp(uint32_t payload = 100) { return L4{6, 40000, 443, payload}; }
L4 udp(uint32_t payload = 60) { return L4{17, 5060, 5004, payload}; }

std::vector<Case> cases() {
    std::vector<Case> c;
    const std::string v4t = ipv4(tcp()), v4u = ipv4(udp()), v6t = ipv6(tcp()), v6u = ipv6(udp());
    // Link types (sizes: v4 TCP = 20+20+100, v4 UDP = 20+8+60, v6 TCP = 40+20+100)
    c.push_back({"ethernet ipv4 tcp", DLT_EN10MB, ethernet(0x0800, v4t), SkipReason::kNone, 140, 100, 40000, 443, 6, 4});
    c.push_back({"ethernet ipv4 udp", DLT_EN10MB, ethernet(0x0800, v4u), SkipReason::kNone, 88, 60, 5060, 5004, 17, 4});
    c.push_back({"ethernet ipv6 tcp", DLT_EN10MB, ethernet(0x86DD, v6t), SkipReason::kNone, 160, 100, 40000, 443, 6, 6});
    c.push_back({"802.1Q", DLT_EN10MB, ethernet(0x0800, v4t, {0x8100}), SkipReason::kNone, 140, 100, 40000, 443, 6, 4});
    c.push_back({"802.1ad", DLT_EN10MB, ethernet(0x86DD, v6u, {0x88A8}), SkipReason::kNone, 108, 60, 5060, 5004, 17, 6});
    c.push_back({"QinQ", DLT_EN10MB, ethernet(0x0800, v4u, {0x88A8, 0x8100}), SkipReason::kNone, 88, 60, 5060, 5004, 17, 4});
    c.push_back({"QinQ 0x9100", DLT_EN10MB, ethernet(0x0800, v4u, {0x9100, 0x8100}), SkipReason::kNone, 88, 60, 5060, 5004, 17, 4});
    c.push_back({"linux sll", DLT_LINUX_SLL, sll(0x0800, v4t), SkipReason::kNone, 140, 100, 40000, 443, 6, 4});
    c.push_back({"linux sll2", DLT_LINUX_SLL2, sll2(0x86DD, v6t), SkipReason::kNone, 160, 100, 40000, 443, 6, 6});
    c.push_back({"raw ipv4", DLT_RAW, v4t, SkipReason::kNone, 140, 100, 40000, 443, 6, 4});
    c.push_back({"raw ipv6", DLT_RAW, v6u, SkipReason::kNone, 108, 60, 5060, 5004, 17, 6});
    c.push_back({"linktype ipv4", DLT_IPV4, v4u, SkipReason::kNone, 88, 60, 5060, 5004, 17, 4});
    c.push_back({"linktype ipv6", DLT_IPV6, v6t, SkipReason::kNone, 160, 100, 40000, 443, 6, 6});
    c.push_back({"null le AF_INET", DLT_NULL, null_loop(2, false, v4t), SkipReason::kNone, 140, 100, 40000, 443, 6, 4});
    c.push_back({"null be AF_INET", DLT_NULL, null_loop(2, true, v4t), SkipReason::kNone, 140, 100, 40000, 443, 6, 4});
    for (uint32_t fam : {10u, 24u, 28u, 30u}) {
        c.push_back({"null le AF_INET6", DLT_NULL, null_loop(fam, false, v6t), SkipReason::kNone, 160, 100, 40000, 443, 6, 6});
        c.push_back({"loop be AF_INET6", DLT_LOOP, null_loop(fam, true, v6t), SkipReason::kNone, 160, 100, 40000, 443, 6, 6});
    }
    c.push_back({"ppp", DLT_PPP, std::string("\xff\x03\x00\x21", 4) + v4t, SkipReason::kNone, 140, 100, 40000, 443, 6, 4});
    c.push_back({"ppp ipv6", DLT_PPP_SERIAL, std::string("\xff\x03\x00\x57", 4) + v6t, SkipReason::kNone, 160, 100, 40000, 443, 6, 6});
    c.push_back({"pppoe over ethernet", DLT_EN10MB, ethernet(0x8864, std::string("\x11\x00\x00\x01\x00\x00\x00\x21", 8) + v4t), SkipReason::kNone, 140, 100, 40000, 443, 6, 4});
    c.push_back({"mpls", DLT_EN10MB, ethernet(0x8847, std::string("\x00\x01\x01\x40", 4) + v4t), SkipReason::kNone, 140, 100, 40000, 443, 6, 4});
    // IPv4 variants
    c.push_back({"ipv4 options", DLT_RAW, ipv4(tcp(), 1, 2, 3), SkipReason::kNone, 152, 100, 40000, 443, 6, 4});
    c.push_back({"first fragment keeps ports", DLT_RAW, ipv4(udp(), 1, 2, 0, 0x2000), SkipReason::kNone, 88, 60, 5060, 5004, 17, 4});
    c.push_back({"non-first fragment", DLT_RAW, ipv4(udp(), 1, 2, 0, 0x2010), SkipReason::kFragment});
    c.push_back({"icmp", DLT_RAW, ipv4(L4{1, 0, 0, 20}), SkipReason::kNotTcpUdp});
    c.push_back({"arp", DLT_EN10MB, ethernet(0x0806, std::string(28, '\x01')), SkipReason::kNonIp});
    c.push_back({"llc non-snap", DLT_EN10MB, ethernet(0x0026, std::string(38, '\x42')), SkipReason::kNonIp});
    {
        std::string bad = v4t; bad[0] = char(0x44);  // IHL 4
        c.push_back({"ipv4 ihl < 5", DLT_RAW, bad, SkipReason::kBadIpHeader});
        std::string small = v4t; small[2] = 0; small[3] = 10;  // total length 10 < 20
        c.push_back({"ipv4 total length < header", DLT_RAW, small, SkipReason::kBadIpHeader});
        std::string tcpoff = v4t; tcpoff[20 + 12] = char(2 << 4);
        c.push_back({"tcp data offset < 5", DLT_RAW, tcpoff, SkipReason::kBadL4Header});
    }
    // IPv6 extension headers
    c.push_back({"ipv6 hop-by-hop + routing + dstopts", DLT_RAW, ipv6(tcp(), {{0, 8}, {43, 24}, {60, 16}}),
                 SkipReason::kNone, 208, 100, 40000, 443, 6, 6});
    c.push_back({"ipv6 first fragment", DLT_RAW, ipv6(udp(), {{44, 8, 0}}), SkipReason::kNone, 116, 60, 5060, 5004, 17, 6});
    c.push_back({"ipv6 AH", DLT_RAW, ipv6(udp(), {{51, 16}}), SkipReason::kNone, 124, 60, 5060, 5004, 17, 6});
    c.push_back({"ipv6 non-first fragment", DLT_RAW, ipv6(udp(), {{44, 8, 100}}), SkipReason::kFragment});
    c.push_back({"ipv6 esp", DLT_RAW, ipv6(L4{50, 0, 0, 20}), SkipReason::kNotTcpUdp});
    {
        std::vector<Ext> loop(40, Ext{60, 8});  // a long chain of destination options
        c.push_back({"ipv6 ext-header loop", DLT_RAW, ipv6(tcp(), loop), SkipReason::kExtHeaderLimit});
    }
    // Truncation inside each header
    c.push_back({"cut in ethernet", DLT_EN10MB, ethernet(0x0800, v4t), SkipReason::kTruncated, 0, 0, 0, 0, 0, 0, 10});
    c.push_back({"cut in vlan tag", DLT_EN10MB, ethernet(0x0800, v4t, {0x8100}), SkipReason::kTruncated, 0, 0, 0, 0, 0, 0, 16});
    c.push_back({"cut in ipv4", DLT_EN10MB, ethernet(0x0800, v4t), SkipReason::kTruncated, 0, 0, 0, 0, 0, 0, 14 + 12});
    c.push_back({"cut in ipv4 options", DLT_RAW, ipv4(tcp(), 1, 2, 3), SkipReason::kTruncated, 0, 0, 0, 0, 0, 0, 24});
    c.push_back({"cut in tcp", DLT_EN10MB, ethernet(0x0800, v4t), SkipReason::kTruncated, 0, 0, 0, 0, 0, 0, 14 + 20 + 10});
    c.push_back({"cut in udp", DLT_RAW, v4u, SkipReason::kTruncated, 0, 0, 0, 0, 0, 0, 20 + 4});
    c.push_back({"cut in ipv6", DLT_RAW, v6t, SkipReason::kTruncated, 0, 0, 0, 0, 0, 0, 30});
    c.push_back({"cut in ipv6 ext", DLT_RAW, ipv6(tcp(), {{0, 8}, {60, 64}}), SkipReason::kTruncated, 0, 0, 0, 0, 0, 0, 40 + 8 + 20});
    c.push_back({"cut in sll", DLT_LINUX_SLL, sll(0x0800, v4t), SkipReason::kTruncated, 0, 0, 0, 0, 0, 0, 12});
    c.push_back({"cut in null", DLT_NULL, null_loop(2, false, v4t), SkipReason::kTruncated, 0, 0, 0, 0, 0, 0, 3});
    c.push_back({"caplen 0", DLT_EN10MB, ethernet(0x0800, v4t), SkipReason::kTruncated, 0, 0, 0, 0, 0, 0, 0});
    // A snaplen-cut packet (headers only) still has its true size.
    c.push_back({"snaplen 54", DLT_EN10MB, ethernet(0x0800, v4t), SkipReason::kNone, 140, 100, 40000, 443, 6, 4, 54});
    return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(decode)

BOOST_AUTO_TEST_CASE(table_of_frames) {
    for (const Case& c : cases()) {
        BOOST_TEST_CONTEXT(c.name) {
            uint32_t caplen = c.caplen < 0 ? uint32_t(c.frame.size()) : uint32_t(c.caplen);
            // Copy exactly caplen bytes to the heap so a read past the end shows under ASan/valgrind.
            std::vector<uint8_t> buf(c.frame.begin(), c.frame.begin() + caplen);
            Packet p;
            SkipReason got = decode_packet(c.dlt, buf.data(), caplen, p);
            BOOST_TEST(skip_reason_name(got) == skip_reason_name(c.expect));
            if (c.expect == SkipReason::kNone && got == SkipReason::kNone) {
                BOOST_TEST(p.ip_len == c.ip_len);
                BOOST_TEST(p.payload_len == c.payload);
                BOOST_TEST(p.tuple.sport == c.sport);
                BOOST_TEST(p.tuple.dport == c.dport);
                BOOST_TEST(int(p.tuple.proto) == int(c.proto));
                BOOST_TEST(int(p.tuple.ip_version) == int(c.ipver));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(addresses_are_formatted) {
    Packet p;
    std::string f = ipv4(L4{6, 1, 2, 0}, 0xc0a80001, 0x08080808);
    BOOST_REQUIRE(decode_packet(DLT_RAW, reinterpret_cast<const uint8_t*>(f.data()), uint32_t(f.size()), p) == SkipReason::kNone);
    BOOST_TEST(format_address(p.tuple.src, 4) == "192.168.0.1");
    BOOST_TEST(format_address(p.tuple.dst, 4) == "8.8.8.8");
    std::string g = ipv6(L4{17, 1, 2, 0}, {}, 1, 0x22);
    BOOST_REQUIRE(decode_packet(DLT_RAW, reinterpret_cast<const uint8_t*>(g.data()), uint32_t(g.size()), p) == SkipReason::kNone);
    BOOST_TEST(format_address(p.tuple.src, 6) == "2001::1");
    BOOST_TEST(format_address(p.tuple.dst, 6) == "2001::22");
}

// Random bytes on every link type: any result is fine, a crash or an out-of-bounds read is not.
BOOST_AUTO_TEST_CASE(random_garbage_never_crashes) {
    uint64_t state = 12345;
    auto next = [&] { state = state * 6364136223846793005ULL + 1442695040888963407ULL; return uint8_t(state >> 56); };
    const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP, DLT_PPP};
    SkipCounts counts;
    for (int round = 0; round < 20000; ++round) {
        std::vector<uint8_t> buf(next() % 120);
        for (auto& b : buf) b = next();
        if (buf.size() > 0 && round % 2) buf[0] = uint8_t(0x45 + (round % 4 == 1 ? 0x20 : 0));  // often IPv4/IPv6-looking
        Packet p;
        counts.add(decode_packet(dlts[round % 9], buf.data(), uint32_t(buf.size()), p));
    }
    BOOST_TEST(counts.total() > 0u);
}

BOOST_AUTO_TEST_SUITE_END()
