// Packet-level building blocks the class models share: one conversation (TCP or UDP) as
// seen at the client, which is where the capture is taken.  A packet the client sends
// is stamped when it leaves; one from the server when it arrives, so the server's
// replies come one RTT after the request and its data is paced by the bottleneck.
#pragma once
#include <cstdint>

#include "synth/synth.h"
#include "synth/rng.h"

namespace flowpic {

constexpr uint32_t kMss = 1460;  // full-size segment: IP total length 1500

inline int64_t sec_to_ns(double s) { return int64_t(s * 1e9 + (s >= 0 ? 0.5 : -0.5)); }

enum : uint8_t { kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10 };

class ConvBuilder {
public:
    ConvBuilder(SynthFlow& flow, uint8_t conv, SynthRng& rng, double rtt_s);

    // One packet; flags only for TCP.
    void packet(int64_t t, bool from_client, uint32_t payload, uint8_t flags = 0, uint8_t opt = 0);

    // SYN at t, SYN-ACK one RTT later, ACK.  Returns when the client's ACK leaves.
    int64_t handshake(int64_t t);
    // TLS-like key exchange (ClientHello, server flight with certificates, Finished,
    // tickets).  Returns when the client may send application data.
    int64_t tls_handshake(int64_t t);

    // A short message (a request, a chat line) sent back to back in MSS segments; the
    // peer acknowledges it if peer_acks.  Returns the time of its last segment.
    int64_t message(int64_t t, bool from_client, uint64_t bytes, bool peer_acks = true);

    // A bulk transfer: slow start from the congestion window (IW10, reset after an idle
    // RTO), doubling per RTT until the bottleneck `rate_bps` is filled, then ACK-clocked
    // at that rate; the receiver ACKs every second segment (delayed ACK).  Data the
    // server sends first reaches the client at t.  Stops at deadline.  Returns the time
    // of the last data segment.
    int64_t bulk(int64_t t, bool from_client, uint64_t bytes, double rate_bps, int64_t deadline);

    // FIN exchange started by either side; returns when the last packet is seen.
    int64_t close(int64_t t, bool client_first);

    int64_t rtt() const { return rtt_; }
    int64_t last_ts() const { return last_ts_; }  // latest packet emitted so far
    // Server think time: a lognormal around a few milliseconds.
    int64_t server_delay();

private:
    void ack_from_client(int64_t t);

    SynthFlow& flow_;
    uint8_t conv_;
    SynthRng& rng_;
    int64_t rtt_;
    double cwnd_ = 10;         // segments
    int64_t last_data_ = -1;   // time of the last data segment, for restart after idle
    int64_t last_ts_ = 0;
};

}  // namespace flowpic
