// Writing capture files for flowpic-synth: a libpcap dumper (Ethernet, nanosecond
// timestamps, snaplen 64) on an AtomicFile, so a file appears whole or not at all and
// outputs behave like every other tool's (core/output_paths.h).
#pragma once
#include <cstdint>
#include <string>

#include <pcap.h>

#include "core/atomic_file.h"

namespace flowpic {

class PcapFileWriter {
public:
    PcapFileWriter(const std::string& path, int snaplen);  // throws InputError
    ~PcapFileWriter();  // without commit(): the temp file is removed
    PcapFileWriter(const PcapFileWriter&) = delete;
    PcapFileWriter& operator=(const PcapFileWriter&) = delete;

    void write(const pcap_pkthdr& hdr, const uint8_t* data) {
        pcap_dump(reinterpret_cast<u_char*>(dumper_), &hdr, data);
    }
    // Flush, fsync, close, rename.  Returns the file size.  Throws InputError.
    uint64_t commit();

private:
    AtomicFile out_;
    pcap_t* dead_ = nullptr;
    pcap_dumper_t* dumper_ = nullptr;
};

}  // namespace flowpic
