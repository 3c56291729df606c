#include "synth/fp.h"
#include "synth/builder.h"

#include <algorithm>

namespace flowpic {

ConvBuilder::ConvBuilder(SynthFlow& flow, uint8_t conv, SynthRng& rng, double rtt_s)
    : flow_(flow), conv_(conv), rng_(rng), rtt_(sec_to_ns(rtt_s)) {}

void ConvBuilder::packet(int64_t t, bool from_client, uint32_t payload, uint8_t flags, uint8_t opt) {
    SynthPacket p;
    p.ts_ns = t;
    p.payload = payload;
    p.conv = conv_;
    p.flags = flags;
    p.tcp_opt = opt;
    p.from_client = from_client;
    flow_.packets.push_back(p);
    last_ts_ = std::max(last_ts_, t);
}

int64_t ConvBuilder::server_delay() { return sec_to_ns(rng_.lognormal(0.003, 0.8)); }

int64_t ConvBuilder::handshake(int64_t t) {
    packet(t, true, 0, kSyn, 4);
    int64_t synack = t + rtt_ + sec_to_ns(rng_.uniform(0, 0.0005));
    packet(synack, false, 0, kSyn | kAck, 4);
    int64_t ack = synack + sec_to_ns(rng_.uniform(0.00002, 0.0001));
    packet(ack, true, 0, kAck);
    return ack;
}

int64_t ConvBuilder::tls_handshake(int64_t t) {
    // ClientHello, then the server's flight (ServerHello, certificate chain, ...).
    int64_t hello = t + sec_to_ns(rng_.uniform(0.0001, 0.001));
    message(hello, true, uint64_t(rng_.range(220, 600)), false);
    int64_t flight = hello + rtt_ + server_delay();
    int64_t end = message(flight, false, uint64_t(rng_.range(1300, 5200)));
    // Client key exchange / Finished, then the server's Finished or session tickets.
    int64_t fin = end + sec_to_ns(rng_.uniform(0.001, 0.008));
    message(fin, true, uint64_t(rng_.range(64, 160)), false);
    int64_t tickets = fin + rtt_ + sec_to_ns(rng_.uniform(0.0002, 0.002));
    message(tickets, false, uint64_t(rng_.range(60, 520)));
    return fin + sec_to_ns(rng_.uniform(0.0001, 0.0005));
}

void ConvBuilder::ack_from_client(int64_t t) {
    packet(t + sec_to_ns(rng_.uniform(0.00002, 0.00015)), true, 0, kAck);
}

int64_t ConvBuilder::message(int64_t t, bool from_client, uint64_t bytes, bool peer_acks) {
    // Back-to-back segments at access-link speed (~100 Mbit/s: 120 us per full segment).
    int64_t ts = t;
    uint64_t left = bytes;
    int seg = 0;
    while (left > 0) {
        uint32_t n = uint32_t(std::min<uint64_t>(left, kMss));
        left -= n;
        packet(ts, from_client, n, left == 0 ? kAck | kPsh : kAck);
        ++seg;
        if (!from_client && peer_acks && seg % 2 == 0 && left > 0) ack_from_client(ts);
        if (left > 0) ts += 1000 + int64_t(n) * 80;
    }
    if (peer_acks) {
        if (from_client)  // the server's (delayed) ACK comes back one RTT later
            packet(ts + rtt_ + sec_to_ns(rng_.uniform(0.0, 0.04)), false, 0, kAck);
        else
            packet(ts + sec_to_ns(rng_.uniform(0.0, 0.04)), true, 0, kAck);
    }
    last_data_ = ts;
    return ts;
}

int64_t ConvBuilder::bulk(int64_t t, bool from_client, uint64_t bytes, double rate_bps, int64_t deadline) {
    // Restart after idle (RFC 5681 4.1, Linux tcp_slow_start_after_idle): an idle period
    // longer than the RTO (>= 200 ms + RTT) drops the window back to the initial 10.
    if (last_data_ < 0 || t - last_data_ > rtt_ + 200000000) cwnd_ = 10;
    const int64_t spacing = std::max<int64_t>(1000, sec_to_ns(1500 * 8 / rate_bps));
    const int64_t local = 12000;  // first window leaves the sender at ~1 Gbit/s
    int64_t round_start = t, ts = t;
    uint64_t left = bytes;
    uint64_t seg = 0;
    bool first_round = true;
    while (left > 0 && ts < deadline) {
        uint64_t in_round = uint64_t(cwnd_);
        int64_t gap = (from_client && first_round) ? local : spacing;
        ts = round_start;
        for (uint64_t i = 0; i < in_round && left > 0 && ts < deadline; ++i) {
            uint32_t n = uint32_t(std::min<uint64_t>(left, kMss));
            left -= n;
            packet(ts, from_client, n, left == 0 ? kAck | kPsh : kAck);
            ++seg;
            if (seg % 2 == 0 || left == 0) {
                if (from_client)  // the server's ACK, one RTT after the segment left
                    packet(ts + rtt_ + sec_to_ns(rng_.uniform(0.0, 0.0003)), false, 0, kAck);
                else if (seg % 2 == 0)
                    ack_from_client(ts);
                else  // a lone last segment waits for the delayed-ACK timer
                    packet(ts + sec_to_ns(rng_.uniform(0.001, 0.04)), true, 0, kAck);
            }
            last_data_ = ts;
            // small per-packet jitter so the pacing is not perfectly periodic
            ts += gap + int64_t(rng_.below(uint64_t(gap / 8 + 1)));
        }
        first_round = false;
        // The next window starts when the ACKs of this one return, or right away if the
        // window already fills the pipe (the flow is then limited by the bottleneck).
        round_start = std::max(round_start + rtt_, ts);
        if (cwnd_ * spacing < rtt_) cwnd_ = std::min(cwnd_ * 2, 1e6);
    }
    return last_data_;
}

int64_t ConvBuilder::close(int64_t t, bool client_first) {
    packet(t, client_first, 0, kFin | kAck);
    if (client_first) {  // the server's FIN comes back one RTT later; the client ACKs it
        int64_t fin = t + rtt_ + sec_to_ns(rng_.uniform(0.00005, 0.002));
        packet(fin, false, 0, kFin | kAck);
        ack_from_client(fin);
        return fin;
    }
    // the server closed: the client answers at once, the server's ACK returns an RTT later
    int64_t fin = t + sec_to_ns(rng_.uniform(0.00005, 0.002));
    packet(fin, true, 0, kFin | kAck);
    packet(fin + rtt_, false, 0, kAck);
    return fin + rtt_;
}

}  // namespace flowpic
