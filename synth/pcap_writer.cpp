// Serialising generated flows into frames, and the k-way merge of captures.
#include "synth/pcap_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <queue>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "core/error.h"
#include "core/progress.h"
#include "synth/synth.h"
#include "synth/rng.h"

namespace flowpic {

PcapFileWriter::PcapFileWriter(const std::string& path, int snaplen) : out_(path) {
    dead_ = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, snaplen, PCAP_TSTAMP_PRECISION_NANO);
    // The dumper writes through the AtomicFile's FILE (a pcap_dumper_t is that FILE);
    // commit() closes it, so pcap_dump_close is never called.
    if (dead_) dumper_ = pcap_dump_fopen(dead_, out_.get());
    if (!dumper_) {
        if (dead_) pcap_close(dead_);
        throw input_error(path, "cannot start the capture file");
    }
}

PcapFileWriter::~PcapFileWriter() {
    if (dead_) pcap_close(dead_);
}

uint64_t PcapFileWriter::commit() {
    if (pcap_dump_flush(dumper_) != 0 || std::ferror(out_.get()))
        throw input_error(out_.path(), std::string("write failed: ") + std::strerror(errno));
    long size = ftell(out_.get());
    out_.commit();
    return uint64_t(size < 0 ? 0 : size);
}

namespace {

void put16(uint8_t* p, uint32_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
void put32(uint8_t* p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xFFFF); }

uint32_t sum16(const uint8_t* p, size_t n, uint32_t s = 0) {
    for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t(p[i]) << 8 | p[i + 1];
    if (n & 1) s += uint32_t(p[n - 1]) << 8;
    return s;
}
uint16_t fold(uint32_t s) {
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return uint16_t(~s);
}

// Per-conversation header state while writing: sequence numbers advance with the
// bytes each side has sent, and ACK numbers acknowledge what the peer sent so far.
struct ConvState {
    uint32_t isn[2], sent[2] = {0, 0};
    uint16_t ip_id[2], window[2];
};

}  // namespace

uint64_t synth_write_pcap(const SynthFlow& flow, const std::string& path) {
    SynthRng rng(flow.write_seed);
    uint8_t client_mac[6] = {0x02, 0, 0, 0, 0, 0}, router_mac[6] = {0x00, 0x1A, 0x2B, 0, 0, 0};
    for (int i = 1; i < 6; ++i) client_mac[i] = uint8_t(rng.next());  // locally administered
    for (int i = 3; i < 6; ++i) router_mac[i] = uint8_t(rng.next());
    std::vector<ConvState> st(flow.convs.size());
    for (auto& s : st)
        for (int d = 0; d < 2; ++d) {
            s.isn[d] = uint32_t(rng.next());
            s.ip_id[d] = uint16_t(rng.next());
            s.window[d] = uint16_t(rng.range(501, 65535));
        }
    PcapFileWriter out(path, kSynthSnaplen);
    uint8_t frame[kSynthSnaplen + 64];
    for (const SynthPacket& p : flow.packets) {
        const SynthConv& cv = flow.convs[p.conv];
        ConvState& s = st[p.conv];
        const int d = p.from_client ? 1 : 0;
        const bool tcp = cv.proto == 6;
        const uint32_t ip_len = synth_ip_len(flow, p);
        // Frames the client receives are padded to the 60-byte Ethernet minimum, as on
        // the wire; the ones it sends are captured before the NIC pads them.
        const uint32_t wire = std::max<uint32_t>(14 + ip_len, p.from_client ? 0 : 60);
        const uint32_t caplen = std::min<uint32_t>(wire, kSynthSnaplen);
        std::memset(frame, 0, sizeof frame);
        std::memcpy(frame, p.from_client ? router_mac : client_mac, 6);
        std::memcpy(frame + 6, p.from_client ? client_mac : router_mac, 6);
        put16(frame + 12, 0x0800);
        uint8_t* ip = frame + 14;
        const uint32_t src = p.from_client ? cv.client_ip : cv.server_ip;
        const uint32_t dst = p.from_client ? cv.server_ip : cv.client_ip;
        ip[0] = 0x45;
        ip[1] = p.from_client ? cv.tos : 0;
        put16(ip + 2, ip_len);
        put16(ip + 4, s.ip_id[d]++);
        put16(ip + 6, tcp ? 0x4000 : 0);  // DF on TCP
        ip[8] = p.from_client ? 64 : cv.server_ttl;
        ip[9] = cv.proto;
        put32(ip + 12, src);
        put32(ip + 16, dst);
        put16(ip + 10, fold(sum16(ip, 20)));
        uint8_t* l4 = ip + 20;
        const uint16_t sport = p.from_client ? cv.client_port : cv.server_port;
        const uint16_t dport = p.from_client ? cv.server_port : cv.client_port;
        put16(l4, sport);
        put16(l4 + 2, dport);
        uint32_t l4_hdr;
        if (tcp) {
            l4_hdr = 20u + p.tcp_opt;
            put32(l4 + 4, s.isn[d] + s.sent[d]);
            put32(l4 + 8, (p.flags & 0x10) ? s.isn[1 - d] + s.sent[1 - d] : 0);
            l4[12] = uint8_t((l4_hdr / 4) << 4);
            l4[13] = p.flags;
            put16(l4 + 14, s.window[d]);
            if (p.tcp_opt >= 4) {  // MSS 1460
                l4[20] = 2; l4[21] = 4;
                put16(l4 + 22, 1460);
            }
            s.sent[d] += p.payload + ((p.flags & 0x02) ? 1 : 0) + ((p.flags & 0x01) ? 1 : 0);
        } else {
            l4_hdr = 8;
            put16(l4 + 4, 8 + p.payload);
        }
        // Checksum over pseudo-header and L4 header; the zero payload adds nothing.
        uint32_t l4_len = ip_len - 20;
        uint32_t sum = sum16(ip + 12, 8, cv.proto + l4_len);
        sum = sum16(l4, l4_hdr, sum);
        uint16_t ck = fold(sum);
        if (!tcp && ck == 0) ck = 0xFFFF;
        put16(l4 + (tcp ? 16 : 6), ck);

        pcap_pkthdr hdr{};
        hdr.ts.tv_sec = p.ts_ns / 1000000000;
        hdr.ts.tv_usec = p.ts_ns % 1000000000;  // nanoseconds in a nanosecond capture
        hdr.caplen = caplen;
        hdr.len = wire;
        out.write(hdr, frame);
    }
    return out.commit();
}

namespace {

struct PcapCloser {
    void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

uint64_t merge_pass(const std::vector<std::string>& inputs, const std::string& out_path, Progress* prog) {
    std::vector<PcapHandle> in;
    for (const auto& path : inputs) {
        char err[PCAP_ERRBUF_SIZE] = "";
        PcapHandle h(pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err));
        if (!h) throw input_error(path, err);
        if (pcap_datalink(h.get()) != DLT_EN10MB) throw input_error(path, "not an Ethernet capture");
        in.push_back(std::move(h));
    }
    struct Head {
        int64_t ts;
        size_t idx;
        bool operator>(const Head& o) const { return ts != o.ts ? ts > o.ts : idx > o.idx; }
    };
    std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heap;
    std::vector<pcap_pkthdr*> hdrs(in.size());
    std::vector<const u_char*> data(in.size());
    auto advance = [&](size_t i) {
        int rc = pcap_next_ex(in[i].get(), &hdrs[i], &data[i]);
        if (rc == 1) heap.push({int64_t(hdrs[i]->ts.tv_sec) * 1000000000 + hdrs[i]->ts.tv_usec, i});
        else if (rc != PCAP_ERROR_BREAK) throw input_error(inputs[i], pcap_geterr(in[i].get()));
    };
    for (size_t i = 0; i < in.size(); ++i) advance(i);
    PcapFileWriter out(out_path, kSynthSnaplen);
    uint64_t n = 0;
    while (!heap.empty()) {
        size_t i = heap.top().idx;
        heap.pop();
        out.write(*hdrs[i], data[i]);
        ++n;
        if (prog) prog->update(n, n);
        advance(i);
    }
    out.commit();
    return n;
}

uint64_t merge_all(const std::vector<std::string>& inputs, const std::string& out, bool progress,
                   size_t max_fan_in, int depth) {
    if (inputs.size() <= max_fan_in) {
        Progress prog("flowpic-synth: merging", 0, "packets", progress);
        uint64_t n = merge_pass(inputs, out, &prog);
        prog.finish(n, n);
        return n;
    }
    // Too many inputs to hold open at once: merge groups into temp files beside the
    // output, then merge those (names carry the depth so passes never collide).  The
    // temp files are removed however this ends.
    std::vector<std::string> parts;
    struct Cleanup {
        std::vector<std::string>& p;
        ~Cleanup() { for (auto& f : p) unlink(f.c_str()); }
    } cleanup{parts};
    for (size_t i = 0; i < inputs.size(); i += max_fan_in) {
        std::vector<std::string> group(inputs.begin() + i,
                                       inputs.begin() + std::min(inputs.size(), i + max_fan_in));
        parts.push_back(out + ".pass" + std::to_string(depth) + "." + std::to_string(parts.size()));
        merge_pass(group, parts.back(), nullptr);
    }
    return merge_all(parts, out, progress, max_fan_in, depth + 1);
}

}  // namespace

uint64_t synth_merge_pcaps(const std::vector<std::string>& inputs, const std::string& out, bool progress,
                           size_t max_fan_in) {
    return merge_all(inputs, out, progress, std::max<size_t>(2, max_fan_in), 0);
}

}  // namespace flowpic
