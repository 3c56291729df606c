// The capture -> packets -> flows loop shared by flowpic-extract, flowpic-prep and
// flowpic-infer: read each capture, decode, apply the seed's filters, track flows, and
// hand every kept packet and every ended flow to a sink.  Flows never span two captures:
// the table is flushed at the end of each one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "pcap/decode.h"
#include "pcap/flow_table.h"
#include "pcap/input_format.h"

namespace flowpic {

struct ExtractOptions {
    FlowTableConfig flows;
    bool skip_empty_tcp = false;  // drop TCP segments without payload (the seed's filter)
    bool skip_dns = false;        // drop DNS/mDNS packets: UDP or TCP port 53 or 5353
    bool keep_going = false;      // a bad capture is a warning and is skipped, not an error
    bool progress = true;         // progress on stderr
    InputFormat format = InputFormat::kAuto;  // how inputs are read (pcap/input_format.h)
};

struct ExtractStats {
    uint64_t files = 0, files_failed = 0;
    uint64_t records = 0;        // capture records (text inputs: packet lines) read
    uint64_t packets = 0;        // TCP/UDP packets kept
    uint64_t input_bytes = 0;    // input file bytes read
    uint64_t flows = 0;
    uint64_t filtered_empty_tcp = 0, filtered_dns = 0;
    SkipCounts skipped;
    std::vector<std::string> warnings;  // "file: what", one per event
    double seconds = 0;
};

class PacketSink {
public:
    virtual ~PacketSink() = default;
    virtual void begin_capture(const std::string& /*path*/, int /*dlt*/) {}
    virtual void packet(const Packet& /*p*/, const FlowHit& /*hit*/) {}
    virtual void flow_end(const FlowRecord& /*f*/) {}
    virtual void end_capture() {}
};

// Reads `captures` (files or "-", already expanded) in order, each in opts.format (auto:
// detected from its content; pcap/input_format.h).  Throws InputError for a bad input
// unless opts.keep_going.
void extract_captures(const std::vector<std::string>& captures, const ExtractOptions& opts,
                      PacketSink& sink, ExtractStats& stats);

}  // namespace flowpic
