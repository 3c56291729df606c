// Writing capture files for flowpic-synth: a libpcap dumper (Ethernet, nanosecond
// timestamps, snaplen 64) on a temp file beside the target, renamed over it on commit,
// so a file appears whole or not at all.
#pragma once
#include <cstdint>
#include <string>

#include <pcap.h>

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
    std::string path_, temp_;
    pcap_t* dead_ = nullptr;
    pcap_dumper_t* dumper_ = nullptr;
};

}  // namespace flowpic
