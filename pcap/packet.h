// One decoded packet: what the rest of flowpic needs from a capture record.
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace flowpic {

enum : uint8_t { kProtoTcp = 6, kProtoUdp = 17 };

// Addresses are 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so one key type
// serves both families.
struct FiveTuple {
    std::array<uint8_t, 16> src{}, dst{};
    uint16_t sport = 0, dport = 0;
    uint8_t proto = 0;    // kProtoTcp or kProtoUdp
    uint8_t ip_version = 0;  // 4 or 6

    FiveTuple reversed() const {
        FiveTuple r = *this;
        r.src = dst; r.dst = src; r.sport = dport; r.dport = sport;
        return r;
    }
    bool operator==(const FiveTuple& o) const {
        return src == o.src && dst == o.dst && sport == o.sport && dport == o.dport &&
               proto == o.proto && ip_version == o.ip_version;
    }
};

struct Packet {
    int64_t ts_ns = 0;       // capture timestamp, nanoseconds since the epoch
    FiveTuple tuple;         // as on the wire (src = sender of this packet)
    uint32_t ip_len = 0;     // IPv4 total length, or IPv6 payload length + 40: the "size"
    uint32_t payload_len = 0;  // TCP/UDP payload bytes, from the IP lengths (not caplen)
};

// "192.168.1.1" / "2001:db8::1".
std::string format_address(const std::array<uint8_t, 16>& a, uint8_t ip_version);
const char* proto_name(uint8_t proto);  // "TCP", "UDP", or "?"

}  // namespace flowpic
