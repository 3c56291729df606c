// flowpic-infer --live IFACE and --stream -: classify each flow's windows as they close
// (docs/LIVE.md).  The loop: read a record (or wake at the next deadline), decode it as
// the offline extraction does, feed the windower (flowpic/live_windows.h), classify what
// closed together (nn/live_classifier.h), write one flushed line per decision.
//   CSV     time,proto,src,sport,dst,dport,view,window_start,packets,partial,fraction,class,
//           p_<class>...,latency_ms
//   --json  one object per line with the same fields (probabilities as an array), then one
//           {"summary": {...}} line at the end.
// SIGINT/SIGTERM stop the reading; what can still be decided is, the outputs are flushed
// and committed, a summary goes to stderr, exit 0.  An interface that goes away ends the
// run the same way, then exits 1 naming it.
#include <omp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/infer.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "flowpic/live_windows.h"
#include "nn/live_classifier.h"
#include "nn/model_file.h"
#include "pcap/decode.h"
#include "pcap/extractor.h"
#include "pcap/input_format.h"
#include "pcap/live_source.h"

namespace flowpic {
namespace {

std::atomic<bool> g_stop{false};  // the one thing a signal handler may touch
extern "C" void on_stop_signal(int) { g_stop.store(true); }

// SIGINT and SIGTERM set the stop flag while this lives (installed before any output is
// opened, so the temp-file cleanup of core/temp_cleanup.h leaves them to us).
class StopOnSignals {
public:
    StopOnSignals() {
        g_stop.store(false);
        struct sigaction sa {};
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~StopOnSignals() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }
    StopOnSignals(const StopOnSignals&) = delete;
    StopOnSignals& operator=(const StopOnSignals&) = delete;

private:
    struct sigaction old_int_ {}, old_term_ {};
};

int64_t realtime_ns() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

const char* proto_field(uint8_t p) { return p == kProtoTcp ? "tcp" : p == kProtoUdp ? "udp" : "?"; }

// One line per decision, flushed at once.
class DecisionWriter {
public:
    DecisionWriter(std::FILE* out, bool json, const std::vector<std::string>& classes)
        : out_(out), json_(json), classes_(classes) {
        if (json_) return;
        std::fputs("time,proto,src,sport,dst,dport,view,window_start,packets,partial,fraction,class", out_);
        for (const auto& c : classes_) std::fprintf(out_, ",p_%s", c.c_str());
        std::fputs(",latency_ms\n", out_);
        std::fflush(out_);
    }
    void write(const LiveDecision& d) {
        const Window& w = d.window.window;
        const FiveTuple& t = w.tuple;
        const double now = double(realtime_ns()) / 1e9;
        if (json_) {
            nlohmann::json j = {{"time", now}, {"proto", proto_field(t.proto)},
                                {"src", format_address(t.src, t.ip_version)}, {"sport", t.sport},
                                {"dst", format_address(t.dst, t.ip_version)}, {"dport", t.dport},
                                {"view", dir_view_name(w.view)}, {"window_start", double(w.start_ns) / 1e9},
                                {"packets", w.packets.size()}, {"partial", d.window.partial()},
                                {"fraction", d.window.fraction}, {"class", classes_[d.cls]},
                                {"probabilities", std::vector<float>(d.probs, d.probs + classes_.size())},
                                {"latency_ms", d.latency_s * 1e3}};
            std::fprintf(out_, "%s\n", j.dump().c_str());
        } else {
            std::fprintf(out_, "%.6f,%s,%s,%u,%s,%u,%s,%.6f,%zu,%d,%g,%s", now, proto_field(t.proto),
                         format_address(t.src, t.ip_version).c_str(), unsigned(t.sport),
                         format_address(t.dst, t.ip_version).c_str(), unsigned(t.dport), dir_view_name(w.view),
                         double(w.start_ns) / 1e9, w.packets.size(), d.window.partial() ? 1 : 0, d.window.fraction,
                         classes_[d.cls].c_str());
            for (size_t i = 0; i < classes_.size(); ++i) std::fprintf(out_, ",%.7g", d.probs[i]);
            std::fprintf(out_, ",%.3f\n", d.latency_s * 1e3);
        }
        std::fflush(out_);
    }

private:
    std::FILE* out_;
    bool json_;
    const std::vector<std::string>& classes_;
};

// What the run counts beyond the windower and the classifier.
struct LoopCounts {
    uint64_t records = 0, packets = 0, filtered = 0;
    SkipCounts skipped;
};

// The running status line (stderr, a terminal only), redrawn once a second.
class StatusLine {
public:
    explicit StatusLine(bool on) : on_(on && isatty(STDERR_FILENO)) {}
    void update(const LoopCounts& c, const LiveWindower& w, const LiveClassifier& clf, const LiveInput& in,
                bool force = false) {
        if (!on_) return;
        const auto now = std::chrono::steady_clock::now();
        const double dt = std::chrono::duration<double>(now - last_).count();
        if (dt < 1.0 && !force) return;
        const SourceCounters sc = in.counters();
        std::fprintf(stderr, "\r\033[Kflowpic-infer: %.0f packets/s, %zu active flows, %.1f decisions/s, %s",
                     double(c.records - records_) / dt, w.live_flows(), double(clf.decisions() - decisions_) / dt,
                     sc.known ? (std::to_string(sc.dropped + sc.if_dropped) + " dropped").c_str() : "stream");
        last_ = now;
        records_ = c.records;
        decisions_ = clf.decisions();
        drawn_ = true;
    }
    void clear() {
        if (drawn_) std::fputs("\r\033[K", stderr);
    }

private:
    bool on_, drawn_ = false;
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
    uint64_t records_ = 0, decisions_ = 0;
};

nlohmann::json summary_json(const LoopCounts& c, const LiveWindower& w, const LiveClassifier& clf,
                            const LiveInput& in, double seconds) {
    const LiveWindowStats& s = w.stats();
    const SourceCounters sc = in.counters();
    nlohmann::json j = {{"input", in.name()}, {"seconds", seconds}, {"records", c.records},
                        {"packets", c.packets}, {"skipped", c.skipped.total()}, {"filtered", c.filtered},
                        {"late_packets", s.late_packets}, {"flows", s.flows}, {"evicted_flows", s.evicted_flows},
                        {"decisions", clf.decisions()}, {"partial_decisions", s.partial_windows},
                        {"windows_dropped", s.dropped_few_packets + s.dropped_short_span},
                        {"latency_p50_ms", clf.latency().quantile(0.5) * 1e3},
                        {"latency_p99_ms", clf.latency().quantile(0.99) * 1e3},
                        {"peak_buffered_packets", s.peak_buffered_packets}};
    if (sc.known) {
        j["pcap_received"] = sc.received;
        j["pcap_dropped"] = sc.dropped;
        j["interface_dropped"] = sc.if_dropped;
    }
    return j;
}

}  // namespace

int run_live(const LiveRequest& r) {
    LoadedModel m = load_model(r.model_path);
    const BinningOptions binning = model_binning(m.info, r.model_path);
    WindowOptions windows;
    ExtractOptions extract;
    const std::string note = resolve_prep(m.info, r.given_flags, r.windows, r.override_prep, windows, extract);
    if (!note.empty() && !r.quiet) std::fprintf(stderr, "flowpic-infer: %s\n", note.c_str());
    check_early_fractions(r.early);

    // Decisions come a few windows at a time: waking OpenMP's worker threads costs more than
    // they save there (milliseconds on a busy machine), so one thread unless asked.
    if (!std::getenv("OMP_NUM_THREADS")) omp_set_num_threads(1);
    StopOnSignals signals;
    std::unique_ptr<LiveInput> in;
    if (r.interface.empty()) {
        in = open_capture_stream(&g_stop);
    } else {
        LiveCaptureOptions o;
        o.interface = r.interface, o.filter = r.filter, o.buffer_mb = r.buffer_mb, o.snaplen = r.snaplen;
        in = open_live_capture(o, &g_stop);
    }
    const int dlt = in->link_type();
    if (!link_type_supported(dlt))
        throw input_error(in->name(), std::string("unsupported link type ") + link_type_name(dlt));
    std::unique_ptr<AtomicFile> saved;
    if (!r.save_packets.empty()) {
        saved = std::make_unique<AtomicFile>(r.save_packets);
        in->save_to(saved->get());
    }
    AtomicFile out(r.json ? "-" : r.output);

    LiveClassifier clf(m, binning, r.batch, r.device);
    DecisionWriter writer(out.get(), r.json, m.info.classes);
    clf.on_decision = [&](const LiveDecision& d) { writer.write(d); };

    // The trigger of each window, for its latency: a packet closes windows inside add()
    // (the trigger is then, when the windower hands them over); on the wall clock a
    // deadline closes them, whose moment is the window's due time plus the grace.
    const bool wall = in->wall_clock();
    const int64_t grace_ns = wall ? int64_t(r.grace_s * 1e9) : 0;
    bool by_deadline = false;
    LiveWindower win(windows, extract.flows, r.early, [&](LiveWindow&& w) {
        auto trigger = LiveClassifier::Clock::now();
        if (by_deadline) trigger -= std::chrono::nanoseconds(std::max<int64_t>(0, realtime_ns() - (w.due_ns + grace_ns)));
        clf.queue(std::move(w), trigger);
    });

    if (!r.quiet)
        std::fprintf(stderr, "flowpic-infer: classifying %s (%s), windows %s, %s\n", in->name().c_str(),
                     wall ? "live" : "stream", windows.to_json().c_str(), clf.describe().c_str());
    const auto t0 = std::chrono::steady_clock::now();
    LoopCounts c;
    StatusLine status(!r.quiet);
    RawRecord rec;
    Packet pkt;
    for (;;) {
        int timeout_ms = -1;
        if (wall) {  // wake for the next deadline, and at least 10 times a second
            const int64_t due = win.next_due_ns();
            const int64_t wait = due == INT64_MAX ? 100000000 : due + grace_ns - realtime_ns();
            timeout_ms = int(std::clamp<int64_t>(wait / 1000000 + 1, 0, 100));
        }
        const ReadResult got = in->next(rec, timeout_ms);
        if (got == ReadResult::kEnd) break;
        if (got == ReadResult::kRecord) {
            ++c.records;
            const SkipReason why = decode_packet(dlt, rec.data, rec.caplen, pkt);
            if (why != SkipReason::kNone) {
                c.skipped.add(why);
            } else if ((extract.skip_empty_tcp && pkt.tuple.proto == kProtoTcp && pkt.payload_len == 0) ||
                       (extract.skip_dns && is_dns_packet(pkt.tuple))) {
                ++c.filtered;
            } else {
                pkt.ts_ns = rec.ts_ns;
                ++c.packets;
                win.add(pkt);
            }
        }
        // The wall clock moves the windower only when the ring is empty: packets still
        // waiting there are older than now and would come too late for their windows.
        const bool tick = got != ReadResult::kRecord || (c.records & 1023) == 0;
        if (wall && got == ReadResult::kTimeout) {
            by_deadline = true;
            win.advance(realtime_ns() - grace_ns);
            by_deadline = false;
        }
        if (clf.queued()) clf.decide();
        if (tick) status.update(c, win, clf, *in);
        if (g_stop.load()) break;
    }
    status.clear();
    win.finish();  // every flow ends: what can be decided is
    clf.decide();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const nlohmann::json sum = summary_json(c, win, clf, *in, seconds);
    if (r.json) std::fprintf(out.get(), "%s\n", nlohmann::json{{"summary", sum}}.dump().c_str());
    out.commit();
    if (saved) {
        in->flush_saved();
        saved->commit();
    }
    const std::string warning = in->warning();
    if (!warning.empty()) std::fprintf(stderr, "flowpic-infer: %s: warning: %s\n", in->name().c_str(), warning.c_str());
    if (!r.quiet) {
        const LiveWindowStats& s = win.stats();
        std::fprintf(stderr,
                     "flowpic-infer: summary: %llu packets (%llu records), %llu flows (%llu evicted), %llu decisions "
                     "(%llu partial), %s, %llu late packets, latency p50 %.3f ms p99 %.3f ms, %.1f s\n",
                     (unsigned long long)c.packets, (unsigned long long)c.records, (unsigned long long)s.flows,
                     (unsigned long long)s.evicted_flows, (unsigned long long)clf.decisions(),
                     (unsigned long long)s.partial_windows,
                     sum.contains("pcap_dropped")
                         ? (std::to_string(sum["pcap_dropped"].get<uint64_t>()) + " dropped by libpcap, " +
                            std::to_string(sum["interface_dropped"].get<uint64_t>()) + " by the interface")
                               .c_str()
                         : "no drop counters (a stream)",
                     (unsigned long long)s.late_packets, sum["latency_p50_ms"].get<double>(),
                     sum["latency_p99_ms"].get<double>(), seconds);
    }
    if (!in->error().empty()) {
        std::fprintf(stderr, "flowpic-infer: %s: %s\n", in->name().c_str(), in->error().c_str());
        return 1;
    }
    return 0;
}

}  // namespace flowpic
