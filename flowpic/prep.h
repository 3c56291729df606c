// Captures -> labelled windows -> dataset file: the pipeline behind flowpic-prep, and the
// unlabelled streaming form used by flowpic-render and flowpic-infer on captures.  One
// pass over the captures; memory stays flat however long the flows are (live flows'
// packets wait in a spill file: flowpic/windowing.h, "Streaming").
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flowpic/labels.h"
#include "flowpic/settings.h"
#include "flowpic/split.h"
#include "flowpic/windowing.h"
#include "pcap/extractor.h"

namespace flowpic {

struct PrepOptions {
    ExtractOptions extract;
    WindowOptions windows;
    SplitFractions split;
    FewShotRule few_shot;  // enabled: the few-shot draw (flowpic/split.h) instead of `split`
    uint64_t seed = 1;
    std::optional<BinningOptions> binning;  // default binning recorded for render/train/infer
};

// Per-flow labels (LabelSource::per_flow): what happened to the flows of the labelled
// captures.  Flows are counted when they gave at least one window (a flow all of whose
// windows fell to the keep rules is never looked up).
struct FlowLabelCounts {
    uint64_t flows = 0, windows = 0;
};
struct FlowLabelReport {
    FlowLabelCounts used, unmatched, excluded;  // labelled / not in the table / no class
    struct Capture {
        std::string path;
        FlowLabelCounts unmatched, excluded;
    };
    std::vector<Capture> captures;  // captures with flows not used, in input order
    uint64_t rows_without_window = 0;  // table flows with a class, of captures read, that gave no window
    uint64_t mixed_captures = 0;       // captures with windows of more than one class
};

struct PrepReport {
    ExtractStats extract;
    WindowStats windows;
    std::vector<std::pair<std::string, CaptureLabel>> not_labelled;  // excluded or unmatched captures
    std::vector<std::string> classes;
    SplitPlan plan;
    size_t window_count = 0;
    uint64_t packet_count = 0;
    size_t captures_with_windows = 0;
    FlowLabelReport flows;  // only for per-flow labels
};

// Labels every capture first (unlabelled ones are reported in the result and not read),
// then windows the labelled ones into `out_path`.  With per-flow labels (--label-flows)
// each window takes its flow's class, and windows of flows without one are not stored
// (counted in report.flows).  Splits stay grouped by capture whatever the source: a capture
// whose flows have several classes is ONE group, stratified as its majority class (most
// windows; ties: the lower class index), so its windows never land in two splits.  Throws InputError when no capture has
// a label or no window survives the rules (the file is then not written).
PrepReport prepare_dataset(const std::vector<std::string>& captures, const LabelSource& labels,
                           const PrepOptions& opts, const std::string& out_path);

// The windows of captures, without labels, as they are cut: emit(capture_path, window).
using CaptureWindowSink = std::function<void(const std::string& capture, Window&& w)>;
WindowStats window_captures(const std::vector<std::string>& captures, const ExtractOptions& extract,
                            const WindowOptions& windows, const CaptureWindowSink& emit,
                            ExtractStats& extract_stats);

// The settings a dataset records ("prep" object of its meta section; flowpic/settings.h).
PrepSettings prep_settings(const PrepOptions& opts, const LabelSource& labels);

}  // namespace flowpic
