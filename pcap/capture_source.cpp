// Captures (pcap, pcapng): libpcap records -> decoder -> the seed's filters -> flow table.
#include <string>

#include "core/error.h"
#include "core/progress.h"
#include "pcap/capture_reader.h"
#include "pcap/extractor.h"
#include "pcap/input_format.h"

namespace flowpic {

bool detect_capture_head(const char* head, size_t n) {
    if (n < 4) return false;
    const auto* m = reinterpret_cast<const uint8_t*>(head);
    uint32_t le = uint32_t(m[0]) | uint32_t(m[1]) << 8 | uint32_t(m[2]) << 16 | uint32_t(m[3]) << 24;
    switch (le) {
        case 0xa1b2c3d4: case 0xd4c3b2a1:  // pcap, microseconds (either byte order)
        case 0xa1b23c4d: case 0x4d3cb2a1:  // pcap, nanoseconds
        case 0x0a0d0d0a:                    // pcapng section header block
            return true;
        default:
            return false;
    }
}

uint64_t read_capture_source(const std::string& path, SourceContext& ctx) {
    CaptureReader reader(path);
    const ExtractOptions& opts = ctx.opts;
    PacketSink& sink = ctx.sink;
    ExtractStats& st = ctx.stats;
    const int dlt = reader.link_type();
    if (!link_type_supported(dlt))
        throw input_error(reader.path(), std::string("unsupported link type ") + link_type_name(dlt) +
                                             " (DLT " + std::to_string(dlt) + ")");
    sink.begin_capture(reader.path(), dlt);
    FlowTable table(opts.flows, [&](const FlowRecord& f) {
        ++st.flows;
        sink.flow_end(f);
    });
    RawRecord rec;
    Packet pkt;
    for (;;) {
        try {
            if (!reader.next(rec)) break;
        } catch (const InputError&) {
            table.flush();  // the flows read so far end here, then the error goes up
            sink.end_capture();
            throw;
        }
        ++st.records;
        SkipReason why = decode_packet(dlt, rec.data, rec.caplen, pkt);
        if (why != SkipReason::kNone) {
            st.skipped.add(why);
            continue;
        }
        if (opts.skip_empty_tcp && pkt.tuple.proto == kProtoTcp && pkt.payload_len == 0) {
            ++st.filtered_empty_tcp;
            continue;
        }
        if (opts.skip_dns && is_dns_packet(pkt.tuple)) {
            ++st.filtered_dns;
            continue;
        }
        pkt.ts_ns = rec.ts_ns;
        ++st.packets;
        FlowHit hit = table.add(pkt);
        sink.packet(pkt, hit);
        if ((st.records & 0xffff) == 0)
            ctx.progress.update(ctx.bytes_before + reader.bytes_read(), st.records, "records");
    }
    table.flush();
    sink.end_capture();
    if (!reader.warning().empty()) st.warnings.push_back(reader.path() + ": warning: " + reader.warning());
    return path == "-" ? 0 : reader.total_bytes();
}

}  // namespace flowpic
