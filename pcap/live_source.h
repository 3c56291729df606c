// Packets as they arrive, for flowpic-infer --live and --stream: a live interface through
// libpcap (pcap/live_source.cpp: immediate mode, a BPF filter, a kernel buffer size, the
// drop counters) or a pcap/pcapng stream on standard input read record by record as it
// comes (pcap/stream_source.cpp).  Both hand out the RawRecords the capture files give, so
// the decoder and everything after it are the offline ones.  A stop flag (set by a signal
// handler) ends either promptly, even while it waits for data.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "pcap/capture_reader.h"

namespace flowpic {

enum class ReadResult : uint8_t { kRecord, kTimeout, kEnd };

struct SourceCounters {
    bool known = false;       // libpcap reports drops (live interfaces only)
    uint64_t received = 0;    // packets the filter passed (pcap_stats ps_recv)
    uint64_t dropped = 0;     // dropped for lack of buffer space (ps_drop)
    uint64_t if_dropped = 0;  // dropped by the interface or its driver (ps_ifdrop)
};

class LiveInput {
public:
    virtual ~LiveInput() = default;
    // The next record, waiting at most timeout_ms (< 0: as long as it takes) for one.
    // kEnd: no more records (the stream ended, the stop flag, or error() says what).
    virtual ReadResult next(RawRecord& rec, int timeout_ms) = 0;
    virtual int link_type() const = 0;
    virtual const std::string& name() const = 0;  // "eth0", "<stdin>"
    // True for an interface: timestamps are the wall clock, so deadlines run on it.
    virtual bool wall_clock() const = 0;
    virtual SourceCounters counters() const = 0;
    // Why the input ended early ("" when it did not: end of stream or stop): the interface
    // went away, a read error.  A stream cut inside a record is a warning(), not an error.
    virtual const std::string& error() const = 0;
    virtual std::string warning() const = 0;
    // Also writes every record read to `f` as a pcap file (nanosecond timestamps), as
    // tcpdump -w does; flush_saved() before the file is committed.
    virtual void save_to(std::FILE* f) = 0;
    virtual void flush_saved() = 0;
};

struct LiveCaptureOptions {
    std::string interface;
    std::string filter;      // BPF, "" = every packet
    int buffer_mb = 64;      // kernel ring buffer
    int snaplen = 256;       // bytes kept per packet: headers are all the decoder reads
    bool promiscuous = true;
};

// InputError naming the interface (no such device, permission denied...); UsageError for
// a filter libpcap cannot compile.
std::unique_ptr<LiveInput> open_live_capture(const LiveCaptureOptions& opts, const std::atomic<bool>* stop);
// Standard input; InputError when it is a terminal or not a capture.
std::unique_ptr<LiveInput> open_capture_stream(const std::atomic<bool>* stop);

}  // namespace flowpic
