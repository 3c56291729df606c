#include "study/classical.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"
#include "flowpic/dataset_file.h"
#include "flowpic/feature_file.h"
#include "study/grid.h"
#include "study/stats.h"
#include "study/subprocess.h"

namespace flowpic {

namespace {

using json = nlohmann::json;

bool file_exists(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

std::string seeds_text(const std::vector<uint64_t>& seeds) {
    std::string s;
    for (uint64_t x : seeds) s += (s.empty() ? "" : ",") + std::to_string(x);
    return s;
}

std::string script_of(const ClassicalOptions& c) {
    return c.script.empty() ? find_repo_file("bench/classical.py") : c.script;
}
// The cell line of one model from its per-seed lines.
json aggregate(const std::string& model, const std::vector<json>& runs, const ClassicalData& d, const std::string& key,
               const std::vector<uint64_t>& seeds) {
    std::vector<double> acc, f1, train_s, lat, b1, b1_p99;
    std::map<std::string, std::vector<double>> per_class;
    std::vector<std::string> classes;
    for (const json& r : runs) {
        acc.push_back(r.at("accuracy").get<double>());
        f1.push_back(r.at("macro_f1").get<double>());
        train_s.push_back(r.value("train_s", 0.0));
        lat.push_back(r.value("latency_us_per_window", 0.0));
        if (r.contains("latency_us_batch1")) b1.push_back(r["latency_us_batch1"].get<double>());
        if (r.contains("latency_us_batch1_p99")) b1_p99.push_back(r["latency_us_batch1_p99"].get<double>());
        if (r.contains("per_class_f1"))
            for (auto it = r["per_class_f1"].begin(); it != r["per_class_f1"].end(); ++it) {
                if (!per_class.count(it.key())) classes.push_back(it.key());
                per_class[it.key()].push_back(it->get<double>());
            }
    }
    const MeanCi a = mean_ci95(acc), f = mean_ci95(f1);
    json pc = json::object();
    for (const auto& c : classes) pc[c] = mean_ci95(per_class[c]).mean;
    json settings = d.prep_axes;
    settings["arch"] = model;
    json per_seed = json::array();
    for (double x : acc) per_seed.push_back(x);
    return {{"key", key},
            {"kind", "classical"},
            {"settings", settings},
            {"data", d.path},
            {"data_checksum", d.checksum},
            {"seeds", seeds},
            {"n", a.n},
            {"accuracy_mean", a.mean},
            {"accuracy_ci95", a.half_width},
            {"accuracy_sd", a.sd},
            {"accuracy_min", a.min},
            {"accuracy_max", a.max},
            {"accuracy_per_seed", per_seed},
            {"macro_f1_mean", f.mean},
            {"macro_f1_ci95", f.half_width},
            {"per_class_f1", pc},
            {"train_s", mean_ci95(train_s).mean},
            // One window per predict call, as the nets' batch-1 figure (the features'
            // computation not included); the amortised per-window time is the throughput.
            {"b1_p50_us", b1.empty() ? json(nullptr) : json(mean_ci95(b1).mean)},
            {"b1_p99_us", b1_p99.empty() ? json(nullptr) : json(mean_ci95(b1_p99).mean)},
            {"infer_images_per_s", mean_ci95(lat).mean > 0 ? json(1e6 / mean_ci95(lat).mean) : json(nullptr)},
            {"latency_us_per_window", mean_ci95(lat).mean},
            {"latency_kind", "batch 1: one window per predict call (classical.py); features not included"}};
}

}  // namespace

bool classical_available(const ClassicalOptions& c, const std::string& python, std::string* why) {
    if (!is_executable(python)) {
        *why = python + " not found";
        return false;
    }
    const std::string script = script_of(c);
    if (script.empty() || !file_exists(script)) {
        *why = "bench/classical.py not found" + (c.script.empty() ? std::string() : " (" + c.script + ")");
        return false;
    }
    if (c.mode == ClassicalOptions::Mode::kAuto) {
        char tmpl[] = "/tmp/flowpic-sweep-probe.XXXXXX";
        const int fd = mkstemp(tmpl);
        if (fd >= 0) close(fd);
        const ProgramResult r = run_program({python, "-c", "import sklearn"}, tmpl);
        unlink(tmpl);
        if (r.exit_code != 0) {
            *why = "scikit-learn is not importable by " + python + " (apt-get install python3-sklearn python3-xgboost)";
            return false;
        }
    }
    return true;
}

std::vector<json> run_classical(const ClassicalOptions& c, const std::string& python, const std::vector<uint64_t>& seeds,
                                const std::vector<ClassicalData>& data, const std::string& out_dir,
                                const std::map<std::string, json>& done, LineLog& log, SweepResult& result,
                                bool can_run, const std::string& why) {
    std::vector<json> out;
    const std::vector<std::string> models = split_on(c.models, ',');
    const bool asked = c.mode == ClassicalOptions::Mode::kOn;
    auto fail = [&](const std::string& what) {
        (asked ? result.errors : result.notes).push_back("classical baselines: " + what);
    };
    for (const ClassicalData& d : data) {
        std::map<std::string, std::string> keys;
        std::vector<std::string> missing;
        for (const std::string& m : models) {
            keys[m] = settings_hash("flowpic-sweep/1 classical|" + m + "|" + d.prep_axes.dump() + "|" + d.checksum + "|" +
                                    seeds_text(seeds));
            auto it = done.find(keys[m]);
            if (it != done.end())
                out.push_back(it->second);
            else
                missing.push_back(m);
        }
        if (missing.empty()) continue;
        if (!can_run) {
            fail(std::string(asked ? "not run: " : "off: ") + why);
            return out;
        }
        const std::string stem = out_dir + "/classical/" + settings_hash(d.checksum + d.prep_axes.dump());
        const std::string features = stem + ".features.csv", lines = stem + ".jsonl", logf = out_dir + "/logs/classical.log";
        if (!file_exists(features)) {
            try {
                write_dataset_features(DatasetReader(d.path), features, FeatureOptions{});  // as flowpic-render --features
            } catch (const InputError& e) {
                fail(std::string("the features of ") + d.path + ": " + e.what());
                continue;
            }
        }
        std::string list;
        for (const auto& m : missing) list += (list.empty() ? "" : ",") + m;
        unlink(lines.c_str());  // a killed run's partial lines
        const ProgramResult r =
            run_program({python, script_of(c), "--features", features, "--models", list, "--seeds", seeds_text(seeds),
                         "--json", lines},
                        logf);
        if (r.exit_code == 3) {
            fail("skipped: " + r.last_line);
            return out;
        }
        if (r.exit_code != 0) {
            fail("classical.py failed (exit " + std::to_string(r.exit_code) + "): " + r.last_line + " (log: " + logf + ")");
            continue;
        }
        std::map<std::string, std::vector<json>> runs;
        std::ifstream in(lines);
        size_t n = 0;
        std::string bad;
        for (std::string l; std::getline(in, l);) {
            ++n;
            if (trim(l).empty()) continue;
            try {
                json j = json::parse(l);
                runs[j.at("model").get<std::string>()].push_back(j);
                (void)j.at("accuracy").get<double>();
                (void)j.at("macro_f1").get<double>();
            } catch (const json::exception& e) {
                bad = lines + ":" + std::to_string(n) + ": " + e.what();
                break;
            }
        }
        if (!bad.empty()) {
            fail("unreadable output: " + bad);
            continue;
        }
        for (const std::string& m : missing) {
            if (runs[m].empty()) {
                fail("classical.py wrote no line for model '" + m + "' (" + lines + ")");
                continue;
            }
            json cell = aggregate(m, runs[m], d, keys[m], seeds);
            log.append(cell.dump());
            out.push_back(std::move(cell));
            ++result.classical_rows;
        }
    }
    return out;
}

}  // namespace flowpic
