// The five class models.  Parameters and the behaviour each imitates are documented in
// docs/SYNTHETIC.md; keep the two in step.  Every random choice goes through SynthRng.
#include "synth/fp.h"

#include <algorithm>

#include "synth/synth.h"
#include "synth/builder.h"

namespace flowpic {

namespace {

struct Ctx {
    SynthFlow& flow;
    SynthRng& rng;
    int64_t start, end;
    int64_t ns(double s) const { return sec_to_ns(s); }
};

uint32_t ip4(int64_t a, int64_t b, int64_t c, int64_t d) {
    return uint32_t(a) << 24 | uint32_t(b) << 16 | uint32_t(c) << 8 | uint32_t(d);
}

template <class T>
T pick(SynthRng& r, std::initializer_list<T> v) { return v.begin()[r.below(v.size())]; }

uint64_t clamp_bytes(double v, double lo, double hi) { return uint64_t(std::min(hi, std::max(lo, v))); }

// The lookup a client does before connecting: a side flow (conv 1) to its resolver.
int64_t dns_lookup(Ctx& c, int64_t t) {
    SynthConv dns;
    dns.client_ip = c.flow.convs[0].client_ip;
    dns.server_ip = (dns.client_ip & 0xFFFFFF00u) | 1;  // the home router
    dns.client_port = uint16_t(c.rng.range(49152, 65535));
    dns.server_port = 53;
    dns.proto = 17;
    dns.server_ttl = 64;
    c.flow.convs.push_back(dns);
    ConvBuilder b(c.flow, uint8_t(c.flow.convs.size() - 1), c.rng, 0.0);
    uint32_t query = uint32_t(12 + c.rng.range(12, 40) + 4);  // header, name, type/class
    b.packet(t, true, query);
    int64_t resp = t + c.ns(c.rng.log_uniform(0.002, 0.06));
    uint32_t answers = uint32_t(c.rng.range(1, 4) * 16 + (c.rng.chance(0.3) ? c.rng.range(20, 120) : 0));
    b.packet(resp, false, query + answers);
    return resp + c.ns(c.rng.uniform(0.0002, 0.002));
}

// VoIP: RTP over UDP, a frame every 20 or 30 ms each way, talk spurts and pauses.
void model_voip(Ctx& c) {
    SynthConv& cv = c.flow.convs[0];
    cv.proto = 17;
    cv.server_port = uint16_t(c.rng.range(5000, 29999) & ~1);  // RTP uses even ports
    cv.tos = c.rng.chance(0.5) ? 0xB8 : 0;                      // DSCP EF, if marked
    ConvBuilder b(c.flow, 0, c.rng, 0.0);
    const double ptime = c.rng.chance(0.7) ? 0.020 : 0.030;
    const double talk_mean = 1.004 * c.rng.uniform(0.7, 1.4);   // ITU-T P.59
    const double pause_mean = 1.587 * c.rng.uniform(0.7, 1.4);
    const bool dtx = c.rng.chance(0.5);
    const double frame_mean = c.rng.uniform(40, 200);  // RTP header + codec frame
    const double vbr = c.rng.uniform(0.0, 0.15);
    const int64_t step = c.ns(ptime);
    for (int dir = 0; dir < 2; ++dir) {
        const bool from_client = dir == 0;
        const double jitter_sd = from_client ? 0.0002 : c.rng.uniform(0.0005, 0.006);
        const double loss = from_client ? 0.0 : c.rng.uniform(0.0, 0.01);
        int64_t t = c.start + (from_client ? 0 : c.ns(c.rng.uniform(0.05, 0.5)));
        bool talking = c.rng.chance(0.5);
        int64_t state_end = t + c.ns(c.rng.exponential(talking ? talk_mean : pause_mean));
        int64_t frame = 0;
        while (t < c.end) {
            if (t >= state_end) {
                talking = !talking;
                state_end = t + c.ns(c.rng.exponential(talking ? talk_mean : pause_mean));
                frame = 0;
            }
            // In a pause a DTX codec sends a comfort-noise (SID) frame every 8 frames;
            // without DTX it keeps sending small frames.
            bool send = talking || !dtx || frame % 8 == 0;
            ++frame;
            if (send && !c.rng.chance(loss)) {
                double size = talking ? c.rng.normal(frame_mean, frame_mean * vbr) : c.rng.uniform(32, 46);
                uint32_t payload = uint32_t(clamp_bytes(size, 32, 222));  // IP 60..250
                int64_t j = std::clamp(c.ns(c.rng.normal(0.0, jitter_sd)), -step * 45 / 100, step * 45 / 100);
                b.packet(t + j, from_client, payload);
            }
            t += step;
        }
    }
}

// Adaptive video (DASH/HLS): start-up buffering, then one segment per segment duration,
// each downloaded as a burst of MTU-size packets; audio segments beside.
void model_video(Ctx& c) {
    SynthConv& cv = c.flow.convs[0];
    cv.proto = 6;
    cv.server_port = 443;
    static const double ladder[] = {1.0e6, 1.5e6, 2.5e6, 4.0e6, 6.0e6, 8.0e6};
    const double rtt = c.rng.log_uniform(0.008, 0.08);
    const double capacity = c.rng.log_uniform(15e6, 100e6);
    const int top = int(c.rng.range(0, 5));
    int level = std::max(0, top - 2);
    const double seg = double(c.rng.range(2, 10));
    const double buffer_target = c.rng.uniform(15, 40);
    const bool audio = c.rng.chance(0.6);
    const double audio_rate = pick(c.rng, {64e3, 96e3, 128e3, 192e3});
    int64_t t = dns_lookup(c, c.start);
    ConvBuilder b(c.flow, 0, c.rng, rtt);
    t = b.tls_handshake(b.handshake(t));
    double buffered = 0;  // seconds of video fetched ahead of playback
    int64_t next_req = t;
    while (next_req < c.end) {
        const int64_t req = next_req;
        b.message(req, true, uint64_t(c.rng.range(350, 900)), false);
        uint64_t bytes = uint64_t(ladder[level] * seg / 8 * c.rng.uniform(0.8, 1.2));  // VBR
        int64_t done = b.bulk(req + b.rtt() + b.server_delay(), false, bytes,
                              capacity * c.rng.uniform(0.85, 1.0), c.end);
        if (audio && done < c.end) {
            int64_t areq = done + c.ns(c.rng.uniform(0.001, 0.02));
            b.message(areq, true, uint64_t(c.rng.range(350, 700)), false);
            done = b.bulk(areq + b.rtt() + b.server_delay(), false,
                          uint64_t(audio_rate * seg / 8 * c.rng.uniform(0.9, 1.1)), capacity, c.end);
        }
        buffered += seg;
        if (buffered < buffer_target)  // start-up: fetch back to back
            next_req = done + c.ns(c.rng.uniform(0.005, 0.05));
        else  // steady state: one segment per segment duration (the ON-OFF pattern)
            next_req = std::max(done + c.ns(0.005), req + c.ns(seg));
        buffered = std::max(0.0, buffered - double(next_req - req) * 1e-9);
        // ABR: climb to the rate the player settles on, then an occasional switch
        if (level < top && c.rng.chance(0.5)) ++level;
        else if (c.rng.chance(0.08)) level = std::clamp(level + (c.rng.chance(0.5) ? 1 : -1), 0, 5);
    }
    b.close(std::max(c.end, b.last_ts() + c.ns(0.001)), c.rng.chance(0.5));
}

// File transfer: whole files moved in bulk (slow start, then ACK-clocked at the
// bottleneck), a command before each, idle gaps between.
void model_file(Ctx& c) {
    SynthConv& cv = c.flow.convs[0];
    cv.proto = 6;
    cv.server_port = pick<uint16_t>(c.rng, {443, 443, 22, 990});
    const double rtt = c.rng.log_uniform(0.01, 0.12);
    const double rate = c.rng.log_uniform(1e6, 10e6);
    const double p_down = c.rng.chance(0.7) ? c.rng.uniform(0.7, 1.0) : c.rng.uniform(0.0, 0.3);
    const double median = c.rng.log_uniform(0.5e6, 8e6);
    const double idle_mean = c.rng.uniform(2, 20);
    int64_t t = dns_lookup(c, c.start);
    ConvBuilder b(c.flow, 0, c.rng, rtt);
    t = b.tls_handshake(b.handshake(t));
    while (t < c.end) {
        b.message(t, true, uint64_t(c.rng.range(100, 600)), false);  // the command
        uint64_t size = clamp_bytes(c.rng.lognormal(median, 1.2), 20e3, 500e6);
        int64_t done;
        if (c.rng.chance(p_down))
            done = b.bulk(t + b.rtt() + b.server_delay(), false, size, rate * c.rng.uniform(0.8, 1.0), c.end);
        else
            done = b.bulk(t + c.ns(c.rng.uniform(0.0005, 0.005)), true, size,
                          rate * c.rng.uniform(0.8, 1.0), c.end);
        if (done >= c.end) break;
        int64_t status = b.message(done + b.rtt() + b.server_delay(), false, uint64_t(c.rng.range(50, 300)));
        t = status + c.ns(std::min(60.0, c.rng.exponential(idle_mean)));
    }
    b.close(std::max(c.end, b.last_ts() + c.ns(0.001)), c.rng.chance(0.5));
}

// Instant messaging: small messages with heavy-tailed think times, typing notices,
// delivery and read receipts, keep-alives when idle, a rare media message.
void model_chat(Ctx& c) {
    SynthConv& cv = c.flow.convs[0];
    cv.proto = 6;
    cv.server_port = pick<uint16_t>(c.rng, {443, 443, 5222, 5228});
    const double rtt = c.rng.log_uniform(0.02, 0.15);
    const int64_t keepalive = c.ns(c.rng.uniform(25, 60));
    const double think_xm = c.rng.uniform(0.5, 3), think_alpha = c.rng.uniform(1.1, 1.6);
    const double text_median = c.rng.uniform(30, 90);
    int64_t t = dns_lookup(c, c.start);
    ConvBuilder b(c.flow, 0, c.rng, rtt);
    t = b.tls_handshake(b.handshake(t));
    // sign-in: the client announces itself, the server sends roster and presence
    b.message(t, true, uint64_t(c.rng.range(100, 400)), false);
    int64_t last = b.message(t + b.rtt() + b.server_delay(), false, uint64_t(c.rng.range(500, 6000)));
    while (true) {
        int64_t next = last + c.ns(std::min(600.0, c.rng.pareto(think_xm, think_alpha)));
        while (last + keepalive < std::min(next, c.end)) {  // ping / pong
            last += keepalive;
            b.message(last, true, uint64_t(c.rng.range(1, 40)), false);
            b.message(last + b.rtt() + b.server_delay(), false, uint64_t(c.rng.range(1, 40)));
        }
        if (next >= c.end) break;
        const bool out = c.rng.chance(0.5);
        if (c.rng.chance(0.5)) {  // "is typing" a few seconds before the message
            int64_t typing = std::max(last + c.ns(0.01), next - c.ns(c.rng.uniform(1, 8)));
            b.message(typing, out, uint64_t(c.rng.range(30, 70)));
        }
        if (c.rng.chance(0.01)) {  // a photo or voice note
            uint64_t media = clamp_bytes(c.rng.lognormal(80e3, 1.0), 5e3, 5e6);
            double rate = c.rng.uniform(2e6, 20e6);
            b.message(next, out, uint64_t(c.rng.range(100, 300)), false);
            next = b.bulk(next + (out ? c.ns(0.001) : 0), out, media, rate, c.end);
        } else {
            uint64_t text = clamp_bytes(c.rng.lognormal(text_median, 0.9), 1, 4000);
            next = b.message(next, out, text + uint64_t(c.rng.range(30, 60)));  // + framing
        }
        if (out)  // delivery receipt relayed by the server
            last = b.message(next + b.rtt() + c.ns(c.rng.uniform(0.05, 2)), false, uint64_t(c.rng.range(30, 80)));
        else      // read receipt once the user looks
            last = b.message(next + c.ns(c.rng.uniform(0.5, 10)), true, uint64_t(c.rng.range(30, 80)));
    }
    b.close(std::max(c.end, b.last_ts() + c.ns(0.001)), c.rng.chance(0.5));
}

// Size of one web object: a lognormal body with a Pareto tail (SURGE).
uint64_t web_object(SynthRng& r) {
    if (r.chance(0.1)) return clamp_bytes(r.pareto(50e3, 1.2), 50e3, 5e6);
    return clamp_bytes(r.lognormal(6e3, 1.4), 200, 1e6);
}

// Web browsing over one persistent (HTTP/2-style) connection: page loads (a document,
// then objects requested in waves as it is parsed) separated by reading time.
void model_browsing(Ctx& c) {
    SynthConv& cv = c.flow.convs[0];
    cv.proto = 6;
    const bool tls = c.rng.chance(0.85);
    cv.server_port = tls ? 443 : 80;
    const double rtt = c.rng.log_uniform(0.01, 0.1);
    const double capacity = c.rng.log_uniform(5e6, 50e6);
    const double think_xm = c.rng.uniform(2, 8);
    int64_t t = dns_lookup(c, c.start);
    ConvBuilder b(c.flow, 0, c.rng, rtt);
    t = b.handshake(t);
    if (tls) t = b.tls_handshake(t);
    while (t < c.end) {
        b.message(t, true, uint64_t(c.rng.range(300, 900)), false);  // GET the document
        uint64_t doc = clamp_bytes(c.rng.lognormal(30e3, 1.0), 2e3, 2e6);
        int64_t done = b.bulk(t + b.rtt() + b.server_delay(), false, doc, capacity, c.end);
        int64_t objects = std::clamp<int64_t>(int64_t(c.rng.lognormal(25, 0.8)), 1, 150);
        while (objects > 0 && done < c.end) {
            int64_t wave = std::min<int64_t>(objects, c.rng.range(3, 20));
            objects -= wave;
            int64_t req = done + c.ns(c.rng.uniform(0.005, 0.1));  // parsing
            for (int64_t i = 0; i < wave; ++i)
                b.message(req + i * 20000, true, uint64_t(c.rng.range(60, 400)), false);
            int64_t resp = req + b.rtt() + b.server_delay();
            for (int64_t i = 0; i < wave && resp < c.end; ++i)
                resp = b.bulk(resp, false, web_object(c.rng), capacity, c.end) + c.ns(c.rng.uniform(0.0001, 0.002));
            done = resp;
        }
        if (c.rng.chance(0.5))  // analytics beacon after the load
            b.message(done + c.ns(c.rng.uniform(0.1, 2)), true, uint64_t(c.rng.range(200, 1500)));
        // reading time: heavy tailed, kept under the usual 120 s flow idle timeout
        t = done + c.ns(std::min(90.0, c.rng.pareto(think_xm, 1.5)));
    }
    b.close(std::max(c.end, b.last_ts() + c.ns(0.001)), c.rng.chance(0.5));
}

}  // namespace

const char* synth_class_name(SynthClass c) {
    switch (c) {
        case SynthClass::kChat: return "chat";
        case SynthClass::kFile: return "file";
        case SynthClass::kVoip: return "voip";
        case SynthClass::kVideo: return "video";
        case SynthClass::kBrowsing: return "browsing";
    }
    return "?";
}

bool synth_class_from_name(const std::string& name, SynthClass& out) {
    for (int i = 0; i < kSynthClassCount; ++i)
        if (name == synth_class_name(SynthClass(i))) {
            out = SynthClass(i);
            return true;
        }
    return false;
}

uint32_t synth_ip_len(const SynthFlow& f, const SynthPacket& p) {
    bool tcp = f.convs[p.conv].proto == 6;
    return 20 + (tcp ? 20u + p.tcp_opt : 8u) + p.payload;
}

SynthFlow synth_generate(SynthClass cls, uint64_t seed, uint64_t index, double mean_duration_s) {
    // The flow's stream depends only on (seed, class, index): more flows per class
    // leave the first ones as they were.
    SynthRng rng(mix_seed(mix_seed(seed, uint64_t(cls) + 1), index));
    SynthFlow f;
    f.cls = cls;
    const double duration = mean_duration_s * rng.uniform(4.0 / 7.0, 10.0 / 7.0);
    const int64_t start = kSynthBaseEpochS * 1000000000LL + sec_to_ns(rng.uniform(0, 600));
    SynthConv main;
    main.client_ip = ip4(10, rng.range(0, 255), rng.range(0, 255), rng.range(2, 254));
    main.server_ip = rng.chance(0.6) ? ip4(172, rng.range(16, 31), rng.range(0, 255), rng.range(1, 254))
                                     : ip4(192, 168, rng.range(0, 255), rng.range(1, 254));
    main.client_port = uint16_t(rng.range(49152, 65535));
    main.server_ttl = uint8_t(rng.range(44, 60));
    f.write_seed = rng.next();
    f.convs.reserve(4);  // models hold a reference to convs[0] while adding side flows
    f.convs.push_back(main);
    Ctx c{f, rng, start, start + sec_to_ns(duration)};
    switch (cls) {
        case SynthClass::kChat: model_chat(c); break;
        case SynthClass::kFile: model_file(c); break;
        case SynthClass::kVoip: model_voip(c); break;
        case SynthClass::kVideo: model_video(c); break;
        case SynthClass::kBrowsing: model_browsing(c); break;
    }
    std::stable_sort(f.packets.begin(), f.packets.end(),
                     [](const SynthPacket& a, const SynthPacket& b) { return a.ts_ns < b.ts_ns; });
    return f;
}

}  // namespace flowpic
