// Builds capture files and frames byte by byte, so tests can make every link type and
// every malformed case without fixtures.  Numbers in network order unless noted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace flowpic::testing {

inline void put16be(std::string& s, uint16_t v) { s += char(v >> 8); s += char(v); }
inline void put32be(std::string& s, uint32_t v) { put16be(s, uint16_t(v >> 16)); put16be(s, uint16_t(v)); }
inline void put16le(std::string& s, uint16_t v) { s += char(v); s += char(v >> 8); }
inline void put32le(std::string& s, uint32_t v) { put16le(s, uint16_t(v)); put16le(s, uint16_t(v >> 16)); }
inline void put64le(std::string& s, uint64_t v) { put32le(s, uint32_t(v)); put32le(s, uint32_t(v >> 32)); }

struct L4 {
    uint8_t proto = 6;  // 6 TCP, 17 UDP, other: opaque 8 bytes
    uint16_t sport = 40000, dport = 443;
    uint32_t payload = 100;
};

inline std::string l4_header(const L4& l4) {
    std::string h;
    if (l4.proto == 6) {
        put16be(h, l4.sport); put16be(h, l4.dport);
        put32be(h, 1); put32be(h, 0);
        h += char(5 << 4); h += char(0x18);  // data offset 5, PSH|ACK
        put16be(h, 65535); put16be(h, 0); put16be(h, 0);
    } else if (l4.proto == 17) {
        put16be(h, l4.sport); put16be(h, l4.dport);
        put16be(h, uint16_t(8 + l4.payload)); put16be(h, 0);
    } else {
        h.assign(8, '\x01');
    }
    return h;
}

// IPv4 packet; payload bytes are zeros (truncate with caplen to save space).
inline std::string ipv4(const L4& l4, uint32_t src = 0x0a000001, uint32_t dst = 0xc0a80101,
                        int option_words = 0, uint16_t frag_field = 0) {
    std::string l4h = l4_header(l4);
    uint32_t ihl = 5 + option_words;
    uint16_t total = uint16_t(ihl * 4 + l4h.size() + l4.payload);
    std::string h;
    h += char(0x40 | ihl); h += char(0);
    put16be(h, total); put16be(h, 1); put16be(h, frag_field);
    h += char(64); h += char(l4.proto); put16be(h, 0);
    put32be(h, src); put32be(h, dst);
    h.append(option_words * 4, '\x01');  // NOP options
    return h + l4h + std::string(l4.payload, '\0');
}

struct Ext { uint8_t type; uint32_t len_bytes; uint16_t frag_offset = 0; };

// IPv6 packet with an extension-header chain.
inline std::string ipv6(const L4& l4, const std::vector<Ext>& exts = {}, uint8_t src_last = 1, uint8_t dst_last = 2) {
    std::string l4h = l4_header(l4), ext;
    for (size_t i = 0; i < exts.size(); ++i) {
        uint8_t next = i + 1 < exts.size() ? exts[i + 1].type : l4.proto;
        std::string e;
        e += char(next);
        if (exts[i].type == 44) {  // fragment header: fixed 8 bytes
            e += char(0); put16be(e, uint16_t(exts[i].frag_offset << 3)); put32be(e, 7);
        } else if (exts[i].type == 51) {
            e += char(exts[i].len_bytes / 4 - 2); e.append(exts[i].len_bytes - 2, '\0');
        } else {
            e += char(exts[i].len_bytes / 8 - 1); e.append(exts[i].len_bytes - 2, '\0');
        }
        ext += e;
    }
    std::string h;
    put32be(h, 0x60000000);
    put16be(h, uint16_t(ext.size() + l4h.size() + l4.payload));
    h += char(exts.empty() ? l4.proto : exts[0].type); h += char(64);
    std::string src(16, '\0'), dst(16, '\0');
    src[0] = dst[0] = char(0x20); src[1] = dst[1] = char(0x01);
    src[15] = char(src_last); dst[15] = char(dst_last);
    return h + src + dst + ext + l4h + std::string(l4.payload, '\0');
}

inline std::string ethernet(uint16_t ethertype, const std::string& payload, const std::vector<uint16_t>& tags = {}) {
    std::string f = std::string("\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb", 12);
    for (uint16_t tpid : tags) { put16be(f, tpid); put16be(f, 100); }
    put16be(f, ethertype);
    return f + payload;
}

inline std::string sll(uint16_t ethertype, const std::string& payload) {
    std::string f;
    put16be(f, 0); put16be(f, 1); put16be(f, 6); f.append(8, '\x42'); put16be(f, ethertype);
    return f + payload;
}

inline std::string sll2(uint16_t ethertype, const std::string& payload) {
    std::string f;
    put16be(f, ethertype); put16be(f, 0); put32be(f, 2); put16be(f, 1); f += char(0); f += char(6);
    f.append(8, '\x42');
    return f + payload;
}

inline std::string null_loop(uint32_t family, bool big_endian, const std::string& payload) {
    std::string f;
    if (big_endian) put32be(f, family); else put32le(f, family);
    return f + payload;
}

// A classic pcap file (little-endian writer; `nano` picks the nanosecond magic).
class PcapFile {
public:
    PcapFile(uint32_t linktype, uint32_t snaplen = 65535, bool nano = true) : nano_(nano) {
        put32le(bytes, nano ? 0xa1b23c4d : 0xa1b2c3d4);
        put16le(bytes, 2); put16le(bytes, 4);
        put32le(bytes, 0); put32le(bytes, 0);
        put32le(bytes, snaplen); put32le(bytes, linktype);
    }
    // caplen: bytes stored (default all of the frame); wirelen: original length.
    PcapFile& add(int64_t ts_ns, const std::string& frame, int64_t caplen = -1, int64_t wirelen = -1) {
        uint32_t cap = caplen < 0 ? uint32_t(frame.size()) : uint32_t(caplen);
        uint32_t wire = wirelen < 0 ? uint32_t(frame.size()) : uint32_t(wirelen);
        put32le(bytes, uint32_t(ts_ns / 1000000000));
        put32le(bytes, uint32_t(nano_ ? ts_ns % 1000000000 : ts_ns % 1000000000 / 1000));
        put32le(bytes, cap); put32le(bytes, wire);
        bytes += frame.substr(0, std::min<size_t>(cap, frame.size()));
        if (cap > frame.size()) bytes.append(cap - frame.size(), '\0');
        return *this;
    }
    std::string bytes;

private:
    bool nano_;
};

// A pcapng file: section header, one interface (nanosecond resolution), enhanced packets.
class PcapngFile {
public:
    explicit PcapngFile(uint16_t linktype) {
        std::string shb;
        put32le(shb, 0x1A2B3C4D); put16le(shb, 1); put16le(shb, 0); put64le(shb, ~0ULL);
        block(0x0A0D0D0A, shb);
        std::string idb;
        put16le(idb, linktype); put16le(idb, 0); put32le(idb, 0);
        put16le(idb, 9); put16le(idb, 1); idb += char(9); idb.append(3, '\0');  // if_tsresol = 10^-9
        put16le(idb, 0); put16le(idb, 0);
        block(1, idb);
    }
    PcapngFile& add(int64_t ts_ns, const std::string& frame) {
        std::string epb;
        put32le(epb, 0);
        put32le(epb, uint32_t(uint64_t(ts_ns) >> 32)); put32le(epb, uint32_t(ts_ns));
        put32le(epb, uint32_t(frame.size())); put32le(epb, uint32_t(frame.size()));
        epb += frame;
        while (epb.size() % 4) epb += '\0';
        block(6, epb);
        return *this;
    }
    std::string bytes;

private:
    void block(uint32_t type, const std::string& body) {
        uint32_t len = uint32_t(body.size() + 12);
        put32le(bytes, type); put32le(bytes, len); bytes += body; put32le(bytes, len);
    }
};

}  // namespace flowpic::testing
