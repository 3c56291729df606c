// flowpic-prep: captures -> labelled FlowPic windows (packet lists) in a dataset file.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "apps/binning_flags.h"
#include "apps/cli.h"
#include "apps/window_flags.h"
#include "flowpic/dataset_file.h"
#include "flowpic/dataset_stats.h"
#include "flowpic/prep.h"
#include "pcap/capture_reader.h"

using namespace flowpic;

namespace {

const char* kDescription =
    "flowpic-prep: cut the flows of pcap/pcapng captures into labelled time windows and\n"
    "store each window's packet list (time, size, direction) in a dataset file; images are\n"
    "binned later, at any resolution, by flowpic-render and flowpic-train.  Windows of one\n"
    "capture never land in two splits.  docs/PREP.md has every rule, docs/LABELS.md the\n"
    "label sources, docs/FORMATS.md the file layout.\n";

const char* kFooter =
    "\nExamples:\n"
    "  flowpic-prep captures/ -o data.fpd --label-from-dir            # captures/<class>/*.pcap\n"
    "  flowpic-prep iscx/ -o iscx.fpd --labels iscx-vpn2016 --window 60 --split 0.8,0.1,0.1\n"
    "  flowpic-prep ndpi/ -o ndpi.fpd --label-map classes.tsv --window 15 --flows bi --overlap 0.5\n"
    "  flowpic-prep ucdavis/ -o fs.fpd --label-from-dir --first 15 --clip-sizes --split-per-class 100 --split-index 2\n"
    "                                       # per-flow time-series text files (--format auto|timeseries|csv|capture)\n"
    "  flowpic-prep ndpi/pcap -o ndpi.fpd --label-flows flows.tsv --flows bi --window 15\n"
    "  flowpic-prep --stats data.fpd [--json]\n"
    "  flowpic-prep --stats data.fpd --captures > manifest.tsv   # capture<TAB>class<TAB>split<TAB>windows\n"
    "\nDefaults reproduce the FlowPic authors: unidirectional flows, 60 s windows without\n"
    "overlap, at least 10 packets spanning more than 50 of the 60 s (scaled with --window),\n"
    "sizes above 1500 dropped.\n"
    "\nFew-shot splits (tcbench): --split-per-class N draws N captures (flows, one per file)\n"
    "per class for train + validation, round(N x --val-fraction) of them validation; every\n"
    "other capture of the class is test.  --split-index K takes draw K of one shuffle per\n"
    "class (disjoint while the class has (K+1) x N captures; past that it wraps around, with\n"
    "a note).  A class with <= N captures is all train/val.  docs/PREP.md has the rules.\n"
    "\nExit codes: 0 success, 1 bad input (one line on stderr naming the file), 2 usage error.\n";

std::string label_status_text(const CaptureLabel& l) {
    return l.status == LabelStatus::kExcluded ? "excluded (" + l.why + ")" : "no label matched";
}

nlohmann::json report_json(const PrepReport& r, const std::string& out) {
    nlohmann::json not_labelled = nlohmann::json::array();
    for (const auto& [path, l] : r.not_labelled)
        not_labelled.push_back({{"capture", path}, {"status", l.status == LabelStatus::kExcluded ? "excluded" : "unmatched"},
                                {"why", l.why}});
    nlohmann::json per_class = nlohmann::json::object();
    for (size_t c = 0; c < r.classes.size() && c < r.plan.windows.size(); ++c)
        per_class[r.classes[c]] = {{"train", r.plan.windows[c][0]}, {"val", r.plan.windows[c][1]}, {"test", r.plan.windows[c][2]}};
    return {{"dataset", out},
            {"windows", r.window_count},
            {"packets", r.packet_count},
            {"captures_read", r.extract.files},
            {"captures_with_windows", r.captures_with_windows},
            {"not_labelled", not_labelled},
            {"classes", r.classes},
            {"per_class", per_class},
            {"window_stats", nlohmann::json::parse(r.windows.to_json())},
            {"split_notes", r.plan.notes},
            {"seconds", r.extract.seconds},
            {"warnings", r.extract.warnings}};
}

std::string counts_text(const FlowLabelCounts& c) {
    return std::to_string(c.flows) + (c.flows == 1 ? " flow (" : " flows (") + std::to_string(c.windows) +
           (c.windows == 1 ? " window)" : " windows)");
}

// Per-flow labels: flows left out are never silent (the total line even with -q).
void print_flow_report(const PrepReport& r, const LabelSource& labels, bool per_capture) {
    if (!labels.per_flow()) return;
    const std::string& table = labels.flow_table()->path;
    if (per_capture)
        for (const auto& c : r.flows.captures) {
            if (c.unmatched.flows)
                std::fprintf(stderr, "flowpic-prep: %s: %s not used: not in %s\n", c.path.c_str(),
                             counts_text(c.unmatched).c_str(), table.c_str());
            if (c.excluded.flows)
                std::fprintf(stderr, "flowpic-prep: %s: %s not used: no class in %s\n", c.path.c_str(),
                             counts_text(c.excluded).c_str(), table.c_str());
        }
    std::fprintf(stderr,
                 "flowpic-prep: per-flow labels from %s: %s used; %s not in the table, %s without a class: not "
                 "used; %llu listed flows with a class gave no window; %llu captures mix classes\n",
                 table.c_str(), counts_text(r.flows.used).c_str(), counts_text(r.flows.unmatched).c_str(),
                 counts_text(r.flows.excluded).c_str(), (unsigned long long)r.flows.rows_without_window,
                 (unsigned long long)r.flows.mixed_captures);
}

nlohmann::json flow_report_json(const FlowLabelReport& f) {
    auto c = [](const FlowLabelCounts& x) { return nlohmann::json{{"flows", x.flows}, {"windows", x.windows}}; };
    nlohmann::json caps = nlohmann::json::array();
    for (const auto& k : f.captures)
        caps.push_back({{"capture", k.path}, {"not_in_table", c(k.unmatched)}, {"no_class", c(k.excluded)}});
    return {{"used", c(f.used)},
            {"not_in_table", c(f.unmatched)},
            {"no_class", c(f.excluded)},
            {"listed_without_window", f.rows_without_window},
            {"mixed_captures", f.mixed_captures},
            {"captures", caps}};
}

void print_report(const PrepReport& r, const std::string& out) {
    for (const auto& [path, l] : r.not_labelled)
        std::fprintf(stderr, "flowpic-prep: %s: not used: %s\n", path.c_str(), label_status_text(l).c_str());
    for (const auto& w : r.extract.warnings) std::fprintf(stderr, "flowpic-prep: %s\n", w.c_str());
    for (const auto& n : r.plan.notes) std::fprintf(stderr, "flowpic-prep: note: %s\n", n.c_str());
    const WindowStats& w = r.windows;
    std::fprintf(stderr,
                 "%s: %zu windows (%llu packets) from %zu captures; dropped %llu windows (%llu too few packets, "
                 "%llu too short); sizes > 1500: %llu dropped, %llu clipped; %.2f s\n",
                 out.c_str(), r.window_count, (unsigned long long)r.packet_count, r.captures_with_windows,
                 (unsigned long long)w.windows_dropped(), (unsigned long long)w.dropped_few_packets,
                 (unsigned long long)w.dropped_short_span, (unsigned long long)w.packets_dropped_size,
                 (unsigned long long)w.packets_clipped_size, r.extract.seconds);
    std::fprintf(stderr, "%-12s %8s %8s %8s\n", "class", "train", "val", "test");
    for (size_t c = 0; c < r.classes.size() && c < r.plan.windows.size(); ++c)
        std::fprintf(stderr, "%-12s %8llu %8llu %8llu\n", r.classes[c].c_str(), (unsigned long long)r.plan.windows[c][0],
                     (unsigned long long)r.plan.windows[c][1], (unsigned long long)r.plan.windows[c][2]);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app(kDescription, "flowpic-prep");
    app.footer(kFooter);
    std::vector<std::string> inputs;
    std::string out, stats_path, label, label_map, builtin, split = "0.8,0.1,0.1";
    std::string label_flows;
    bool label_from_dir = false, json = false, quiet = false, captures_tsv = false;
    PrepOptions opt;
    BinningFlags binning;

    app.add_option("inputs", inputs, "capture files or directories (walked recursively); - reads stdin");
    app.add_option("-o,--output", out, "the dataset file to write");
    app.add_option("--stats", stats_path, "print the contents of an existing dataset file and exit");
    WindowFlags wf;
    wf.add_to(app);
    auto* g = "Labels (one of)";
    auto* l1 = app.add_option("--label", label, "every capture is this class")->group(g);
    auto* l2 = app.add_flag("--label-from-dir", label_from_dir, "class = the capture's parent directory name")->group(g);
    auto* l3 = app.add_option("--label-map", label_map, "rules file: lines pattern<TAB>class (docs/LABELS.md)")->group(g);
    auto* l4 = app.add_option("--labels", builtin, "a built-in table: iscx-vpn2016")->group(g);
    auto* l5 = app.add_option("--label-flows", label_flows,
                              "per flow: a TSV with columns pcap, l4, src, sport, dst, dport, class (as nDPI's "
                              "flows.tsv); flows it does not list are not used (docs/LABELS.md)")
                   ->group(g);
    l1->excludes(l2, l3, l4, l5);
    l2->excludes(l3, l4, l5);
    l3->excludes(l4, l5);
    l4->excludes(l5);
    g = "Split";
    auto* o_split = app.add_option("--split", split, "train,validation,test fractions, grouped by capture, stratified by class")
        ->default_val(split)->group(g);
    auto* o_fs = app.add_option("--split-per-class", opt.few_shot.per_class,
                                "few-shot split: N captures per class for train + validation, all others test "
                                "(tcbench: 100); a value is required")
                     ->check(CLI::Range(1u, kMaxPerClass))->group(g);
    auto* o_vf = app.add_option("--val-fraction", opt.few_shot.val_fraction,
                                "with --split-per-class: share of the N drawn that is validation (rounded)")
                     ->default_val(0.2)->check(number_in(0, 1))->group(g);
    auto* o_si = app.add_option("--split-index", opt.few_shot.index,
                                "with --split-per-class: which draw, 0..999 (disjoint draws of one seed)")
                     ->default_val(0)->check(CLI::Range(0u, kMaxSplitIndex))->group(g);
    o_fs->excludes(o_split);
    app.add_option("--seed", opt.seed, "seed of the split")->default_val(1)->check(non_negative())->group(g);
    binning.add_to(app);
    app.add_flag("--json", json, "print the report (or --stats) as JSON on stdout");
    app.add_flag("--captures", captures_tsv,
                 "with --stats: the split manifest, TSV capture<TAB>class<TAB>split<TAB>windows on stdout");
    app.add_flag("-q,--quiet", quiet, "no progress or report on stderr");

    return run_cli(app, argc, argv, [&]() {
        if (!stats_path.empty()) {
            if (!inputs.empty() || !out.empty()) throw UsageError("--stats takes only a dataset file");
            if (captures_tsv && json) throw UsageError("--captures prints TSV: it does not go with --json");
            DatasetReader ds(stats_path);
            if (captures_tsv) {
                std::fputs(captures_manifest(ds).c_str(), stdout);
                return 0;
            }
            DatasetStats s = compute_stats(ds);
            std::fputs((json ? stats_json(s) + "\n" : stats_text(s)).c_str(), stdout);
            return 0;
        }
        if (captures_tsv) throw UsageError("--captures goes with --stats DATASET");
        if (inputs.empty()) throw UsageError("no input captures");
        if (!opt.few_shot.enabled() && (o_vf->count() || o_si->count()))
            throw UsageError(std::string(o_vf->count() ? "--val-fraction" : "--split-index") +
                             " needs --split-per-class N");
        if (opt.few_shot.enabled()) opt.few_shot.validate();
        if (out.empty()) throw UsageError("no output: give -o DATASET");
        wf.finalize();
        opt.windows = wf.windows;
        opt.extract = wf.extract;
        opt.split = parse_split(split);
        opt.binning = binning.options();
        opt.extract.progress = !quiet;
        LabelSource labels = !label.empty()          ? LabelSource::fixed(label)
                             : label_from_dir        ? LabelSource::from_dir()
                             : !label_map.empty()    ? LabelSource::from_map_file(label_map)
                             : !builtin.empty()      ? LabelSource::builtin(builtin)
                             : !label_flows.empty()  ? LabelSource::from_flow_file(label_flows)
                                                     : throw UsageError("no label source: give --label, --label-from-dir, "
                                                                        "--label-map, --labels or --label-flows");
        std::vector<std::string> captures = expand_capture_inputs(inputs, wf.extract.format);
        std::vector<std::string> read = captures;
        if (!label_map.empty()) read.push_back(label_map);
        if (!label_flows.empty()) read.push_back(label_flows);
        check_outputs(read, {{"-o", out}});
        PrepReport r = prepare_dataset(captures, labels, opt, out);
        if (quiet)  // captures left out are never silent, even with -q
            for (const auto& [path, l] : r.not_labelled)
                std::fprintf(stderr, "flowpic-prep: %s: not used: %s\n", path.c_str(), label_status_text(l).c_str());
        else
            print_report(r, out);
        print_flow_report(r, labels, !quiet);
        if (json) {
            nlohmann::json j = report_json(r, out);
            if (labels.per_flow()) j["flow_labels"] = flow_report_json(r.flows);
            std::printf("%s\n", j.dump().c_str());
        }
        return 0;
    });
}
