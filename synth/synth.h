// Synthetic labelled traffic for demos, tests and benchmarks.  THE DATA IS SYNTHETIC:
// each class is a small generative model of published behaviour (docs/SYNTHETIC.md),
// not a recording of real users.
//
// A flow is generated as a time-ordered list of packets seen at the client (the capture
// point), then written as a real Ethernet/IPv4/TCP-or-UDP capture through libpcap.
// Everything derives from (seed, class, flow index) through our own RNG and
// deterministic maths, so the same seed gives byte-identical files on any machine, and
// asking for more flows per class leaves the first ones unchanged.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace flowpic {

enum class SynthClass : uint8_t { kChat, kFile, kVoip, kVideo, kBrowsing };
constexpr int kSynthClassCount = 5;
const char* synth_class_name(SynthClass c);  // "chat", "file", "voip", "video", "browsing"
bool synth_class_from_name(const std::string& name, SynthClass& out);

// One conversation (5-tuple) inside a generated capture: the labelled main flow, or a
// side flow such as the DNS lookup before it.
struct SynthConv {
    uint32_t client_ip = 0, server_ip = 0;  // host byte order
    uint16_t client_port = 0, server_port = 0;
    uint8_t proto = 0;     // 6 TCP, 17 UDP
    uint8_t tos = 0;       // IPv4 TOS byte of client packets (VoIP may mark DSCP EF)
    uint8_t server_ttl = 64;
};

struct SynthPacket {
    int64_t ts_ns = 0;      // capture time at the client
    uint32_t payload = 0;   // TCP/UDP payload bytes
    uint8_t conv = 0;       // index into SynthFlow::convs (0 = the main flow)
    uint8_t flags = 0;      // TCP flags (0 for UDP)
    uint8_t tcp_opt = 0;    // TCP option bytes (4 on SYN/SYN-ACK: MSS)
    bool from_client = true;
};

struct SynthFlow {
    SynthClass cls = SynthClass::kChat;
    std::vector<SynthConv> convs;      // convs[0] is the labelled flow
    std::vector<SynthPacket> packets;  // sorted by ts_ns (stable)
    uint64_t write_seed = 0;           // seeds ISNs, IP IDs and MACs when written
};

// IPv4 total length of a packet: 20 + TCP (20 + options) or UDP (8) + payload.
uint32_t synth_ip_len(const SynthFlow& f, const SynthPacket& p);

// Mean flow duration used when none is given (flows last 4/7..10/7 of the mean:
// 120..300 s around 210 s), and the largest accepted mean.
constexpr double kSynthDefaultDurationS = 210.0;
constexpr double kSynthMaxDurationS = 3600.0;
// One file per flow: a million per class is already more than a file system likes.
constexpr uint64_t kSynthMaxFlowsPerClass = 1000000;
// Timestamps start at 2026-01-01T00:00:00Z plus a per-flow offset below 600 s.
constexpr int64_t kSynthBaseEpochS = 1767225600;

// Generates flow `index` of class `cls` for `seed`.  mean_duration_s > 0.
SynthFlow synth_generate(SynthClass cls, uint64_t seed, uint64_t index,
                         double mean_duration_s = kSynthDefaultDurationS);

// The capture format written: Ethernet, nanosecond timestamps, snaplen 64 (caplen =
// min(64, frame), wire length = full frame; payload bytes are zeros).
constexpr int kSynthSnaplen = 64;

struct SynthOptions {
    std::string out_dir;                 // DIR/<class>/<class>_<k>.pcap
    uint64_t flows_per_class = 10;
    uint64_t seed = 1;
    double mean_duration_s = kSynthDefaultDurationS;
    std::vector<SynthClass> classes;     // empty = all five
    std::string mix_path;                // "" = no merged capture
    bool progress = true;
};

struct SynthSummary {
    uint64_t files = 0, packets = 0, ip_bytes = 0, file_bytes = 0;
    uint64_t class_packets[kSynthClassCount] = {};
    uint64_t mix_packets = 0, mix_file_bytes = 0;
};

// Writes every capture (each atomically) and the mix if asked.  Throws InputError
// ("path: what") when a file or directory cannot be written, UsageError on bad options.
SynthSummary synth_run(const SynthOptions& opt);

// Writes one flow as a capture file, atomically.  Returns the bytes written.
uint64_t synth_write_pcap(const SynthFlow& flow, const std::string& path);

// Streams a k-way merge of captures into one, ordered by timestamp (ties by input order);
// only one record per input is held.  More than max_fan_in inputs are merged in groups
// through temp files beside `out` (open-file limits).  Returns packets written.
uint64_t synth_merge_pcaps(const std::vector<std::string>& inputs, const std::string& out,
                           bool progress, size_t max_fan_in = 256);

}  // namespace flowpic
