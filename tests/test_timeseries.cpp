// Text inputs of the extraction loop (pcap/input_format.h): the exact number parsers, the
// line reader across buffer boundaries, the packet time-series source (what reaches the
// sink, every bad line named with its line number, --keep-going), format detection (a
// capture is never text), directory walks per format, and flowpic-extract's packet CSV
// read back giving the same flows and windows as the capture it came from.  Fixtures are
// made here in temp dirs; one optional case reads a few real UCDavis flows.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <pcap.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "core/error.h"
#include "flowpic/prep.h"
#include "pcap/capture_reader.h"
#include "pcap/extractor.h"
#include "pcap/input_format.h"
#include "pcap/text_lines.h"
#include "synth/synth.h"
#include "tests/pcap_builder.h"
#include "tests/util.h"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

constexpr int64_t kT0 = 1522953991LL * 1000000000LL + 427530000;  // a UCDavis-like start

struct TsRow {
    int64_t ts_ns;
    int64_t rel_ns;
    uint32_t size;
    uint8_t dir;
};

std::string seconds9(int64_t ns) {
    char b[64];
    std::snprintf(b, sizeof b, "%lld.%09lld", (long long)(ns / 1000000000), (long long)(ns % 1000000000));
    return b;
}

// The UCDavis way: unixtime with 9 decimals, time_since_first with %g (6 digits).
std::string ts_text(const std::vector<TsRow>& rows) {
    std::string s;
    for (const TsRow& r : rows) {
        char rel[64];
        std::snprintf(rel, sizeof rel, "%g", double(r.rel_ns) / 1e9);
        s += seconds9(r.ts_ns) + "\t" + rel + "\t" + std::to_string(r.size) + "\t" + std::to_string(r.dir) + "\n";
    }
    return s;
}

// n packets every step_ns from t0, sizes and directions varying.
std::vector<TsRow> steady_rows(size_t n, int64_t step_ns, int64_t t0 = kT0) {
    std::vector<TsRow> v;
    for (size_t i = 0; i < n; ++i)
        v.push_back({t0 + int64_t(i) * step_ns, int64_t(i) * step_ns, uint32_t(60 + (i * 37) % 1400), uint8_t(i % 3 == 0)});
    return v;
}

// Everything a source hands to its sink.
struct Recorder : PacketSink {
    struct Pkt {
        std::string capture;
        Packet p;
        FlowHit hit;
    };
    std::vector<std::string> begins;
    std::vector<Pkt> packets;
    std::vector<FlowRecord> flows;
    int ends = 0;
    std::string current;
    void begin_capture(const std::string& path, int) override {
        begins.push_back(path);
        current = path;
    }
    void packet(const Packet& p, const FlowHit& hit) override { packets.push_back({current, p, hit}); }
    void flow_end(const FlowRecord& f) override { flows.push_back(f); }
    void end_capture() override { ++ends; }
};

ExtractOptions quiet_opts(InputFormat f = InputFormat::kAuto) {
    ExtractOptions o;
    o.progress = false;
    o.format = f;
    return o;
}

// The InputError message of reading `path`, or "" when it reads.
std::string error_of(const std::string& path, InputFormat f = InputFormat::kAuto) {
    Recorder r;
    ExtractStats st;
    try {
        extract_captures({path}, quiet_opts(f), r, st);
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

std::string frame_v4(uint16_t sport, uint16_t dport, uint32_t payload, bool up) {
    L4 l4{17, sport, dport, payload};
    return ethernet(0x0800, up ? ipv4(l4) : ipv4(l4, 0xc0a80101, 0x0a000001));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(timeseries_input)

// ---- numbers -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(seconds_parse_exactly_into_nanoseconds) {
    struct Case {
        const char* text;
        int64_t ns;
    };
    const Case ok[] = {
        {"1522953991.427530000", 1522953991427530000},
        {"1522953991.427530001", 1522953991427530001},
        {"0", 0},
        {"0.0328109", 32810900},
        {"6.69956e-05", 66995},  // 66995.6 ns: below a nanosecond is cut off
        {"12", 12000000000},
        {"12.", 12000000000},
        {".5", 500000000},
        {"1e9", 1000000000000000000},
        {"1E+2", 100000000000},
        {"0.0000000009", 0},
        {"1.0000000019", 1000000001},
        {"0e99999999999", 0},
        {"123e-20", 0},
        {"00000000000000000000001.5", 1500000000},
        {"9223372036.854775807", INT64_MAX},
        {"9223372036854775807e-9", INT64_MAX},
    };
    for (const Case& c : ok) {
        int64_t ns = -1;
        BOOST_TEST((parse_seconds_ns(c.text, ns) == NumberError::kNone), c.text);
        BOOST_TEST(ns == c.ns, c.text << " gave " << ns);
    }
    const std::pair<const char*, NumberError> bad[] = {
        {"", NumberError::kEmpty},
        {"-1", NumberError::kNegative},
        {"-0.5", NumberError::kNegative},
        {"-x", NumberError::kNotNumber},
        {"+1", NumberError::kNotNumber},
        {"abc", NumberError::kNotNumber},
        {"1.2.3", NumberError::kNotNumber},
        {"1e", NumberError::kNotNumber},
        {"1e+", NumberError::kNotNumber},
        {".", NumberError::kNotNumber},
        {"1 ", NumberError::kNotNumber},
        {" 1", NumberError::kNotNumber},
        {"0x10", NumberError::kNotNumber},
        {"nan", NumberError::kNotNumber},
        {"inf", NumberError::kNotNumber},
        {"9223372036.854775808", NumberError::kRange},
        {"99999999999999999999", NumberError::kRange},
        {"1e10", NumberError::kRange},
        {"1e999999", NumberError::kRange},
    };
    for (const auto& [text, want] : bad) {
        int64_t ns = 0;
        BOOST_TEST((parse_seconds_ns(text, ns) == want), "'" << text << "'");
    }
}

BOOST_AUTO_TEST_CASE(seconds_parse_random_values_in_every_notation) {
    std::mt19937_64 rng(12);
    for (int i = 0; i < 20000; ++i) {
        const int64_t s = int64_t(rng() % 9223372036ULL), f = int64_t(rng() % 1000000000ULL);
        const int64_t ns = s * 1000000000 + f;
        std::string fixed = seconds9(ns);
        std::string trimmed = fixed;
        while (trimmed.back() == '0') trimmed.pop_back();
        const std::string sci = std::to_string(ns) + "e-9";
        // mantissa d.ddd... with an exponent: all digits of ns
        const std::string digits = std::to_string(ns);
        const std::string sci2 = digits.substr(0, 1) + "." + digits.substr(1) + "e" + std::to_string(int(digits.size()) - 10);
        for (const std::string& t : {fixed, trimmed, sci, sci2}) {
            int64_t got = -1;
            BOOST_TEST_REQUIRE((parse_seconds_ns(t, got) == NumberError::kNone), t);
            BOOST_TEST_REQUIRE(got == ns, t << " gave " << got << ", not " << ns);
        }
    }
}

BOOST_AUTO_TEST_CASE(sizes_are_whole_numbers_in_range) {
    uint32_t v = 0;
    BOOST_TEST((parse_uint("0", 65535, v) == NumberError::kNone && v == 0u));
    BOOST_TEST((parse_uint("65535", 65535, v) == NumberError::kNone && v == 65535u));
    BOOST_TEST((parse_uint("0001412", 65535, v) == NumberError::kNone && v == 1412u));
    BOOST_TEST((parse_uint("65536", 65535, v) == NumberError::kRange));
    BOOST_TEST((parse_uint("99999999999999999999999", 65535, v) == NumberError::kRange));
    BOOST_TEST((parse_uint("-3", 65535, v) == NumberError::kNegative));
    BOOST_TEST((parse_uint("+3", 65535, v) == NumberError::kNotNumber));
    BOOST_TEST((parse_uint("3.0", 65535, v) == NumberError::kNotNumber));
    BOOST_TEST((parse_uint("12a", 65535, v) == NumberError::kNotNumber));
    BOOST_TEST((parse_uint("", 65535, v) == NumberError::kEmpty));
}

// ---- lines ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(lines_cross_buffer_boundaries_and_rewind) {
    TempDir d;
    std::mt19937 rng(3);
    std::vector<std::string> want;
    std::string text;
    for (int i = 0; i < 3000; ++i) {
        const size_t len = rng() % 5 == 0 ? rng() % (TextLines::kMaxLineBytes + 1) : rng() % 40;
        std::string l(len, 'a');
        for (char& c : l) c = char('a' + rng() % 26);
        want.push_back(l);
        text += l + (rng() % 7 == 0 ? "\r\n" : "\n");
    }
    text += "last-without-newline";
    want.push_back("last-without-newline");
    const std::string p = d.path + "/lines.txt";
    write_file(p, text);
    for (size_t buffer : {size_t(0), size_t(10000), size_t(1) << 20}) {  // 0: the smallest allowed
        TextLines in(p, buffer);
        for (int pass = 0; pass < 2; ++pass) {
            std::string_view line;
            size_t n = 0;
            while (in.next(line)) {
                BOOST_TEST_REQUIRE(n < want.size());
                BOOST_TEST_REQUIRE(line == want[n], "buffer " << buffer << " line " << n + 1);
                BOOST_TEST_REQUIRE(in.line_number() == n + 1);
                ++n;
            }
            BOOST_TEST(n == want.size());
            BOOST_TEST(in.bytes_read() == text.size());
            BOOST_TEST(in.rewind());
        }
    }
}

BOOST_AUTO_TEST_CASE(a_line_longer_than_the_limit_is_named) {
    TempDir d;
    const std::string p = d.path + "/long.txt";
    write_file(p, "short\n" + std::string(TextLines::kMaxLineBytes, 'x') + "\n" +
                      std::string(TextLines::kMaxLineBytes + 1, 'y') + "\nmore\n");
    for (size_t buffer : {size_t(0), size_t(1) << 20}) {
        TextLines in(p, buffer);
        std::string_view line;
        BOOST_TEST(in.next(line));
        BOOST_TEST(in.next(line));
        BOOST_TEST(line.size() == TextLines::kMaxLineBytes);
        try {
            in.next(line);
            BOOST_ERROR("no error");
        } catch (const InputError& e) {
            BOOST_TEST(std::string(e.what()) == p + ":3: line longer than 4096 bytes (binary data, or no line breaks?)");
        }
    }
    // Without any newline at all (a binary file): the same error, on line 1.
    write_file(p, std::string(100000, '\x01'));
    TextLines in(p, 0);
    std::string_view line;
    BOOST_CHECK_EXCEPTION(in.next(line), InputError,
                          [&](const InputError& e) { return std::string(e.what()).rfind(p + ":1: line longer", 0) == 0; });
}

// ---- the time-series source ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_time_series_file_is_one_flow_fed_like_a_capture) {
    TempDir d;
    const std::vector<TsRow> rows = {
        {kT0, 0, 1412, 1},
        {kT0 + 325000, 324965, 972, 1},
        {kT0 + 26619000, 26619000, 1412, 0},
        {kT0 + 26619000, 26619000, 80, 0},  // equal times are fine
        {kT0 + 1500000007, 1500000007, 54, 1},
    };
    const std::string a = d.path + "/a.txt", b = d.path + "/b.txt";
    write_file(a, "1522953991.427530000\t0\t1412\t1\n1522953991.427855000\t0.000324965\t972\t1\n"
                  "1522953991.454149000\t0.026619\t1412\t0\r\n1522953991.454149000\t0.026619\t80\t0\n"
                  "1522953992.927530007\t1.50000\t54\t1");  // CRLF and a last line without '\n'
    write_file(b, ts_text(rows));
    Recorder r;
    ExtractStats st;
    extract_captures({a, d.path + "/none-before.pcap-is-not-read-here", b}, [] {
        ExtractOptions o = quiet_opts();
        o.keep_going = true;  // the missing middle file is one failure
        return o;
    }(), r, st);
    BOOST_TEST(st.files == 2u);
    BOOST_TEST(st.files_failed == 1u);
    BOOST_TEST(st.records == 10u);
    BOOST_TEST(st.packets == 10u);
    BOOST_TEST(st.flows == 2u);
    BOOST_TEST(r.begins == (std::vector<std::string>{a, b}));
    BOOST_TEST(r.ends == 2);
    BOOST_REQUIRE(r.packets.size() == 10u);
    BOOST_REQUIRE(r.flows.size() == 2u);
    for (size_t f = 0; f < 2; ++f) {
        // File index 0 -> 10.0.0.1, index 2 -> 10.0.0.3; server 192.0.2.1:443, UDP.
        const FlowRecord& rec = r.flows[f];
        BOOST_TEST(format_address(rec.client.src, 4) == (f == 0 ? "10.0.0.1" : "10.0.0.3"));
        BOOST_TEST(format_address(rec.client.dst, 4) == "192.0.2.1");
        BOOST_TEST(rec.client.sport == 40000);
        BOOST_TEST(rec.client.dport == 443);
        BOOST_TEST(rec.client.proto == kProtoUdp);
        BOOST_TEST(rec.id == 0u);
        BOOST_TEST(rec.packets[1] == 3u);
        BOOST_TEST(rec.packets[0] == 2u);
        BOOST_TEST(rec.bytes[1] == 1412u + 972 + 54);
        BOOST_TEST(rec.bytes[0] == 1412u + 80);
        BOOST_TEST(rec.first_ns == kT0);
        BOOST_TEST(rec.last_ns == kT0 + 1500000007);
        for (size_t i = 0; i < 5; ++i) {
            const Recorder::Pkt& p = r.packets[f * 5 + i];
            BOOST_TEST(p.capture == (f == 0 ? a : b));
            BOOST_TEST(p.p.ts_ns == rows[i].ts_ns, "file " << f << " packet " << i);
            BOOST_TEST(p.p.ip_len == rows[i].size);
            BOOST_TEST(p.hit.direction == rows[i].dir);
            BOOST_TEST(p.hit.flow_id == 0u);
            BOOST_TEST(p.hit.flow_first_ns == kT0);
            BOOST_TEST(p.hit.new_flow == (i == 0));
            // The sender is the source, as on the wire.
            BOOST_TEST((p.p.tuple == (rows[i].dir ? rec.client : rec.client.reversed())));
        }
    }
}

BOOST_AUTO_TEST_CASE(fast_and_general_line_parsing_agree_on_random_files) {
    // Lines in the UCDavis shape take the one-sweep path; the same values written with
    // exponents, leading points or long integer parts take the general parser.  Both must
    // give the generator's exact values.
    TempDir d;
    std::mt19937_64 rng(5);
    for (int file = 0; file < 20; ++file) {
        std::vector<TsRow> rows;
        std::string text;
        int64_t t = int64_t(rng() % 4000000000ULL) * 1000000000 + int64_t(rng() % 1000000000);
        const int64_t t0 = t;
        const size_t n = 1 + rng() % 3000;
        for (size_t i = 0; i < n; ++i) {
            t += int64_t(rng() % 50000000);
            TsRow r{t, t - t0, uint32_t(rng() % 65536), uint8_t(rng() & 1)};
            rows.push_back(r);
            std::string ts, rel;
            switch (rng() % 4) {
                case 0: ts = seconds9(r.ts_ns); rel = seconds9(r.rel_ns); break;
                case 1: ts = std::to_string(r.ts_ns) + "e-9"; rel = std::to_string(r.rel_ns) + "E-9"; break;
                case 2: ts = "0" + seconds9(r.ts_ns); rel = seconds9(r.rel_ns).substr(seconds9(r.rel_ns).find('.')); break;
                default: {
                    ts = seconds9(r.ts_ns);
                    while (ts.back() == '0') ts.pop_back();
                    rel = r.rel_ns % 1000 == 0 ? std::to_string(r.rel_ns / 1000) + "e-6" : seconds9(r.rel_ns);
                }
            }
            if (rel.size() > 1 && rel[0] == '.' && r.rel_ns >= 1000000000) rel = seconds9(r.rel_ns);
            text += ts + "\t" + rel + "\t" + std::to_string(r.size) + "\t" + std::to_string(r.dir) + "\n";
        }
        const std::string p = d.path + "/f" + std::to_string(file) + ".txt";
        write_file(p, text);
        Recorder rec;
        ExtractStats st;
        extract_captures({p}, quiet_opts(InputFormat::kTimeseries), rec, st);
        BOOST_REQUIRE(rec.packets.size() == rows.size());
        for (size_t i = 0; i < rows.size(); ++i) {
            BOOST_TEST_REQUIRE(rec.packets[i].p.ts_ns == rows[i].ts_ns, p << " line " << i + 1);
            BOOST_TEST_REQUIRE(rec.packets[i].p.ip_len == rows[i].size);
            BOOST_TEST_REQUIRE(rec.packets[i].hit.direction == rows[i].dir);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_bad_line_is_one_error_naming_file_and_line) {
    TempDir d;
    const std::string good = "1522953991.427530000\t0\t1412\t1\n1522953991.427855000\t0.000324965\t972\t0\n";
    struct Case {
        std::string third_line;
        std::string message;  // after "PATH:3: "
    };
    const Case cases[] = {
        {"1522953991.5\t0.1\t100", "expected 4 tab-separated columns (unixtime, time_since_first, size, direction), found 3"},
        {"1522953991.5\t0.1\t100\t1\t7", "expected 4 tab-separated columns (unixtime, time_since_first, size, direction), found 5"},
        {"1522953991.5 0.1 100 1", "expected 4 tab-separated columns (unixtime, time_since_first, size, direction), found 1"},
        {"", "empty line (expected unixtime, time_since_first, size, direction)"},
        {"abc\t0.1\t100\t1", "unixtime 'abc' is not a number of seconds"},
        {"\t0.1\t100\t1", "empty unixtime"},
        {"-1522953991.5\t0.1\t100\t1", "negative unixtime '-1522953991.5'"},
        {"99999999999\t0.1\t100\t1", "unixtime '99999999999' is past the year 2262 (int64 nanoseconds)"},
        {"1522953991.5\t0.1s\t100\t1", "time_since_first '0.1s' is not a number of seconds"},
        {"1522953991.5\t0.1\t-100\t1", "negative size '-100'"},
        {"1522953991.5\t0.1\tbig\t1", "size 'big' is not a whole number"},
        {"1522953991.5\t0.1\t100.5\t1", "size '100.5' is not a whole number"},
        {"1522953991.5\t0.1\t65536\t1", "size '65536' is above 65535"},
        {"1522953991.5\t0.1\t100\t2", "direction '2' is not 0 (server to client) or 1 (client to server)"},
        {"1522953991.5\t0.1\t100\t-1", "direction '-1' is not 0 (server to client) or 1 (client to server)"},
        {"1522953991.5\t0.1\t100\t", "direction '' is not 0 (server to client) or 1 (client to server)"},
        {"1522953990.427\t0.1\t100\t1",
         "unixtime goes backwards by more than 1 s (1522953990.427000000 after 1522953991.427855000)"},
        {"1522953991.5\t5\t100\t1\n1522953991.6\t3.9\t100\t1", ""},  // (line 4, below)
        {std::string("\x00\x01\xff\xfe\t\x80", 6) + "\t1\t1", "unixtime '\\x00\\x01\\xff\\xfe' is not a number of seconds"},
        {std::string(5000, '7'), "line longer than 4096 bytes (binary data, or no line breaks?)"},
    };
    int k = 0;
    for (const Case& c : cases) {
        const std::string p = d.path + "/bad" + std::to_string(k++) + ".txt";
        write_file(p, good + c.third_line + "\n" + good);
        const std::string err = error_of(p, InputFormat::kTimeseries);
        if (c.message.empty()) {
            BOOST_TEST(err == p + ":4: time_since_first goes backwards by more than 1 s (3.900000000 after 5.000000000)");
            continue;
        }
        BOOST_TEST(err == p + ":3: " + c.message);
        BOOST_TEST(err.find('\n') == std::string::npos);
        BOOST_TEST(err.find('\0') == std::string::npos);
    }
    // A step back of up to 1 s is reordering (as in 731 of the UCDavis flows): accepted.
    const std::string p = d.path + "/reordered.txt";
    write_file(p, good + "1522953990.427855001\t0\t100\t1\n");
    BOOST_TEST(error_of(p, InputFormat::kTimeseries) == "");
    // An empty file: one error without a line number; in auto mode it is no capture either.
    const std::string e = d.path + "/empty.txt";
    write_file(e, "");
    BOOST_TEST(error_of(e, InputFormat::kTimeseries) == e + ": empty file (no packets)");
    BOOST_TEST(error_of(e) == e + ": empty file (not a capture)");
}

BOOST_AUTO_TEST_CASE(a_bad_line_far_into_a_long_flow_is_found_before_any_packet_is_fed) {
    // 300,000 packets: more than the checking pass keeps, so the file is read twice; the
    // error on the last line still comes before the sink sees anything.
    TempDir d;
    const std::vector<TsRow> rows = steady_rows(300000, 1000000);
    const std::string text = ts_text(rows);
    const std::string bad = d.path + "/bad.txt", ok = d.path + "/ok.txt";
    write_file(bad, text + "1522954291.5\t300\t100\t9\n");
    write_file(ok, text);
    BOOST_TEST(error_of(bad) == bad + ":300001: direction '9' is not 0 (server to client) or 1 (client to server)");

    ExtractOptions o = quiet_opts();
    o.keep_going = true;
    Recorder r;
    ExtractStats st;
    extract_captures({bad, ok}, o, r, st);
    BOOST_TEST(st.files == 1u);
    BOOST_TEST(st.files_failed == 1u);
    BOOST_REQUIRE(st.warnings.size() == 1u);
    BOOST_TEST(st.warnings[0] ==
               bad + ":300001: direction '9' is not 0 (server to client) or 1 (client to server) (skipped)");
    BOOST_TEST(r.begins == std::vector<std::string>{ok});  // nothing at all from the bad file
    BOOST_REQUIRE(r.packets.size() == rows.size());
    for (size_t i = 0; i < rows.size(); i += 997) BOOST_TEST_REQUIRE(r.packets[i].p.ts_ns == rows[i].ts_ns);
    BOOST_TEST(r.packets.back().p.ts_ns == rows.back().ts_ns);
    BOOST_REQUIRE(r.flows.size() == 1u);
    BOOST_TEST(r.flows[0].packets[0] + r.flows[0].packets[1] == 300000u);
}

BOOST_AUTO_TEST_CASE(keep_going_counts_lists_and_skips_bad_files) {
    TempDir d;
    const std::string a = d.path + "/a.txt", b = d.path + "/b.txt", c = d.path + "/c.txt";
    write_file(a, ts_text(steady_rows(20, 100000000)));
    write_file(b, ts_text(steady_rows(20, 100000000)) + "x\t1\t1\t1\n");
    write_file(c, "");
    ExtractOptions o = quiet_opts(InputFormat::kTimeseries);
    Recorder r;
    ExtractStats st;
    BOOST_CHECK_THROW(extract_captures({a, b, c}, o, r, st), InputError);
    o.keep_going = true;
    Recorder r2;
    ExtractStats st2;
    extract_captures({a, b, c}, o, r2, st2);
    BOOST_TEST(st2.files == 1u);
    BOOST_TEST(st2.files_failed == 2u);
    BOOST_TEST(st2.warnings == (std::vector<std::string>{b + ":21: unixtime 'x' is not a number of seconds (skipped)",
                                                         c + ": empty file (no packets) (skipped)"}));
    BOOST_TEST(r2.packets.size() == 20u);
    BOOST_TEST(r2.begins == std::vector<std::string>{a});
}

BOOST_AUTO_TEST_CASE(standard_input_is_read_as_a_time_series_when_told) {
    TempDir d;
    const std::string p = d.path + "/in.txt";
    write_file(p, ts_text(steady_rows(30, 10000000)));
    BOOST_REQUIRE(std::freopen(p.c_str(), "rb", stdin));
    Recorder r;
    ExtractStats st;
    extract_captures({"-"}, quiet_opts(InputFormat::kTimeseries), r, st);
    BOOST_TEST(r.packets.size() == 30u);
    BOOST_TEST(r.begins == std::vector<std::string>{"<stdin>"});
    BOOST_TEST(st.input_bytes == 0u);
}

// ---- detection -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(detection_table) {
    auto det = [](const std::string& s) { return detect_input_format(s.data(), s.size()); };
    const std::string ts_line = "1522953991.427530000\t0\t1412\t1\n";
    const std::pair<std::string, InputFormat> table[] = {
        {ts_line, InputFormat::kTimeseries},
        {ts_line + "garbage on line 2", InputFormat::kTimeseries},  // the first line decides
        {"1522953991.427530000\t0\t1412\t1", InputFormat::kTimeseries},
        {"1522953991.427530000\t0\t1412\t1\r\n", InputFormat::kTimeseries},
        {"1\t2\t3\t4\n", InputFormat::kTimeseries},
        {"1e5\t-2\t3.5\t+4\n", InputFormat::kTimeseries},  // number-shaped: the reader names what is wrong
        {"1522953991.4\t0\t1412\n", InputFormat::kAuto},
        {"1522953991.4\t0\t1412\t1\t5\n", InputFormat::kAuto},
        {"1522953991.4 0 1412 1\n", InputFormat::kAuto},
        {"a\tb\tc\td\n", InputFormat::kAuto},
        {"\t\t\t\n", InputFormat::kAuto},
        {"Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size\n", InputFormat::kCsv},
        {"Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size,RelativeTime,Direction,Label\r\n1,2",
         InputFormat::kCsv},
        {"Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size,Direction\n", InputFormat::kCsv},
        {"Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size,Label\n", InputFormat::kCsv},
        {"Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size,Direction,RelativeTime\n",
         InputFormat::kAuto},  // out of order
        {"Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size,Direction,Direction\n",
         InputFormat::kAuto},
        {"Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size,Extra\n", InputFormat::kAuto},
        {"Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol\n", InputFormat::kAuto},
        {"Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size,\n", InputFormat::kAuto},
        {"", InputFormat::kAuto},
        {"\n", InputFormat::kAuto},
        {"hello world\n", InputFormat::kAuto},
        {std::string("\xd4\xc3\xb2\xa1", 4), InputFormat::kCapture},
        {std::string("\xa1\xb2\xc3\xd4", 4), InputFormat::kCapture},
        {std::string("\x4d\x3c\xb2\xa1", 4), InputFormat::kCapture},
        {std::string("\xa1\xb2\x3c\x4d", 4), InputFormat::kCapture},
        {std::string("\x0a\x0d\x0d\x0a", 4), InputFormat::kCapture},
        {std::string("\xd4\xc3\xb2", 3), InputFormat::kAuto},
    };
    for (const auto& [bytes, want] : table)
        BOOST_TEST((det(bytes) == want), "'" << bytes << "' detected as " << input_format_name(det(bytes)));
}

BOOST_AUTO_TEST_CASE(a_capture_is_never_detected_as_text) {
    // Whatever follows the magic number, even a perfect time-series line or CSV header.
    const char* magics[] = {"\xd4\xc3\xb2\xa1", "\xa1\xb2\xc3\xd4", "\x4d\x3c\xb2\xa1", "\xa1\xb2\x3c\x4d",
                            "\x0a\x0d\x0d\x0a"};
    std::mt19937 rng(9);
    for (const char* m : magics) {
        for (const std::string& tail : {std::string("1\t2\t3\t4\n"),
                                        std::string("\t0\t1412\t1\n"),
                                        std::string("Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size\n")}) {
            const std::string s = std::string(m, 4) + tail;
            BOOST_TEST((detect_input_format(s.data(), s.size()) == InputFormat::kCapture));
        }
        for (int i = 0; i < 2000; ++i) {
            std::string s(m, 4);
            const size_t n = rng() % 64;
            for (size_t k = 0; k < n; ++k) s += "0123456789.\t\n,e"[rng() % 16];
            BOOST_TEST_REQUIRE((detect_input_format(s.data(), s.size()) == InputFormat::kCapture));
        }
    }
    // A real capture file, through the file-level detection and auto reading.
    TempDir d;
    PcapFile f(DLT_EN10MB);
    f.add(kT0, frame_v4(40000, 443, 100, true));
    write_file(d.path + "/c.pcap", f.bytes);
    BOOST_TEST((detect_file_format(d.path + "/c.pcap") == InputFormat::kCapture));
    Recorder r;
    ExtractStats st;
    extract_captures({d.path + "/c.pcap"}, quiet_opts(), r, st);
    BOOST_TEST(r.packets.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_forced_format_the_content_contradicts_is_an_error) {
    TempDir d;
    PcapFile f(DLT_EN10MB);
    f.add(kT0, frame_v4(40000, 443, 100, true));
    const std::string cap = d.path + "/c.pcap", ts = d.path + "/t.txt", csv = d.path + "/p.csv", txt = d.path + "/r.txt";
    write_file(cap, f.bytes);
    write_file(ts, "1522953991.427530000\t0\t1412\t1\n");
    write_file(csv, "Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size\n");
    write_file(txt, "just some notes\n");
    BOOST_TEST(error_of(cap, InputFormat::kTimeseries) ==
               cap + ": is a pcap or pcapng capture, not a packet time series (--format timeseries; --format auto detects it)");
    BOOST_TEST(error_of(cap, InputFormat::kCsv) ==
               cap + ": is a pcap or pcapng capture, not a packet CSV (--format csv; --format auto detects it)");
    BOOST_TEST(error_of(ts, InputFormat::kCapture) ==
               ts + ": is a packet time series, not a pcap or pcapng capture (--format capture; --format auto detects it)");
    BOOST_TEST(error_of(ts, InputFormat::kCsv) ==
               ts + ": is a packet time series, not a packet CSV (--format csv; --format auto detects it)");
    BOOST_TEST(error_of(csv, InputFormat::kTimeseries) ==
               csv + ": is a packet CSV, not a packet time series (--format timeseries; --format auto detects it)");
    // Unrecognised text: auto says what it is not (libpcap's words kept); forced, the line.
    const std::string a = error_of(txt);
    BOOST_TEST(a.rfind(txt + ": not a pcap or pcapng capture (unknown file format), nor a packet time series", 0) == 0u, a);
    BOOST_TEST(error_of(txt, InputFormat::kTimeseries) ==
               txt + ":1: expected 4 tab-separated columns (unixtime, time_since_first, size, direction), found 1");
    BOOST_TEST(error_of(txt, InputFormat::kCsv) ==
               txt + ":1: not flowpic-extract's packet CSV header (expected Timestamp,SourceIP,SourcePort,"
                     "DestinationIP,DestinationPort,Protocol,Size[,RelativeTime][,Direction][,Label])");
    // Every right format reads.
    BOOST_TEST(error_of(cap, InputFormat::kCapture) == "");
    BOOST_TEST(error_of(ts, InputFormat::kTimeseries) == "");
    BOOST_TEST(error_of(csv, InputFormat::kCsv) == "");
    BOOST_CHECK_THROW(parse_input_format("pcap"), UsageError);
    BOOST_TEST((parse_input_format("timeseries") == InputFormat::kTimeseries));
}

// ---- directory walks -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(directory_walks_pick_files_by_content_per_format) {
    TempDir d;
    const std::string root = d.path + "/tree";
    std::system(("mkdir -p '" + root + "/Doc' '" + root + "/caps/sub'").c_str());
    PcapFile f(DLT_EN10MB);
    f.add(kT0, frame_v4(40000, 443, 100, true));
    write_file(root + "/caps/a.pcap", f.bytes);
    write_file(root + "/caps/sub/b.bin", f.bytes);  // any name: the magic number decides
    write_file(root + "/caps/README.txt", "captures of something\n");
    write_file(root + "/caps/flows.tsv", "proto\tsrc\tsport\tdst\tdport\n");
    write_file(root + "/Doc/GoogleDoc-1.txt", "1522953991.427530000\t0\t1412\t1\n");
    write_file(root + "/Doc/GoogleDoc-2.txt", "1522953991.427530000\t0\t1412\t1\n");
    write_file(root + "/Doc/.complete", "");
    write_file(root + "/packets.csv", "Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size\n");
    using V = std::vector<std::string>;
    BOOST_TEST(expand_capture_inputs({root}, InputFormat::kCapture) == (V{root + "/caps/a.pcap", root + "/caps/sub/b.bin"}));
    BOOST_TEST(expand_capture_inputs({root}, InputFormat::kTimeseries) ==
               (V{root + "/Doc/GoogleDoc-1.txt", root + "/Doc/GoogleDoc-2.txt"}));
    BOOST_TEST(expand_capture_inputs({root}, InputFormat::kCsv) == V{root + "/packets.csv"});
    BOOST_TEST(expand_capture_inputs({root}) == (V{root + "/Doc/GoogleDoc-1.txt", root + "/Doc/GoogleDoc-2.txt",
                                                    root + "/caps/a.pcap", root + "/caps/sub/b.bin", root + "/packets.csv"}));
    // A capture tree is walked as it always was: what the magic-number test takes.
    V by_magic;
    for (const std::string& p : expand_capture_inputs({root})) if (looks_like_capture(p)) by_magic.push_back(p);
    BOOST_TEST(by_magic == expand_capture_inputs({root}, InputFormat::kCapture));
    // Explicit files are taken as given, whatever they hold.
    BOOST_TEST(expand_capture_inputs({root + "/caps/README.txt"}) == V{root + "/caps/README.txt"});
    try {
        expand_capture_inputs({root + "/caps"}, InputFormat::kTimeseries);
        BOOST_ERROR("no error");
    } catch (const InputError& e) {
        BOOST_TEST(std::string(e.what()) == root + "/caps: directory holds no packet time series (--format timeseries)");
    }
    try {
        expand_capture_inputs({root + "/Doc"}, InputFormat::kCapture);
        BOOST_ERROR("no error");
    } catch (const InputError& e) {
        BOOST_TEST(std::string(e.what()) == root + "/Doc: directory holds no pcap or pcapng capture");
    }
}

// ---- the packet CSV ------------------------------------------------------------------

namespace {

struct CapWindow {
    uint64_t flow_id;
    FiveTuple tuple;
    DirView view;
    uint32_t index;
    int64_t start_ns;
    uint32_t length_us;
    std::vector<WindowPacket> packets;
};

std::vector<CapWindow> windows_of(const std::string& path, const ExtractOptions& x, const WindowOptions& w) {
    std::vector<CapWindow> out;
    ExtractStats st;
    window_captures({path}, x, w,
                    [&](const std::string&, Window&& win) {
                        out.push_back({win.flow_id, win.tuple, win.view, win.index, win.start_ns, win.length_us,
                                       std::move(win.packets)});
                    },
                    st);
    return out;
}

bool same_windows(const std::vector<CapWindow>& a, const std::vector<CapWindow>& b, std::string& why) {
    if (a.size() != b.size()) return why = std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " windows", false;
    for (size_t i = 0; i < a.size(); ++i) {
        const CapWindow &x = a[i], &y = b[i];
        if (x.flow_id != y.flow_id || !(x.tuple == y.tuple) || x.view != y.view || x.index != y.index ||
            x.start_ns != y.start_ns || x.length_us != y.length_us || x.packets.size() != y.packets.size())
            return why = "window " + std::to_string(i) + " differs", false;
        for (size_t k = 0; k < x.packets.size(); ++k)
            if (x.packets[k].t_us != y.packets[k].t_us || x.packets[k].size != y.packets[k].size ||
                x.packets[k].dir != y.packets[k].dir)
                return why = "window " + std::to_string(i) + " packet " + std::to_string(k) + " differs", false;
    }
    return true;
}

// Synthetic traffic of every class merged into one capture: many flows (TCP and UDP,
// DNS beside them), interleaved.
std::string synthetic_capture(const std::string& dir) {
    std::vector<std::string> parts;
    for (int c = 0; c < kSynthClassCount; ++c)
        for (int k = 0; k < 2; ++k) {
            const std::string p = dir + "/part" + std::to_string(c) + "_" + std::to_string(k) + ".pcap";
            synth_write_pcap(synth_generate(SynthClass(c), 7, uint64_t(k), 40.0), p);
            parts.push_back(p);
        }
    const std::string out = dir + "/mix.pcap";
    synth_merge_pcaps(parts, out, false);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(extracts_csv_read_back_gives_the_captures_windows) {
    TempDir d;
    const std::string cap = synthetic_capture(d.path);
    // Direction is what the extraction's flow table said, so a CSV is read back with the
    // timeouts it was written with; the seed's CSV (no Direction) follows the reader's.
    const std::string full = d.path + "/full.csv", seed = d.path + "/seed.csv", cut = d.path + "/cut.csv";
    const std::string timeouts = " --idle-timeout 2 --active-timeout 10";
    auto r = run_tool("extract", cap + " --csv " + full + " --relative-time --direction --label mix -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    r = run_tool("extract", cap + " --csv " + seed + " -q");  // the seed's columns, no Direction
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    r = run_tool("extract", cap + " --csv " + cut + " --direction -q" + timeouts);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST((detect_file_format(full) == InputFormat::kCsv));
    BOOST_TEST((detect_file_format(seed) == InputFormat::kCsv));

    for (int variant = 0; variant < 4; ++variant) {
        ExtractOptions x = quiet_opts();
        WindowOptions w;
        w.view = variant & 1 ? FlowView::kBi : FlowView::kUni;
        w.window_s = variant & 2 ? 5.0 : 15.0;
        w.overlap = variant & 2 ? 0.5 : 0.0;
        w.min_packets = 2;
        w.min_span_s = 0;
        if (variant & 2) {
            x.flows.idle_timeout_s = 2;  // flows cut by timeouts in both reads alike
            x.flows.active_timeout_s = 10;
            x.skip_dns = true;
        }
        const std::vector<CapWindow> from_cap = windows_of(cap, x, w);
        BOOST_TEST_REQUIRE(from_cap.size() > 20u);
        for (const std::string& csv : {variant & 2 ? cut : full, seed}) {
            std::string why;
            BOOST_TEST(same_windows(from_cap, windows_of(csv, x, w), why), csv << " variant " << variant << ": " << why);
        }
    }
    // The flows too: ids, clients, per-direction counts, times.
    Recorder a, b;
    ExtractStats sa, sb;
    extract_captures({cap}, quiet_opts(), a, sa);
    extract_captures({full}, quiet_opts(), b, sb);
    BOOST_REQUIRE(a.flows.size() == b.flows.size());
    BOOST_TEST(sa.packets == sb.packets);
    for (size_t i = 0; i < a.flows.size(); ++i) {
        const FlowRecord &x = a.flows[i], &y = b.flows[i];
        BOOST_TEST_REQUIRE((x.id == y.id && x.client == y.client && x.first_ns == y.first_ns && x.last_ns == y.last_ns));
        BOOST_TEST_REQUIRE((x.packets[0] == y.packets[0] && x.packets[1] == y.packets[1]));
        BOOST_TEST_REQUIRE((x.bytes[0] == y.bytes[0] && x.bytes[1] == y.bytes[1]));
    }
}

BOOST_AUTO_TEST_CASE(csv_direction_says_who_the_client_is) {
    // The first row of the flow is a server packet (Direction 0): the client is its
    // destination, not its source as the first-packet rule would say.
    TempDir d;
    const std::string p = d.path + "/d.csv";
    write_file(p,
               "Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size,Direction\n"
               "1700000000.000000001,192.168.1.1,443,10.0.0.1,40000,TCP,1500,0\n"
               "1700000000.500000000,10.0.0.1,40000,192.168.1.1,443,TCP,40,1\n"
               "1700000001.000000000,2001:db8::1,53,2001:db8::2,5353,UDP,90,1\n");
    Recorder r;
    ExtractStats st;
    extract_captures({p}, quiet_opts(), r, st);
    BOOST_REQUIRE(r.flows.size() == 2u);
    BOOST_TEST(format_address(r.flows[0].client.src, 4) == "10.0.0.1");
    BOOST_TEST(r.flows[0].client.sport == 40000);
    BOOST_TEST(r.flows[0].packets[0] == 1u);
    BOOST_TEST(r.flows[0].packets[1] == 1u);
    BOOST_TEST(r.flows[0].bytes[0] == 1500u);
    BOOST_TEST(r.flows[0].first_ns == 1700000000000000001);
    BOOST_TEST(r.packets[0].hit.direction == 0);
    BOOST_TEST(r.packets[1].hit.direction == 1);
    BOOST_TEST(format_address(r.packets[0].p.tuple.src, 4) == "192.168.1.1");  // as on the wire
    BOOST_TEST(r.flows[1].client.ip_version == 6);
    BOOST_TEST(format_address(r.flows[1].client.src, 6) == "2001:db8::1");
    // --skip-dns drops by port, as for captures.
    ExtractOptions o = quiet_opts();
    o.skip_dns = true;
    Recorder r2;
    ExtractStats st2;
    extract_captures({p}, o, r2, st2);
    BOOST_TEST(r2.packets.size() == 2u);
    BOOST_TEST(st2.filtered_dns == 1u);
}

BOOST_AUTO_TEST_CASE(bad_csv_rows_are_named) {
    TempDir d;
    const std::string header = "Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size,Direction,Label\n";
    const std::string good = "1700000000.000000001,10.0.0.1,40000,192.168.1.1,443,TCP,40,1,a,b\n";
    const std::pair<std::string, std::string> cases[] = {
        {"1700000000.5,10.0.0.1,40000,192.168.1.1,443,TCP,40", "expected 9 comma-separated columns (as the header says), found 7"},
        {"x,10.0.0.1,40000,192.168.1.1,443,TCP,40,1,a", "Timestamp 'x' is not a number"},
        {"-1,10.0.0.1,40000,192.168.1.1,443,TCP,40,1,a", "negative Timestamp '-1'"},
        {"1,10.0.0.256,40000,192.168.1.1,443,TCP,40,1,a", "SourceIP '10.0.0.256' is not an IPv4 or IPv6 address"},
        {"1,10.0.0.1,70000,192.168.1.1,443,TCP,40,1,a", "SourcePort '70000' is out of range"},
        {"1,10.0.0.1,1,host,443,TCP,40,1,a", "DestinationIP 'host' is not an IPv4 or IPv6 address"},
        {"1,10.0.0.1,1,::1,443,TCP,40,1,a", "SourceIP and DestinationIP are not of the same IP version"},
        {"1,10.0.0.1,1,10.0.0.2,-4,TCP,40,1,a", "negative DestinationPort '-4'"},
        {"1,10.0.0.1,1,10.0.0.2,4,ICMP,40,1,a", "Protocol 'ICMP' is not TCP or UDP"},
        {"1,10.0.0.1,1,10.0.0.2,4,UDP,65536,1,a", "Size '65536' is out of range"},
        {"1,10.0.0.1,1,10.0.0.2,4,UDP,-2,1,a", "negative Size '-2'"},
        {"1,10.0.0.1,1,10.0.0.2,4,UDP,20,2,a", "Direction '2' is not 0 (server to client) or 1 (client to server)"},
        {"", "empty line (expected a packet row)"},
    };
    int k = 0;
    for (const auto& [row, msg] : cases) {
        const std::string p = d.path + "/bad" + std::to_string(k++) + ".csv";
        write_file(p, header + good + row + "\n" + good);
        BOOST_TEST(error_of(p) == p + ":3: " + msg);
    }
    const std::string p = d.path + "/ok.csv";
    write_file(p, header + good);
    ExtractOptions o = quiet_opts();
    o.skip_empty_tcp = true;
    Recorder r;
    ExtractStats st;
    BOOST_CHECK_EXCEPTION(extract_captures({p}, o, r, st), InputError, [&](const InputError& e) {
        return std::string(e.what()) == p + ": --skip-empty-tcp cannot apply: a packet CSV has no payload lengths";
    });
    // A header and no rows is an empty capture, not an error; no header at all is one.
    write_file(p, header);
    BOOST_TEST(error_of(p) == "");
    write_file(p, "");
    BOOST_TEST(error_of(p, InputFormat::kCsv) == p + ": empty file (no CSV header)");
}

// ---- real data (optional) ------------------------------------------------------------

namespace {

std::string ucdavis_dir() {
    const char* e = std::getenv("FLOWPIC_UCDAVIS");
    return e ? e : "/work/out/ucdavis";
}

struct UcdavisPresent {
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) {
        boost::test_tools::assertion_result r(file_exists(ucdavis_dir() + "/Youtube"));
        if (!r) {
            r.message() << "no UCDavis-QUIC tree at " << ucdavis_dir();
            std::printf("skipped: no UCDavis-QUIC tree at %s\n", ucdavis_dir().c_str());
        }
        return r;
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(real_ucdavis_flows_read_exactly, *boost::unit_test::precondition(UcdavisPresent())) {
    // A few real flows of each class, against an independent reading: the unixtime's
    // digits without the point are its nanoseconds.
    const char* classes[] = {"Google Doc", "Google Drive", "Google Music", "Google Search", "Youtube"};
    for (const char* c : classes) {
        std::vector<std::string> files = expand_capture_inputs({ucdavis_dir() + "/" + c}, InputFormat::kTimeseries);
        BOOST_REQUIRE(files.size() > 3u);
        files.resize(3);
        Recorder r;
        ExtractStats st;
        extract_captures(files, quiet_opts(), r, st);
        BOOST_TEST_REQUIRE(r.flows.size() == 3u);
        size_t k = 0;
        for (const std::string& f : files) {
            std::ifstream in(f);
            uint64_t n[2] = {0, 0}, bytes[2] = {0, 0};
            for (std::string line; std::getline(in, line); ++k) {
                std::istringstream fields(line);
                std::string ts, rel;
                uint32_t size;
                int dir;
                fields >> ts >> rel >> size >> dir;
                ts.erase(ts.find('.'), 1);
                BOOST_TEST_REQUIRE(r.packets[k].p.ts_ns == std::stoll(ts), f);
                BOOST_TEST_REQUIRE(r.packets[k].p.ip_len == size);
                BOOST_TEST_REQUIRE(int(r.packets[k].hit.direction) == dir);
                n[dir]++;
                bytes[dir] += size;
            }
            const FlowRecord& rec = r.flows[size_t(&f - files.data())];
            BOOST_TEST((rec.packets[0] == n[0] && rec.packets[1] == n[1] && rec.bytes[0] == bytes[0] &&
                        rec.bytes[1] == bytes[1]));
        }
        BOOST_TEST(k == r.packets.size());
    }
}

BOOST_AUTO_TEST_SUITE_END()
