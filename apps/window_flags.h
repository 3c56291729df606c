// The windowing and extraction flags shared by flowpic-prep, flowpic-render (on captures)
// and flowpic-infer (on captures): how flows are cut into windows.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "apps/cli.h"
#include "flowpic/windowing.h"
#include "pcap/extractor.h"

namespace flowpic {

// The flags that change how windows are cut (every one but --keep-going): a dataset file
// or a model already fixes them.
inline const std::vector<std::string>& prep_flag_names() {
    static const std::vector<std::string> names = {"--flows",     "--window",         "--overlap",
                                                   "--min-packets", "--min-span",     "--clip-sizes",
                                                   "--skip-empty-tcp", "--skip-dns",  "--idle-timeout",
                                                   "--active-timeout", "--max-flows", "--first"};
    return names;
}

struct WindowFlags {
    std::string flows = "uni";
    std::string format = "auto";
    bool clip = false;
    double first_s = 0;
    WindowOptions windows;
    ExtractOptions extract;

    void add_to(CLI::App& app) {
        const char* g = "Windows";
        flows_opt_ = app.add_option("--flows", flows,
                                    "uni: each direction its own flow (the authors); bi: both directions, tagged "
                                    "(the seed; the default with --first)")
            ->default_val(flows)->group(g);
        window_opt_ = app.add_option("--window", windows.window_s, "window length in seconds")->default_val(60.0)->check(number_in(0.001, 4294))->group(g);
        overlap_opt_ = app.add_option("--overlap", windows.overlap, "overlap of consecutive windows, fraction 0..0.9")
            ->default_val(0.0)->check(number_in(0, 0.9))->group(g);
        app.add_option("--first", first_s,
                       "instead of sliding windows, one window per flow: its packets less than S seconds after its "
                       "first (tcbench: 15); the span rule is then off unless --min-span is given")
            ->check(number_in(0.001, 4294))->group(g);
        app.add_option("--min-packets", windows.min_packets, "fewer packets drop the window")->default_val(10)->check(number_in(1, 4294967295.0))->group(g);
        app.add_option("--min-span", windows.min_span_s,
                       "a window's first-to-last packet time must exceed this (seconds; default window*50/60; 0 = off)")
            ->check(non_negative(4294))->group(g);
        app.add_flag("--clip-sizes", clip, "clip sizes above 1500 to 1500 (default: drop those packets, as the authors)")
            ->group(g);
        g = "Extraction";
        app.add_flag("--skip-empty-tcp", extract.skip_empty_tcp, "drop TCP segments without payload")->group(g);
        app.add_flag("--skip-dns", extract.skip_dns, "drop DNS/mDNS packets (port 53, 5353)")->group(g);
        app.add_option("--idle-timeout", extract.flows.idle_timeout_s, "seconds without a packet that end a flow")
            ->default_val(120.0)->check(positive(kMaxFlowTimeoutS))->group(g);
        app.add_option("--active-timeout", extract.flows.active_timeout_s, "longest flow, seconds")
            ->default_val(3600.0)->check(positive(kMaxFlowTimeoutS))->group(g);
        app.add_option("--max-flows", extract.flows.max_flows, "flows tracked at once")
            ->default_val(size_t(1) << 20)->check(number_in(1, double(kMaxTrackedFlows)))->group(g);
        app.add_flag("--keep-going", extract.keep_going, "report a bad capture and go on with the others")->group(g);
        app.add_option("--format", format,
                       "how inputs are read: capture (pcap/pcapng), timeseries (one flow per text file, lines "
                       "unixtime<TAB>time_since_first<TAB>size<TAB>direction, as UCDavis-QUIC), csv "
                       "(flowpic-extract's packet CSV) or auto (by content; docs/FORMATS.md)")
            ->default_val(format)->check(CLI::IsMember({"auto", "capture", "timeseries", "csv"}))->group(g);
    }
    // Call after parsing: applies the string flags, validates (UsageError).
    void finalize() {
        if (first_s > 0) {
            if (window_opt_ && window_opt_->count()) throw UsageError("--window: not with --first (its window is the first S seconds)");
            if (overlap_opt_ && overlap_opt_->count()) throw UsageError("--overlap: not with --first (one window per flow)");
            if (flows_opt_ && !flows_opt_->count()) flows = "bi";  // one window per flow, both directions
            windows.first_s = first_s;
        }
        windows.view = parse_flow_view(flows);
        extract.format = parse_input_format(format);
        windows.sizes = clip ? SizeRule::kClip : SizeRule::kDrop;
        windows.validate();
    }

private:
    // To tell a flag given from its default (--first changes defaults, refuses others).
    CLI::Option* flows_opt_ = nullptr;
    CLI::Option* window_opt_ = nullptr;
    CLI::Option* overlap_opt_ = nullptr;
};

}  // namespace flowpic
