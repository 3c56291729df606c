// flowpic-extract: captures -> per-packet CSV (the seed's format) and per-flow TSV.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <optional>

#include "apps/cli.h"
#include "core/atomic_file.h"
#include "core/text_writer.h"
#include "flowpic/labels.h"  // parent_dir_name
#include "pcap/capture_reader.h"
#include "pcap/extractor.h"

using namespace flowpic;

namespace {

const char* kDescription =
    "flowpic-extract: read pcap/pcapng captures, decode TCP/UDP packets, track bidirectional\n"
    "flows, and write one CSV row per packet (the seed's pcap_parser.py format) and/or one\n"
    "TSV row per flow.  The first packet of a flow makes its sender the client; Direction\n"
    "is 1 for client->server and 0 for server->client.  Size is the IP total length.\n";

const char* kFooter =
    "\nExamples:\n"
    "  flowpic-extract capture.pcap --csv packets.csv --relative-time --direction\n"
    "  flowpic-extract data/ --flows flows.tsv --label-from-dir     # walks data/ recursively\n"
    "  tcpdump -w - -i eth0 | flowpic-extract - --flows - --skip-dns\n"
    "  flowpic-extract big.pcapng --json -q                         # just the counts, as JSON\n"
    "  flowpic-extract 'Google Doc/' --csv doc.csv --direction      # UCDavis time series as a packet CSV\n"
    "\nOutputs:\n"
    "  --csv: Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size\n"
    "         [,RelativeTime][,Direction][,Label]   (Timestamp: epoch seconds, 9 decimals;\n"
    "         RelativeTime: seconds since the flow's first packet)\n"
    "  --flows: proto src sport dst dport packets_fwd bytes_fwd packets_rev bytes_rev first_ts\n"
    "         last_ts [label]   (fwd = client->server; bytes = sums of IP total lengths);\n"
    "         rows appear as flows end (idle/active timeout, end of each capture).\n"
    "  Outputs are written to a temp file and renamed when complete; '-' is stdout; a\n"
    "  device or FIFO is written in place; an output that is also an input is refused.\n"
    "\nFlows end after --idle-timeout seconds without a packet (default 120), are cut every\n"
    "--active-timeout seconds (default 3600), never span two captures, and at most --max-flows\n"
    "are tracked at once (the least recently active is ended early; memory stays bounded).\n"
    "\nExit codes: 0 success, 1 bad input (one line on stderr naming the file), 2 usage error.\n";

struct Options {
    std::vector<std::string> inputs;
    std::string csv, flows;
    bool relative_time = false, direction = false, label_from_dir = false, json = false, quiet = false;
    std::string label;
    ExtractOptions extract;
};

// Writes the CSV rows and the flow rows as packets stream past.
class ExtractWriter : public PacketSink {
public:
    ExtractWriter(const Options& o, AtomicFile* csv, AtomicFile* flows) : o_(o) {
        if (csv) {
            csv_.emplace(csv->get(), csv->path());
            csv_->str("Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size");
            if (o.relative_time) csv_->str(",RelativeTime");
            if (o.direction) csv_->str(",Direction");
            if (labelled()) csv_->str(",Label");
            csv_->ch('\n');
        }
        if (flows) {
            flows_.emplace(flows->get(), flows->path());
            flows_->str("proto\tsrc\tsport\tdst\tdport\tpackets_fwd\tbytes_fwd\tpackets_rev\tbytes_rev\tfirst_ts\tlast_ts");
            if (labelled()) flows_->str("\tlabel");
            flows_->ch('\n');
        }
    }
    void begin_capture(const std::string& path, int) override {
        label_ = o_.label_from_dir ? parent_dir_name(path) : o_.label;
    }
    void packet(const Packet& p, const FlowHit& hit) override {
        if (!csv_) return;
        TextWriter& w = *csv_;
        w.seconds_ns(p.ts_ns).ch(',').str(format_address(p.tuple.src, p.tuple.ip_version)).ch(',').u64(p.tuple.sport);
        w.ch(',').str(format_address(p.tuple.dst, p.tuple.ip_version)).ch(',').u64(p.tuple.dport);
        w.ch(',').str(proto_name(p.tuple.proto)).ch(',').u64(p.ip_len);
        if (o_.relative_time) w.ch(',').seconds_ns(p.ts_ns - hit.flow_first_ns);
        if (o_.direction) w.ch(',').u64(hit.direction);
        if (labelled()) w.ch(',').str(label_);
        w.ch('\n');
    }
    void flow_end(const FlowRecord& f) override {
        if (!flows_) return;
        TextWriter& w = *flows_;
        const FiveTuple& c = f.client;
        w.str(proto_name(c.proto)).ch('\t').str(format_address(c.src, c.ip_version)).ch('\t').u64(c.sport);
        w.ch('\t').str(format_address(c.dst, c.ip_version)).ch('\t').u64(c.dport);
        w.ch('\t').u64(f.packets[1]).ch('\t').u64(f.bytes[1]).ch('\t').u64(f.packets[0]).ch('\t').u64(f.bytes[0]);
        w.ch('\t').seconds_ns(f.first_ns).ch('\t').seconds_ns(f.last_ns);
        if (labelled()) w.ch('\t').str(label_);
        w.ch('\n');
    }
    void flush() {
        if (csv_) csv_->flush();
        if (flows_) flows_->flush();
    }

private:
    bool labelled() const { return o_.label_from_dir || !o_.label.empty(); }
    const Options& o_;
    std::optional<TextWriter> csv_, flows_;
    std::string label_;
};

nlohmann::json summary_json(const ExtractStats& st) {
    nlohmann::json skipped = nlohmann::json::object();
    for (size_t i = 1; i < st.skipped.n.size(); ++i) skipped[skip_reason_name(SkipReason(i))] = st.skipped.n[i];
    return {
        {"files", st.files},
        {"files_failed", st.files_failed},
        {"records", st.records},
        {"packets", st.packets},
        {"flows", st.flows},
        {"input_bytes", st.input_bytes},
        {"seconds", st.seconds},
        {"packets_per_s", st.seconds > 0 ? st.records / st.seconds : 0.0},
        {"mb_per_s", st.seconds > 0 ? st.input_bytes / st.seconds / 1e6 : 0.0},
        {"skipped", skipped},
        {"skipped_total", st.skipped.total()},
        {"filtered", {{"empty_tcp", st.filtered_empty_tcp}, {"dns", st.filtered_dns}}},
        {"warnings", st.warnings},
    };
}

void print_summary(const ExtractStats& st) {
    std::fprintf(stderr, "%llu files, %llu records, %llu TCP/UDP packets, %llu flows in %.2f s (%.2f M records/s)\n",
                 (unsigned long long)st.files, (unsigned long long)st.records, (unsigned long long)st.packets,
                 (unsigned long long)st.flows, st.seconds, st.seconds > 0 ? st.records / st.seconds / 1e6 : 0.0);
    std::string skips;
    for (size_t i = 1; i < st.skipped.n.size(); ++i)
        if (st.skipped.n[i])
            skips += std::string(skips.empty() ? "" : ", ") + skip_reason_name(SkipReason(i)) + " " +
                     std::to_string(st.skipped.n[i]);
    if (!skips.empty()) std::fprintf(stderr, "skipped: %s\n", skips.c_str());
    if (st.filtered_empty_tcp || st.filtered_dns)
        std::fprintf(stderr, "filtered: empty_tcp %llu, dns %llu\n", (unsigned long long)st.filtered_empty_tcp,
                     (unsigned long long)st.filtered_dns);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app(kDescription, "flowpic-extract");
    app.footer(kFooter);
    Options o;
    app.add_option("inputs", o.inputs, "capture files or directories (walked recursively); - reads stdin")->required();
    app.add_option("--csv", o.csv, "write one row per packet to FILE (- for stdout)");
    app.add_option("--flows", o.flows, "write one row per bidirectional flow to FILE (TSV; - for stdout)");
    app.add_flag("--relative-time", o.relative_time, "add RelativeTime (seconds since the flow's first packet) to --csv");
    app.add_flag("--direction", o.direction, "add Direction (1 client->server, 0 server->client) to --csv");
    auto* label = app.add_option("--label", o.label, "add a Label column with this value");
    app.add_flag("--label-from-dir", o.label_from_dir, "add a Label column: each capture's parent directory name")
        ->excludes(label);
    app.add_flag("--skip-empty-tcp", o.extract.skip_empty_tcp, "drop TCP segments without payload (the seed's filter)");
    app.add_flag("--skip-dns", o.extract.skip_dns, "drop DNS and mDNS packets (port 53 or 5353)");
    app.add_option("--idle-timeout", o.extract.flows.idle_timeout_s, "seconds without a packet that end a flow")
        ->default_val(120.0)->check(positive(kMaxFlowTimeoutS));
    app.add_option("--active-timeout", o.extract.flows.active_timeout_s, "a flow longer than this is cut (seconds)")
        ->default_val(3600.0)->check(positive(kMaxFlowTimeoutS));
    app.add_option("--max-flows", o.extract.flows.max_flows, "flows tracked at once (bounds memory)")
        ->default_val(size_t(1) << 20)->check(number_in(1, double(kMaxTrackedFlows)));
    app.add_flag("--keep-going", o.extract.keep_going, "report a bad capture and go on with the others");
    std::string format = "auto";
    app.add_option("--format", format,
                   "how inputs are read: capture, timeseries (UCDavis-style per-flow text), csv (this tool's "
                   "--csv) or auto (by content; docs/FORMATS.md)")
        ->default_val(format)->check(CLI::IsMember({"auto", "capture", "timeseries", "csv"}));
    app.add_flag("--json", o.json, "print the summary (counts, skip reasons, speed) as JSON on stdout");
    app.add_flag("-q,--quiet", o.quiet, "no progress or summary on stderr");

    return run_cli(app, argc, argv, [&]() {
        if (o.json && (o.csv == "-" || o.flows == "-")) throw UsageError("--json and an output to stdout (-) clash");
        if (o.csv == "-" && o.flows == "-") throw UsageError("--csv and --flows cannot both go to stdout");
        if ((o.relative_time || o.direction) && o.csv.empty())
            throw UsageError("--relative-time and --direction add columns to --csv; give --csv FILE");
        o.extract.progress = !o.quiet;
        o.extract.format = parse_input_format(format);
        std::vector<std::string> captures = expand_capture_inputs(o.inputs, o.extract.format);
        check_outputs(captures, {{"--csv", o.csv}, {"--flows", o.flows}});
        // Outputs are opened before reading so an unwritable path fails fast.
        std::unique_ptr<AtomicFile> csv, flows;
        if (!o.csv.empty()) csv = std::make_unique<AtomicFile>(o.csv);
        if (!o.flows.empty()) flows = std::make_unique<AtomicFile>(o.flows);
        ExtractWriter writer(o, csv.get(), flows.get());
        ExtractStats st;
        extract_captures(captures, o.extract, writer, st);
        writer.flush();
        if (csv) csv->commit();
        if (flows) flows->commit();
        if (!o.quiet) {
            for (const auto& w : st.warnings) std::fprintf(stderr, "flowpic-extract: %s\n", w.c_str());
            print_summary(st);
        }
        if (o.json) std::printf("%s\n", summary_json(st).dump().c_str());
        if (st.files == 0) throw InputError("no capture could be read");
        return 0;
    });
}
