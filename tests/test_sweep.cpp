// flowpic-sweep's engine (study/): grids and every refusal, stable keys, the statistics,
// a tiny grid end to end in process, resuming after an interruption, whole-line outputs,
// and the classical rows through a stand-in script.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <set>

#include "core/error.h"
#include "core/rng.h"
#include "core/strings.h"
#include "flowpic/dataset_file.h"
#include "study/grid.h"
#include "study/stats.h"
#include "study/subprocess.h"
#include "study/sweep.h"
#include "synth/random_windows.h"
#include "tests/util.h"

using namespace flowpic;
using json = nlohmann::json;

namespace {

// UsageError whose message holds every one of `parts`.
template <class F>
void expect_usage(F&& f, std::vector<std::string> parts) {
    try {
        f();
        BOOST_ERROR("no UsageError; expected one naming " + parts[0]);
    } catch (const UsageError& e) {
        for (const auto& p : parts) BOOST_TEST(std::string(e.what()).find(p) != std::string::npos, e.what() << " lacks " << p);
    }
}

Grid flags(std::vector<std::pair<std::string, std::string>> axes, std::string seeds = "") {
    Grid g;
    for (const auto& [a, v] : axes) set_axis(g, a, v);
    if (!seeds.empty()) g.seeds = parse_seeds(seeds, "--seeds");
    return g;
}

// Two classes a learner tells apart: small packets against near-MTU ones, 15 s windows.
struct TinyDataset {
    TempDir dir;
    std::string path;
    TinyDataset() {
        path = dir.path + "/tiny.fpd";
        DatasetWriter wr(path, R"({"windows":{"view":"bi","window_s":15,"overlap":0,"min_packets":1,"min_span_s":0,"sizes":"drop"}})");
        const uint32_t a = wr.add_class("small"), b = wr.add_class("large");
        for (size_t i = 0; i < 48; ++i) {
            RandomWindowOptions o;
            o.min_packets = 30;
            o.max_packets = 80;
            o.length_us = 15000000;
            o.min_size = i % 2 ? 1200 : 40;
            o.max_size = i % 2 ? 1500 : 300;
            o.seed = 100 + i;
            Window w;
            w.length_us = o.length_us;
            w.packets = random_windows(o).packets[0];
            const size_t k = wr.add_window(w, i % 2 ? b : a, wr.add_capture("c" + std::to_string(i)), false);
            wr.set_split(k, i < 28 ? kSplitTrain : i < 36 ? kSplitVal : kSplitTest);
        }
        wr.finish();
    }
};

TinyDataset& tiny() {
    static TinyDataset d;
    return d;
}

SweepOptions tiny_sweep(const std::string& out) {
    SweepOptions o;
    o.grid = flags({{"arch", "lenet"}, {"resolution", "16"}, {"values", "count,binary"}, {"epochs", "3"}, {"batch", "16"}},
                   "1,2");
    o.data = tiny().path;
    o.out_dir = out;
    o.device = "cpu";
    o.infer_batch = 8;
    o.latency_samples = 4;
    o.classical.mode = ClassicalOptions::Mode::kOff;
    o.plot = false;
    o.progress = false;
    return o;
}

std::vector<std::string> lines_of(const std::string& path) {
    std::vector<std::string> out;
    std::istringstream in(read_file(path));
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

// results.csv without the columns that time things (they differ run to run).
std::string deterministic_csv(const std::string& csv) {
    const std::set<std::string> timing = {"train_s", "train_images_per_s", "infer_images_per_s", "b1_p50_us",
                                          "b1_p99_us", "peak_rss_mb", "pareto"};
    std::vector<std::string> rows = split_on(csv, '\n');
    const std::vector<std::string> head = split_on(rows[0], ',');
    std::string out;
    for (const auto& row : rows) {
        const std::vector<std::string> f = split_on(row, ',');
        for (size_t i = 0; i < f.size() && i < head.size(); ++i)
            if (!timing.count(head[i])) out += f[i] + ",";
        out += "\n";
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sweep)

BOOST_AUTO_TEST_CASE(grid_from_flags_and_json) {
    const Grid g = flags({{"resolution", "32,64"}, {"arch", "lenet"}, {"values", "count, binary"}}, "3");
    BOOST_TEST(g.seeds == (std::vector<uint64_t>{1, 2, 3}));
    const std::vector<json> cells = expand_grid(g, "flags");
    BOOST_REQUIRE(cells.size() == 4u);
    // The first axis in table order varies slowest: resolution before values.
    BOOST_TEST(cells[0]["resolution"] == 32);
    BOOST_TEST(cells[0]["values"] == "count");
    BOOST_TEST(cells[1]["values"] == "binary");
    BOOST_TEST(cells[2]["resolution"] == 64);
    for (const auto& c : cells) {
        for (const auto& a : sweep_axes()) BOOST_TEST(c.contains(a.name), a.name);
        BOOST_TEST(c["epochs"] == 40);  // flowpic-train's defaults fill the rest
        BOOST_TEST(c["flows"] == "uni");
    }
    BOOST_TEST(varying_axes(cells) == (std::vector<std::string>{"resolution", "values"}));

    const Grid j = parse_grid_json(
        R"({"epochs": 5, "seeds": [4, 9], "values": "binary",
            "parts": [{"arch": "lenet", "resolution": [32, 64]}, {"arch": "flowpic", "resolution": 1500, "epochs": 2}]})",
        "g.json");
    BOOST_TEST(j.seeds == (std::vector<uint64_t>{4, 9}));
    const std::vector<json> u = expand_grid(j, "g.json");
    BOOST_REQUIRE(u.size() == 3u);
    BOOST_TEST(u[0]["epochs"] == 5);
    BOOST_TEST(u[2]["epochs"] == 2);  // a part's own axis wins over the common one
    BOOST_TEST(u[2]["arch"] == "flowpic");
    BOOST_TEST(u[1]["values"] == "binary");
    BOOST_TEST(parse_seeds("7,3", "--seeds") == (std::vector<uint64_t>{7, 3}));
    // Numbers are canonical whatever their spelling: "60" and 60.0 are one value.
    BOOST_TEST(canonical_value_text("window", "60", "x") == canonical_value("window", 60.0, "x"));
    BOOST_TEST(canonical_value("resolution", 32.0, "x").is_number_integer());
}

BOOST_AUTO_TEST_CASE(normalisation_drops_settings_that_do_nothing) {
    // first > 0: window and overlap do nothing, flows auto is bi; augment none: no copies.
    const Grid g = flags({{"first", "0,15"}, {"window", "10,60"}, {"augment", "none,changertt"}, {"arch", "lenet"},
                          {"resolution", "32"}, {"normalize", "fixed"}});
    const std::vector<json> cells = expand_grid(g, "flags");
    // first 0: 2 windows x 2 augments; first 15: 1 x 2.
    BOOST_REQUIRE(cells.size() == 6u);
    size_t firsts = 0;
    for (const auto& c : cells) {
        if (c["first"].get<double>() > 0) {
            ++firsts;
            BOOST_TEST(c["window"].is_null());
            BOOST_TEST(c["overlap"].is_null());
            BOOST_TEST(c["flows"] == "bi");
        } else {
            BOOST_TEST(c["flows"] == "uni");
        }
        if (c["augment"] == "none") BOOST_TEST(c["augment-copies"] == 1);
        if (c["augment"] == "changertt") BOOST_TEST(c["augment-copies"] == 10);
    }
    BOOST_TEST(firsts == 2u);
}

BOOST_AUTO_TEST_CASE(every_bad_grid_is_refused_naming_the_axis) {
    expect_usage([] { parse_grid_json(R"({"colour": [1]})", "g.json"); }, {"g.json", "unknown axis 'colour'"});
    expect_usage([] { parse_grid_json(R"({"arch": []})", "g.json"); }, {"g.json", "axis 'arch'", "empty"});
    expect_usage([] { parse_grid_json(R"({"seeds": []})", "g.json"); }, {"axis 'seeds'", "empty"});
    expect_usage([] { parse_grid_json(R"([1, 2])", "g.json"); }, {"g.json", "object"});
    expect_usage([] { parse_grid_json(R"({"parts": []})", "g.json"); }, {"g.json", "parts"});
    expect_usage([] { parse_grid_json(R"({"parts": [{"colour": 1}]})", "g.json"); }, {"parts[0]", "unknown axis 'colour'"});
    expect_usage([] { parse_grid_json("{", "g.json"); }, {"g.json", "not JSON"});
    expect_usage([] { flags({{"values", ""}}); }, {"axis 'values'", "empty"});
    expect_usage([] { flags({{"values", "count,"}}); }, {"axis 'values'", "empty value"});
    expect_usage([] { flags({{"overlap", "0.95"}}); }, {"axis 'overlap'", "0.95", "at most 0.9"});
    expect_usage([] { flags({{"resolution", "0"}}); }, {"axis 'resolution'", "'0'"});
    expect_usage([] { flags({{"resolution", "32.5"}}); }, {"axis 'resolution'", "integer"});
    expect_usage([] { flags({{"window", "abc"}}); }, {"axis 'window'", "not a number"});
    expect_usage([] { flags({{"lr", "0"}}); }, {"axis 'lr'", "> 0"});
    expect_usage([] { flags({{"arch", "vgg"}}); }, {"axis 'arch'", "'vgg'"});
    expect_usage([] { flags({{"augment-val", "maybe"}}); }, {"axis 'augment-val'", "true or false"});
    expect_usage([] { parse_grid_json(R"({"window": "sixty"})", "g.json"); }, {"axis 'window'", "sixty"});
    expect_usage([] { parse_grid_json(R"({"arch": 5})", "g.json"); }, {"axis 'arch'", "bad value 5"});
    expect_usage([] { parse_seeds("0", "--seeds"); }, {"axis 'seeds'", "1..1000"});
    expect_usage([] { parse_seeds("1,1", "--seeds"); }, {"axis 'seeds'", "twice"});
    expect_usage([] { parse_seeds("-2,3", "--seeds"); }, {"axis 'seeds'", "whole number"});
    expect_usage([] { Grid g; set_axis(g, "colour", "1"); }, {"unknown axis 'colour'"});
    // Combinations, refused when the grid expands (before any work).
    expect_usage([] { expand_grid(flags({{"arch", "flowpic,lenet"}, {"resolution", "32"}}), "flags"); },
                 {"flags", "axis 'arch'", "flowpic cannot take resolution 32", "R >= 56"});
    expect_usage([] { expand_grid(flags({{"arch", "lenet"}, {"resolution", "8"}}), "flags"); },
                 {"axis 'arch'", "lenet cannot take resolution 8", "R >= 16"});
    expect_usage([] { expand_grid(flags({{"arch", "lenet"}, {"resolution", "32"}, {"time-axis", "15"}}), "flags"); },
                 {"axis 'time-axis'"});
    expect_usage([] {
        expand_grid(flags({{"arch", "lenet"}, {"resolution", "32"}, {"values", "binary"}, {"augment", "colorjitter"}}), "f");
    }, {"axis 'augment'"});
}

BOOST_AUTO_TEST_CASE(presets) {
    const std::vector<json> seed = expand_grid(preset_grid("seed"), "--preset seed");
    BOOST_REQUIRE(seed.size() == 24u);  // 3 windows x 2 overlaps x 2 directions x 2 class weights
    std::set<std::string> windows;
    for (const auto& c : seed) {
        windows.insert(c["window"].dump());
        BOOST_TEST(c["arch"] == "flowpic");
        BOOST_TEST(c["resolution"] == 1500);
        BOOST_TEST(c["values"] == "binary");
        BOOST_TEST(c["flows"] == "bi");
    }
    BOOST_TEST(windows.size() == 3u);
    const std::vector<json> uc = expand_grid(preset_grid("ucdavis"), "--preset ucdavis");
    BOOST_REQUIRE(uc.size() == 12u);  // (lenet 32, 64; flowpic 1500) x 4 augmentations
    for (const auto& c : uc) {
        BOOST_TEST(c["first"] == 15.0);
        BOOST_TEST(c["max-count"] == 255);
        BOOST_TEST(c["lr"] == 0.01);
        BOOST_TEST(c["batch"] == 32);
    }
    // A flag overrides the preset's axis; a part whose net cannot take it is left out.
    Grid g = preset_grid("ucdavis");
    set_axis(g, "resolution", "32");
    std::vector<std::string> notes;
    prune_parts(g, notes);
    BOOST_TEST(notes.size() == 1u);
    const std::vector<json> over = expand_grid(g, "x");
    BOOST_TEST(over.size() == 4u);
    for (const auto& c : over) BOOST_TEST(c["arch"] == "lenet");
    expect_usage([] { preset_grid("iscx"); }, {"--preset", "iscx"});
}

BOOST_AUTO_TEST_CASE(keys_are_stable) {
    // The key is part of the results directory's format: it must not change between
    // versions, or every existing sweep would run again.  FNV-1a 64 of known texts:
    BOOST_TEST(settings_hash("") == "cbf29ce484222325");
    BOOST_TEST(settings_hash("a") == "af63dc4c8601ec8c");
    // Canonical cell text: every axis, sorted keys, typed values.
    const std::vector<json> a = expand_grid(flags({{"arch", "lenet"}, {"resolution", "32"}}), "x");
    const std::vector<json> b = expand_grid(parse_grid_json(R"({"resolution": 32.0, "arch": "lenet"})", "g"), "g");
    BOOST_TEST(a[0].dump() == b[0].dump());
    BOOST_TEST(settings_hash(a[0].dump()) == settings_hash(b[0].dump()));
    const std::vector<json> c = expand_grid(flags({{"arch", "lenet"}, {"resolution", "64"}}), "x");
    BOOST_TEST(settings_hash(a[0].dump()) != settings_hash(c[0].dump()));
}

BOOST_AUTO_TEST_CASE(statistics) {
    // scipy.stats.t.ppf(0.975, df), to 4 decimals.
    const std::vector<std::pair<size_t, double>> t = {{1, 12.7062}, {2, 4.3027}, {4, 2.7764}, {9, 2.2622},
                                                      {30, 2.0423}, {31, 2.0395}, {60, 2.0003}, {120, 1.9799}};
    for (const auto& [df, v] : t) BOOST_TEST(std::abs(t_quantile_975(df) - v) < 2e-4, df);
    const MeanCi m = mean_ci95({0.9, 0.8, 1.0});
    BOOST_TEST(std::abs(m.mean - 0.9) < 1e-12);
    BOOST_TEST(std::abs(m.sd - 0.1) < 1e-12);
    BOOST_TEST(std::abs(m.half_width - 4.3027 * 0.1 / std::sqrt(3.0)) < 1e-4);
    BOOST_TEST(mean_ci95({0.7}).half_width == 0.0);

    // The Pareto front against the definition, on random points (ties included).
    std::mt19937_64 rng(5);
    for (int trial = 0; trial < 50; ++trial) {
        std::vector<double> cost, value;
        for (int i = 0; i < 20; ++i) {
            cost.push_back(1 + double(rng() % 10));
            value.push_back(double(rng() % 10) / 10);
        }
        const std::vector<size_t> f = pareto_front(cost, value);
        std::set<size_t> on(f.begin(), f.end());
        for (size_t i = 0; i < cost.size(); ++i) {
            bool dominated = false;
            for (size_t j = 0; j < cost.size(); ++j)
                dominated |= cost[j] <= cost[i] && value[j] >= value[i] && (cost[j] < cost[i] || value[j] > value[i]);
            BOOST_TEST(on.count(i) == size_t(!dominated));
        }
        for (size_t k = 1; k < f.size(); ++k) BOOST_TEST(cost[f[k - 1]] <= cost[f[k]]);
    }
}

BOOST_AUTO_TEST_CASE(two_cells_end_to_end_and_resume) {
    TempDir d;
    // The whole grid uninterrupted.
    const SweepResult full = run_sweep(tiny_sweep(d.path + "/full"));
    BOOST_TEST(full.cells == 2u);
    BOOST_TEST(full.cells_run == 2u);
    const std::vector<std::string> cells = lines_of(d.path + "/full/cells.jsonl");
    BOOST_REQUIRE(cells.size() == 2u);
    BOOST_TEST(lines_of(d.path + "/full/runs.jsonl").size() == 4u);  // 2 cells x 2 seeds
    double best = 0;
    for (const auto& l : cells) {
        const json c = json::parse(l);
        for (const char* k : {"accuracy_mean", "accuracy_ci95", "macro_f1_mean", "train_s", "train_images_per_s",
                              "infer_images_per_s", "b1_p50_us", "b1_p99_us", "peak_rss_mb", "params", "model_bytes"})
            BOOST_TEST(c[k].is_number(), k);
        BOOST_TEST(c["n"] == 2);
        BOOST_TEST(c["per_class_f1"].contains("small"));
        BOOST_TEST(c["params"].get<double>() > 1000);
        BOOST_TEST(c["b1_p50_us"].get<double>() > 0);
        best = std::max(best, c["accuracy_mean"].get<double>());
        for (const auto& m : c["models"]) BOOST_TEST(file_exists(m.get<std::string>()));
    }
    BOOST_TEST(best >= 0.75);  // the classes are far apart: chance is 0.5
    const std::string csv = read_file(d.path + "/full/results.csv");
    BOOST_TEST(count_lines(csv) == 3u);
    BOOST_TEST(csv.find("f1_small") != std::string::npos);
    const std::string md = read_file(d.path + "/full/results.md");
    BOOST_TEST(md.find("| values |") != std::string::npos);
    BOOST_TEST(count_lines(full.table_md) >= 4u);
    // Whole lines only, and no temp file left behind.
    for (const auto& f : list_dir(d.path + "/full")) BOOST_TEST(f.find("flowpic-tmp") == std::string::npos, f);
    BOOST_TEST(read_file(d.path + "/full/cells.jsonl").back() == '\n');

    // Interrupted after cell 1 (--max-cells), then the same arguments again.
    SweepOptions o = tiny_sweep(d.path + "/part");
    o.max_cells = 1;
    const SweepResult first = run_sweep(o);
    BOOST_TEST(first.stopped);
    BOOST_TEST(first.cells_run == 1u);
    const std::vector<std::string> before = lines_of(d.path + "/part/cells.jsonl");
    BOOST_REQUIRE(before.size() == 1u);
    o.max_cells = 0;
    const SweepResult rest = run_sweep(o);
    BOOST_TEST(!rest.stopped);
    BOOST_TEST(rest.cells_run == 1u);
    BOOST_TEST(rest.cells_reused == 1u);
    const std::vector<std::string> after = lines_of(d.path + "/part/cells.jsonl");
    BOOST_REQUIRE(after.size() == 2u);
    BOOST_TEST(after[0] == before[0]);  // the done cell is kept as it was
    // Same results as the uninterrupted sweep: training is deterministic, so every column
    // but the timings is identical (keys, settings, accuracies, F1, parameters, model bytes).
    BOOST_TEST(deterministic_csv(read_file(d.path + "/part/results.csv")) == deterministic_csv(csv));
    BOOST_TEST(json::parse(after[1])["key"] == json::parse(cells[1])["key"]);

    // A run done but its cell line lost (killed between the two): the run is reused.
    write_file(d.path + "/part/cells.jsonl", after[0] + "\n");
    const size_t runs_before = lines_of(d.path + "/part/runs.jsonl").size();
    const SweepResult again = run_sweep(o);
    BOOST_TEST(again.cells_run == 1u);
    BOOST_TEST(lines_of(d.path + "/part/runs.jsonl").size() == runs_before);  // no run trained again
    BOOST_TEST(deterministic_csv(read_file(d.path + "/part/results.csv")) == deterministic_csv(csv));

    // Another grid in the same directory: its cells are added, the old ones kept but not in
    // this grid's table.
    SweepOptions other = tiny_sweep(d.path + "/part");
    set_axis(other.grid, "values", "binary");
    set_axis(other.grid, "epochs", "2");
    run_sweep(other);
    BOOST_TEST(lines_of(d.path + "/part/cells.jsonl").size() == 3u);
    BOOST_TEST(count_lines(read_file(d.path + "/part/results.csv")) == 2u);

    // A line that is not JSON is named with its line number, not skipped.
    write_file(d.path + "/part/cells.jsonl", after[0] + "\n{\"key\": \"x\", trunc\n");
    try {
        run_sweep(o);
        BOOST_ERROR("no error for a bad line");
    } catch (const InputError& e) {
        BOOST_TEST(std::string(e.what()).find("cells.jsonl:2") != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_CASE(data_refuses_prep_axes_it_was_not_prepared_with) {
    TempDir d;
    SweepOptions o = tiny_sweep(d.path + "/o");
    set_axis(o.grid, "window", "60");
    expect_usage([&] { run_sweep(o); }, {"axis 'window'", "tiny.fpd", "--inputs"});
    BOOST_TEST(!file_exists(d.path + "/o"));  // refused before any work
    SweepOptions same = tiny_sweep(d.path + "/o");
    set_axis(same.grid, "window", "15");  // what the dataset records: fine
    set_axis(same.grid, "values", "binary");
    same.grid.seeds = {1};
    same.plot = true;
    same.plot_script = d.path + "/no-such-script.py";
    const SweepResult r = run_sweep(same);
    BOOST_TEST(r.cells == 1u);
    bool noted = false;
    for (const auto& n : r.notes) noted |= n.find("plots skipped") != std::string::npos;
    BOOST_TEST(noted);
    BOOST_TEST(file_exists(d.path + "/o/results.md"));  // tables written without plots
}

BOOST_AUTO_TEST_CASE(classical_rows_through_a_stand_in) {
    TempDir d;
    // The stand-ins of flowpic-render --features and bench/classical.py (another branch).
    write_file(d.path + "/classical.py",
               "import json, sys\n"
               "a = dict(zip(sys.argv[1::2], sys.argv[2::2]))\n"
               "open(a['--features']).read()\n"
               "with open(a['--json'], 'w') as f:\n"
               "    for m in a['--models'].split(','):\n"
               "        for s in a['--seeds'].split(','):\n"
               "            f.write(json.dumps({'model': m, 'seed': int(s), 'accuracy': 0.5 + 0.1 * int(s),\n"
               "                'macro_f1': 0.4, 'per_class_f1': {'small': 0.3, 'large': 0.5}, 'train_s': 0.2,\n"
               "                'latency_us_per_window': 7.0, 'latency_us_batch1': 900.0, 'classes': ['small', 'large']}) + '\\n')\n");
    SweepOptions o = tiny_sweep(d.path + "/o");
    set_axis(o.grid, "values", "binary");
    o.classical.mode = ClassicalOptions::Mode::kOn;
    o.classical.models = "rf,xgb";
    o.classical.script = d.path + "/classical.py";
    if (!is_executable("/usr/bin/python3")) return;  // nothing to run the stand-in with
    const SweepResult r = run_sweep(o);
    BOOST_TEST(r.errors.empty());
    BOOST_TEST(r.classical_rows == 2u);
    const std::string csv = read_file(d.path + "/o/results.csv");
    BOOST_TEST(count_lines(csv) == 4u);  // header, 1 cnn cell, rf, xgb
    BOOST_TEST(csv.find(",classical,") != std::string::npos);
    const std::vector<std::string> cells = lines_of(d.path + "/o/cells.jsonl");
    const json rf = json::parse(cells[1]);
    BOOST_TEST(rf["settings"]["arch"] == "rf");
    BOOST_TEST(std::abs(rf["accuracy_mean"].get<double>() - 0.65) < 1e-9);  // seeds 1, 2: 0.6 and 0.7
    BOOST_TEST(rf["b1_p50_us"] == 900.0);  // batch 1, as the nets' column
    BOOST_TEST(rf["infer_images_per_s"].get<double>() == 1e6 / 7.0);  // the amortised per-window time
    BOOST_TEST(read_file(d.path + "/o/results.md").find("| rf |") != std::string::npos);
    // Resumed: the classical rows are not run again (the script is gone, nothing fails).
    std::remove((d.path + "/classical.py").c_str());
    const SweepResult again = run_sweep(o);
    BOOST_TEST(again.classical_rows == 0u);
    BOOST_TEST(count_lines(read_file(d.path + "/o/results.csv")) == 4u);

    // Exit 3 (packages missing): a note with its message, the neural rows still there.
    write_file(d.path + "/classical.py", "import sys\nprint('scikit-learn is missing: apt-get install python3-sklearn')\nsys.exit(3)\n");
    SweepOptions auto_mode = tiny_sweep(d.path + "/o2");
    set_axis(auto_mode.grid, "values", "binary");
    auto_mode.classical = o.classical;
    auto_mode.classical.mode = ClassicalOptions::Mode::kAuto;
    const SweepResult skipped = run_sweep(auto_mode);
    bool noted = false;
    // Without scikit-learn on this machine the probe says so before the script runs.
    for (const auto& n : skipped.notes) noted |= n.find("scikit-learn") != std::string::npos;
    BOOST_TEST(noted);
    BOOST_TEST(skipped.errors.empty());
    BOOST_TEST(count_lines(read_file(d.path + "/o2/results.csv")) == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
