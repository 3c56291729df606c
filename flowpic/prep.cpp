#include "flowpic/prep.h"

#include <map>
#include <set>
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

// Per-flow labels: looks windows' flows up in the table, counts what is not used, and
// keeps per capture the windows of each class for the grouping.
class PerFlowState {
public:
    PerFlowState(size_t classes, const LabelSource& labels) : classes_(classes), labels_(labels) {
        if (const FlowLabelTable* t = labels.flow_table()) row_used_.assign(t->rows.size(), false);
    }

    CaptureLabel label(size_t capture, const std::string& path, const Window& w, FlowLabelReport& rep) {
        // A flow's windows arrive together (its sequences one after the other), so a new
        // (capture, flow id) pair is a new flow.
        const bool new_flow = capture != last_capture_ || w.flow_id != last_flow_ || !have_last_;
        if (new_flow) {
            long row = -1;
            last_label_ = labels_.label_flow(path, w.tuple, &row);
            if (row >= 0) row_used_[size_t(row)] = true;
            last_capture_ = capture;
            last_flow_ = w.flow_id;
            have_last_ = true;
        }
        FlowLabelCounts* total = last_label_.status == LabelStatus::kLabelled ? &rep.used
                                 : last_label_.status == LabelStatus::kExcluded ? &rep.excluded
                                                                                 : &rep.unmatched;
        total->flows += new_flow;
        total->windows++;
        if (last_label_.status != LabelStatus::kLabelled) {
            if (rep.captures.empty() || rep.captures.back().path != path) rep.captures.push_back({path, {}, {}});
            FlowLabelCounts& c = last_label_.status == LabelStatus::kExcluded ? rep.captures.back().excluded
                                                                              : rep.captures.back().unmatched;
            c.flows += new_flow;
            c.windows++;
        }
        return last_label_;
    }

    void count(uint32_t capture, uint32_t cls) {
        if (capture >= per_capture_.size()) per_capture_.resize(capture + 1, std::vector<uint64_t>(classes_, 0));
        per_capture_[capture][cls]++;
    }

    // Flows of the table with a class, of the captures read, that no window used.
    void finish(const std::vector<std::string>& captures, FlowLabelReport& rep) const {
        const FlowLabelTable* t = labels_.flow_table();
        std::set<std::string> read;
        for (const std::string& c : captures) read.insert(base_name(c));
        for (size_t r = 0; r < t->rows.size(); ++r) {
            const FlowLabelTable::Row& row = t->rows[r];
            // Each flow once: a repeated listing counts with its first.
            if (row.first == r && !row.cls.empty() && !row_used_[r] && read.count(row.capture))
                rep.rows_without_window++;
        }
    }

    // One group per capture with windows: its majority class, all its windows.
    std::vector<SplitGroup> groups(FlowLabelReport& rep) const {
        std::vector<SplitGroup> out;
        for (uint32_t c = 0; c < per_capture_.size(); ++c) {
            const std::vector<uint64_t>& n = per_capture_[c];
            uint64_t total = 0, present = 0;
            uint32_t best = 0;
            for (uint32_t k = 0; k < n.size(); ++k) {
                total += n[k];
                present += n[k] > 0;
                if (n[k] > n[best]) best = k;
            }
            if (total == 0) continue;
            rep.mixed_captures += present > 1;
            out.push_back({c, best, total});
        }
        return out;
    }

    // The plan's per-class counts as the windows' own classes give them.
    void recount(const std::vector<SplitGroup>& groups, SplitPlan& plan) const {
        for (auto& w : plan.windows) w = {0, 0, 0};
        for (auto& g : plan.groups) g = {0, 0, 0};
        plan.windows.resize(classes_, {0, 0, 0});
        plan.groups.resize(classes_, {0, 0, 0});
        for (size_t i = 0; i < groups.size(); ++i) {
            const std::vector<uint64_t>& n = per_capture_[groups[i].id];
            for (size_t k = 0; k < n.size(); ++k)
                if (n[k]) {
                    plan.windows[k][plan.split[i]] += n[k];
                    plan.groups[k][plan.split[i]]++;
                }
        }
    }

private:
    size_t classes_;
    const LabelSource& labels_;
    std::vector<bool> row_used_;
    std::vector<std::vector<uint64_t>> per_capture_;  // [capture index][class] windows
    size_t last_capture_ = 0;
    uint64_t last_flow_ = 0;
    bool have_last_ = false;
    CaptureLabel last_label_;
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
    s.few_shot = opts.few_shot;
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
    const bool per_flow = labels.per_flow();
    report.classes = per_flow ? flow_classes(labels, labelled) : order_classes(labels, labels_of);
    for (const auto& name : report.classes) writer.add_class(name);
    std::map<std::string, size_t> index_of;  // capture path -> position in `labelled`
    for (size_t i = 0; i < labelled.size(); ++i) index_of.emplace(labelled[i], i);

    std::vector<uint32_t> capture_index(labelled.size(), UINT32_MAX);
    PerFlowState pf(report.classes.size(), labels);
    report.windows = window_captures(
        labelled, opts.extract, opts.windows,
        [&](const std::string& capture, Window&& w) {
            size_t i = index_of.at(capture);
            if (!per_flow) {
                if (capture_index[i] == UINT32_MAX) capture_index[i] = writer.add_capture(capture);
                const CaptureLabel& l = labels_of[i];
                writer.add_window(w, writer.add_class(l.cls), capture_index[i], l.vpn);
                return;
            }
            const CaptureLabel l = pf.label(i, capture, w, report.flows);
            if (l.status != LabelStatus::kLabelled) return;
            if (capture_index[i] == UINT32_MAX) capture_index[i] = writer.add_capture(capture);
            const uint32_t cls = writer.add_class(l.cls);
            writer.add_window(w, cls, capture_index[i], l.vpn);
            pf.count(capture_index[i], cls);
        },
        report.extract);
    if (per_flow) pf.finish(labelled, report.flows);
    if (writer.window_count() == 0)
        throw InputError("no window survived the rules (" + std::to_string(report.windows.windows_dropped()) +
                         " dropped: too few packets or too short; see --min-packets, --min-span, --window" +
                         (per_flow ? "; or no flow with windows is in " + labels.flow_table()->path : "") + ")");
    std::vector<SplitGroup> groups = per_flow ? pf.groups(report.flows) : writer.split_groups();
    report.captures_with_windows = groups.size();
    report.plan = opts.few_shot.enabled() ? assign_few_shot(groups, opts.few_shot, opts.seed, report.classes)
                                          : assign_splits(groups, opts.split, opts.seed, report.classes);
    writer.apply_split_plan(groups, report.plan);
    if (per_flow) pf.recount(groups, report.plan);  // mixed captures: windows by their own class
    report.window_count = writer.window_count();
    report.packet_count = writer.packet_count();
    writer.finish();
    return report;
}

}  // namespace flowpic
