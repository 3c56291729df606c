#include "study/sweep.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/line_log.h"
#include "core/strings.h"
#include "flowpic/checksum.h"
#include "flowpic/dataset_file.h"
#include "flowpic/labels.h"
#include "flowpic/settings.h"
#include "nn/backend.h"
#include "pcap/capture_reader.h"
#include "study/classical.h"
#include "study/stats.h"
#include "study/subprocess.h"
#include "study/sweep_run.h"

namespace flowpic {

namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

void make_dir(const std::string& path) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) throw input_error(path, "exists and is not a directory (-o takes a directory)");
        return;
    }
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) throw input_error(path, std::string("cannot create: ") + strerror(errno));
}

bool exists(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

std::string seeds_text(const std::vector<uint64_t>& seeds) {
    std::string s;
    for (uint64_t x : seeds) s += (s.empty() ? "" : ",") + std::to_string(x);
    return s;
}

std::string duration_text(double s) {
    char b[32];
    if (s < 60)
        std::snprintf(b, sizeof b, "%.0fs", s);
    else if (s < 3600)
        std::snprintf(b, sizeof b, "%dm%02ds", int(s / 60), int(s) % 60);
    else
        std::snprintf(b, sizeof b, "%dh%02dm", int(s / 3600), int(s / 60) % 60);
    return b;
}

LabelSource make_labels(const SweepLabels& l) {
    if (l.kind == "from-dir") return LabelSource::from_dir();
    if (l.kind == "map") return LabelSource::from_map_file(l.arg);
    if (l.kind == "builtin") return LabelSource::builtin(l.arg);
    if (l.kind == "flows") return LabelSource::from_flow_file(l.arg);
    if (l.kind == "fixed") return LabelSource::fixed(l.arg);
    throw UsageError("unknown label source '" + l.kind + "'");
}

// What identifies the inputs of a preparation: each capture's path, size and mtime.
std::string inputs_fingerprint(const std::vector<std::string>& captures) {
    std::string s;
    for (const auto& c : captures) {
        struct stat st;
        if (stat(c.c_str(), &st) != 0) throw input_error(c, "cannot read it");
        s += c + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtime) + "\n";
    }
    return s;
}

// The dataset a cell trains on.
struct Data {
    std::string path, checksum;
    json prep_axes;  // the cell's prep axes that gave it
    std::unique_ptr<DatasetReader> reader;
};

// The values of the prep axes of a dataset, as its "prep" settings record them.
json dataset_prep_axes(const DatasetReader& ds) {
    json p = json::object();
    const std::optional<PrepSettings> s = parse_prep_settings(ds.prep_json(), ds.path());
    if (!s) {
        for (const auto& a : sweep_axes())
            if (a.kind == AxisKind::kPrep) p[a.name] = nullptr;
        return p;
    }
    const WindowOptions& w = s->windows;
    p["first"] = w.first_s;
    p["window"] = w.first_seconds() ? json() : json(w.window_s);
    p["overlap"] = w.first_seconds() ? json() : json(w.overlap);
    p["flows"] = flow_view_name(w.view);
    return p;
}

// --data: the prep axes the grid gives must be the dataset's; every cell then takes the
// dataset's values.
Grid pin_prep_axes(const Grid& g, const json& prep, const std::string& data, const std::string& where) {
    Grid out = g;
    for (GridPart& part : out.parts) {
        for (const auto& a : sweep_axes()) {
            if (a.kind != AxisKind::kPrep) continue;
            auto it = part.find(a.name);
            const json& have = prep[a.name];
            if (it != part.end())
                for (const json& v : it->second) {
                    const bool same = a.name == "flows" ? (v == "auto" || v == have) : v == have;
                    if (!same)
                        throw UsageError(where + ": axis '" + a.name + "': " + v.dump() + " is not how " + data +
                                         " was prepared (" + (have.is_null() ? std::string("not recorded") : have.dump()) +
                                         "); a prep axis needs --inputs CAPTURES");
                }
            part[a.name] = {have};  // null: the dataset records no windowing
        }
    }
    return out;
}

struct SweepProgress {
    size_t total_runs = 0, done_runs = 0, new_runs = 0;
    clock_type::time_point start = clock_type::now();
    bool enabled = true;
    void line(size_t cell, size_t cells, const std::string& what, size_t seed_i, size_t seeds) {
        if (!enabled) return;
        const double el = std::chrono::duration<double>(clock_type::now() - start).count();
        std::string eta = "ETA unknown";
        if (new_runs > 0) eta = "ETA " + duration_text(el / double(new_runs) * double(total_runs - done_runs));
        std::fprintf(stderr, "flowpic-sweep: cell %zu/%zu (%s) seed %zu/%zu | runs %zu/%zu done, %s elapsed, %s\n", cell,
                     cells, what.c_str(), seed_i, seeds, done_runs, total_runs, duration_text(el).c_str(), eta.c_str());
    }
};

std::string describe(const json& cell, const std::vector<std::string>& vary) {
    std::string s;
    for (const auto& a : vary) s += (s.empty() ? "" : " ") + a + "=" + (cell[a].is_string() ? cell[a].get<std::string>() : cell[a].dump());
    return s.empty() ? "the only cell" : s;
}

// The cell line from its runs.
json aggregate(const std::string& key, const json& cell, const Data& d, const std::vector<uint64_t>& seeds,
               const std::vector<json>& runs) {
    auto col = [&](const char* k) {
        std::vector<double> v;
        for (const json& r : runs) v.push_back(r.at(k).get<double>());
        return v;
    };
    const MeanCi acc = mean_ci95(col("accuracy")), f1 = mean_ci95(col("macro_f1"));
    std::map<std::string, std::vector<double>> pc;
    std::vector<std::string> names;
    for (const json& r : runs)
        for (auto it = r["per_class_f1"].begin(); it != r["per_class_f1"].end(); ++it) {
            if (!pc.count(it.key())) names.push_back(it.key());
            pc[it.key()].push_back(it->get<double>());
        }
    json per_class = json::object();
    for (const auto& n : names) per_class[n] = mean_ci95(pc[n]).mean;
    double rss = 0;
    for (double x : col("peak_rss_mb")) rss = std::max(rss, x);
    json per_seed = json::array(), models = json::array();
    for (const json& r : runs) {
        per_seed.push_back(r["accuracy"]);
        models.push_back(r["model"]);
    }
    return {{"key", key},
            {"kind", "cnn"},
            {"settings", cell},
            {"data", d.path},
            {"data_checksum", d.checksum},
            {"seeds", seeds},
            {"n", acc.n},
            {"accuracy_mean", acc.mean},
            {"accuracy_ci95", acc.half_width},
            {"accuracy_sd", acc.sd},
            {"accuracy_min", acc.min},
            {"accuracy_max", acc.max},
            {"accuracy_per_seed", per_seed},
            {"macro_f1_mean", f1.mean},
            {"macro_f1_ci95", f1.half_width},
            {"per_class_f1", per_class},
            {"epochs_mean", mean_ci95(col("epochs")).mean},
            {"train_s", mean_ci95(col("train_s")).mean},
            {"train_images_per_s", mean_ci95(col("train_images_per_s")).mean},
            {"infer_images_per_s", mean_ci95(col("infer_images_per_s")).mean},
            {"infer_batch", runs[0]["infer_batch"]},
            {"b1_p50_us", mean_ci95(col("b1_p50_us")).mean},
            {"b1_p99_us", mean_ci95(col("b1_p99_us")).mean},
            {"b1_path", runs[0]["b1_path"]},
            {"peak_rss_mb", rss},
            {"params", runs[0]["params"]},
            {"model_bytes", runs[0]["model_bytes"]},
            {"backend", runs[0]["backend"]},
            {"models", models}};
}

void run_plots(const SweepOptions& o, SweepResult& r) {
    if (!o.plot) return;
    const std::string script = o.plot_script.empty() ? find_repo_file("bench/sweep_plot.py") : o.plot_script;
    if (script.empty() || !exists(script)) {
        r.notes.push_back("plots skipped: bench/sweep_plot.py not found (--plot-script PATH)");
        return;
    }
    if (!is_executable(o.python)) {
        r.notes.push_back("plots skipped: " + o.python + " not found (apt-get install python3-matplotlib, or make deps)");
        return;
    }
    const ProgramResult p = run_program({o.python, script, o.out_dir + "/results.csv", o.out_dir}, o.out_dir + "/logs/plot.log");
    if (p.exit_code == 3) {
        r.notes.push_back("plots skipped: " + p.last_line);
        return;
    }
    if (p.exit_code != 0) {
        r.notes.push_back("plots failed (exit " + std::to_string(p.exit_code) + "): " + p.last_line + " (log: " + o.out_dir +
                          "/logs/plot.log)");
        return;
    }
    for (const char* f : {"accuracy_vs_latency.png", "accuracy_vs_window.png"})
        if (exists(o.out_dir + "/" + f)) r.plots.push_back(o.out_dir + "/" + f);
}

}  // namespace

std::string dataset_checksum(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    char header[256];
    if (!f.read(header, sizeof header)) throw input_error(path, "too short for a dataset header");
    f.seekg(0, std::ios::end);
    char b[64];
    std::snprintf(b, sizeof b, "crc32c:%08x:%lld", crc32c(header, sizeof header), (long long)f.tellg());
    return b;
}

std::map<std::string, json> read_json_lines(const std::string& path) {
    std::map<std::string, json> out;
    std::ifstream f(path, std::ios::binary);
    if (!f) return out;
    size_t n = 0;
    for (std::string line; std::getline(f, line);) {
        ++n;
        if (trim(line).empty()) continue;
        json j;
        try {
            j = json::parse(line);
        } catch (const json::parse_error&) {
            throw input_error(path + ":" + std::to_string(n), "not a JSON line (remove the line, or the file, to redo it)");
        }
        if (!j.is_object() || !j.contains("key") || !j["key"].is_string())
            throw input_error(path + ":" + std::to_string(n), "a sweep line needs a \"key\"");
        const std::string key = j["key"].get<std::string>();
        out[key] = std::move(j);
    }
    return out;
}

SweepResult run_sweep(const SweepOptions& o) {
    if (o.data.empty() == o.inputs.empty()) throw UsageError("give --data DATASET or --inputs CAPTURES (one of them)");
    if (o.out_dir.empty()) throw UsageError("no output: give -o DIR");
    if (o.infer_batch < 1) throw UsageError("--infer-batch must be >= 1");
    SweepResult result;

    // Everything that can be refused is refused before any work.
    std::vector<json> cells;
    std::unique_ptr<DatasetReader> given;
    if (!o.data.empty()) {
        given = std::make_unique<DatasetReader>(o.data);
        cells = expand_grid(pin_prep_axes(o.grid, dataset_prep_axes(*given), o.data, o.where), o.where);
    } else {
        cells = expand_grid(o.grid, o.where);
    }
    std::vector<std::string> captures;
    std::unique_ptr<LabelSource> labels;
    if (!o.inputs.empty()) {
        labels = std::make_unique<LabelSource>(make_labels(o.labels));
        captures = expand_capture_inputs(o.inputs, o.prep.extract.format);
        for (const json& c : cells) {
            try {
                cell_windows(c, o.prep.windows).validate();
            } catch (const UsageError& e) {
                throw UsageError(o.where + ": prep axes " + cell_prep_axes(c).dump() + ": " + e.what());
            }
        }
    }
    make_dir(o.out_dir);
    for (const char* sub : {"/prep", "/models", "/logs", "/classical"}) make_dir(o.out_dir + sub);
    const std::string runs_path = o.out_dir + "/runs.jsonl", cells_path = o.out_dir + "/cells.jsonl";
    const std::map<std::string, json> done_runs = read_json_lines(runs_path);
    const std::map<std::string, json> done_cells = read_json_lines(cells_path);
    check_outputs(o.data.empty() ? captures : std::vector<std::string>{o.data},
                  {{"runs", runs_path}, {"cells", cells_path}, {"csv", o.out_dir + "/results.csv"},
                   {"md", o.out_dir + "/results.md"}});

    // One dataset per distinct prep setting.
    std::map<std::string, Data> data;  // by the cell's prep axes
    std::vector<std::string> data_order;
    for (const json& c : cells) {
        const std::string pk = cell_prep_axes(c).dump();
        if (data.count(pk)) continue;
        Data d;
        d.prep_axes = cell_prep_axes(c);
        if (given) {
            d.path = o.data;
            d.reader = std::move(given);
        } else if (!o.data.empty()) {
            throw std::logic_error("--data gives one prep setting");
        } else {
            PrepOptions po = o.prep;
            po.windows = cell_windows(c, o.prep.windows);
            po.extract.progress = o.progress;
            const std::string key = settings_hash("flowpic-sweep/1 prep|" + to_json(prep_settings(po, *labels)) + "|" +
                                                  inputs_fingerprint(captures));
            d.path = o.out_dir + "/prep/" + key + ".fpd";
            if (!exists(d.path)) {
                if (o.progress) std::fprintf(stderr, "flowpic-sweep: preparing %s -> %s\n", d.prep_axes.dump().c_str(), d.path.c_str());
                try {
                    const PrepReport r = prepare_dataset(captures, *labels, po, d.path);
                    if (o.progress)
                        std::fprintf(stderr, "flowpic-sweep: %s: %zu windows, %zu classes\n", d.path.c_str(), r.window_count,
                                     r.classes.size());
                } catch (const InputError& e) {
                    throw InputError(std::string("preparing ") + d.prep_axes.dump() + ": " + e.what());
                }
            }
            d.reader = std::make_unique<DatasetReader>(d.path);
        }
        d.checksum = dataset_checksum(d.path);
        data_order.push_back(pk);
        data.emplace(pk, std::move(d));
    }

    const json measure = {{"device", o.device}, {"infer_batch", o.infer_batch}, {"latency_samples", o.latency_samples}};
    auto run_key = [&](const json& c, const Data& d, uint64_t seed) {
        return settings_hash("flowpic-sweep/1 run|" + c.dump() + "|" + d.checksum + "|" + measure.dump() + "|" +
                             std::to_string(seed));
    };
    auto cell_key = [&](const json& c, const Data& d) {
        return settings_hash("flowpic-sweep/1 cell|" + c.dump() + "|" + d.checksum + "|" + measure.dump() + "|" +
                             seeds_text(o.grid.seeds));
    };

    LineLog runs_log(runs_path), cells_log(cells_path);
    std::unique_ptr<Backend> be;
    const std::vector<std::string> vary = varying_axes(cells);
    SweepProgress prog;
    prog.enabled = o.progress;
    prog.total_runs = cells.size() * o.grid.seeds.size();
    std::vector<json> table;
    result.cells = cells.size();
    for (size_t i = 0; i < cells.size(); ++i) {
        const json& c = cells[i];
        const Data& d = data.at(cell_prep_axes(c).dump());
        const std::string ck = cell_key(c, d);
        if (auto it = done_cells.find(ck); it != done_cells.end()) {
            table.push_back(it->second);
            ++result.cells_reused;
            prog.done_runs += o.grid.seeds.size();
            continue;
        }
        if (o.max_cells && result.cells_run == o.max_cells) {
            result.stopped = true;
            break;
        }
        std::vector<json> runs;
        for (size_t s = 0; s < o.grid.seeds.size(); ++s) {
            const uint64_t seed = o.grid.seeds[s];
            const std::string rk = run_key(c, d, seed);
            if (auto it = done_runs.find(rk); it != done_runs.end()) {
                runs.push_back(it->second);
                ++prog.done_runs;
                continue;
            }
            prog.line(i + 1, cells.size(), describe(c, vary), s + 1, o.grid.seeds.size());
            if (!be) be = make_backend(o.device);
            json r;
            try {
                r = train_and_measure(*d.reader, c, seed, *be, RunMeasure{o.infer_batch, o.latency_samples},
                                      o.out_dir + "/models/" + rk + ".safetensors");
            } catch (const InputError& e) {
                throw InputError("cell " + std::to_string(i + 1) + " (" + describe(c, vary) + "), seed " +
                                 std::to_string(seed) + ": " + e.what());
            }
            r["key"] = rk;
            r["cell"] = ck;
            runs_log.append(r.dump());
            runs.push_back(std::move(r));
            ++prog.done_runs;
            ++prog.new_runs;
        }
        json line = aggregate(ck, c, d, o.grid.seeds, runs);
        cells_log.append(line.dump());
        table.push_back(std::move(line));
        ++result.cells_run;
    }

    if (!result.stopped && o.classical.mode != ClassicalOptions::Mode::kOff) {
        std::string why;
        const bool can_run = classical_available(o.classical, o.python, &why);
        std::vector<ClassicalData> cd;
        for (const auto& pk : data_order) cd.push_back({data.at(pk).path, data.at(pk).checksum, data.at(pk).prep_axes});
        if (o.progress && can_run) std::fprintf(stderr, "flowpic-sweep: classical baselines (%s)\n", o.classical.models.c_str());
        for (json& row : run_classical(o.classical, o.python, o.grid.seeds, cd, o.out_dir, done_cells, cells_log, result,
                                       can_run, why))
            table.push_back(std::move(row));
    }

    const std::string csv = results_csv(table), md = results_md(table);
    write_file_atomic(o.out_dir + "/results.csv", csv.data(), csv.size());
    std::string md_file = "# flowpic-sweep results\n\n" + std::to_string(table.size()) + " rows (" +
                          std::to_string(result.cells) + " cells of this grid, seeds " + seeds_text(o.grid.seeds) +
                          "); accuracy and macro-F1 on the test split, mean over seeds with a 95% t-interval.\n\n" + md;
    write_file_atomic(o.out_dir + "/results.md", md_file.data(), md_file.size());
    result.table_md = md;
    run_plots(o, result);
    return result;
}

}  // namespace flowpic
