// Decoding is a chain of small steps, each reading only bytes it has checked are within
// caplen.  Sizes come from the IP headers (not caplen), so snaplen-cut captures still
// give true packet sizes.
#include "pcap/decode.h"

#include <pcap.h>

#include <cstring>

namespace flowpic {

namespace {

constexpr uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86DD, kEtherVlan = 0x8100,
                   kEtherQinQ = 0x88A8, kEtherQinQOld = 0x9100, kEtherMplsU = 0x8847,
                   kEtherMplsM = 0x8848, kEtherPppoeSession = 0x8864;
constexpr uint16_t kPppIpv4 = 0x0021, kPppIpv6 = 0x0057;
constexpr int kMaxVlanTags = 8, kMaxMplsLabels = 16, kMaxIpv6ExtHeaders = 16;

inline uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t le32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
inline uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]); }

// A cursor over the record: the remaining bytes of the capture.
struct Bytes {
    const uint8_t* p;
    uint32_t n;
    bool skip(uint32_t k) {
        if (k > n) return false;
        p += k; n -= k;
        return true;
    }
};

SkipReason decode_l4(uint8_t proto, Bytes b, uint32_t l4_len, Packet& out) {
    if (proto == kProtoTcp) {
        if (b.n < 20) return SkipReason::kTruncated;
        uint32_t hlen = uint32_t(b.p[12] >> 4) * 4;
        if (hlen < 20 || hlen > l4_len) return SkipReason::kBadL4Header;
        out.tuple.sport = be16(b.p);
        out.tuple.dport = be16(b.p + 2);
        out.payload_len = l4_len - hlen;
    } else if (proto == kProtoUdp) {
        if (b.n < 8) return SkipReason::kTruncated;
        if (l4_len < 8) return SkipReason::kBadL4Header;
        out.tuple.sport = be16(b.p);
        out.tuple.dport = be16(b.p + 2);
        out.payload_len = l4_len - 8;
    } else {
        return SkipReason::kNotTcpUdp;
    }
    out.tuple.proto = proto;
    return SkipReason::kNone;
}

SkipReason decode_ipv4(Bytes b, Packet& out) {
    if (b.n < 20) return SkipReason::kTruncated;
    const uint8_t* h = b.p;
    uint32_t ihl = uint32_t(h[0] & 0x0f) * 4;
    uint32_t total = be16(h + 2);
    if ((h[0] >> 4) != 4 || ihl < 20 || total < ihl) return SkipReason::kBadIpHeader;
    if (b.n < ihl) return SkipReason::kTruncated;
    if ((be16(h + 6) & 0x1fff) != 0) return SkipReason::kFragment;  // offset != 0: no ports
    uint8_t proto = h[9];
    if (proto != kProtoTcp && proto != kProtoUdp) return SkipReason::kNotTcpUdp;
    out.tuple = FiveTuple{};
    out.tuple.ip_version = 4;
    out.tuple.src[10] = out.tuple.src[11] = 0xff;  // IPv4-mapped
    out.tuple.dst[10] = out.tuple.dst[11] = 0xff;
    std::memcpy(&out.tuple.src[12], h + 12, 4);
    std::memcpy(&out.tuple.dst[12], h + 16, 4);
    out.ip_len = total;
    b.skip(ihl);
    return decode_l4(proto, b, total - ihl, out);
}

SkipReason decode_ipv6(Bytes b, Packet& out) {
    if (b.n < 40) return SkipReason::kTruncated;
    const uint8_t* h = b.p;
    if ((h[0] >> 4) != 6) return SkipReason::kBadIpHeader;
    uint32_t payload = be16(h + 4);
    uint8_t next = h[6];
    out.tuple = FiveTuple{};
    out.tuple.ip_version = 6;
    std::memcpy(out.tuple.src.data(), h + 8, 16);
    std::memcpy(out.tuple.dst.data(), h + 24, 16);
    out.ip_len = payload + 40;
    b.skip(40);
    uint32_t consumed = 0;  // extension-header bytes, counted against the payload length
    for (int i = 0;; ++i) {
        if (next == kProtoTcp || next == kProtoUdp) break;
        uint32_t len;
        switch (next) {
            case 0: case 43: case 60: case 135: case 139: case 140:  // hop-by-hop, routing, dest opts, mobility, HIP, shim6
                if (b.n < 2) return SkipReason::kTruncated;
                len = (uint32_t(b.p[1]) + 1) * 8;
                break;
            case 44:  // fragment
                if (b.n < 8) return SkipReason::kTruncated;
                if ((be16(b.p + 2) & 0xfff8) != 0) return SkipReason::kFragment;
                len = 8;
                break;
            case 51:  // AH: length in 4-byte units, minus 2
                if (b.n < 2) return SkipReason::kTruncated;
                len = (uint32_t(b.p[1]) + 2) * 4;
                break;
            default:
                return SkipReason::kNotTcpUdp;  // ESP, ICMPv6, no-next-header, ...
        }
        if (i >= kMaxIpv6ExtHeaders) return SkipReason::kExtHeaderLimit;
        if (consumed + len > payload) return SkipReason::kBadIpHeader;
        next = b.p[0];
        if (!b.skip(len)) return SkipReason::kTruncated;
        consumed += len;
    }
    if (consumed > payload) return SkipReason::kBadIpHeader;
    return decode_l4(next, b, payload - consumed, out);
}

// IPv4 or IPv6 chosen by the version nibble (raw IP, MPLS payloads).
SkipReason decode_ip_by_version(Bytes b, Packet& out) {
    if (b.n < 1) return SkipReason::kTruncated;
    switch (b.p[0] >> 4) {
        case 4: return decode_ipv4(b, out);
        case 6: return decode_ipv6(b, out);
        default: return SkipReason::kNonIp;
    }
}

SkipReason decode_ppp_protocol(uint16_t proto, Bytes b, Packet& out) {
    if (proto == kPppIpv4) return decode_ipv4(b, out);
    if (proto == kPppIpv6) return decode_ipv6(b, out);
    return SkipReason::kNonIp;
}

SkipReason decode_ethertype(uint16_t type, Bytes b, Packet& out) {
    for (int tags = 0; type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld; ++tags) {
        if (tags >= kMaxVlanTags || b.n < 4) return SkipReason::kTruncated;
        type = be16(b.p + 2);
        b.skip(4);
    }
    switch (type) {
        case kEtherIpv4: return decode_ipv4(b, out);
        case kEtherIpv6: return decode_ipv6(b, out);
        case kEtherMplsU:
        case kEtherMplsM:
            for (int i = 0;; ++i) {
                if (i >= kMaxMplsLabels || b.n < 4) return SkipReason::kTruncated;
                bool bottom = (b.p[2] & 1) != 0;
                b.skip(4);
                if (bottom) break;
            }
            return decode_ip_by_version(b, out);
        case kEtherPppoeSession:  // 6-byte PPPoE header, then a 2-byte PPP protocol
            if (b.n < 8) return SkipReason::kTruncated;
            { uint16_t proto = be16(b.p + 6); b.skip(8); return decode_ppp_protocol(proto, b, out); }
        default:
            return SkipReason::kNonIp;
    }
}

SkipReason decode_ethernet(Bytes b, Packet& out) {
    if (b.n < 14) return SkipReason::kTruncated;
    uint16_t type = be16(b.p + 12);
    b.skip(14);
    if (type < 0x0600) {  // 802.3 length field: LLC; only SNAP carries an ethertype
        if (b.n < 8) return SkipReason::kTruncated;
        if (b.p[0] != 0xAA || b.p[1] != 0xAA || b.p[2] != 0x03) return SkipReason::kNonIp;
        type = be16(b.p + 6);
        b.skip(8);
    }
    return decode_ethertype(type, b, out);
}

// BSD loopback: a 4-byte address family in the capturing host's byte order (DLT_NULL) or
// network order (DLT_LOOP); accept both orders for both.  IPv6's AF value differs by OS.
SkipReason decode_null(Bytes b, Packet& out) {
    if (b.n < 4) return SkipReason::kTruncated;
    uint32_t fam = le32(b.p);
    if (fam > 0xffff) fam = be32(b.p);
    b.skip(4);
    switch (fam) {
        case 2: return decode_ipv4(b, out);                              // AF_INET everywhere
        case 10: case 24: case 28: case 30: return decode_ipv6(b, out);  // Linux, Net/OpenBSD, FreeBSD, macOS
        default: return SkipReason::kNonIp;
    }
}

// PPP in HDLC-like framing: optional FF 03, then a 1- or 2-byte protocol field.
SkipReason decode_ppp(Bytes b, Packet& out) {
    if (b.n >= 2 && b.p[0] == 0xff && b.p[1] == 0x03) b.skip(2);
    if (b.n < 1) return SkipReason::kTruncated;
    uint16_t proto;
    if (b.p[0] & 1) {  // compressed 1-byte protocol field
        proto = b.p[0];
        b.skip(1);
    } else {
        if (b.n < 2) return SkipReason::kTruncated;
        proto = be16(b.p);
        b.skip(2);
    }
    return decode_ppp_protocol(proto, b, out);
}

}  // namespace

SkipReason decode_packet(int dlt, const uint8_t* data, uint32_t caplen, Packet& out) {
    Bytes b{data, caplen};
    switch (dlt) {
        case DLT_EN10MB: return decode_ethernet(b, out);
        case DLT_LINUX_SLL:  // 16 bytes, protocol (an ethertype) at offset 14
            if (b.n < 16) return SkipReason::kTruncated;
            { uint16_t t = be16(b.p + 14); b.skip(16); return decode_ethertype(t, b, out); }
        case DLT_LINUX_SLL2:  // 20 bytes, protocol at offset 0
            if (b.n < 20) return SkipReason::kTruncated;
            { uint16_t t = be16(b.p); b.skip(20); return decode_ethertype(t, b, out); }
        case DLT_RAW:
        case 14:  // DLT_RAW on OpenBSD
        case 101: // LINKTYPE_RAW, if a libpcap hands it through unmapped
            return decode_ip_by_version(b, out);
        case DLT_IPV4: return decode_ipv4(b, out);
        case DLT_IPV6: return decode_ipv6(b, out);
        case DLT_NULL:
        case DLT_LOOP: return decode_null(b, out);
        case DLT_PPP:
        case DLT_PPP_SERIAL: return decode_ppp(b, out);
        case DLT_PPP_ETHER:  // PPPoE header without Ethernet
            if (b.n < 8) return SkipReason::kTruncated;
            { uint16_t proto = be16(b.p + 6); b.skip(8); return decode_ppp_protocol(proto, b, out); }
        case DLT_C_HDLC:  // address, control, then an ethertype
            if (b.n < 4) return SkipReason::kTruncated;
            { uint16_t t = be16(b.p + 2); b.skip(4); return decode_ethertype(t, b, out); }
        default: return SkipReason::kNonIp;
    }
}

bool link_type_supported(int dlt) {
    switch (dlt) {
        case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2: case DLT_RAW: case 14: case 101:
        case DLT_IPV4: case DLT_IPV6: case DLT_NULL: case DLT_LOOP: case DLT_PPP:
        case DLT_PPP_SERIAL: case DLT_PPP_ETHER: case DLT_C_HDLC:
            return true;
        default:
            return false;
    }
}

const char* link_type_name(int dlt) {
    const char* n = pcap_datalink_val_to_name(dlt);
    return n ? n : "unknown";
}

const char* skip_reason_name(SkipReason r) {
    switch (r) {
        case SkipReason::kNone: return "decoded";
        case SkipReason::kNonIp: return "non_ip";
        case SkipReason::kNotTcpUdp: return "not_tcp_udp";
        case SkipReason::kTruncated: return "truncated";
        case SkipReason::kFragment: return "fragment";
        case SkipReason::kBadIpHeader: return "bad_ip_header";
        case SkipReason::kBadL4Header: return "bad_l4_header";
        case SkipReason::kExtHeaderLimit: return "ipv6_ext_header_limit";
        case SkipReason::kCount: break;
    }
    return "?";
}

uint64_t SkipCounts::total() const {
    uint64_t t = 0;
    for (size_t i = 1; i < n.size(); ++i) t += n[i];
    return t;
}

SkipCounts& SkipCounts::operator+=(const SkipCounts& o) {
    for (size_t i = 0; i < n.size(); ++i) n[i] += o.n[i];
    return *this;
}

}  // namespace flowpic
