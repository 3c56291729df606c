// Per-flow packet time series (the UCDavis-QUIC text format): one flow per file, one
// packet per line, `unixtime<TAB>time_since_first<TAB>size<TAB>direction`, direction 1 =
// client to server, 0 = server to client.
//
// Time: the unixtime column.  Its nine decimals are exact nanoseconds, while
// time_since_first is printed with six significant digits (%g: "6.69956e-05", and 0.1 ms
// steps past 10 s, 1 ms past 100 s); the windowing measures from the flow's first packet
// anyway, so relative times come out as the unixtime differences.  Both columns must be
// numbers that do not go backwards by more than kMaxStepBackNs (below); they are not
// compared with each other.
//
// The file is one flow (one FlowRecord, id 0): no idle or active timeout cuts it, as the
// data set's authors cut it already.  Files carry no addresses; the flow gets a made-up,
// documented 5-tuple from the file's position n (0-based) in the input list: UDP, client
// 10.a.b.c:40000 with a.b.c = n + 1 (mod 2^24), server 192.0.2.1:443 (TEST-NET-1, RFC
// 5737: never a real host).  --skip-dns and --skip-empty-tcp find nothing to drop.
//
// Bad input is found before anything reaches the sink: a first pass checks every line,
// then the packets are fed, so a file with a bad line contributes nothing (with
// --keep-going it is counted as failed and listed).  The first pass keeps the packets of
// flows up to kKeptPackets and feeds them from memory; a longer flow's file is read a
// second time.  Standard input cannot be read twice; there a bad line ends the flow read
// so far, as a read error ends a capture's flows.
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/progress.h"
#include "pcap/extractor.h"
#include "pcap/input_format.h"
#include "pcap/text_lines.h"

namespace flowpic {

namespace {

struct TsPacket {
    int64_t ts_ns, rel_ns;
    uint32_t size;
    uint8_t dir;
};

constexpr uint32_t kMaxIpLength = 65535;

// What the checking pass keeps of a packet, and for how many packets at most (4 MiB).
struct KeptPacket {
    int64_t ts_ns;
    uint32_t size;
    uint8_t dir;
};
constexpr size_t kKeptPackets = size_t(1) << 18;

std::string number_problem(const char* column, std::string_view field, NumberError e, bool integer) {
    const std::string q = quote_field(field);
    switch (e) {
        case NumberError::kEmpty: return std::string("empty ") + column;
        case NumberError::kNegative: return std::string("negative ") + column + " " + q;
        case NumberError::kRange:
            return std::string(column) + " " + q +
                   (integer ? " is above " + std::to_string(kMaxIpLength) : std::string(" is past the year 2262 (int64 nanoseconds)"));
        default:
            return std::string(column) + " " + q + (integer ? " is not a whole number" : " is not a number of seconds");
    }
}

// Splits on '\t' into at most 4 fields; returns the number of fields.
size_t split_tabs(std::string_view line, std::string_view (&f)[4]) {
    const char* p = line.data();
    const char* const e = p + line.size();
    size_t n = 0;
    for (;;) {
        const char* t = static_cast<const char*>(std::memchr(p, '\t', size_t(e - p)));
        const char* end = t ? t : e;
        if (n < 4) f[n] = std::string_view(p, size_t(end - p));
        ++n;
        if (!t) return n;
        p = t + 1;
    }
}

void parse_line(const TextLines& in, std::string_view line, TsPacket& out) {
    if (line.empty()) in.fail("empty line (expected unixtime, time_since_first, size, direction)");
    std::string_view f[4];
    const size_t n = split_tabs(line, f);
    if (n != 4)
        in.fail("expected 4 tab-separated columns (unixtime, time_since_first, size, direction), found " +
                std::to_string(n));
    NumberError e;
    if ((e = parse_seconds_ns(f[0], out.ts_ns)) != NumberError::kNone) in.fail(number_problem("unixtime", f[0], e, false));
    if ((e = parse_seconds_ns(f[1], out.rel_ns)) != NumberError::kNone)
        in.fail(number_problem("time_since_first", f[1], e, false));
    if ((e = parse_uint(f[2], kMaxIpLength, out.size)) != NumberError::kNone) in.fail(number_problem("size", f[2], e, true));
    if (f[3] == "1") out.dir = 1;
    else if (f[3] == "0") out.dir = 0;
    else in.fail("direction " + quote_field(f[3]) + " is not 0 (server to client) or 1 (client to server)");
}

// The shape every UCDavis line has, in one sweep without splitting:
// digits[.digits (at most 9)] TAB the same TAB digits TAB 0|1.  Anything else (an
// exponent, a sign, a bad field) is left to parse_line, which reads the general form or
// says what is wrong; both give the same values for what both accept.
inline bool fast_seconds(const char*& p, const char* e, int64_t& ns) {
    static constexpr uint64_t kPow10[10] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};
    const char* b = p;
    uint64_t ip = 0;
    while (p < e && unsigned(*p - '0') < 10 && p - b < 11) ip = ip * 10 + unsigned(*p++ - '0');
    if (p == b || p - b > 10 || ip > 9223372035ULL) return false;  // near INT64_MAX: the exact path decides
    uint64_t frac = 0;
    if (p < e && *p == '.') {
        const char* fb = ++p;
        while (p < e && unsigned(*p - '0') < 10 && p - fb < 9) frac = frac * 10 + unsigned(*p++ - '0');
        if (p < e && unsigned(*p - '0') < 10) return false;  // a tenth decimal
        frac *= kPow10[9 - (p - fb)];
    }
    ns = int64_t(ip * 1000000000ULL + frac);
    return true;
}

inline bool fast_line(std::string_view line, TsPacket& out) {
    const char* p = line.data();
    const char* const e = p + line.size();
    if (!fast_seconds(p, e, out.ts_ns) || p == e || *p++ != '\t') return false;
    if (!fast_seconds(p, e, out.rel_ns) || p == e || *p++ != '\t') return false;
    const char* b = p;
    uint32_t size = 0;
    while (p < e && unsigned(*p - '0') < 10 && p - b < 6) size = size * 10 + unsigned(*p++ - '0');
    if (p == b || p - b > 5 || size > kMaxIpLength || p == e || *p++ != '\t') return false;
    out.size = size;
    if (e - p != 1 || (*p != '0' && *p != '1')) return false;
    out.dir = uint8_t(*p - '0');
    return true;
}

std::string seconds_text(int64_t ns) {
    std::string frac = std::to_string(ns % 1000000000);
    return std::to_string(ns / 1000000000) + "." + std::string(9 - frac.size(), '0') + frac;
}

// A step back in time up to this much is packet reordering, not bad input: 731 of the
// 5,175 UCDavis flows have unixtimes up to 63 us earlier than the line before (and their
// time_since_first, rounded to 6 digits, up to 1 ms).  The windowing sorts such packets
// into place as it does a capture's (docs/PREP.md, rule 3), and 1 s is the reordering it
// sorts in memory.  Further back than this is a broken or concatenated file.
constexpr int64_t kMaxStepBackNs = 1000000000;

// Every line through parse_line and the order checks, each packet to on_packet.
template <class F>
uint64_t scan(TextLines& in, F&& on_packet) {
    std::string_view line;
    TsPacket p{};
    int64_t max_ts = 0, max_rel = 0;  // the latest times so far
    uint64_t n = 0;
    while (in.next(line)) {
        if (!fast_line(line, p)) parse_line(in, line, p);
        if (n > 0 && p.ts_ns < max_ts - kMaxStepBackNs)
            in.fail("unixtime goes backwards by more than 1 s (" + seconds_text(p.ts_ns) + " after " +
                    seconds_text(max_ts) + ")");
        if (n > 0 && p.rel_ns < max_rel - kMaxStepBackNs)
            in.fail("time_since_first goes backwards by more than 1 s (" + seconds_text(p.rel_ns) + " after " +
                    seconds_text(max_rel) + ")");
        if (n == 0 || p.ts_ns > max_ts) max_ts = p.ts_ns;
        if (n == 0 || p.rel_ns > max_rel) max_rel = p.rel_ns;
        ++n;
        on_packet(p);
    }
    if (n == 0) throw input_error(in.name(), "empty file (no packets)");
    return n;
}

FiveTuple made_up_tuple(uint64_t file_index) {
    FiveTuple t;
    const uint32_t m = uint32_t((file_index + 1) & 0xffffff);
    t.ip_version = 4;
    t.proto = kProtoUdp;
    t.src[10] = t.src[11] = t.dst[10] = t.dst[11] = 0xff;  // IPv4-mapped, as the decoder stores IPv4
    t.src[12] = 10;
    t.src[13] = uint8_t(m >> 16);
    t.src[14] = uint8_t(m >> 8);
    t.src[15] = uint8_t(m);
    t.dst[12] = 192;
    t.dst[13] = 0;
    t.dst[14] = 2;
    t.dst[15] = 1;
    t.sport = 40000;
    t.dport = 443;
    return t;
}

}  // namespace

bool detect_timeseries_head(const char* head, size_t n) {
    const char* nl = static_cast<const char*>(std::memchr(head, '\n', n));
    if (!nl && n > TextLines::kMaxLineBytes) return false;
    std::string_view line(head, size_t((nl ? nl : head + n) - head));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view f[4];
    if (split_tabs(line, f) != 4) return false;
    for (auto& x : f)
        if (!number_shaped(x)) return false;
    return true;
}

uint64_t read_timeseries_source(const std::string& path, SourceContext& ctx) {
    TextLines in(path);
    PacketSink& sink = ctx.sink;
    ExtractStats& st = ctx.stats;
    const FiveTuple client = made_up_tuple(ctx.file_index);
    const FiveTuple server_side = client.reversed();
    FlowRecord rec;
    rec.id = 0;
    rec.client = client;
    rec.end = FlowEnd::kFlush;
    bool started = false;
    Packet pkt;
    auto feed = [&](int64_t ts_ns, uint32_t size, uint8_t dir) {
        if (!started) {
            rec.first_ns = rec.last_ns = ts_ns;
            started = true;
        }
        if (ts_ns > rec.last_ns) rec.last_ns = ts_ns;
        rec.packets[dir] += 1;
        rec.bytes[dir] += size;
        pkt.ts_ns = ts_ns;
        pkt.tuple = dir ? client : server_side;
        pkt.ip_len = size;
        pkt.payload_len = size >= 28 ? size - 28 : 0;  // as if IPv4 + UDP
        ++st.records;
        ++st.packets;
        sink.packet(pkt, FlowHit{0, dir, rec.first_ns, rec.packets[0] + rec.packets[1] == 1});
        if ((st.records & 0xffff) == 0) ctx.progress.update(ctx.bytes_before + in.bytes_read(), st.records, "records");
    };
    auto finish = [&] {
        if (started) {
            ++st.flows;
            sink.flow_end(rec);
        }
        sink.end_capture();
    };
    auto feed_line = [&](const TsPacket& p) { feed(p.ts_ns, p.size, p.dir); };

    if (path != "-") {
        // The checking pass keeps the packets of a flow of up to kKeptPackets (all of the
        // UCDavis ones), so the file is parsed once; a longer one is parsed again.
        thread_local std::vector<KeptPacket> kept;
        kept.clear();
        bool all_kept = true;
        scan(in, [&](const TsPacket& p) {
            if (kept.size() < kKeptPackets) kept.push_back(KeptPacket{p.ts_ns, p.size, p.dir});
            else all_kept = false;
        });
        sink.begin_capture(in.name(), kNoLinkType);
        if (all_kept) {
            for (const KeptPacket& k : kept) feed(k.ts_ns, k.size, k.dir);
            finish();
            return in.file_size();
        }
        if (!in.rewind()) {
            sink.end_capture();
            throw input_error(in.name(), "cannot read the file a second time");
        }
    } else {
        sink.begin_capture(in.name(), kNoLinkType);
    }
    try {
        scan(in, feed_line);
    } catch (const InputError&) {
        finish();  // only for a file that changed between the passes, or standard input
        throw;
    }
    finish();
    return in.file_size();
}

}  // namespace flowpic
