// The input formats the extraction loop reads, one source file each, dispatched through
// one small table (libpcap's way with its savefile formats):
//   capture     pcap or pcapng, through libpcap          pcap/capture_source.cpp
//   timeseries  one flow per text file, a packet a line:  pcap/timeseries_source.cpp
//               unixtime<TAB>time_since_first<TAB>size<TAB>direction   (UCDavis-QUIC)
//   csv         flowpic-extract's packet CSV              pcap/packet_csv_source.cpp
// Every source feeds the same PacketSink calls a capture does (begin_capture, packet,
// flow_end, end_capture), so what comes after (windowing, datasets, inference) cannot tell
// them apart.  docs/FORMATS.md, "Input formats", has the rules for users.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace flowpic {

class PacketSink;
class Progress;
struct ExtractOptions;
struct ExtractStats;

enum class InputFormat : uint8_t { kAuto = 0, kCapture, kTimeseries, kCsv };

const char* input_format_name(InputFormat f);  // "auto", "capture", "timeseries", "csv"
// "auto", "capture", "timeseries" or "csv"; anything else is a UsageError naming --format.
InputFormat parse_input_format(const std::string& s);
// "a pcap or pcapng capture", "a packet time series", "a packet CSV"
const char* input_format_what(InputFormat f);

// begin_capture's link type for the text formats, which have no link layer.
constexpr int kNoLinkType = -1;

// Detection looks at a file's first kDetectBytes bytes only: enough for a capture's magic
// number and for a first text line up to the longest a text source accepts.
constexpr size_t kDetectBytes = 4097;

// The format of a file's first bytes: kCapture for a pcap/pcapng magic number (checked
// first, so a capture is never taken for text), kTimeseries when the first line is four
// tab-separated numbers, kCsv when it is flowpic-extract's CSV header; kAuto when none.
InputFormat detect_input_format(const char* head, size_t n);
// The same on a file's start; kAuto when it cannot be read (the reader reports why).
InputFormat detect_file_format(const std::string& path);

// What one source needs to read one input file.
struct SourceContext {
    const ExtractOptions& opts;
    PacketSink& sink;
    ExtractStats& stats;
    Progress& progress;
    uint64_t bytes_before;  // input bytes of the files read before this one (progress)
    uint64_t file_index;    // the file's position in the list (timeseries: its 5-tuple)
};

struct InputFormatEntry {
    InputFormat format;
    const char* name;
    bool (*detect)(const char* head, size_t n);
    // Reads the file into ctx.sink; returns the bytes read (0 for stdin).  Throws
    // InputError ("FILE: what" or "FILE:LINE: what") for bad input.
    uint64_t (*read)(const std::string& path, SourceContext& ctx);
};

// The entry for a file: `format` itself, or for kAuto the detected one ("-" and files
// that are neither text format are read as captures, which reports what is wrong with
// them).  A forced format the content contradicts (a capture read as text, a time series
// read as a capture...) is an InputError naming both.
const InputFormatEntry& input_format_for(const std::string& path, InputFormat format);

struct FiveTuple;
// What --skip-dns drops: UDP or TCP port 53 or 5353 on either side.
bool is_dns_packet(const FiveTuple& t);

// The sources (each defined in its own file).
uint64_t read_capture_source(const std::string& path, SourceContext& ctx);
uint64_t read_timeseries_source(const std::string& path, SourceContext& ctx);
uint64_t read_packet_csv_source(const std::string& path, SourceContext& ctx);
bool detect_capture_head(const char* head, size_t n);
bool detect_timeseries_head(const char* head, size_t n);
bool detect_packet_csv_head(const char* head, size_t n);

}  // namespace flowpic
