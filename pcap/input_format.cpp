#include "pcap/input_format.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"
#include "pcap/packet.h"

namespace flowpic {

namespace {

// Detection order matters: the capture's magic number is checked first, so a capture is
// never read as text whatever its first bytes happen to look like.
const InputFormatEntry kFormats[] = {
    {InputFormat::kCapture, "capture", detect_capture_head, read_capture_source},
    {InputFormat::kTimeseries, "timeseries", detect_timeseries_head, read_timeseries_source},
    {InputFormat::kCsv, "csv", detect_packet_csv_head, read_packet_csv_source},
};

const InputFormatEntry& entry(InputFormat f) {
    for (const auto& e : kFormats)
        if (e.format == f) return e;
    return kFormats[0];
}

// First bytes that look like text (no NUL, no control characters but tab, CR, LF).
bool looks_like_text(const char* head, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; ++i) {
        const unsigned char c = static_cast<unsigned char>(head[i]);
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
        if (c == 0x7f) return false;
    }
    return true;
}

}  // namespace

const char* input_format_name(InputFormat f) {
    switch (f) {
        case InputFormat::kAuto: return "auto";
        case InputFormat::kCapture: return "capture";
        case InputFormat::kTimeseries: return "timeseries";
        case InputFormat::kCsv: return "csv";
    }
    return "?";
}

const char* input_format_what(InputFormat f) {
    switch (f) {
        case InputFormat::kAuto: return "an input of any format";
        case InputFormat::kCapture: return "a pcap or pcapng capture";
        case InputFormat::kTimeseries: return "a packet time series";
        case InputFormat::kCsv: return "a packet CSV";
    }
    return "?";
}

InputFormat parse_input_format(const std::string& s) {
    for (InputFormat f : {InputFormat::kAuto, InputFormat::kCapture, InputFormat::kTimeseries, InputFormat::kCsv})
        if (s == input_format_name(f)) return f;
    throw UsageError("--format: invalid value '" + s + "' (expected capture, timeseries, csv or auto)");
}

bool is_dns_packet(const FiveTuple& t) {
    return t.sport == 53 || t.dport == 53 || t.sport == 5353 || t.dport == 5353;
}

InputFormat detect_input_format(const char* head, size_t n) {
    for (const auto& e : kFormats)
        if (e.detect(head, n)) return e.format;
    return InputFormat::kAuto;
}

InputFormat detect_file_format(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return InputFormat::kAuto;
    char head[kDetectBytes];
    size_t n = 0;
    while (n < sizeof head) {
        ssize_t r = ::read(fd, head + n, sizeof head - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;  // a directory reads as an error: the reader says what it is
        n += size_t(r);
    }
    ::close(fd);
    return detect_input_format(head, n);
}

const InputFormatEntry& input_format_for(const std::string& path, InputFormat format) {
    if (path == "-") {
        // Standard input cannot be looked at and then handed to libpcap whole: auto reads
        // it as a capture, as before; --format timeseries|csv reads it as text.
        return entry(format == InputFormat::kAuto ? InputFormat::kCapture : format);
    }
    const InputFormat found = detect_file_format(path);
    if (format == InputFormat::kAuto) {
        if (found != InputFormat::kAuto) return entry(found);
        // Neither text format: libpcap reads it and says what is wrong (empty, unknown
        // format...), as before text inputs existed, unless it is text, which gets a hint.
        char head[64];
        size_t n = 0;
        if (int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
            ssize_t r = ::read(fd, head, sizeof head);
            n = r > 0 ? size_t(r) : 0;
            ::close(fd);
        }
        if (looks_like_text(head, n))
            throw input_error(path,
                              "not a pcap or pcapng capture (unknown file format), nor a packet time series "
                              "(first line: 4 tab-separated numbers) or packet CSV (flowpic-extract's header); "
                              "--format timeseries or --format csv reads it as one and names the bad line");
        return entry(InputFormat::kCapture);
    }
    if (found != InputFormat::kAuto && found != format)
        throw input_error(path, std::string("is ") + input_format_what(found) + ", not " + input_format_what(format) +
                                    " (--format " + input_format_name(format) + "; --format auto detects it)");
    return entry(format);
}

}  // namespace flowpic
