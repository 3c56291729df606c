#include "flowpic/prep.h"

#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "flowpic/dataset_file.h"

namespace flowpic {

namespace {

// Feeds the windowing from the extraction loop, one capture at a time.  Flow ids restart
// in every capture (each has its own flow table), and the collector has windowed every
// flow of a capture by end_capture(), so one collector serves them all.
class WindowingSink : public PacketSink {
public:
    WindowingSink(const WindowOptions& opt, CaptureWindowSink emit)
        : emit_(std::move(emit)), collector_(opt, [this](Window&& w) { emit_(capture_, std::move(w)); }) {}
    void begin_capture(const std::string& path, int) override { capture_ = path; }
    void packet(const Packet& p, const FlowHit& hit) override { collector_.add(hit, p); }
    void flow_end(const FlowRecord& f) override { collector_.end_flow(f); }
    const WindowStats& stats() const { return collector_.stats(); }

private:
    CaptureWindowSink emit_;
    WindowCollector collector_;
    std::string capture_;
};

}  // namespace

WindowStats window_captures(const std::vector<std::string>& captures, const ExtractOptions& extract,
                            const WindowOptions& windows, const CaptureWindowSink& emit, ExtractStats& extract_stats) {
    windows.validate();
    WindowingSink sink(windows, emit);
    extract_captures(captures, extract, sink, extract_stats);
    return sink.stats();
}

PrepSettings prep_settings(const PrepOptions& opts, const LabelSource& labels) {
    PrepSettings s;
    s.windows = opts.windows;
    s.extract = opts.extract;
    s.labels = labels.description();
    s.split = opts.split;
    s.seed = opts.seed;
    s.binning = opts.binning;
    return s;
}

PrepReport prepare_dataset(const std::vector<std::string>& captures, const LabelSource& labels,
                           const PrepOptions& opts, const std::string& out_path) {
    opts.windows.validate();
    PrepReport report;
    std::vector<std::string> labelled;
    std::vector<CaptureLabel> labels_of;
    for (const auto& c : captures) {
        CaptureLabel l = labels.label(c);
        if (l.status == LabelStatus::kLabelled) {
            labelled.push_back(c);
            labels_of.push_back(l);
        } else {
            report.not_labelled.emplace_back(c, l);
        }
    }
    if (labelled.empty()) throw InputError("no capture has a label (" + labels.description() + "): nothing to prepare");

    DatasetWriter writer(out_path, to_json(prep_settings(opts, labels)));
    report.classes = order_classes(labels, labels_of);
    for (const auto& name : report.classes) writer.add_class(name);
    std::map<std::string, size_t> index_of;  // capture path -> position in `labelled`
    for (size_t i = 0; i < labelled.size(); ++i) index_of.emplace(labelled[i], i);

    std::vector<uint32_t> capture_index(labelled.size(), UINT32_MAX);
    report.windows = window_captures(
        labelled, opts.extract, opts.windows,
        [&](const std::string& capture, Window&& w) {
            size_t i = index_of.at(capture);
            if (capture_index[i] == UINT32_MAX) capture_index[i] = writer.add_capture(capture);
            const CaptureLabel& l = labels_of[i];
            writer.add_window(w, writer.add_class(l.cls), capture_index[i], l.vpn);
        },
        report.extract);
    if (writer.window_count() == 0)
        throw InputError("no window survived the rules (" + std::to_string(report.windows.windows_dropped()) +
                         " dropped: too few packets or too short; see --min-packets, --min-span, --window)");
    std::vector<SplitGroup> groups = writer.split_groups();
    report.captures_with_windows = groups.size();
    report.plan = assign_splits(groups, opts.split, opts.seed, report.classes);
    writer.apply_split_plan(groups, report.plan);
    report.window_count = writer.window_count();
    report.packet_count = writer.packet_count();
    writer.finish();
    return report;
}

}  // namespace flowpic
