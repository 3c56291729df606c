// flowpic-sweep: the speed-vs-accuracy study in one command (study/sweep.h, docs/SWEEP.md).
#include <omp.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "apps/cli.h"
#include "apps/device_flag.h"
#include "core/strings.h"
#include "flowpic/split.h"
#include "study/grid.h"
#include "study/sweep.h"

using namespace flowpic;

namespace {

const char* kDescription =
    "flowpic-sweep: train, evaluate and time every cell of a grid of FlowPic settings (window,\n"
    "overlap, first seconds, flow direction, resolution, pixel values, direction encoding,\n"
    "net, class weights, augmentation ...) over several seeds, in one process, and write the\n"
    "results to a directory: cells.jsonl (one line per cell), results.csv, results.md (sorted\n"
    "by accuracy) and plots of accuracy against batch-1 latency and window length.  A sweep\n"
    "killed at any point and started again with the same arguments skips what is done.\n"
    "Axis flags take comma lists and override the preset's or grid file's axis.\n";

const char* kFooter =
    "\nExamples:\n"
    "  flowpic-sweep --data d.fpd -o out/sweep --arch lenet --resolution 32,64 --values count,binary --seeds 3\n"
    "  flowpic-sweep --inputs captures/ -o out/sweep --window 10,30,60 --overlap 0,0.75 --arch lenet --resolution 32\n"
    "  flowpic-sweep --inputs captures/ -o out/seed --preset seed                 # the original study's grid\n"
    "  flowpic-sweep --data ucdavis-first15.fpd -o out/uc --preset ucdavis --resolution 32,64 --seeds 2\n"
    "  flowpic-sweep --data d.fpd -o out/g --grid grid.json --device cuda --classical rf,et,xgb\n"
    "\nGrid file: {\"arch\": [\"lenet\"], \"resolution\": [32, 64], \"seeds\": 3}, or a union of products:\n"
    "  {\"epochs\": 20, \"parts\": [{\"arch\": \"lenet\", \"resolution\": [32, 64]}, {\"arch\": \"flowpic\", \"resolution\": 1500}]}\n"
    "--seeds N runs seeds 1..N; --seeds 4,9 runs those.  Prep axes (window, overlap, first,\n"
    "flows) need --inputs: each distinct setting is prepared once into DIR/prep/.  With --data\n"
    "they must be what the dataset was prepared with.\n"
    "\nPresets: seed = 60/30/10 s windows, 25% and 75% overlap, bidirectional flows, binary\n"
    "pixels, direction grey and channels, class weights none and balanced, FlowPicNet 1500x1500;\n"
    "ucdavis = first 15 s, LeNet 32 and 64 plus FlowPicNet 1500, augment none, changertt,\n"
    "timeshift, packetloss, flowpic-train --preset tcbench's training (with --inputs also\n"
    "--clip-sizes --split-per-class 100).\n"
    "\nClassical baselines (RF, Extra Trees, XGBoost on per-window statistics: flowpic-render\n"
    "--features and bench/classical.py) are rows of the same tables: on by default when\n"
    "/usr/bin/python3 has scikit-learn, off with a note otherwise; --classical off turns them off.\n"
    "Plots need matplotlib (apt-get install python3-matplotlib, or make deps).\n"
    "\nExit codes: 0 success (also when --max-cells stops early), 1 bad input, 2 usage error.\n";

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw input_error(path, "cannot read the grid file");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app(kDescription, "flowpic-sweep");
    app.footer(kFooter);
    SweepOptions o;
    std::string grid_path, preset, seeds, classical = "auto", split = "0.8,0.1,0.1", label_map, builtin, label_flows, label;
    bool from_dir = false, no_plot = false, quiet = false, clip = false;
    int threads = 0;
    std::map<std::string, std::string> axis_flags;
    uint32_t min_packets = 10;
    double min_span = -1;

    app.add_option("--data", o.data, "a dataset from flowpic-prep (binning and training axes only)");
    app.add_option("--inputs", o.inputs, "captures or directories to prepare (prep axes too)")->expected(1, -1);
    app.add_option("-o,--output", o.out_dir, "the results directory (created; an existing one is resumed)")->required();
    app.add_option("--grid", grid_path, "grid file (JSON): axes and their values, or \"parts\" for a union");
    app.add_option("--preset", preset, "seed (the original study) or ucdavis (IMC'23)")->check(CLI::IsMember(preset_names()));
    for (const AxisInfo& a : sweep_axes())
        app.add_option("--" + a.name, axis_flags[a.name], a.help + "; comma list")->group("Axes");
    app.add_option("--seeds", seeds, "N (seeds 1..N) or a comma list of seeds (default 3)")->group("Axes");
    add_device_flag(&app, o.device);
    app.add_option("--threads", threads, "CPU threads (0 = all cores)")->default_val(0)->check(number_in(0, kMaxThreads));
    app.add_option("--infer-batch", o.infer_batch, "batch of the inference throughput figure")
        ->default_val(o.infer_batch)->check(CLI::Range(1, 65536));
    app.add_option("--latency-samples", o.latency_samples, "test windows timed at batch 1 (0 = none)")
        ->default_val(o.latency_samples)->check(number_in(0, 1e6));
    app.add_option("--max-cells", o.max_cells, "stop after this many newly run cells (0 = all); a rerun goes on")
        ->default_val(0)->check(number_in(0, 1e9));
    auto* g = "Classical baselines";
    app.add_option("--classical", classical, "models (rf,et,xgb), off, or auto (on when scikit-learn is there)")
        ->default_val(classical)->group(g);
    app.add_option("--classical-script", o.classical.script, "default: bench/classical.py of this repository")->group(g);
    g = "Plots";
    app.add_flag("--no-plot", no_plot, "tables only")->group(g);
    app.add_option("--plot-script", o.plot_script, "default: bench/sweep_plot.py of this repository")->group(g);
    app.add_option("--python", o.python, "the Python with matplotlib and scikit-learn")->default_val(o.python)->group(g);
    g = "Preparation (--inputs)";
    auto* l1 = app.add_flag("--label-from-dir", from_dir, "class = the capture's directory (the default)")->group(g);
    auto* l2 = app.add_option("--label-map", label_map, "rules file (docs/LABELS.md)")->group(g);
    auto* l3 = app.add_option("--labels", builtin, "a built-in table: iscx-vpn2016")->group(g);
    auto* l4 = app.add_option("--label-flows", label_flows, "per-flow labels (flowpic-prep --label-flows)")->group(g);
    auto* l5 = app.add_option("--label", label, "every capture is this class")->group(g);
    l1->excludes(l2, l3, l4, l5);
    l2->excludes(l3, l4, l5);
    l3->excludes(l4, l5);
    l4->excludes(l5);
    auto* o_split = app.add_option("--split", split, "train,validation,test fractions")->default_val(split)->group(g);
    auto* o_fs = app.add_option("--split-per-class", o.prep.few_shot.per_class, "few-shot split: N captures per class")
                     ->check(CLI::Range(1u, kMaxPerClass))->group(g);
    app.add_option("--split-index", o.prep.few_shot.index, "which few-shot draw")->default_val(0)
        ->check(CLI::Range(0u, kMaxSplitIndex))->group(g);
    app.add_option("--val-fraction", o.prep.few_shot.val_fraction, "few-shot validation share")->default_val(0.2)
        ->check(number_in(0, 1))->group(g);
    o_fs->excludes(o_split);
    app.add_option("--split-seed", o.prep.seed, "seed of the split")->default_val(1)->group(g);
    auto* o_clip = app.add_flag("--clip-sizes", clip, "clip sizes above 1500 (default: drop them)")->group(g);
    app.add_option("--min-packets", min_packets, "fewer packets drop a window")->default_val(10)
        ->check(number_in(1, 4294967295.0))->group(g);
    app.add_option("--min-span", min_span, "seconds a window must span (default window*50/60; 0 = off)")
        ->check(non_negative(4294))->group(g);
    app.add_flag("-q,--quiet", quiet, "no progress on stderr");

    return run_cli(app, argc, argv, [&]() {
        if (!grid_path.empty() && !preset.empty()) throw UsageError("--grid and --preset: give one of them");
        if (!preset.empty()) {
            o.grid = preset_grid(preset);
            o.where = "--preset " + preset;
        } else if (!grid_path.empty()) {
            o.grid = parse_grid_json(read_text(grid_path), grid_path);
            o.where = grid_path;
        } else {
            o.where = "the command line";
        }
        for (const AxisInfo& a : sweep_axes())
            if (app.get_option("--" + a.name)->count()) set_axis(o.grid, a.name, axis_flags[a.name]);
        std::vector<std::string> notes;
        if (!preset.empty() && (app.get_option("--arch")->count() || app.get_option("--resolution")->count()))
            prune_parts(o.grid, notes);
        for (const auto& n : notes) std::fprintf(stderr, "flowpic-sweep: note: %s\n", n.c_str());
        if (!seeds.empty()) o.grid.seeds = parse_seeds(seeds, "--seeds");
        if (classical == "off")
            o.classical.mode = ClassicalOptions::Mode::kOff;
        else if (classical != "auto") {
            o.classical.mode = ClassicalOptions::Mode::kOn;
            for (const std::string& m : split_on(classical, ','))
                if (m != "rf" && m != "et" && m != "xgb")
                    throw UsageError("--classical: unknown model '" + m + "' (rf, et, xgb; or off, auto)");
            o.classical.models = classical;
        }
        o.plot = !no_plot;
        o.progress = !quiet;
        if (!o.inputs.empty()) {
            o.labels = !label_map.empty()     ? SweepLabels{"map", label_map}
                       : !builtin.empty()     ? SweepLabels{"builtin", builtin}
                       : !label_flows.empty() ? SweepLabels{"flows", label_flows}
                       : !label.empty()       ? SweepLabels{"fixed", label}
                                              : SweepLabels{"from-dir", ""};
            if (preset == "ucdavis") {  // the protocol's preparation, unless given
                if (!o_clip->count()) clip = true;
                if (!o_fs->count() && !app.get_option("--split")->count()) o.prep.few_shot.per_class = 100;
            }
            o.prep.split = parse_split(split);
            if (o.prep.few_shot.enabled()) o.prep.few_shot.validate();
            o.prep.windows.min_packets = min_packets;
            o.prep.windows.min_span_s = min_span;
            o.prep.windows.sizes = clip ? SizeRule::kClip : SizeRule::kDrop;
        }
        if (threads > 0) omp_set_num_threads(threads);
        const SweepResult r = run_sweep(o);
        std::printf("%s", r.table_md.c_str());
        for (const auto& n : r.notes) std::fprintf(stderr, "flowpic-sweep: note: %s\n", n.c_str());
        for (const auto& e : r.errors) std::fprintf(stderr, "flowpic-sweep: %s\n", e.c_str());
        if (r.stopped)
            std::fprintf(stderr,
                         "flowpic-sweep: stopped after %zu new cells (--max-cells); run the same command again to go on\n",
                         r.cells_run);
        std::fprintf(stderr, "flowpic-sweep: %zu cells (%zu run now, %zu already done)%s; results: %s/results.md, %s/results.csv\n",
                     r.cells, r.cells_run, r.cells_reused,
                     r.classical_rows ? (" + " + std::to_string(r.classical_rows) + " classical rows").c_str() : "",
                     o.out_dir.c_str(), o.out_dir.c_str());
        for (const auto& p : r.plots) std::fprintf(stderr, "flowpic-sweep: plot: %s\n", p.c_str());
        if (!r.errors.empty()) throw InputError("the classical baselines asked for with --classical did not run");
        return 0;
    });
}
