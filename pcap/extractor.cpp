#include "pcap/extractor.h"

#include <sys/stat.h>

#include <chrono>
#include <memory>

#include "core/error.h"
#include "core/progress.h"
#include "pcap/capture_reader.h"

namespace flowpic {

namespace {

bool is_dns(const FiveTuple& t) {
    return t.sport == 53 || t.dport == 53 || t.sport == 5353 || t.dport == 5353;
}

uint64_t total_size(const std::vector<std::string>& paths) {
    uint64_t total = 0;
    for (const auto& p : paths) {
        struct stat st;
        if (p != "-" && stat(p.c_str(), &st) == 0) total += uint64_t(st.st_size);
    }
    return total;
}

// One capture through the decoder and the flow table.
void extract_one(CaptureReader& reader, const ExtractOptions& opts, PacketSink& sink, ExtractStats& st,
                 Progress& progress, uint64_t bytes_before) {
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
        if (opts.skip_dns && is_dns(pkt.tuple)) {
            ++st.filtered_dns;
            continue;
        }
        pkt.ts_ns = rec.ts_ns;
        ++st.packets;
        FlowHit hit = table.add(pkt);
        sink.packet(pkt, hit);
        if ((st.records & 0xffff) == 0) progress.update(bytes_before + reader.bytes_read(), st.records, "records");
    }
    table.flush();
    sink.end_capture();
    if (!reader.warning().empty()) st.warnings.push_back(reader.path() + ": warning: " + reader.warning());
}

}  // namespace

void extract_captures(const std::vector<std::string>& captures, const ExtractOptions& opts, PacketSink& sink,
                      ExtractStats& st) {
    const auto t0 = std::chrono::steady_clock::now();
    Progress progress("reading", total_size(captures), "B", opts.progress);
    for (const auto& path : captures) {
        try {
            CaptureReader reader(path);
            extract_one(reader, opts, sink, st, progress, st.input_bytes);
            st.input_bytes += path == "-" ? 0 : reader.total_bytes();
            ++st.files;
        } catch (const InputError& e) {
            if (!opts.keep_going) throw;
            ++st.files_failed;
            st.warnings.push_back(std::string(e.what()) + " (skipped)");
        }
    }
    progress.finish(st.input_bytes, st.records, "records");
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace flowpic
