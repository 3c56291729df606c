// flowpic-extract's packet CSV read back (docs/EXTRACT.md, "Outputs"): the header
//   Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size
// then, in that order and each optional, RelativeTime, Direction and Label; one row per
// packet, any number of flows per file.  Rows go through the flow table like a capture's
// packets (same 5-tuple keys, timeouts and flow ids; timestamps may step backwards, as in
// a capture), so a capture and its CSV give the same flows and windows.  When the file has
// Direction, it says who sent each packet (a flow the table starts with a server packet,
// after a timeout, keeps the CSV's client); without it, the sender of a flow's first packet
// is the client, as for captures.  RelativeTime and Label are checked for shape and not
// used: times are recomputed, labels come from the label options.  The CSV has no payload
// lengths, so --skip-empty-tcp cannot apply and is refused; --skip-dns applies.
// Like the time series source, a first pass checks every row before the second feeds
// the sink (one pass on standard input).
#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error.h"
#include "core/progress.h"
#include "pcap/extractor.h"
#include "pcap/input_format.h"
#include "pcap/text_lines.h"

namespace flowpic {

namespace {

constexpr const char* kBaseColumns[] = {"Timestamp", "SourceIP", "SourcePort", "DestinationIP",
                                         "DestinationPort", "Protocol", "Size"};
constexpr const char* kHeaderShape =
    "Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size[,RelativeTime][,Direction][,Label]";

struct Layout {
    bool relative = false, direction = false, label = false;
    size_t columns = 7;
};

bool parse_header(std::string_view line, Layout& l) {
    l = Layout{};
    size_t i = 0;
    auto next_field = [&](std::string_view& f) {
        if (i > line.size()) return false;
        size_t c = line.find(',', i);
        if (c == std::string_view::npos) c = line.size();
        f = line.substr(i, c - i);
        i = c + 1;
        return true;
    };
    std::string_view f;
    for (const char* name : kBaseColumns)
        if (!next_field(f) || f != name) return false;
    const char* optional[] = {"RelativeTime", "Direction", "Label"};
    bool* flag[] = {&l.relative, &l.direction, &l.label};
    size_t k = 0;
    while (next_field(f)) {
        while (k < 3 && f != optional[k]) ++k;
        if (k == 3) return false;  // unknown, repeated or out of order
        *flag[k++] = true;
        ++l.columns;
    }
    return true;
}

struct CsvPacket {
    Packet pkt;
    uint8_t dir = 0;  // when the file has Direction
};

constexpr uint32_t kMaxIpLength = 65535;

std::string number_problem(const char* column, std::string_view field, NumberError e) {
    const std::string q = quote_field(field);
    switch (e) {
        case NumberError::kEmpty: return std::string("empty ") + column;
        case NumberError::kNegative: return std::string("negative ") + column + " " + q;
        case NumberError::kRange: return std::string(column) + " " + q + " is out of range";
        default: return std::string(column) + " " + q + " is not a number";
    }
}

// IPv4 as IPv4-mapped IPv6 (the decoder's form), or IPv6.  Returns the version, 0 if neither.
uint8_t parse_address(std::string_view s, std::array<uint8_t, 16>& a) {
    char buf[INET6_ADDRSTRLEN + 1];
    if (s.empty() || s.size() >= sizeof buf) return 0;
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    a.fill(0);
    if (inet_pton(AF_INET, buf, a.data() + 12) == 1) {
        a[10] = a[11] = 0xff;
        return 4;
    }
    if (inet_pton(AF_INET6, buf, a.data()) == 1) return 6;
    return 0;
}

void parse_row(const TextLines& in, std::string_view line, const Layout& l, CsvPacket& out) {
    std::string_view f[10];
    size_t n = 0, i = 0;
    // The Label is the last column and may hold commas (flowpic-extract writes it as is).
    for (;;) {
        const bool last = n + 1 == l.columns;
        size_t c = last && l.label ? std::string_view::npos : line.find(',', i);
        if (c == std::string_view::npos) c = line.size();
        if (n < l.columns) f[n] = line.substr(i, c - i);
        ++n;
        if (c == line.size()) break;
        i = c + 1;
    }
    if (n != l.columns)
        in.fail("expected " + std::to_string(l.columns) + " comma-separated columns (as the header says), found " +
                std::to_string(n));
    NumberError e;
    Packet& p = out.pkt;
    p = Packet{};
    if ((e = parse_seconds_ns(f[0], p.ts_ns)) != NumberError::kNone) in.fail(number_problem("Timestamp", f[0], e));
    const uint8_t v_src = parse_address(f[1], p.tuple.src);
    if (!v_src) in.fail("SourceIP " + quote_field(f[1]) + " is not an IPv4 or IPv6 address");
    uint32_t port;
    if ((e = parse_uint(f[2], 65535, port)) != NumberError::kNone) in.fail(number_problem("SourcePort", f[2], e));
    p.tuple.sport = uint16_t(port);
    const uint8_t v_dst = parse_address(f[3], p.tuple.dst);
    if (!v_dst) in.fail("DestinationIP " + quote_field(f[3]) + " is not an IPv4 or IPv6 address");
    if (v_src != v_dst) in.fail("SourceIP and DestinationIP are not of the same IP version");
    p.tuple.ip_version = v_src;
    if ((e = parse_uint(f[4], 65535, port)) != NumberError::kNone) in.fail(number_problem("DestinationPort", f[4], e));
    p.tuple.dport = uint16_t(port);
    if (f[5] == "TCP" || f[5] == "tcp") p.tuple.proto = kProtoTcp;
    else if (f[5] == "UDP" || f[5] == "udp") p.tuple.proto = kProtoUdp;
    else in.fail("Protocol " + quote_field(f[5]) + " is not TCP or UDP");
    if ((e = parse_uint(f[6], kMaxIpLength, p.ip_len)) != NumberError::kNone) in.fail(number_problem("Size", f[6], e));
    size_t k = 7;
    if (l.relative) {
        if (!number_shaped(f[k])) in.fail("RelativeTime " + quote_field(f[k]) + " is not a number");
        ++k;
    }
    if (l.direction) {
        if (f[k] == "1") out.dir = 1;
        else if (f[k] == "0") out.dir = 0;
        else in.fail("Direction " + quote_field(f[k]) + " is not 0 (server to client) or 1 (client to server)");
    }
}

template <class F>
void scan(TextLines& in, const Layout& l, F&& on_packet) {
    std::string_view line;
    CsvPacket p;
    while (in.next(line)) {
        if (line.empty()) in.fail("empty line (expected a packet row)");
        parse_row(in, line, l, p);
        on_packet(p);
    }
}

}  // namespace

bool detect_packet_csv_head(const char* head, size_t n) {
    const char* nl = static_cast<const char*>(std::memchr(head, '\n', n));
    std::string_view line(head, size_t((nl ? nl : head + n) - head));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Layout l;
    return parse_header(line, l);
}

uint64_t read_packet_csv_source(const std::string& path, SourceContext& ctx) {
    const ExtractOptions& opts = ctx.opts;
    TextLines in(path);
    if (opts.skip_empty_tcp)
        throw input_error(in.name(), "--skip-empty-tcp cannot apply: a packet CSV has no payload lengths");
    std::string_view line;
    if (!in.next(line)) throw input_error(in.name(), "empty file (no CSV header)");
    Layout layout;
    if (!parse_header(line, layout)) in.fail(std::string("not flowpic-extract's packet CSV header (expected ") + kHeaderShape + ")");
    const bool two_passes = path != "-";
    if (two_passes) {
        scan(in, layout, [](const CsvPacket&) {});
        if (!in.rewind() || !in.next(line)) throw input_error(in.name(), "cannot read the file a second time");
    }

    PacketSink& sink = ctx.sink;
    ExtractStats& st = ctx.stats;
    // With Direction, the table sees every packet in its client's orientation (so it makes
    // the CSV's client the flow's client) and the per-direction counts are kept here.
    struct Counts {
        uint64_t packets[2] = {0, 0}, bytes[2] = {0, 0};
    };
    std::unordered_map<uint64_t, Counts> counts;
    sink.begin_capture(in.name(), kNoLinkType);
    FlowTable table(opts.flows, [&](const FlowRecord& f) {
        ++st.flows;
        if (!layout.direction) return sink.flow_end(f);
        FlowRecord r = f;
        auto it = counts.find(f.id);
        if (it != counts.end()) {
            for (int d = 0; d < 2; ++d) r.packets[d] = it->second.packets[d], r.bytes[d] = it->second.bytes[d];
            counts.erase(it);
        }
        sink.flow_end(r);
    });
    try {
        scan(in, layout, [&](CsvPacket& c) {
            ++st.records;
            if (opts.skip_dns && is_dns_packet(c.pkt.tuple)) {
                ++st.filtered_dns;
                return;
            }
            ++st.packets;
            FlowHit hit;
            if (layout.direction) {
                Packet keyed = c.pkt;
                if (!c.dir) keyed.tuple = c.pkt.tuple.reversed();
                hit = table.add(keyed);
                hit.direction = c.dir;
                Counts& n = counts[hit.flow_id];
                n.packets[c.dir] += 1;
                n.bytes[c.dir] += c.pkt.ip_len;
            } else {
                hit = table.add(c.pkt);
            }
            sink.packet(c.pkt, hit);
            if ((st.records & 0xffff) == 0)
                ctx.progress.update(ctx.bytes_before + in.bytes_read(), st.records, "records");
        });
    } catch (const InputError&) {
        table.flush();  // the flows read so far end here (standard input, or a file changed between passes)
        sink.end_capture();
        throw;
    }
    table.flush();
    sink.end_capture();
    return in.file_size();
}

}  // namespace flowpic
