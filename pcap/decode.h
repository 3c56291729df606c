// Link layer -> IPv4/IPv6 -> TCP/UDP decoding of one capture record, within caplen only.
// A record that does not yield a TCP/UDP packet is skipped for one counted reason.
#pragma once
#include <array>
#include <cstdint>

#include "pcap/packet.h"

namespace flowpic {

enum class SkipReason : uint8_t {
    kNone = 0,         // decoded
    kNonIp,            // link payload is not IPv4/IPv6 (ARP, LLDP, ...)
    kNotTcpUdp,        // ICMP, IGMP, ESP, ...
    kTruncated,        // caplen ends inside a link/IP/TCP/UDP header
    kFragment,         // non-first IP fragment: no ports
    kBadIpHeader,      // IPv4 IHL < 5, total length < header, bad version ...
    kBadL4Header,      // TCP data offset < 5, UDP length < 8
    kExtHeaderLimit,   // IPv6 extension-header chain too long (a loop or garbage)
    kCount
};
const char* skip_reason_name(SkipReason r);  // "non_ip", "not_tcp_udp", ...

struct SkipCounts {
    std::array<uint64_t, size_t(SkipReason::kCount)> n{};
    void add(SkipReason r) { ++n[size_t(r)]; }
    uint64_t total() const;  // all skipped (excludes kNone)
    SkipCounts& operator+=(const SkipCounts& o);
};

// Link types (libpcap DLT_ values as returned by pcap_datalink) that decode_packet reads.
bool link_type_supported(int dlt);
const char* link_type_name(int dlt);  // pcap_datalink_val_to_name or "DLT n"

// Decodes one record.  On success fills `out` (except ts_ns) and returns kNone.
// Never reads beyond data[caplen).
SkipReason decode_packet(int dlt, const uint8_t* data, uint32_t caplen, Packet& out);

}  // namespace flowpic
