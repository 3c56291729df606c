// Reads one capture (pcap or pcapng, any timestamp precision) through libpcap with
// nanosecond timestamps.  RAII over pcap_t.  "-" reads standard input.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "pcap/input_format.h"

namespace flowpic {

struct RawRecord {
    int64_t ts_ns;
    const uint8_t* data;  // valid until the next call to next()
    uint32_t caplen, wirelen;
};

class CaptureReader {
public:
    explicit CaptureReader(const std::string& path);  // throws InputError
    // Reads an open stream (pcap/stream_source.cpp: stdin through a FILE that notices a
    // stop request); `name` names it in errors.  The FILE is closed with the reader.
    CaptureReader(std::FILE* stream, const std::string& name);
    ~CaptureReader();
    CaptureReader(const CaptureReader&) = delete;
    CaptureReader& operator=(const CaptureReader&) = delete;

    // Next record, or false at the end.  A file cut short inside its last record ends the
    // capture with a warning (see warning()); any other read error, or a timestamp
    // outside 1970..2262 (what int64 nanoseconds hold), throws InputError.
    bool next(RawRecord& rec);

    int link_type() const { return dlt_; }
    const std::string& path() const { return path_; }
    uint64_t bytes_read() const;   // position in the file (0 for stdin)
    uint64_t total_bytes() const { return size_; }  // file size (0 for stdin)
    const std::string& warning() const { return warning_; }  // "" when none
    void* handle() const { return pcap_; }  // the pcap_t (pcap_dump_fopen needs one)

private:
    std::string path_;
    void* pcap_ = nullptr;  // pcap_t*
    int dlt_ = 0;
    uint64_t size_ = 0;
    std::string warning_;
    uint64_t records_ = 0;  // records returned so far (errors name the record)
    std::FILE* open_mapped(const std::string& path);
    void* map_ = nullptr;             // the mapped capture, when mmap worked
    static constexpr size_t kBufferSize = 1 << 20;
    std::unique_ptr<char[]> buffer_;  // stdio buffer of the capture's FILE; outlives pcap_
};

// True if the file starts with a pcap or pcapng magic number.
bool looks_like_capture(const std::string& path);

// Expands inputs: files as given, directories walked recursively (sorted), "-" kept.  A
// walk takes the files whose content is `format` (detect_file_format): with kCapture the
// captures only (a pcap or pcapng magic number, whatever the name); with kAuto those and
// the packet time series and packet CSVs too.  Throws InputError for a missing path or a
// directory holding no such file.
std::vector<std::string> expand_capture_inputs(const std::vector<std::string>& inputs,
                                               InputFormat format = InputFormat::kAuto);

}  // namespace flowpic
